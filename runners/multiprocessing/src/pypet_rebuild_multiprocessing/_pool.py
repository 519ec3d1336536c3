"""The coordinator's side: worker processes, chunked dispatch, deaths and timeouts.

Each worker has its own pipe, so the coordinator always knows which runs a
worker holds; a worker's ``sentinel`` becomes ready when it exits, however it
exits. Both are watched with one ``multiprocessing.connection.wait`` call, so
a worker killed by the kernel is noticed at once and nothing waits forever.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

from pypet_rebuild.errors import RunnerError
from pypet_rebuild.logs import LOGGER_NAME
from pypet_rebuild.runner import DispatchSink, OutcomeSink, RunOutcome, sigint_ignored
from pypet_rebuild.storage.records import RunStatus

from pypet_rebuild_multiprocessing._worker import NOT_STARTED, read_current_run, receive_message, send_message, serve

__all__ = ["WorkerPool"]

logger = logging.getLogger(LOGGER_NAME + ".multiprocessing")

MAX_CHUNK = 256
CHUNKS_PER_WORKER = 4  # guided scheduling: chunks shrink as the queue empties
FRUITLESS_DEATHS_LIMIT = 3
STOP_GRACE_SECONDS = 5.0


@dataclass
class _Worker:
    slot: int
    process: BaseProcess
    conn: Connection
    current: Any  # shared array: index and start time of the run being executed
    assigned: dict[int, None] = field(default_factory=dict)  # ordered set of runs it holds
    last_chunk: int = 0
    ready: bool = False  # it has loaded the plan and takes chunks
    plan_sender: threading.Thread | None = None


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"{code} ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return str(code)




class WorkerPool:
    """Runs ``pending`` indices on ``workers`` processes; the caller's thread stores."""

    def __init__(
        self,
        context: BaseContext,
        payload: tuple[bytes, bytes, bytes, bytes],
        pending: Sequence[int],
        *,
        workers: int,
        chunk_size: int | None,
        timeout: float | None,
        log_folder: str | None,
        log_level: int,
        on_outcome: OutcomeSink,
        on_dispatch: DispatchSink,
    ) -> None:
        self.context = context
        self.payload = payload
        self.pending: collections.deque[int] = collections.deque(pending)
        self.size = max(1, min(workers, len(self.pending)))
        self.chunk_size = chunk_size
        self.timeout = timeout
        self.log_folder = log_folder
        self.log_level = log_level
        self.on_outcome = on_outcome
        self.on_dispatch = on_dispatch
        self.workers: dict[int, _Worker] = {}
        self.undelivered: collections.deque[RunOutcome] = collections.deque()
        self.fruitless_deaths = 0

    # -- the whole exploration -------------------------------------------------------

    def run(self) -> None:
        """Dispatch everything, hand every outcome on, stop the workers.

        On Ctrl+C the workers are stopped first, then whatever already came
        back is handed on, then ``KeyboardInterrupt`` propagates. Any other
        exception (a failing ``on_outcome`` included) stops the workers too.
        """
        try:
            for slot in range(self.size):
                self._start(slot)
            for worker in list(self.workers.values()):
                self._send_plan(worker)
            while self.pending or any(worker.assigned for worker in self.workers.values()):
                self._step()
        except KeyboardInterrupt:
            logger.warning("interrupted: stopping %d worker processes", len(self.workers))
            self._stop(terminate=True)
            self._deliver([])
            raise
        except BaseException:
            self._stop(terminate=True)
            raise
        self._stop(terminate=False)

    def _step(self) -> None:
        owners: dict[Any, _Worker] = {}
        for worker in self.workers.values():
            owners[worker.conn] = worker
            owners[worker.process.sentinel] = worker
        for ready in wait(list(owners), timeout=self._wait_seconds()):
            worker = owners[ready]
            if self.workers.get(worker.slot) is not worker:
                continue  # already replaced in this round
            if ready is worker.conn:
                outcomes, open_ = self._collect(worker)
                self._deliver(outcomes)
                if open_:
                    self._feed(worker)
                    continue
            self._retire(worker)
        if self.timeout is not None:
            self._enforce_timeout()

    # -- workers -----------------------------------------------------------------------

    def _start(self, slot: int) -> None:
        parent_end, child_end = self.context.Pipe(duplex=True)
        current = self.context.RawArray("d", [NOT_STARTED, 0.0])
        process = self.context.Process(
            target=serve,
            args=(child_end, slot, self.log_folder, self.log_level, current),
            name=f"pypet-rebuild-worker-{slot}",
        )
        # Started with SIGINT ignored (the disposition survives exec), so a
        # Ctrl+C during start-up cannot kill a child before it ignores it.
        with sigint_ignored():
            process.start()
        child_end.close()  # so that the worker's death reads as end-of-file here
        self.workers[slot] = _Worker(slot, process, parent_end, current)
        logger.debug("started worker %d (pid %s)", slot, process.pid)

    def _send_plan(self, worker: _Worker) -> None:
        """Send the plan from a helper thread: writing a plan larger than the
        pipe buffer blocks until the worker has started up and reads it, and
        the coordinator must keep serving the other workers meanwhile. The
        worker answers "ready" once it has loaded the plan; only then is it fed."""

        def send() -> None:
            with contextlib.suppress(OSError):  # it died while starting; its sentinel reports that
                send_message(worker.conn, self.payload)

        worker.plan_sender = threading.Thread(target=send, name=f"pypet-rebuild-plan-{worker.slot}", daemon=True)
        worker.plan_sender.start()

    def _chunk_length(self) -> int:
        if self.chunk_size is not None:
            return self.chunk_size
        share = -(-len(self.pending) // (len(self.workers) * CHUNKS_PER_WORKER))
        return max(1, min(MAX_CHUNK, share))

    def _feed(self, worker: _Worker) -> None:
        """Keep each worker two chunks deep, so it never waits for the coordinator."""
        while worker.ready and self.pending and len(worker.assigned) <= worker.last_chunk:
            length = self._chunk_length()
            chunk = [self.pending.popleft() for _ in range(min(length, len(self.pending)))]
            for idx in chunk:
                self.on_dispatch(idx)
                worker.assigned[idx] = None
            worker.last_chunk = len(chunk)
            try:
                send_message(worker.conn, chunk)
            except OSError:
                return  # it died; its sentinel reports that and its runs go back to the queue

    def _feed_all(self) -> None:
        for worker in list(self.workers.values()):
            self._feed(worker)

    def _collect(self, worker: _Worker) -> tuple[list[RunOutcome], bool]:
        """Everything the worker has sent so far, and whether its pipe is still open."""
        outcomes: list[RunOutcome] = []
        try:
            while worker.conn.poll():
                kind, body = receive_message(worker.conn)
                if kind == "ready":
                    worker.ready = True
                    continue
                if kind == "error":
                    raise RunnerError(
                        f"worker process {worker.slot} could not load the job, its arguments or the "
                        "trajectory; each worker imports them anew, so they must be importable in a "
                        f"fresh Python process (defined in a module, not interactively):\n{body}"
                    )
                for outcome in body:
                    worker.assigned.pop(outcome.idx, None)
                outcomes.extend(body)
        except (EOFError, OSError):
            return outcomes, False
        if outcomes:
            self.fruitless_deaths = 0
        return outcomes, True

    def _deliver(self, outcomes: list[RunOutcome]) -> None:
        """Hand outcomes on one by one; what an interrupt leaves behind stays queued."""
        self.undelivered.extend(outcomes)
        while self.undelivered:
            self.on_outcome(self.undelivered.popleft())

    def _retire(self, worker: _Worker, overran: tuple[int, float] | None = None) -> None:
        """A worker died (or overran its timeout and is killed): fail the run it was
        executing, hand its other runs back to the queue, start a replacement."""
        del self.workers[worker.slot]
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join()
        if worker.plan_sender is not None:
            worker.plan_sender.join()
        outcomes, _ = self._collect(worker)
        code = worker.process.exitcode
        running = overran or read_current_run(worker.current)
        if running is not None and running[0] in worker.assigned:
            idx, started = running
            del worker.assigned[idx]
            if overran is not None:
                error = (
                    f"run {idx} exceeded the timeout of {self.timeout} s; its worker process "
                    f"{worker.slot} was stopped and replaced"
                )
            else:
                error = (
                    f"worker process {worker.slot} (pid {worker.process.pid}) died with exit code "
                    f"{_exit_text(code)} while running run {idx}"
                )
            logger.error("%s", error)
            outcomes.append(RunOutcome(idx, RunStatus.FAILED, started, time.time(), error=error))
        else:
            self.fruitless_deaths += 1
            logger.error(
                "worker process %d (pid %s) died with exit code %s between runs",
                worker.slot, worker.process.pid, _exit_text(code),
            )
        self.pending.extendleft(reversed(worker.assigned))
        worker.conn.close()
        worker.process.close()
        if self.fruitless_deaths >= FRUITLESS_DEATHS_LIMIT:
            raise RunnerError(
                f"worker processes keep dying without finishing a run (last exit code {_exit_text(code)}); "
                f"see the worker logs{' in ' + self.log_folder if self.log_folder else ' (pass log_folder)'}"
            )
        if self.pending:
            self._start(worker.slot)
            self._send_plan(self.workers[worker.slot])
        self._deliver(outcomes)
        self._feed_all()

    # -- timeouts ------------------------------------------------------------------------

    def _running(self, worker: _Worker) -> tuple[int, float] | None:
        running = read_current_run(worker.current)
        if running is None or running[0] not in worker.assigned:
            return None
        return running

    def _wait_seconds(self) -> float:
        if self.timeout is None:
            return 1.0
        deadlines = [r[1] + self.timeout for w in self.workers.values() if (r := self._running(w))]
        if not deadlines:
            return min(1.0, self.timeout)
        return min(1.0, max(0.01, min(deadlines) - time.time()))

    def _enforce_timeout(self) -> None:
        assert self.timeout is not None
        for worker in list(self.workers.values()):
            running = self._running(worker)
            if running is None or time.time() - running[1] <= self.timeout:
                continue
            # The run may have finished just now: take what was sent before deciding.
            outcomes, _ = self._collect(worker)
            self._deliver(outcomes)
            if self._running(worker) == running:
                self._retire(worker, overran=running)

    # -- stopping --------------------------------------------------------------------------

    def _stop(self, *, terminate: bool) -> None:
        workers = list(self.workers.values())
        self.workers.clear()
        for worker in workers:
            with contextlib.suppress(OSError):
                if terminate or not worker.ready:  # one still starting holds no runs
                    worker.process.terminate()
                else:
                    send_message(worker.conn, None)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                logger.warning("worker %d did not stop; killing it", worker.slot)
                worker.process.kill()
                worker.process.join()
            if worker.plan_sender is not None:
                worker.plan_sender.join()  # the worker is gone, so the send has failed or finished
        for worker in workers:
            if terminate:
                # Outcomes that were already on their way still count.
                with contextlib.suppress(Exception):
                    self.undelivered.extend(self._collect(worker)[0])
            worker.conn.close()
            worker.process.close()
