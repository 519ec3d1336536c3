"""Named points where a test can make this process die as ``kill -9`` would.

Crash safety is only as good as its worst window, and a random kill hits a
window of a few milliseconds once in hundreds of trials. Naming the windows
lets a test kill a subprocess exactly there, every time: set
``PYPET_REBUILD_CRASH_AT=<point>`` (or ``<point>:<n>`` to die the ``n``-th
time the point is reached) in the subprocess's environment. Without the
variable a point costs one dictionary look-up.
"""

from __future__ import annotations

import os
import signal

__all__ = ["crash_point", "CRASH_VARIABLE"]

CRASH_VARIABLE = "PYPET_REBUILD_CRASH_AT"


def _armed() -> dict[str, int]:
    text = os.environ.get(CRASH_VARIABLE, "")
    name, _, count = text.partition(":")
    return {name: int(count or 1)} if name else {}


_ARMED = _armed()


def crash_point(name: str) -> None:
    """Die with SIGKILL if the environment armed ``name`` and its count is reached."""
    if name in _ARMED:
        _ARMED[name] -= 1
        if _ARMED[name] <= 0:
            os.kill(os.getpid(), signal.SIGKILL)
