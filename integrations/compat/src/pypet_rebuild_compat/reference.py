"""The original pypet, installed in virtual environments of its own.

Two references: pypet 0.6.1 predates numpy 2, pandas 2.3 and PyTables 3.10,
so it gets its own environment on this interpreter; pypet 0.7.0 (the current
release) runs on a current stack and gets an environment on a pyenv Python
>= 3.12. Differential tests (files written and read by the real pypet) and
the benchmarks against pypet both use the environments made here: each made
once, reused while it still imports the wanted version. An older pypet
(0.5.2, the last with the layout before 0.6) runs on 0.6.1's environment from
an overlay folder put first on ``PYTHONPATH`` (``ensure_pypet_overlay``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PYPET_VERSION",
    "PYPET_REQUIREMENTS",
    "PypetReference",
    "REFERENCES",
    "venv_python",
    "installed_versions",
    "ensure_pypet_venv",
    "ensure_pypet_overlay",
    "sdist_member",
]

_VERSION_PROBE = (
    "import json, sys, numpy, pandas, tables, pypet; "
    "print(json.dumps({'pypet': pypet.__version__, 'Python': sys.version.split()[0], "
    "'numpy': numpy.__version__, 'pandas': pandas.__version__, 'tables': tables.__version__}))"
)
_OVERLAY_PROBE = "import importlib.metadata as m, sys; sys.path.insert(0, sys.argv[1]); print(m.version('pypet'))"


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


def ensure_pypet_overlay(venv: Path, overlay: Path, version: str, log: Path) -> Path:
    """pypet ``version`` alone in ``overlay``, to run with ``venv``'s packages.

    Run ``venv``'s Python with ``PYTHONPATH=overlay`` to use it; its
    dependencies are the environment's (make it with ``ensure_pypet_venv`` first).
    """
    python = str(venv_python(venv))
    probe = subprocess.run([python, "-c", _OVERLAY_PROBE, str(overlay)], capture_output=True, text=True)
    if probe.returncode == 0 and probe.stdout.strip() == version:
        return overlay
    with log.open("w") as out:
        install = subprocess.run(
            [python, "-m", "pip", "install", "--no-deps", "--upgrade", "--target", str(overlay), f"pypet=={version}"],
            stdout=out,
            stderr=out,
        )
    if install.returncode != 0:
        raise RuntimeError(f"could not install pypet=={version} into {overlay}; see {log}")
    return overlay


#: the reference the differential tests use (the one that runs on every supported Python)
PYPET_VERSION = REFERENCES[0].version
PYPET_REQUIREMENTS = REFERENCES[0].requirements


def sdist_member(member: str, cache: Path, log: Path) -> Path:
    """One file of pypet's source distribution, downloaded from the package index once.

    ``member`` is the path inside the archive below its top folder, e.g.
    ``pypet/tests/testdata/pypet_v0_1b_6.hdf5``; the file is extracted into
    ``cache`` and its path returned.
    """
    target = cache / member
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / f"pypet-{PYPET_VERSION}.tar.gz"
    if not archive.is_file():
        with log.open("w") as out:
            download = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
                 "-d", str(cache), f"pypet=={PYPET_VERSION}"],
                stdout=out,
                stderr=out,
            )
        if download.returncode != 0 or not archive.is_file():
            raise RuntimeError(f"could not download pypet {PYPET_VERSION}'s source distribution; see {log}")
    with tarfile.open(archive) as tar:
        source = tar.extractfile(f"pypet-{PYPET_VERSION}/{member}")
        if source is None:
            raise RuntimeError(f"{archive} holds no file {member}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read())
    return target
