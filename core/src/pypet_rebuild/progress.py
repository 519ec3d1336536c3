"""Progress of a long exploration: a bar on a terminal, log lines elsewhere."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

__all__ = ["Progress", "format_duration"]

logger = logging.getLogger("pypet_rebuild.progress")


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class Progress:
    """Counts finished runs and shows them with an estimated time remaining.

    On an interactive terminal a bar is redrawn at most ten times a second;
    otherwise (batch jobs, CI, log files) a log line is written every
    ``log_interval`` seconds, so that long jobs on a cluster still report.
    """

    def __init__(
        self,
        total: int,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        log_interval: float = 30.0,
    ) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self.enabled = enabled and total > 0
        self.stream = stream or sys.stderr
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.log_interval = log_interval
        self.started = time.monotonic()
        self._last_draw = 0.0

    def update(self, *, failed: bool = False) -> None:
        self.done += 1
        self.failed += int(failed)
        if not self.enabled:
            return
        now = time.monotonic()
        interval = 0.1 if self.interactive else self.log_interval
        if self.done == self.total or now - self._last_draw >= interval:
            self._last_draw = now
            self._show()

    def eta(self) -> float:
        elapsed = time.monotonic() - self.started
        return elapsed / self.done * (self.total - self.done) if self.done else float("nan")

    def line(self) -> str:
        percent = 100.0 * self.done / self.total if self.total else 100.0
        eta = "--:--" if self.done == 0 else format_duration(self.eta())
        failed = f", {self.failed} failed" if self.failed else ""
        return f"{self.done}/{self.total} runs ({percent:5.1f}%){failed}, ETA {eta}"

    def _show(self) -> None:
        if self.interactive:
            width = 30
            filled = int(width * self.done / self.total)
            bar = "#" * filled + "-" * (width - filled)
            end = "\n" if self.done == self.total else ""
            self.stream.write(f"\r[{bar}] {self.line()}{end}")
            self.stream.flush()
        else:
            logger.info("progress: %s", self.line())
