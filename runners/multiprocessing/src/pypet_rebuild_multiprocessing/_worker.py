"""What runs inside each worker process.

A worker receives the pickled plan once, as its first message, then loops: take a
chunk of run indices from its pipe, execute them, send the outcomes back in
lists. It never touches storage. Before each run it writes the run index and
start time into a small shared array, so that the coordinating process can
tell which run a worker was executing when it died or overran its timeout.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from pypet_rebuild.logs import LOGGER_NAME, configure_logging
from pypet_rebuild.runner import RunOutcome, RunPlan, execute_run, sendable_outcomes
from pypet_rebuild.storage.records import RunStatus

__all__ = ["serve", "read_current_run", "send_message", "receive_message", "NOT_STARTED"]

logger = logging.getLogger(LOGGER_NAME + ".multiprocessing.worker")

# Outcomes of a long chunk go back at least this often, so that progress and
# storage keep up and a dying worker loses little finished work.
SEND_INTERVAL = 0.25

NOT_STARTED = -2.0
_BETWEEN_WRITES = -1.0


def read_current_run(current: Any) -> tuple[int, float] | None:
    """The (index, start time) of the run a worker is executing, if it has started one.

    The worker marks the slot invalid while it writes the start time, so a
    read that straddles an update sees two different indices and is discarded.
    """
    first, started, second = current[0], current[1], current[0]
    if first != second or first < 0:
        return None
    return int(first), started


def _mark_started(current: Any, idx: int) -> None:
    current[0] = _BETWEEN_WRITES
    current[1] = time.time()
    current[0] = float(idx)


def send_message(conn: Connection, message: Any) -> None:
    """Pickle with the highest protocol: ``Connection.send`` uses the default one,
    which loses the byte order of big-endian NumPy arrays."""
    conn.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def receive_message(conn: Connection) -> Any:
    return pickle.loads(conn.recv_bytes())


def _send(conn: Connection, outcomes: list[RunOutcome]) -> None:
    try:
        message = pickle.dumps(("outcomes", outcomes), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        message = pickle.dumps(("outcomes", sendable_outcomes(outcomes, "back to the main process")), protocol=pickle.HIGHEST_PROTOCOL)
    conn.send_bytes(message)


def serve(conn: Connection, slot: int, log_folder: str | None, log_level: int, current: Any) -> None:
    """The worker's main loop; returns when the coordinator sends ``None`` or goes away."""
    # Ctrl+C reaches the whole process group; the coordinator decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if log_folder is not None:
        configure_logging(log_folder, level=log_level, console=False, file_stem=f"worker_{slot}")
    try:
        # The plan comes through the pipe, not with the process arguments: the
        # coordinator can then start every worker before any of them has read it.
        trajectory, job, args, kwargs = (pickle.loads(part) for part in receive_message(conn))
        plan = RunPlan(trajectory, job, args, kwargs)
    except BaseException:
        send_message(conn, ("error", traceback.format_exc()))
        return
    send_message(conn, ("ready", None))
    logger.info("worker %d (pid %d) ready to run %r", slot, os.getpid(), trajectory.name)
    while True:
        try:
            chunk = receive_message(conn)
        except EOFError:
            logger.warning("worker %d: the coordinating process went away; stopping", slot)
            return
        if chunk is None:
            logger.info("worker %d (pid %d) done", slot, os.getpid())
            return
        outcomes: list[RunOutcome] = []
        last_send = time.monotonic()
        for idx in chunk:
            _mark_started(current, idx)
            outcome = execute_run(plan, idx)
            if outcome.status is RunStatus.FAILED:
                logger.error("run %d failed:\n%s", idx, outcome.error)
            outcomes.append(outcome)
            if time.monotonic() - last_send >= SEND_INTERVAL:
                _send(conn, outcomes)
                outcomes = []
                last_send = time.monotonic()
        if outcomes:
            _send(conn, outcomes)
