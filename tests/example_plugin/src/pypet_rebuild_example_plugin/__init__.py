"""A third-party plugin as an outside author would write it.

It adds a ``scratch://`` storage (the memory backend under another scheme),
a ``reversed`` runner (runs the points last to first) and teaches every
backend to store ``fractions.Fraction``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from pypet_rebuild import Runner, execute_run, hookimpl
from pypet_rebuild.memory_backend import MemoryBackend


class ReversedRunner(Runner):
    name = "reversed"

    def __init__(self, **options: Any) -> None:
        self.options = options

    def execute(self, plan, on_outcome, on_dispatch) -> None:  # type: ignore[no-untyped-def]
        for idx in reversed(list(plan.indices)):
            on_dispatch(idx)
            on_outcome(execute_run(plan, idx))


def open_scratch(url: str, **options: Any) -> MemoryBackend:
    return MemoryBackend("memory://scratch-" + url.split("://", 1)[1])


@hookimpl
def pypet_rebuild_register_storage_backends(registry) -> None:  # type: ignore[no-untyped-def]
    registry.add("scratch", open_scratch, schemes=("scratch",))


@hookimpl
def pypet_rebuild_register_runners(registry) -> None:  # type: ignore[no-untyped-def]
    registry.add("reversed", ReversedRunner)


@hookimpl
def pypet_rebuild_register_value_types(registry) -> None:  # type: ignore[no-untyped-def]
    registry.add(Fraction, "example.Fraction", lambda f: (f.numerator, f.denominator), lambda t: Fraction(*t))
