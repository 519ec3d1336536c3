"""Metadata stored with every trajectory: who ran what, where and with which versions."""

from __future__ import annotations

import hashlib
import platform
import socket
import sys
import time
from importlib import metadata
from typing import Any

__all__ = ["environment_metadata", "package_version"]


def package_version(distribution: str = "pypet-rebuild-core") -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def environment_metadata(trajectory_name: str, created: float) -> dict[str, Any]:
    """Provenance for one environment; its hash identifies the environment
    across the log files and the stored trajectory."""
    host = socket.gethostname()
    stamp = time.strftime("%Y_%m_%d_%Hh%Mm%Ss", time.localtime(created))
    digest = hashlib.sha1(f"{trajectory_name}|{created!r}|{host}".encode()).hexdigest()
    return {
        "pypet_rebuild_version": package_version(),
        "python_version": sys.version.split()[0],
        "platform": platform.platform(),
        "hostname": host,
        "environment_name": f"environment_{stamp}",
        "environment_hash": digest,
        "environment_created": created,
    }
