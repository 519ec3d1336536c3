"""Multiprocessing runner for pypet-rebuild: ``Environment(..., runner="multiprocessing", ncores=4)``."""

from __future__ import annotations

from pypet_rebuild_multiprocessing.runner import MultiprocessingRunner

__all__ = ["MultiprocessingRunner"]
