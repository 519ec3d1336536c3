"""The original pypet, installed in a virtual environment of its own.

pypet 0.6.1 predates numpy 2, pandas 2.3 and PyTables 3.10, so it cannot
share our interpreter's packages. Differential tests (files written and read
by the real pypet) and the benchmarks against pypet both use the environment
made here: made once, reused while it still imports the wanted version.
Another pypet version (0.5.2, for the layout before 0.6) runs on the same
environment's packages from an overlay folder put first on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

__all__ = [
    "PYPET_VERSION",
    "PYPET_REQUIREMENTS",
    "venv_python",
    "installed_versions",
    "ensure_pypet_venv",
    "ensure_pypet_overlay",
    "sdist_member",
]

PYPET_VERSION = "0.6.1"
PYPET_REQUIREMENTS = (f"pypet=={PYPET_VERSION}", "numpy>=1.26,<2", "pandas>=2.2,<2.3", "tables>=3.9,<3.10")

_VERSION_PROBE = (
    "import json, numpy, pandas, tables, pypet; "
    "print(json.dumps({'pypet': pypet.__version__, 'numpy': numpy.__version__, "
    "'pandas': pandas.__version__, 'tables': tables.__version__}))"
)
_OVERLAY_PROBE = "import importlib.metadata as m, sys; sys.path.insert(0, sys.argv[1]); print(m.version('pypet'))"


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


def ensure_pypet_venv(venv: Path, log: Path) -> dict[str, str]:
    """Make (or reuse) the pypet environment at ``venv``; return its versions.

    pip's output goes to ``log``; a failure raises with the log's path so the
    cause is one ``cat`` away.
    """
    versions = installed_versions(venv)
    if versions is not None and versions.get("pypet") == PYPET_VERSION:
        return versions
    venv.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, stdout=out, stderr=out)
        install = subprocess.run(
            [str(venv_python(venv)), "-m", "pip", "install", *PYPET_REQUIREMENTS],
            stdout=out,
            stderr=out,
        )
    versions = installed_versions(venv)
    if install.returncode != 0 or versions is None:
        raise RuntimeError(f"could not install {' '.join(PYPET_REQUIREMENTS)} into {venv}; see {log}")
    return versions


def ensure_pypet_overlay(venv: Path, overlay: Path, version: str, log: Path) -> Path:
    """pypet ``version`` alone in ``overlay``, to run with ``venv``'s packages.

    Run ``venv``'s Python with ``PYTHONPATH=overlay`` to use it; its
    dependencies are those of the environment (``ensure_pypet_venv`` first).
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
