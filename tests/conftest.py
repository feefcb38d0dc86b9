"""Test-wide settings: property tests are derandomised in CI, random on developers' machines.

In CI a failure must mean a bug in the change, not a new random draw: ``CI`` (set by .ci/run's
environment) selects a fixed example sequence. Locally every run draws new examples, which is how
property tests find new bugs.
"""

import importlib
import os
import re

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


# Documentation pages that need an optional package say so with a line
# ``<!-- requires: scipy -->``; without the package their examples are skipped, with that reason
# (the test extra installs it, so CI runs them). A session-wide hook, so it sees docs/ too.
_REQUIRES = re.compile(r"<!-- requires: ([\w.]+) -->")


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = getattr(item, "path", None)
        if path is None or path.suffix != ".md":
            continue
        for module in _REQUIRES.findall(path.read_text(encoding="utf-8")):
            try:
                importlib.import_module(module)
            except ImportError:
                item.add_marker(pytest.mark.skip(reason=f"{path.name} needs {module}"))
