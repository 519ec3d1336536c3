"""Launching both sides of a measurement, and knowing which of ours can run.

Each measurement is a fresh subprocess: ``_ours_side.py`` under this
interpreter (optionally under ``mpiexec``), ``_pypet_side.py`` under the
pypet environment. Their stderr goes to one log file per measurement, so a
failure in the table points at a file that explains it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

#: Which plugin should provide a storage scheme or suffix, to explain why it is missing.
_PLUGIN_FOR = {"hdf5": "hdf5", "sqlite": "sql", "postgresql": "sql", "mongomock": "mongo", "mongodb": "mongo",
               "multiprocessing": "multiprocessing", "mpi": "mpi"}


class MeasurementError(RuntimeError):
    """A side's subprocess failed; the message names its log file."""


@dataclass
class Sides:
    out: Path
    #: pypet version -> the Python of its environment (missing: not available)
    pypet_pythons: dict[str, Path]
    timeout: float = 3600.0
    logs: Path = field(init=False)

    def __post_init__(self) -> None:
        self.logs = self.out / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def ours(self, label: str, spec: dict[str, Any], mpi_ranks: int | None = None) -> dict[str, Any]:
        command = [sys.executable, str(HERE / "_ours_side.py"), json.dumps(spec)]
        if mpi_ranks is not None:
            command = [str(mpiexec_path()), "-n", str(mpi_ranks), *command]
        return self._launch(f"ours-{label}", command)

    def pypet(self, label: str, spec: dict[str, Any], version: str = "0.6.1") -> dict[str, Any]:
        python = self.pypet_pythons.get(version)
        if python is None:
            raise MeasurementError(f"the pypet {version} environment is not available (see its setup log)")
        return self._launch(f"pypet{version}-{label}", [str(python), str(HERE / "_pypet_side.py"), json.dumps(spec)])

    def _launch(self, label: str, command: list[str]) -> dict[str, Any]:
        log = self.logs / (re.sub(r"[^A-Za-z0-9_.-]+", "_", label) + ".log")
        environment = dict(os.environ, PYTHONPATH=str(HERE), PYTHONUNBUFFERED="1")
        with log.open("w") as err:
            err.write("$ " + " ".join(command) + "\n")
            err.flush()
            try:
                done = subprocess.run(command, stdout=subprocess.PIPE, stderr=err, text=True,
                                      timeout=self.timeout, cwd=self.out, env=environment)
            except subprocess.TimeoutExpired as exc:
                raise MeasurementError(f"timed out after {self.timeout:.0f} s; see {log}") from exc
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            raise MeasurementError(f"exit code {done.returncode}; see {log}: {_last_error_line(log)}")
        return dict(json.loads(lines[-1]), load=os.getloadavg()[0])


def _last_error_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[A-Za-z_.]*(Error|Exception)\b", line)]
    return (errors or lines or ["(empty log)"])[-1][:200]


def mpiexec_path() -> Path:
    beside = Path(sys.executable).parent / "mpiexec"
    found = beside if beside.exists() else shutil.which("mpiexec")
    if found is None:
        raise MeasurementError("no mpiexec found beside the interpreter or on PATH")
    return Path(found)


def _plugin_reason(host: Any, plugin: str | None) -> str:
    info = host.plugins.get(plugin) if plugin else None
    if info is not None and info.error is not None:
        return f"n/a (plugin {plugin!r} failed to load: {type(info.error).__name__})"
    return "n/a (plugin not available)"


def storage_status(storage: str) -> str:
    """Empty if a backend opens ``storage`` here, else the reason for the table."""
    from pypet_rebuild import get_plugin_host

    host = get_plugin_host()
    if "://" in storage:
        scheme = storage.split("://", 1)[0]
        if host.storage.for_scheme(scheme) is not None:
            return ""
        return _plugin_reason(host, _PLUGIN_FOR.get(scheme.split("+", 1)[0]))
    if host.storage.for_suffix(Path(storage).suffix) is not None:
        return ""
    return _plugin_reason(host, "hdf5")


def runner_status(runner: str) -> str:
    """Empty if the runner is registered (and, for MPI, mpiexec exists)."""
    from pypet_rebuild import get_plugin_host

    host = get_plugin_host()
    if runner not in host.runners.entries:
        return _plugin_reason(host, _PLUGIN_FOR.get(runner))
    if runner == "mpi":
        try:
            mpiexec_path()
        except MeasurementError:
            return "n/a (no mpiexec)"
    return ""
