"""The ``multiprocessing`` runner: parallel runs on one machine, one writer.

The trajectory, the job and its arguments are pickled once and handed to
each worker process when it starts; after that the only traffic is chunks of
run indices going out and lists of outcomes coming back. The coordinating
process (the one that called ``env.run``) stores everything.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import sys
from typing import Any

from pypet_rebuild.errors import JobError, RunnerError
from pypet_rebuild.logs import LOGGER_NAME
from pypet_rebuild.runner import DispatchSink, OutcomeSink, Runner, RunPlan

from pypet_rebuild_multiprocessing._pool import WorkerPool

__all__ = ["MultiprocessingRunner"]

logger = logging.getLogger(LOGGER_NAME + ".multiprocessing")

Payload = tuple[bytes, bytes, bytes, bytes]


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RunnerError(f"the multiprocessing runner needs {name} to be a whole number >= 1, got {value!r}")
    return value


def _pickled(what: str, obj: Any, hint: str) -> bytes:
    try:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise JobError(f"{what} cannot be sent to worker processes: {exc}; {hint}") from exc


def _job_name(job: Any) -> str:
    return getattr(job, "__qualname__", None) or getattr(job, "__name__", None) or repr(job)


class MultiprocessingRunner(Runner):
    """Runs on ``ncores`` worker processes started with ``start_method``.

    Options: ``ncores`` (default: every CPU), ``start_method`` (``"spawn"``,
    the portable default; ``"fork"`` or ``"forkserver"`` where the platform
    has them), ``chunk_size`` (runs per message; default: shrinking chunks
    of at most 256), ``timeout`` (seconds a single run may take before its
    worker is killed, the run recorded as failed and the worker replaced).
    """

    name = "multiprocessing"

    def __init__(
        self,
        *,
        ncores: int | None = None,
        start_method: str = "spawn",
        chunk_size: int | None = None,
        timeout: float | None = None,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise RunnerError(
                f"the multiprocessing runner does not take the option(s) {sorted(unknown)}; it takes "
                "ncores, start_method, chunk_size and timeout"
            )
        self.ncores = _positive_int("ncores", (os.cpu_count() or 1) if ncores is None else ncores)
        available = multiprocessing.get_all_start_methods()
        if start_method not in available:
            raise RunnerError(
                f"start_method {start_method!r} is not available on this platform; choose one of {available}"
            )
        self.start_method = start_method
        self.chunk_size = None if chunk_size is None else _positive_int("chunk_size", chunk_size)
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
        ):
            raise RunnerError(f"timeout is the number of seconds one run may take (> 0), got {timeout!r}")
        self.timeout = None if timeout is None else float(timeout)
        self._checked: tuple[RunPlan, Payload] | None = None

    def check_plan(self, plan: RunPlan) -> None:
        """Pickle everything the workers need now, naming whatever cannot be sent."""
        job_name = _job_name(plan.job)
        main = sys.modules.get("__main__")
        if (
            self.start_method != "fork"
            and getattr(plan.job, "__module__", None) == "__main__"
            and not hasattr(main, "__file__")
        ):
            raise JobError(
                f"the job {job_name} is defined in an interactive session, which worker processes started "
                f"with {self.start_method!r} cannot import; move it into a module (a .py file) and import it"
            )
        job = _pickled(
            f"the job {job_name}", plan.job,
            "define it at module level (not a lambda, not nested in a function) or use functools.partial",
        )
        args = _pickled_each("argument", plan.args)
        kwargs = _pickled_each("keyword argument", plan.kwargs)
        trajectory = _pickled(
            f"the trajectory {plan.trajectory.name!r}", plan.trajectory,
            "one of its parameters, results or annotations holds an object that cannot be pickled",
        )
        self._checked = (plan, (trajectory, job, args, kwargs))

    def execute(self, plan: RunPlan, on_outcome: OutcomeSink, on_dispatch: DispatchSink) -> None:
        if not plan.indices:
            return
        if self._checked is None or self._checked[0] is not plan:
            self.check_plan(plan)
        assert self._checked is not None
        payload = self._checked[1]
        self._checked = None
        pool = WorkerPool(
            multiprocessing.get_context(self.start_method),
            payload,
            plan.indices,
            workers=self.ncores,
            chunk_size=self.chunk_size,
            timeout=self.timeout,
            log_folder=plan.log_folder,
            log_level=logging.getLogger(LOGGER_NAME).getEffectiveLevel(),
            on_outcome=on_outcome,
            on_dispatch=on_dispatch,
        )
        logger.info(
            "running %d runs on %d worker processes (%s)", len(plan.indices), pool.size, self.start_method
        )
        pool.run()


def _pickled_each(what: str, values: tuple[Any, ...] | dict[str, Any]) -> bytes:
    """Pickle ``values`` whole; if that fails, name the first item that cannot be pickled."""
    try:
        return pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        items = values.items() if isinstance(values, dict) else enumerate(values)
        for key, value in items:
            label = f"{what} {key!r}" if isinstance(key, str) else f"{what} {key}"
            _pickled(f"the {label} ({type(value).__name__})", value, "pass only picklable values to env.run")
        raise
