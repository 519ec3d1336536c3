"""The separate virtual environments that hold the original pypet.

Two references: pypet 0.6.1 predates numpy 2, pandas 2.3 and PyTables 3.10,
so it gets its own environment on this interpreter; pypet 0.7.0 (the current
release) runs on a current stack and gets an environment on a pyenv Python
>= 3.12. Each is made once and reused while it still imports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_VERSION_PROBE = (
    "import json, sys, numpy, pandas, tables, pypet; "
    "print(json.dumps({'pypet': pypet.__version__, 'Python': sys.version.split()[0], "
    "'numpy': numpy.__version__, 'pandas': pandas.__version__, 'tables': tables.__version__}))"
)


@dataclass(frozen=True)
class PypetReference:
    """One pypet version, the packages it needs, and the Python it runs on."""

    version: str
    requirements: tuple[str, ...]
    #: the lowest Python minor version to use (``None``: this interpreter)
    min_python: tuple[int, int] | None = None

    @property
    def label(self) -> str:
        return f"pypet {self.version}"

    def base_python(self) -> Path:
        """The interpreter the environment is made with; raises if none fits."""
        if self.min_python is None:
            return Path(sys.executable)
        for candidate in _pyenv_pythons():
            if _minor_version(candidate) >= self.min_python:
                return candidate
        raise RuntimeError(
            f"{self.label} needs Python >= {'.'.join(map(str, self.min_python))}; none found under pyenv "
            f"({_pyenv_root() / 'versions'})"
        )


REFERENCES = (
    PypetReference("0.6.1", ("pypet==0.6.1", "numpy>=1.26,<2", "pandas>=2.2,<2.3", "tables>=3.9,<3.10")),
    PypetReference("0.7.0", ("pypet==0.7.0",), min_python=(3, 12)),
)


def _pyenv_root() -> Path:
    return Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))


def _minor_version(python: Path) -> tuple[int, int]:
    parts = python.parent.parent.name.split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return (0, 0)


def _pyenv_pythons() -> list[Path]:
    """pyenv's installed CPythons, oldest first (the oldest that fits is the most conservative)."""
    versions = _pyenv_root() / "versions"
    found = [path / "bin" / "python" for path in versions.glob("3.*") if (path / "bin" / "python").exists()]
    return sorted(found, key=_minor_version)


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def installed_versions(venv: Path) -> dict[str, str] | None:
    """The versions the environment imports, or None if it is missing or broken."""
    python = venv_python(venv)
    if not python.exists():
        return None
    probe = subprocess.run([str(python), "-c", _VERSION_PROBE], capture_output=True, text=True)
    if probe.returncode != 0:
        return None
    return dict(json.loads(probe.stdout.strip().splitlines()[-1]))


def ensure_pypet_venv(venv: Path, log: Path, reference: PypetReference = REFERENCES[0]) -> dict[str, str]:
    """Make (or reuse) the environment of ``reference`` at ``venv``; return its versions.

    pip's output goes to ``log``; a failure raises with the log's path so the
    cause is one ``cat`` away.
    """
    versions = installed_versions(venv)
    if versions is not None and versions.get("pypet") == reference.version:
        return versions
    base = reference.base_python()
    venv.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        subprocess.run([str(base), "-m", "venv", "--clear", str(venv)], check=True, stdout=out, stderr=out)
        install = subprocess.run(
            [str(venv_python(venv)), "-m", "pip", "install", *reference.requirements],
            stdout=out,
            stderr=out,
        )
    versions = installed_versions(venv)
    if install.returncode != 0 or versions is None:
        raise RuntimeError(f"could not install {' '.join(reference.requirements)} into {venv}; see {log}")
    return versions
