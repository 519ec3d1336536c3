"""The ``mpi`` runner: the same script on every rank; rank 0 coordinates and stores.

Launch with ``mpiexec -n N python sim.py`` and ``Environment(..., runner="mpi")``.
Every rank builds the environment and calls ``run``; rank 0 opens the storage,
broadcasts its trajectory and job, hands out chunks of run indices to the
ranks that ask for work, and stores the outcomes as they come back. Ranks
other than 0 only compute: their ``Environment`` opens no storage and their
``run`` returns ``[]``. With a single rank (plain ``python sim.py``) the
runner behaves exactly like the serial runner.
"""

from __future__ import annotations

from typing import Any

from pypet_rebuild.errors import RunnerError
from pypet_rebuild.runner import DispatchSink, OutcomeSink, Runner, RunPlan, execute_run, reject_unknown_options

from pypet_rebuild_mpi._coordinator import Coordinator
from pypet_rebuild_mpi._protocol import abort_on_uncaught_exception, import_mpi
from pypet_rebuild_mpi._worker import serve

__all__ = ["MPIRunner"]


class MPIRunner(Runner):
    """Dynamic load balancing over an MPI communicator.

    Options:

    * ``chunk_size``: runs handed to a worker at a time. ``None`` (default)
      adapts it: one run at first, then about 0.1 s of work per chunk, at
      most 8 runs, and never more than a fair share of what is left.
    * ``comm``: the mpi4py intracommunicator to use (default ``COMM_WORLD``).
      Its rank 0 coordinates; every rank of it must call ``run``.
    * ``stop_timeout``: seconds rank 0 waits, after an error or Ctrl+C, for
      busy workers to finish their current run before it gives up on them
      and aborts the MPI job on exit (default 60).

    Rank 0 does not compute while there are workers, so on a machine with
    ``c`` cores launch ``c + 1`` ranks. In a job with several ranks an
    uncaught exception on any rank aborts the whole MPI job (after its
    traceback is printed and finished runs are stored), as
    ``python -m mpi4py`` would, so that ``mpiexec`` never hangs.
    """

    name = "mpi"

    def __init__(
        self,
        *,
        chunk_size: int | None = None,
        comm: Any = None,
        stop_timeout: float = 60.0,
        **options: Any,
    ) -> None:
        reject_unknown_options(self.name, options)
        MPI = import_mpi()
        if comm is None:
            comm = MPI.COMM_WORLD
        if not isinstance(comm, MPI.Intracomm) or comm == MPI.COMM_NULL:
            raise RunnerError(
                f"the mpi runner needs an mpi4py intracommunicator as comm (e.g. MPI.COMM_WORLD), got {comm!r}"
            )
        if chunk_size is not None and (
            isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1
        ):
            raise RunnerError(
                f"chunk_size must be a positive whole number of runs, or None to adapt it; got {chunk_size!r}"
            )
        if isinstance(stop_timeout, bool) or not isinstance(stop_timeout, (int, float)) or stop_timeout < 0:
            raise RunnerError(f"stop_timeout must be a number of seconds >= 0; got {stop_timeout!r}")
        self.comm = comm
        self.chunk_size = chunk_size
        self.stop_timeout = float(stop_timeout)
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.is_coordinator = self.rank == 0
        self.repeatable = self.size == 1  # the other ranks leave run() after one exploration
        if self.size > 1:
            abort_on_uncaught_exception(comm)

    def execute(self, plan: RunPlan, on_outcome: OutcomeSink, on_dispatch: DispatchSink) -> None:
        if self.size == 1:
            for idx in plan.indices:
                on_dispatch(idx)
                on_outcome(execute_run(plan, idx))
            return
        # A private copy of the communicator: the user's own messages on
        # ``comm`` can never be mistaken for the runner's.
        comm = self.comm.Dup()
        clean = True
        try:
            if self.is_coordinator:
                coordinator = Coordinator(
                    comm, plan, on_outcome, on_dispatch, chunk_size=self.chunk_size, stop_timeout=self.stop_timeout
                )
                try:
                    coordinator.run()
                finally:
                    clean = not coordinator.left_behind
            else:
                serve(comm, plan)
        finally:
            if clean:
                comm.Free()
