"""Logging set-up: console plus a main log and a warnings-and-errors log per environment."""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["configure_logging", "LOGGER_NAME"]

LOGGER_NAME = "pypet_rebuild"
_FORMAT = "%(asctime)s %(processName)s %(name)s %(levelname)s: %(message)s"


def configure_logging(
    log_folder: str | os.PathLike[str] | None,
    *,
    level: int = logging.INFO,
    console: bool = True,
    file_stem: str = "main",
) -> list[logging.Handler]:
    """Attach handlers to the ``pypet_rebuild`` logger; returns them so the
    environment can detach them when it closes (several environments in one
    process must not pile up handlers)."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    handlers: list[logging.Handler] = []
    formatter = logging.Formatter(_FORMAT)
    if console:
        stream = logging.StreamHandler()
        stream.setLevel(level)
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handlers.append(stream)
    else:
        # Without any handler Python's last-resort handler would still print
        # warnings to stderr, which log_to_console=False asked not to do.
        handlers.append(logging.NullHandler())
    if log_folder is not None:
        folder = Path(log_folder)
        folder.mkdir(parents=True, exist_ok=True)
        main = logging.FileHandler(folder / f"{file_stem}.log")
        main.setLevel(level)
        errors = logging.FileHandler(folder / f"{file_stem}_errors.log")
        errors.setLevel(logging.WARNING)
        for handler in (main, errors):
            handler.setFormatter(formatter)
            handlers.append(handler)
    for handler in handlers:
        logger.addHandler(handler)
    return handlers


def detach_handlers(handlers: list[logging.Handler]) -> None:
    logger = logging.getLogger(LOGGER_NAME)
    for handler in handlers:
        logger.removeHandler(handler)
        handler.close()
