"""The documentation is tested: no code block in README.md, README.zh-CN.md or docs/*.md escapes.

pytest runs the ``>>>`` examples of every Markdown file itself (``--doctest-glob=*.md`` in
pyproject.toml). This module checks everything doctest cannot:

- every fenced block is one of three kinds: a doctest (```python whose code starts with ``>>>``),
  a quick-start ```sh block (only the README's two quick-start commands, which CI runs), or a
  ```text excerpt of the comparison command's output, marked ``<!-- compare-output -->``;
- every such excerpt still matches the real output of ``python -m dualdiff.compare --no-timing``
  (each run of lines between ``...`` elisions appears, contiguously and in order), so excerpts
  cannot go stale;
- every public name is documented in docs/api.md, every page is linked from docs/index.md, and
  every relative link points at a file that exists.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List, NamedTuple

import pytest

import dualdiff

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
README_ZH = ROOT / "README.zh-CN.md"
MARKDOWN = [README, README_ZH] + sorted(DOCS.glob("*.md"))
COMPARE_MARKER = "<!-- compare-output -->"
ELISION = "..."

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)[^`]*$")


class Block(NamedTuple):
    path: Path
    line: int              # 1-based line of the opening fence
    info: str              # the language word after the fence ("python", "sh", "text", "")
    body: List[str]
    preceding: str         # the nearest non-blank line above the fence


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def fenced_blocks(path: Path) -> List[Block]:
    """The fenced code blocks of a Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence = m.group("fence")
        start = i
        body = []
        i += 1
        while i < len(lines) and not (lines[i].strip().startswith(fence[0] * len(fence))
                                      and set(lines[i].strip()) == {fence[0]}):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise AssertionError(f"{_rel(path)}:{start + 1}: code fence is never closed")
        preceding = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        blocks.append(Block(path, start + 1, m.group("info").lower(), body, preceding.strip()))
        i += 1
    return blocks


def quickstart_commands() -> List[str]:
    """The command lines between the README's quick-start markers (what CI runs)."""
    text = README.read_text(encoding="utf-8")
    m = re.search(r"<!-- quickstart -->\n(.*?)<!-- /quickstart -->", text, re.S)
    assert m, "README.md has lost its <!-- quickstart --> ... <!-- /quickstart --> markers"
    return [line for line in m.group(1).splitlines()
            if line.strip() and not line.startswith("```")]


def _ids(blocks: List[Block]) -> List[str]:
    return [f"{_rel(b.path)}:{b.line}" for b in blocks]


ALL_BLOCKS = [b for path in MARKDOWN if path.exists() for b in fenced_blocks(path)]
TEXT_BLOCKS = [b for b in ALL_BLOCKS if b.info == "text"]


@pytest.fixture(scope="module")
def compare_output() -> List[str]:
    """The real output of ``python -m dualdiff.compare --no-timing``, as lines without trailing blanks."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    run = subprocess.run([sys.executable, "-m", "dualdiff.compare", "--no-timing"], cwd=ROOT,
                         env=env, capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert run.returncode == 0, f"python -m dualdiff.compare --no-timing failed:\n{run.stderr}"
    return [line.rstrip() for line in run.stdout.splitlines()]


# --------------------------------------------------------------------------------------------
# Every block is of a tested kind
# --------------------------------------------------------------------------------------------

def test_the_markdown_files_exist():
    assert README.exists() and README_ZH.exists()
    for page in ["index", "three-part-notation", "computational-graph", "tensor-derivatives",
                 "shared-parameters", "mlp-l2", "api", "architecture", "cost"]:
        assert (DOCS / f"{page}.md").exists(), f"docs/{page}.md is missing"


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=_ids(ALL_BLOCKS))
def test_every_block_is_tested(block: Block):
    where = f"{_rel(block.path)}:{block.line}"
    code = [line for line in block.body if line.strip()]
    if block.info == "python":
        assert code and code[0].lstrip().startswith(">>>"), (
            f"{where}: a ```python block must be a doctest (start with >>> and show the output), "
            f"or pytest would not run it")
    elif block.info == "sh":
        allowed = quickstart_commands()
        for line in code:
            assert line.strip() in allowed, (
                f"{where}: ```sh blocks may only hold the README's quick-start commands (CI runs "
                f"those); {line.strip()!r} is not one of {allowed}")
    elif block.info == "text":
        assert block.preceding == COMPARE_MARKER, (
            f"{where}: a ```text block must be compare output, marked by {COMPARE_MARKER} on "
            f"the line above, so that tests/test_docs.py checks it against the real output")
    else:
        pytest.fail(f"{where}: fenced block of kind {block.info or '(none)'!r}: use ```python "
                    f"with >>> (a doctest), ```sh (quick start only) or a marked ```text excerpt")


def test_every_compare_marker_introduces_a_text_block():
    for path in MARKDOWN:
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if line.strip() == COMPARE_MARKER:
                nxt = next((lines[j] for j in range(i + 1, len(lines)) if lines[j].strip()), "")
                assert nxt.strip() == "```text", (
                    f"{_rel(path)}:{i + 1}: {COMPARE_MARKER} must be followed by a ```text block")


# --------------------------------------------------------------------------------------------
# Compare excerpts match the real output
# --------------------------------------------------------------------------------------------

def _segments(body: List[str]) -> List[List[str]]:
    """The excerpt cut at ``...`` lines; blank lines at the edges of a segment are dropped."""
    segments, current = [], []
    for line in body + [ELISION]:
        if line.strip() == ELISION:
            while current and not current[0].strip():
                current.pop(0)
            while current and not current[-1].strip():
                current.pop()
            if current:
                segments.append(current)
            current = []
        else:
            current.append(line.rstrip())
    return segments


def _find(haystack: List[str], needle: List[str], start: int) -> int:
    for i in range(start, len(haystack) - len(needle) + 1):
        if haystack[i:i + len(needle)] == needle:
            return i
    return -1


def test_there_are_compare_excerpts():
    marked = [b for b in TEXT_BLOCKS if b.preceding == COMPARE_MARKER]
    assert any(b.path == README for b in marked), "README.md should show an excerpt of compare output"
    assert any(b.path == DOCS / "cost.md" for b in marked), "docs/cost.md should show compare output"


@pytest.mark.parametrize("block", TEXT_BLOCKS, ids=_ids(TEXT_BLOCKS))
def test_compare_excerpt_matches_real_output(block: Block, compare_output: List[str]):
    where = f"{_rel(block.path)}:{block.line}"
    segments = _segments(block.body)
    assert segments, f"{where}: empty compare excerpt"
    pos = 0
    for seg in segments:
        found = _find(compare_output, seg, pos)
        if found < 0:
            missing = next((line for line in seg if line not in compare_output), None)
            detail = (f"the line {missing!r} is not in the output" if missing is not None
                      else "its lines are all in the output, but not together in this order")
            pytest.fail(f"{where}: this excerpt no longer matches `python -m dualdiff.compare "
                        f"--no-timing`: {detail}. Copy the current output into the page.")
        pos = found + len(seg)


def test_segments_and_matching_helpers():
    """The excerpt checker itself: elisions split, order matters, a changed line fails."""
    out = ["a", "b", "", "c", "d"]
    assert _segments(["a", "b", "...", "d"]) == [["a", "b"], ["d"]]
    assert _find(out, ["b", "", "c"], 0) == 1
    assert _find(out, ["a", "c"], 0) == -1          # not contiguous
    assert _find(out, ["a"], 1) == -1               # order: nothing before the last match
    assert _find(out, ["b", "x"], 0) == -1          # a changed line


# --------------------------------------------------------------------------------------------
# Coverage and links
# --------------------------------------------------------------------------------------------

def test_quickstart_is_two_commands_and_the_chinese_readme_repeats_them():
    commands = quickstart_commands()
    assert len(commands) == 2, commands
    zh = [line.strip() for b in fenced_blocks(README_ZH) if b.info == "sh" for line in b.body
          if line.strip()]
    assert zh == commands, "README.zh-CN.md's quick start must be the README's two commands"


def test_every_public_name_is_in_the_api_page():
    api = (DOCS / "api.md").read_text(encoding="utf-8")
    missing = [name for name in dualdiff.__all__
               if not re.search(r"`(dd\.)?" + re.escape(name) + r"(\(|`)", api)]
    assert not missing, f"docs/api.md does not document: {', '.join(missing)}"


_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _prose(path: Path) -> str:
    """The file without its fenced blocks and inline code, where [..](..) is not a link."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1\s*$", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


@pytest.mark.parametrize("path", MARKDOWN, ids=[_rel(p) for p in MARKDOWN])
def test_relative_links_resolve(path: Path):
    for target in _LINK.findall(_prose(path)):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        file = target.split("#", 1)[0]
        assert (path.parent / file).exists(), f"{_rel(path)} links to {target}, which does not exist"


def test_every_page_is_linked_from_index_and_readme():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    for page in DOCS.glob("*.md"):
        if page.name != "index.md":
            assert f"({page.name}" in index, f"docs/index.md does not link to {page.name}"
            assert f"(docs/{page.name}" in readme, f"README.md does not link to docs/{page.name}"
    head = "\n".join(readme.splitlines()[:5])
    assert "(README.zh-CN.md)" in head, "README.md should link README.zh-CN.md from its top"
