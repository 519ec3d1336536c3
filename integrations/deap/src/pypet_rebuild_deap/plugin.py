"""The ``deap`` plugin: DEAP's ``Logbook`` as a value type.

The generation loop itself needs no hook (``env.run_map`` and ``expand`` are
the core's public API). Registering the logbook lets a user store one whole
(``traj.add_result("log", logbook)``) and get a ``Logbook`` back, chapters
included; :func:`pypet_rebuild_deap.store_logbook` stores plain columns
instead, readable without DEAP.
"""

from __future__ import annotations

from typing import Any

from deap.tools import Logbook

from pypet_rebuild import hookimpl
from pypet_rebuild.values import ValueTypeRegistry

LOGBOOK_TAG = "deap.Logbook"


def logbook_to_portable(logbook: Logbook) -> dict[str, Any]:
    return {
        "header": list(logbook.header or []),
        "records": [dict(record) for record in logbook],
        "chapters": {name: logbook_to_portable(chapter) for name, chapter in logbook.chapters.items()},
    }


def logbook_from_portable(portable: dict[str, Any]) -> Logbook:
    logbook = Logbook()
    logbook.header = list(portable["header"]) or None
    logbook.extend(dict(record) for record in portable["records"])
    for name, chapter in portable["chapters"].items():
        logbook.chapters[name] = logbook_from_portable(chapter)
    return logbook


@hookimpl
def pypet_rebuild_register_value_types(registry: ValueTypeRegistry) -> None:
    registry.add(Logbook, LOGBOOK_TAG, logbook_to_portable, logbook_from_portable)
