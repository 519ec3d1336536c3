"""Rank 0's side: hand out chunks of runs on request, collect the outcomes.

Rank 0 only coordinates when there are workers: it waits for messages by
polling with short sleeps (a blocking MPI receive spins at full speed on
most MPI libraries and would steal a core from a worker), answers each
worker at once with its next chunk, and only then hands the outcomes on,
so that workers keep computing while rank 0 stores a batch.
"""

from __future__ import annotations

import logging
import math
import pickle
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pypet_rebuild.errors import RunnerError
from pypet_rebuild.logs import LOGGER_NAME
from pypet_rebuild.runner import DispatchSink, OutcomeSink, RunOutcome, RunPlan

from pypet_rebuild_mpi._protocol import FAILED, STOP, WORK, abort_at_exit, import_mpi, share_plan

__all__ = ["Coordinator"]

logger = logging.getLogger(LOGGER_NAME + ".mpi")

POLL_INTERVAL = 0.0005
# Adaptive chunks: about this much work per chunk, at most this many runs,
# and never more than a fair share of what is left (so the end stays balanced).
TARGET_CHUNK_SECONDS = 0.1
MAX_ADAPTIVE_CHUNK = 8


class Coordinator:
    """One ``execute`` on rank 0 of a communicator with at least two ranks."""

    def __init__(
        self,
        comm: Any,
        plan: RunPlan,
        on_outcome: OutcomeSink,
        on_dispatch: DispatchSink,
        *,
        chunk_size: int | None,
        stop_timeout: float,
    ) -> None:
        self.MPI = import_mpi()
        self.comm = comm
        self.plan = plan
        self.on_outcome = on_outcome
        self.on_dispatch = on_dispatch
        self.chunk_size = chunk_size
        self.stop_timeout = stop_timeout
        self.workers = comm.Get_size() - 1
        self.pending = deque(plan.indices)
        # A worker is busy (computing, or about to send its first message),
        # awaiting an answer (its message was received), or stopped.
        self.busy: set[int] = set(range(1, comm.Get_size()))
        self.awaiting: set[int] = set()
        self.stop_requests: dict[int, Any] = {}
        self.not_handed_on: deque[RunOutcome] = deque()
        self.seconds_computed = 0.0
        self.runs_computed = 0
        self.left_behind: list[int] = []

    def run(self) -> None:
        """Hand out every index; return once every worker was told to stop."""
        share_plan(self.comm, self.plan)
        with _ctrl_c_deferred() as interrupted:
            try:
                while self.busy:
                    source, tag, payload = self._receive(interrupted=interrupted)
                    self._answer(source, tag, payload)
            except BaseException:
                self._stop_after_error()
                raise
        self._wait_for_stops()

    # -- the normal flow -------------------------------------------------------------

    def _answer(self, source: int, tag: int, payload: Any) -> None:
        outcomes, failure = _decode(tag, payload)
        if failure is not None:
            self.not_handed_on.extend(outcomes)
            raise RunnerError(f"MPI rank {source} {failure}")
        for outcome in outcomes:
            self.seconds_computed += max(0.0, outcome.finished - outcome.started)
        self.runs_computed += len(outcomes)
        chunk = self._next_chunk()
        if chunk:
            for idx in chunk:
                self.on_dispatch(idx)
            self.comm.send(chunk, dest=source, tag=WORK)
            self.busy.add(source)
        else:
            self._send_stop(source)
        self.awaiting.discard(source)
        self.not_handed_on.extend(outcomes)
        while self.not_handed_on:
            self.on_outcome(self.not_handed_on.popleft())

    def _next_chunk(self) -> list[int]:
        if not self.pending:
            return []
        if self.chunk_size is not None:
            size = self.chunk_size
        else:
            by_time = 1
            if self.runs_computed and self.seconds_computed > 0:
                by_time = int(TARGET_CHUNK_SECONDS * self.runs_computed / self.seconds_computed)
            elif self.runs_computed:
                by_time = MAX_ADAPTIVE_CHUNK
            fair_share = math.ceil(len(self.pending) / (2 * self.workers))
            size = max(1, min(by_time, fair_share, MAX_ADAPTIVE_CHUNK))
        return [self.pending.popleft() for _ in range(min(size, len(self.pending)))]

    def _receive(
        self, *, deadline: float | None = None, interrupted: threading.Event | None = None
    ) -> tuple[int, int, Any]:
        """The next worker message, by polling; raises ``TimeoutError`` past
        ``deadline`` and ``KeyboardInterrupt`` once ``interrupted`` is set."""
        status = self.MPI.Status()
        while True:
            if interrupted is not None and interrupted.is_set():
                raise KeyboardInterrupt
            if self.comm.Iprobe(source=self.MPI.ANY_SOURCE, tag=self.MPI.ANY_TAG, status=status):
                break
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError
            time.sleep(POLL_INTERVAL)
        source, tag = status.Get_source(), status.Get_tag()
        self.busy.discard(source)
        self.awaiting.add(source)
        return source, tag, self.comm.recv(source=source, tag=tag)

    def _send_stop(self, rank: int) -> None:
        self.stop_requests[rank] = self.comm.isend(None, dest=rank, tag=STOP)

    def _wait_for_stops(self) -> None:
        self.MPI.Request.waitall([self.stop_requests[rank] for rank in sorted(self.stop_requests)])

    # -- after an error on rank 0 ---------------------------------------------------------

    def _stop_after_error(self) -> None:
        """Stop every worker without losing what it finished; never hang.

        Workers awaiting an answer get ``STOP`` now. Busy workers get it too;
        they notice it after their current run and report first, and their
        finished runs are handed on. Workers that do not report within
        ``stop_timeout`` are left behind, and the process aborts the MPI job
        when it exits (after the environment stored everything it holds).
        """
        for rank in sorted(self.awaiting):
            self._send_stop(rank)
        self.awaiting.clear()
        for rank in sorted(self.busy):
            self._send_stop(rank)
        self._hand_on_while_stopping(list(self.not_handed_on))
        deadline = time.monotonic() + self.stop_timeout
        while self.busy:
            try:
                source, tag, payload = self._receive(deadline=deadline)
            except TimeoutError:
                break
            except BaseException:
                logger.exception("receiving from the MPI workers while stopping them failed")
                break
            self.awaiting.discard(source)
            try:
                outcomes, failure = _decode(tag, payload)
            except Exception as exc:
                logger.warning("while stopping the MPI workers, a report could not be read: %r", exc)
                continue
            if failure is not None:
                logger.error("MPI rank %d %s", source, failure)
            self._hand_on_while_stopping(outcomes)
        if self.busy:
            self.left_behind = sorted(self.busy)
            logger.error(
                "MPI ranks %s did not stop within %.0f s; the MPI job will be aborted when this "
                "process exits (everything handed on so far is stored)", self.left_behind, self.stop_timeout,
            )
            abort_at_exit(self.comm)
        else:
            self._wait_for_stops()

    def _hand_on_while_stopping(self, outcomes: list[RunOutcome]) -> None:
        """Finished runs are worth storing even now; a second failure must not
        mask the error that is already on its way up."""
        self.not_handed_on.clear()
        for outcome in outcomes:
            try:
                self.on_outcome(outcome)
            except Exception as exc:
                logger.warning("while stopping the MPI workers, handing on a finished run raised: %s", exc)


def _decode(tag: int, payload: Any) -> tuple[list[RunOutcome], str | None]:
    """A worker's message as (finished outcomes, description of its failure or None)."""
    if tag == FAILED:
        pickled, failure = payload
        return pickle.loads(pickled), failure
    return pickle.loads(payload), None


@contextmanager
def _ctrl_c_deferred() -> Iterator[threading.Event]:
    """Ctrl+C sets an event instead of raising wherever rank 0 happens to be
    (perhaps halfway through handing a run to storage); the loop raises
    ``KeyboardInterrupt`` between two messages, where nothing is half done."""
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield interrupted
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: interrupted.set())
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)
