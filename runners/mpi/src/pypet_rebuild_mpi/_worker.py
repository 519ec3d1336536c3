"""The loop of every rank but 0: ask for runs, compute them, send the outcomes back."""

from __future__ import annotations

import logging
import pickle
import traceback
from typing import Any

from pypet_rebuild.logs import configure_logging, detach_handlers
from pypet_rebuild.runner import RunOutcome, RunPlan, execute_run, sendable_outcomes, sigint_ignored

from pypet_rebuild_mpi._protocol import FAILED, REPORT, STOP, import_mpi, share_plan

__all__ = ["serve"]


def serve(comm: Any, own_plan: RunPlan) -> None:
    """Compute whatever rank 0 hands out until it says stop.

    Workers never raise: every problem is reported to rank 0, which raises
    it once for the whole job. ``own_plan`` (what this rank's script built)
    is only the template for the broadcast; rank 0's plan is used.
    """
    MPI = import_mpi()
    with sigint_ignored():
        try:
            plan = share_plan(comm, own_plan)
        except Exception:
            _report_failure(
                comm,
                [],
                "could not load the job sent by rank 0; every rank must be able to import the job and the "
                "types of its arguments (define them at module level of the script or in an installed "
                f"module). The rank's traceback:\n{traceback.format_exc()}",
            )
            return
        if plan is None:
            return
        handlers = _log_to_rank_file(plan.log_folder, comm.Get_rank())
        try:
            _compute_until_stopped(comm, plan, MPI)
        finally:
            detach_handlers(handlers)


def _compute_until_stopped(comm: Any, plan: RunPlan, MPI: Any) -> None:
    status = MPI.Status()
    outcomes: list[RunOutcome] = []
    while True:
        comm.send(_pickled_outcomes(outcomes), dest=0, tag=REPORT)
        chunk = comm.recv(source=0, tag=MPI.ANY_TAG, status=status)
        if status.Get_tag() == STOP:
            return
        outcomes = []
        for idx in chunk:
            # rank 0 stopped early (an error or Ctrl+C there): report what is done;
            # the STOP stays queued and ends the loop after the report.
            if comm.Iprobe(source=0, tag=STOP):
                break
            try:
                outcomes.append(execute_run(plan, idx))
            except BaseException as exc:  # SystemExit and the like: not a failed run, a broken job
                description = (
                    f"stopped in run {idx}: the job raised {type(exc).__name__}, which ends the exploration "
                    f"(only Exception subclasses are recorded as failed runs). The rank's traceback:\n"
                    f"{traceback.format_exc()}"
                )
                _report_failure(comm, outcomes, description)
                return


def _report_failure(comm: Any, finished: list[RunOutcome], description: str) -> None:
    """Tell rank 0 (with the runs finished so far), then wait for its STOP:
    rank 0 stores those runs, stops the others and raises ``description``."""
    comm.send((_pickled_outcomes(finished), description), dest=0, tag=FAILED)
    comm.recv(source=0, tag=STOP)


def _pickled_outcomes(outcomes: list[RunOutcome]) -> bytes:
    """Pickle here, not inside ``send``, so that one run returning something
    unpicklable becomes a failed run instead of a dead worker."""
    try:
        return pickle.dumps(outcomes, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return pickle.dumps(sendable_outcomes(outcomes, "to rank 0"), protocol=pickle.HIGHEST_PROTOCOL)




def _log_to_rank_file(log_folder: str | None, rank: int) -> list[logging.Handler]:
    """Rank 0 logs to ``main.log``; each worker to its own ``mpi_rank_<n>.log``."""
    if log_folder is None:
        return []
    return configure_logging(log_folder, console=False, file_stem=f"mpi_rank_{rank}")
