"""What rank 0 and the workers say to each other, and how a broken job ends.

Messages (all through mpi4py's pickle-based lowercase API):

* rank 0 broadcasts the plan once per ``execute`` (``share_plan``);
* a worker sends ``REPORT`` with the pickled outcomes of its last chunk (an
  empty list the first time: "ready"), or ``FAILED`` with the outcomes it
  finished and a description when it cannot go on (it could not unpickle
  the plan, or a run raised ``SystemExit``);
* rank 0 answers every worker message with ``WORK`` (a list of run indices)
  or ``STOP``. After an error rank 0 may send ``STOP`` to a busy worker
  before it reports; the worker sees it between two runs, reports what it
  finished and then receives that same ``STOP``.

So every message a worker sends is received, and every ``STOP`` is received
exactly once: the communicator is clean when ``execute`` returns.
"""

from __future__ import annotations

import atexit
import pickle
import sys
import traceback
from types import TracebackType
from typing import Any

from pypet_rebuild.errors import RunnerError
from pypet_rebuild.runner import RunPlan

__all__ = [
    "FAILED",
    "REPORT",
    "STOP",
    "WORK",
    "abort_at_exit",
    "abort_job",
    "abort_on_uncaught_exception",
    "import_mpi",
    "share_plan",
]

REPORT = 1
FAILED = 2
WORK = 3
STOP = 4


def import_mpi() -> Any:
    """``mpi4py.MPI``, imported only when an MPI runner is made: importing it
    initialises MPI, which plain serial or multiprocessing users never need."""
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError) as exc:
        raise RunnerError(
            f"the mpi runner could not initialise MPI through mpi4py: {exc}; install an MPI library "
            "(pip install mpich, or load your cluster's MPI module) and reinstall mpi4py against it"
        ) from exc
    return MPI


def share_plan(comm: Any, plan: RunPlan) -> RunPlan | None:
    """Rank 0's trajectory, job and arguments, on every rank.

    Workers may have built their own trajectory identically, but rank 0's
    (perhaps resumed from storage) is the truth. Rank 0 pickles before the
    broadcast so that an unpicklable job fails there with a clear message
    instead of leaving the workers waiting; the workers then get ``None``
    and return without computing (rank 0 alone reports the problem).
    """
    if comm.Get_rank() == 0:
        shared = (plan.trajectory, plan.job, plan.args, plan.kwargs, plan.log_folder)
        try:
            message: tuple[bool, Any] = (True, pickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL))
        except Exception as exc:
            message = (
                False,
                f"the job, its arguments or the trajectory cannot be pickled for the other MPI ranks: "
                f"{exc!r}; define the job at module level of the script (no lambda or nested function) "
                "and pass only picklable arguments",
            )
        comm.bcast(message, root=0)
        if not message[0]:
            raise RunnerError(message[1])
        return plan
    ok, payload = comm.bcast(None, root=0)
    if not ok:
        return None
    trajectory, job, args, kwargs, log_folder = pickle.loads(payload)
    return RunPlan(trajectory, job, args, kwargs, (), log_folder)


_installed: list[Any] = []


def abort_on_uncaught_exception(comm: Any) -> None:
    """End the whole MPI job when any rank dies of an uncaught exception.

    Without this a rank that raises (a storage error on rank 0, say) goes on
    to ``MPI_Finalize`` while the others wait for it, and ``mpiexec`` hangs.
    The traceback is printed first, and by then every ``finally`` block and
    ``with`` statement has run, so finished runs are already stored. This is
    what ``python -m mpi4py script.py`` does; installed once per process.
    """
    if _installed:
        return
    _installed.append(comm)
    previous = sys.excepthook

    def excepthook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        try:
            previous(kind, error, tb)
        except Exception:
            traceback.print_exception(kind, error, tb)
        abort_job(comm)

    sys.excepthook = excepthook


def abort_job(comm: Any) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    comm.Abort(1)


def abort_at_exit(comm: Any) -> None:
    """Workers could not be stopped in time: the process must not reach
    ``MPI_Finalize`` (it would wait for them forever), so abort on exit."""
    atexit.register(abort_job, comm)
