"""The separate virtual environment that holds the original pypet.

pypet 0.6.1 predates numpy 2, pandas 2.3 and PyTables 3.10, so it cannot
share our interpreter's packages; it gets its own environment, made once and
reused while it still imports.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PYPET_REQUIREMENTS = ("pypet==0.6.1", "numpy>=1.26,<2", "pandas>=2.2,<2.3", "tables>=3.9,<3.10")

_VERSION_PROBE = (
    "import json, numpy, pandas, tables, pypet; "
    "print(json.dumps({'pypet': pypet.__version__, 'numpy': numpy.__version__, "
    "'pandas': pandas.__version__, 'tables': tables.__version__}))"
)


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
    if versions is not None and versions.get("pypet") == "0.6.1":
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
