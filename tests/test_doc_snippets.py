"""Every ```python block of README.md and docs/*.md runs as written.

Each block is written to a file in a new temporary directory and run there
with ``python snippet.py``, as a reader who copies it would run it (so
``if __name__ == "__main__":`` and the ``spawn`` start method behave as they
do for them). An HTML comment on the line before a block changes that:

- ``<!-- snippet: continue -->``: the block continues the page's previous
  block; the two (or the whole chain) run as one script.
- ``<!-- snippet: next -->``: the page's previous block runs first, as its
  own script, in the same directory; then this block (a block that reads
  what the previous one stored).
- ``<!-- snippet: after examples/NAME.py -->``: the repository script
  ``examples/NAME.py`` runs first in the same directory (a block that
  analyses what an example stored).
- ``<!-- snippet: not-run REASON -->``: the block needs something a test
  cannot have (a MongoDB or PostgreSQL server at the address shown, a
  cluster); it is compiled, not run, and REASON must say why.

docs/contributing.md documents the same convention for writers.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_MARK = re.compile(r"^<!--\s*snippet:\s*(?P<kind>[\w-]+)\s*(?P<arg>.*?)\s*-->\s*$")
_KINDS = {"continue", "next", "after", "not-run"}


@dataclass
class Snippet:
    page: Path
    line: int
    code: str
    kind: str = ""
    arg: str = ""
    previous: Snippet | None = None

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    def script(self) -> str:
        """This block with, for ``continue``, every block it continues."""
        parts = [self.code]
        snippet = self
        while snippet.kind == "continue":
            assert snippet.previous is not None, f"{snippet.id}: 'continue' on the page's first block"
            snippet = snippet.previous
            parts.insert(0, snippet.code)
        return "\n".join(parts)

    def first(self) -> Snippet:
        snippet = self
        while snippet.kind == "continue" and snippet.previous is not None:
            snippet = snippet.previous
        return snippet


def _snippets(page: Path) -> list[Snippet]:
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Snippet] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```python":
            i += 1
            continue
        start = i + 1
        end = start
        while lines[end].strip() != "```":
            end += 1
        mark = _MARK.match(lines[i - 1].strip()) if i > 0 else None
        found.append(
            Snippet(
                page,
                start,
                "\n".join(lines[start:end]) + "\n",
                mark["kind"] if mark else "",
                mark["arg"] if mark else "",
                found[-1] if found else None,
            )
        )
        i = end + 1
    return found


SNIPPETS = [s for page in PAGES for s in _snippets(page)]
RUNNABLE = [s for s in SNIPPETS if s.kind != "not-run"]
NOT_RUN = [s for s in SNIPPETS if s.kind == "not-run"]


def test_every_marker_is_known_and_stands_before_a_python_block() -> None:
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            if not line.strip().startswith("<!-- snippet"):
                continue
            mark = _MARK.match(line.strip())
            assert mark and mark["kind"] in _KINDS, f"{page.name}:{number}: unknown snippet marker {line!r}"
            assert number < len(lines) and lines[number].strip() == "```python", (
                f"{page.name}:{number}: a snippet marker must stand on the line before a ```python block"
            )


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300)


def _run_snippet(snippet: Snippet, directory: Path) -> None:
    """Run what ``snippet`` needs first, then the snippet, in ``directory``."""
    first = snippet.first()
    if first.kind == "after":
        example = ROOT / first.arg
        assert example.is_file(), f"{snippet.id}: 'after' names a missing script {first.arg!r}"
        done = _run([sys.executable, str(example)], directory)
        assert done.returncode == 0, done.stderr
    elif first.kind == "next":
        assert first.previous is not None, f"{first.id}: 'next' on the page's first block"
        _run_snippet(first.previous, directory)
    script = directory / "snippet.py"
    script.write_text(snippet.script(), encoding="utf-8")
    done = _run([sys.executable, script.name], directory)
    assert done.returncode == 0, f"{snippet.id} failed:\n{snippet.script()}\n--- stderr ---\n{done.stderr}"


@pytest.mark.parametrize("snippet", RUNNABLE, ids=[s.id for s in RUNNABLE])
def test_snippet_runs_as_written(snippet: Snippet, tmp_path: Path) -> None:
    _run_snippet(snippet, tmp_path)


def test_readme_headline_runs_with_the_multiprocessing_runner_its_comment_suggests(tmp_path: Path) -> None:
    headline = _snippets(ROOT / "README.md")[0]
    plain = 'Environment(traj, "results/sweep.h5")'
    assert plain in headline.code and 'runner="multiprocessing"' in headline.code
    parallel = headline.code.replace(plain, 'Environment(traj, "results/sweep.h5", runner="multiprocessing", ncores=2)')
    (tmp_path / "snippet.py").write_text(parallel, encoding="utf-8")
    done = _run([sys.executable, "snippet.py"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "results" / "sweep.h5").is_file()


@pytest.mark.parametrize("snippet", NOT_RUN, ids=[s.id for s in NOT_RUN])
def test_not_run_snippet_says_why_and_compiles(snippet: Snippet) -> None:
    assert snippet.arg, f"{snippet.id}: a not-run snippet must give its reason"
    compile(snippet.script(), snippet.id, "exec")
