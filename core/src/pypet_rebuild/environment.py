"""The Environment: runs a job once per explored point and stores everything."""

from __future__ import annotations

import array
import difflib
import inspect
import logging
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from pypet_rebuild._run_selection import checked_runs, selected_pending
from pypet_rebuild.errors import JobError, RunFailedError, RunnerError, StorageError
from pypet_rebuild.logs import LOGGER_NAME, configure_logging, detach_handlers
from pypet_rebuild.mapped_job import map_arguments
from pypet_rebuild.persistence import LoadLevel, fill_trajectory
from pypet_rebuild.plugins import PluginHost, get_plugin_host, mask_url
from pypet_rebuild.postprocessing import Call, PostProcessing, parse_call, parse_pipeline
from pypet_rebuild.progress import Progress
from pypet_rebuild.provenance import environment_metadata
from pypet_rebuild.runner import RunOutcome, RunPlan
from pypet_rebuild.storage.base import StorageBackend
from pypet_rebuild.storage.records import RunRecord, RunStatus, TrajectoryInfo
from pypet_rebuild.storage.untrusted import check_info
from pypet_rebuild.trajectory import Trajectory
from pypet_rebuild.tree_records import node_records

__all__ = ["Environment"]

logger = logging.getLogger(LOGGER_NAME + ".environment")


class Environment:
    """Creates (or resumes) a trajectory in a storage and runs jobs on it.

    ``storage`` is a URL (``memory://``, ``results.h5``, ``sqlite:///x.db``,
    ``postgresql://...``, ``mongodb://...``) or an open backend; by default
    the trajectory goes to ``results/<trajectory name>.h5``, so nothing is
    lost when the script ends. ``runner``
    names a runner plugin and extra keyword arguments are its options
    (``ncores=4``), except those a plugin claims through
    ``pypet_rebuild_register_environment_options`` (``git_repository=...``),
    which land in ``plugin_options``. Finished runs are stored in batches while the exploration
    goes on: every ``batch_size`` runs or ``store_interval`` seconds.
    ``allow_pickle=True`` lets a resumed trajectory unpickle stored pickled
    results when they are touched; allow it only for data you trust.

    ``runs=indices`` runs only those of the given indices that are not
    completed yet. With ``resume=True`` it also stores nothing but their
    runs: what one of many writers into the same trajectory does (a SLURM
    array task, a user's own launcher); ``runs=[]`` on a new trajectory
    stores it and runs nothing, for such writers to take up.
    """

    def __init__(
        self,
        trajectory: str | Trajectory = "my_trajectory",
        storage: str | os.PathLike[str] | StorageBackend | None = None,
        *,
        runner: str = "serial",
        comment: str = "",
        resume: bool = False,
        allow_pickle: bool = False,
        overwrite: bool = False,
        log_folder: str | os.PathLike[str] | None = None,
        log_level: int = logging.INFO,
        log_to_console: bool = True,
        progress: bool = True,
        fail_fast: bool = False,
        add_time: bool = False,
        batch_size: int = 1000,
        store_interval: float = 5.0,
        storage_options: dict[str, Any] | None = None,
        runs: Iterable[int] | None = None,
        plugin_host: PluginHost | None = None,
        **runner_options: Any,
    ) -> None:
        if resume and overwrite:
            raise StorageError("resume=True continues a stored trajectory; it cannot be combined with overwrite=True")
        self.host = plugin_host or get_plugin_host()
        self.plugin_options, runner_options = self.host.environment_options.split(runner_options)
        try:
            self.runner = self.host.make_runner(runner, **runner_options)
        except RunnerError as error:
            hint = _environment_option_hint(runner_options)
            if hint is None:
                raise
            raise RunnerError(f"{error}; {hint}") from error
        self.fail_fast = fail_fast
        self.progress = progress
        self.batch_size = max(1, batch_size)
        self.store_interval = store_interval
        self.log_folder = os.fspath(log_folder) if log_folder is not None else None
        self._log_handlers = (
            configure_logging(log_folder, level=log_level, console=log_to_console)
            if self.runner.is_coordinator
            else []
        )
        self._created_in_storage = resume
        self._overwrite = overwrite
        self.backend: StorageBackend | None = None
        if isinstance(trajectory, Trajectory):
            self.trajectory = trajectory
        else:
            if add_time:  # pypet's add_time: a new trajectory per script run, named by its start
                trajectory = f"{trajectory}_{time.strftime('%Y_%m_%d_%Hh%Mm%Ss')}"
            self.trajectory = Trajectory(trajectory, comment)
        self._postprocessing: PostProcessing | None = None
        if allow_pickle:  # the reader's permission to unpickle what resume loads
            self.trajectory.allow_pickle = True
        self.traj = self.trajectory
        if storage is None:
            storage = os.path.join("results", f"{self.trajectory.name}.h5")
        self._selected_runs = checked_runs(runs)
        self._adds_runs_only = resume and runs is not None
        if self.runner.is_coordinator:
            self._attach_storage(storage, resume, storage_options or {})
            self.trajectory.metadata.update(environment_metadata(self.trajectory.name, time.time()))
            try:
                self.host.hook.pypet_rebuild_environment_created(environment=self)
            except BaseException:  # a plugin refused (e.g. git_fail): release the storage it opened
                self.close()
                raise

    @property
    def name(self) -> str:
        return str(self.trajectory.metadata.get("environment_name", "environment"))

    def _attach_storage(
        self, storage: str | os.PathLike[str] | StorageBackend, resume: bool, options: dict[str, Any]
    ) -> None:
        backend = storage if isinstance(storage, StorageBackend) else self.host.open_storage(storage, **options)
        self.backend = backend
        traj = self.trajectory
        stored = {info.name for info in backend.list_trajectories()}
        if resume:
            if traj.name not in stored:
                raise StorageError(
                    f"cannot resume: {mask_url(backend.url)!r} holds no trajectory {traj.name!r}; "
                    f"it holds {sorted(stored)}"
                )
            stored_info = check_info(backend.load_info(traj.name))
            traj.created, traj.comment = stored_info.created, stored_info.comment
            traj.metadata.update(stored_info.metadata)
            fill_trajectory(traj, backend, load_results=LoadLevel.SKELETON)
            done = traj._runs.completed_count(len(traj))
            logger.info("resuming %r: %d of %d runs already completed", traj.name, done, len(traj))
        elif traj.name in stored and not self._overwrite:
            raise StorageError(
                f"{mask_url(backend.url)!r} already holds a trajectory {traj.name!r}; pass "
                "overwrite=True to replace it, resume=True to continue it, or choose another name"
            )
        traj._storage = backend

    # -- running -------------------------------------------------------------------

    def _ensure_stored(self) -> None:
        assert self.backend is not None
        traj = self.trajectory
        if self._adds_runs_only:
            return  # one of many writers: the trajectory's nodes belong to whoever created it
        traj.metadata["explored_parameters"] = list(traj.explored_parameters)
        if not self._created_in_storage:
            info = TrajectoryInfo(traj.name, traj.created, traj.comment, dict(traj.metadata))
            self.backend.create_trajectory(info, overwrite=self._overwrite)
            self._created_in_storage = True
        else:
            self.backend.update_metadata(traj.name, dict(traj.metadata))
        self.backend.store_nodes(traj.name, node_records(traj))

    def add_postprocessing(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Call ``function(traj, results, *args, **kwargs)`` after the runs of every ``run``.

        If it expands the trajectory (or returns a dict to expand with), the
        new points are run and it is called again, until it stops expanding:
        pypet's adaptive loop. ``results`` holds every ``(idx, value)`` of the
        ``run`` call so far.
        """
        self._postprocessing = PostProcessing(parse_call((function, args, kwargs), "post-processing"))

    def pipeline(self, pipeline: Callable[[Trajectory], Any]) -> list[tuple[int, Any]]:
        """Build and run in one call: ``pipeline(traj)`` adds parameters, explores,
        and returns the job, or ``((job, args, kwargs), (postproc, args, kwargs))``."""
        job, postproc = parse_pipeline(pipeline(self.trajectory))
        if postproc is not None:
            self._postprocessing = PostProcessing(postproc)
        return self.run(job.function, *job.args, **job.kwargs)

    def pipeline_map(self, pipeline: Callable[[Trajectory], Any]) -> list[tuple[int, Any]]:
        """Like :meth:`pipeline`, with the job's arguments given per run as in :meth:`run_map`."""
        job, postproc = parse_pipeline(pipeline(self.trajectory))
        if postproc is not None:
            self._postprocessing = PostProcessing(postproc)
        return self.run_map(job.function, *job.args, **job.kwargs)

    def run(self, job: Callable[..., Any], *args: Any, **kwargs: Any) -> list[tuple[int, Any]]:
        """Run ``job(traj, *args, **kwargs)`` once for every run not yet completed.

        Returns ``[(idx, returned_value), ...]`` in run order for the runs this
        call executed (``None`` for failed runs). Failed runs are recorded
        with their traceback; with ``fail_fast`` the first failure stops the
        exploration and raises ``RunFailedError``. With post-processing (see
        :meth:`add_postprocessing`) the runs it adds are run too and included.
        """
        if not callable(job):
            raise JobError(f"the job must be a callable taking the trajectory, got {type(job).__name__}")
        call = Call(job, args, dict(kwargs))
        results = self._run_pending(call)
        while self._postprocessing is not None and self.runner.is_coordinator:
            if not self._postprocessing(self.trajectory, results, call):
                break
            if not self.runner.repeatable:
                raise RunnerError(
                    f"post-processing expanded {self.trajectory.name!r}, but the {self.runner.name} runner cannot "
                    "run again in this process (with MPI, the other ranks have left); the new points are stored: "
                    "run the script again with resume=True to run them"
                )
            self._ensure_stored()
            results += self._run_pending(call)
        if self._postprocessing is not None and self.runner.is_coordinator:
            self._ensure_stored()  # what the last post-processing call added
        return results

    def _run_pending(self, call: Call) -> list[tuple[int, Any]]:
        job, args, kwargs = call.function, call.args, call.kwargs
        traj = self.trajectory
        indices = selected_pending(traj.pending_runs(), self._selected_runs, len(traj))
        plan = RunPlan(traj, job, args, dict(kwargs), indices, self.log_folder)
        self.runner.check_plan(plan)
        if not self.runner.is_coordinator:
            self.runner.execute(plan, lambda outcome: None, lambda idx: None)
            return []
        self._ensure_stored()
        self.host.hook.pypet_rebuild_exploration_started(environment=self, trajectory=traj, indices=list(indices))
        logger.info("running %d of %d runs of %r with the %s runner", len(indices), len(traj), traj.name, self.runner.name)
        collector = _OutcomeCollector(self, len(indices))
        try:
            self.runner.execute(plan, collector.add, collector.dispatched)
        except KeyboardInterrupt:
            logger.warning("interrupted: storing the %d runs finished so far", collector.count)
            raise
        finally:
            collector.flush()
            assert self.backend is not None
            if not self._adds_runs_only:
                self.backend.store_nodes(traj.name, node_records(traj))
        results = collector.results()
        self.host.hook.pypet_rebuild_exploration_finished(environment=self, trajectory=traj, results=results)
        collector.report()
        return results

    def run_map(self, job: Callable[..., Any], *iter_args: Any, **iter_kwargs: Any) -> list[tuple[int, Any]]:
        """Like :meth:`run`, but each pending run gets its own arguments.

        The k-th run not yet completed is called as
        ``job(traj, a[k] for a in iter_args, **{n: v[k] for n, v in iter_kwargs})``;
        every iterable needs one item per pending run. Works with every runner,
        so ``toolbox.register("map", env.run_map)`` evaluates a DEAP population
        in parallel once the trajectory is expanded by one point per individual.
        """
        if not self.runner.is_coordinator:  # compute-only processes run what the coordinator sends
            return self.run(job)
        traj = self.trajectory
        pending = selected_pending(traj.pending_runs(), self._selected_runs, len(traj))
        return self.run(map_arguments(job, pending, iter_args, iter_kwargs))

    def close(self) -> None:
        """Close the storage and detach this environment's log handlers."""
        if self.backend is not None:
            self.backend.close()
        detach_handlers(self._log_handlers)
        self._log_handlers = []

    def __enter__(self) -> Environment:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _environment_option_hint(options: dict[str, Any]) -> str | None:
    """Name the Environment option a mistyped keyword was meant to be, if one is close.

    Unknown keywords go to the runner, so a typo such as ``overwite=True``
    would otherwise be blamed on the runner alone.
    """
    known = [p for p in inspect.signature(Environment.__init__).parameters if p not in ("self", "runner_options")]
    guesses = {name: difflib.get_close_matches(name, known, n=1) for name in options}
    named = [f"{name!r} (did you mean the Environment option {close[0]!r}?)" for name, close in guesses.items() if close]
    if not named:
        return None
    return "neither the Environment nor the runner takes " + ", ".join(named)


class _OutcomeCollector:
    """Receives outcomes on the coordinator, batches them into storage."""

    def __init__(self, env: Environment, total: int) -> None:
        self.env = env
        self.batch: list[RunRecord] = []
        self.indices = array.array("q")
        self.values: list[Any] = []
        self.failures: list[RunOutcome] = []
        self.count = 0
        self.last_flush = time.monotonic()
        self.progress = Progress(total, enabled=env.progress)
        # Per-run hooks cost a few microseconds each even with no listener;
        # at a million trivial runs that is noticeable, so skip them then.
        hook = env.host.hook
        self.before_run = hook.pypet_rebuild_before_run if hook.pypet_rebuild_before_run.get_hookimpls() else None
        self.after_run = hook.pypet_rebuild_after_run if hook.pypet_rebuild_after_run.get_hookimpls() else None

    def dispatched(self, idx: int) -> None:
        if self.before_run is not None:
            self.before_run(environment=self.env, trajectory=self.env.trajectory, idx=idx)

    def add(self, outcome: RunOutcome) -> None:
        env = self.env
        if self.after_run is not None:
            self.after_run(environment=env, trajectory=env.trajectory, outcome=outcome)
        record = outcome.to_record()
        env.trajectory._record_run(record)
        self.batch.append(record)
        self.indices.append(outcome.idx)
        self.values.append(outcome.value)
        self.count += 1
        failed = outcome.status is RunStatus.FAILED
        self.progress.update(failed=failed)
        if failed:
            self.failures.append(outcome)
            logger.error("run %d failed:\n%s", outcome.idx, outcome.error)
        if len(self.batch) >= env.batch_size or time.monotonic() - self.last_flush >= env.store_interval:
            self.flush()
        if failed and env.fail_fast:
            raise RunFailedError(f"run {outcome.idx} failed (fail_fast=True):\n{outcome.error}")

    def results(self) -> list[tuple[int, Any]]:
        """``(idx, value)`` in run order; the pairs are made only here, once."""
        order = sorted(range(len(self.indices)), key=self.indices.__getitem__)
        return [(self.indices[i], self.values[i]) for i in order]

    def flush(self) -> None:
        if self.batch:
            assert self.env.backend is not None
            self.env.backend.store_runs(self.env.trajectory.name, self.batch)
            self.batch = []
        self.last_flush = time.monotonic()

    def report(self) -> None:
        if self.failures:
            indices = ", ".join(str(o.idx) for o in self.failures[:20])
            more = "" if len(self.failures) <= 20 else f" and {len(self.failures) - 20} more"
            logger.warning("%d of %d runs failed: %s%s", len(self.failures), self.count, indices, more)
        else:
            logger.info("all %d runs completed", self.count)
