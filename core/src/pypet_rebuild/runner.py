"""The runner contract and the one function every runner uses to execute a run."""

from __future__ import annotations

import abc
import contextlib
import pickle
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pypet_rebuild.errors import RunnerError
from pypet_rebuild.storage.records import NodeRecord, RunRecord, RunStatus
from pypet_rebuild.tree_records import take_run_records

if TYPE_CHECKING:
    from pypet_rebuild.trajectory import Trajectory

__all__ = [
    "DispatchSink",
    "OutcomeSink",
    "RunOutcome",
    "RunPlan",
    "Runner",
    "execute_run",
    "reject_unknown_options",
    "sendable_outcomes",
    "sigint_ignored",
]


@dataclass
class RunPlan:
    """Everything a runner needs: the trajectory (sent to each worker once),
    the job and its extra arguments, and which run indices to execute."""

    trajectory: Trajectory
    job: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    indices: Sequence[int] = ()
    log_folder: str | None = None


@dataclass
class RunOutcome:
    """One finished run as it travels back to the coordinating process."""

    idx: int
    status: RunStatus
    started: float
    finished: float
    value: Any = None
    error: str | None = None
    nodes: list[NodeRecord] = field(default_factory=list)

    def to_record(self) -> RunRecord:
        return RunRecord(self.idx, self.status, self.started, self.finished, self.error, self.nodes)


OutcomeSink = Callable[[RunOutcome], None]
DispatchSink = Callable[[int], None]


class Runner(abc.ABC):
    """Executes the runs of a plan and hands each outcome to ``on_outcome``.

    Runners compute; they never store. ``on_outcome`` must be called in the
    coordinating process, from one thread, in any order. A ``KeyboardInterrupt``
    must stop the workers and propagate after the outcomes already received
    were handed on, so that the environment can store them.

    ``is_coordinator`` is False on processes that only compute (MPI ranks
    other than 0): the environment then opens no storage there.
    """

    name: ClassVar[str] = ""
    is_coordinator: bool = True
    # Whether ``execute`` may be called again after it returned (post-processing
    # runs the points it adds that way); an MPI world whose workers left cannot.
    repeatable: bool = True

    @abc.abstractmethod
    def execute(self, plan: RunPlan, on_outcome: OutcomeSink, on_dispatch: DispatchSink) -> None:
        """Run every index of ``plan``; call ``on_dispatch(idx)`` when a run is
        handed out and ``on_outcome(outcome)`` when it is back."""

    def check_plan(self, plan: RunPlan) -> None:
        """Raise before any run starts if the plan cannot be executed here."""


def reject_unknown_options(runner: str, options: dict[str, Any]) -> None:
    if options:
        raise RunnerError(f"runner {runner!r} does not take the option(s) {sorted(options)}")


def execute_run(plan: RunPlan, idx: int) -> RunOutcome:
    """Run the job once for ``idx`` on ``plan.trajectory`` and collect what it added.

    Exceptions from the job are caught and recorded with their traceback; the
    trajectory is back at its defaults afterwards, whatever happened.
    """
    traj = plan.trajectory
    traj.idx = idx
    traj._run_active = True
    started = time.time()
    try:
        value = plan.job(traj, *plan.args, **plan.kwargs)
        status, error = RunStatus.COMPLETED, None
    except Exception:
        value, status, error = None, RunStatus.FAILED, traceback.format_exc()
    finished = time.time()
    try:
        nodes = take_run_records(traj, idx)
    finally:
        traj._run_active = False
        traj._idx = -1
    if status is RunStatus.FAILED:
        nodes = []
    return RunOutcome(idx, status, started, finished, value, error, nodes)


def sendable_outcomes(outcomes: list[RunOutcome], destination: str) -> list[RunOutcome]:
    """The outcomes, with any that cannot be pickled replaced by failed runs saying why.

    Workers of parallel runners call this when pickling a message failed, so
    that one run returning something unpicklable fails that run, not the
    worker. ``destination`` completes "cannot be sent ...".
    """
    checked = []
    for outcome in outcomes:
        try:
            pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            error = (
                f"run {outcome.idx} finished, but what it returned or stored cannot be sent {destination}: "
                f"{exc!r}; return and store only picklable values"
            )
            outcome = RunOutcome(outcome.idx, RunStatus.FAILED, outcome.started, outcome.finished, None, error)
        checked.append(outcome)
    return checked


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl+C in this block (main thread only; elsewhere signals cannot be set).

    Parallel runners leave the decision to stop to the coordinating process:
    a worker that died of SIGINT would lose its finished runs.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
