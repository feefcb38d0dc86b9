"""Test-wide settings: property tests are derandomised in CI, random on developers' machines.

In CI a failure must mean a bug in the change, not a new random draw: ``CI`` (set by .ci/run's
environment) selects a fixed example sequence. Locally every run draws new examples, which is how
property tests find new bugs.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
