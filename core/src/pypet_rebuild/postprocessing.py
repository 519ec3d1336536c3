"""Post-processing and pipelines: the adaptive loop of pypet's Environment.

After the runs, a post-processing function looks at the results and may
expand the trajectory; the Environment then runs the new points and asks
again, until it stops expanding (the paper's adaptive search, section 3.5).
A pipeline is a function that builds the trajectory and returns the job and,
optionally, the post-processing, so that one call does all three steps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pypet_rebuild.errors import JobError

if TYPE_CHECKING:
    from pypet_rebuild.trajectory import Trajectory

__all__ = ["Call", "PostProcessing", "parse_call", "parse_pipeline"]


@dataclass
class Call:
    """A function with the positional and keyword arguments it is called with."""

    function: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def parse_call(spec: Any, what: str) -> Call:
    """``fn``, ``(fn,)``, ``(fn, args)`` or ``(fn, args, kwargs)``, as pypet's pipelines return them."""
    if callable(spec):
        return Call(spec)
    if isinstance(spec, (tuple, list)) and spec and callable(spec[0]) and len(spec) <= 3:
        args = tuple(spec[1]) if len(spec) > 1 and spec[1] is not None else ()
        kwargs = dict(spec[2]) if len(spec) > 2 and spec[2] is not None else {}
        return Call(spec[0], args, kwargs)
    raise JobError(
        f"the {what} must be a function or a tuple (function, args, kwargs), got {type(spec).__name__}: {spec!r}"
    )


def parse_pipeline(returned: Any) -> tuple[Call, Call | None]:
    """The job and the optional post-processing a pipeline function returned.

    Accepted: ``job``; ``(job, args, kwargs)``; ``((job, args, kwargs),
    (postproc, args, kwargs))``, where each inner tuple may be shortened or
    be a bare function, and the post-processing may be ``None``.
    """
    if isinstance(returned, (tuple, list)) and len(returned) == 2 and not callable(returned[0]):
        job, postproc = returned
        return parse_call(job, "pipeline's job"), None if postproc is None else parse_call(
            postproc, "pipeline's post-processing"
        )
    if isinstance(returned, (tuple, list)) and len(returned) == 2 and returned[1] is None:
        return parse_call(returned[0], "pipeline's job"), None
    return parse_call(returned, "pipeline's job"), None


class PostProcessing:
    """Calls the post-processing function and applies what it asks for.

    The function is called as ``fn(traj, results, *args, **kwargs)`` with
    every ``(idx, value)`` of this ``run`` call so far. It expands the
    trajectory itself (``traj.expand``), or returns a dict to expand with,
    or a tuple ``(dict, args, kwargs)`` that also replaces the job's
    arguments for the new runs (pypet's forms). The loop goes on while the
    trajectory grows.
    """

    def __init__(self, call: Call) -> None:
        self.call = call

    def __call__(self, traj: Trajectory, results: list[tuple[int, Any]], job: Call) -> bool:
        """Run the post-processing once; True when there are new points to run."""
        before = len(traj)
        returned = self.call.function(traj, results, *self.call.args, **self.call.kwargs)
        if isinstance(returned, tuple):
            space, *arguments = returned
            if arguments:
                job.args = tuple(arguments[0] or ())
            if len(arguments) > 1:
                job.kwargs = dict(arguments[1] or {})
            returned = space
        if isinstance(returned, Mapping) and returned:
            traj.expand(returned)
        elif returned is not None and not isinstance(returned, Mapping):
            raise JobError(
                "post-processing may return None, a dict of new values to explore, or (dict, args, kwargs); "
                f"{self.call.function.__qualname__} returned {type(returned).__name__}"
            )
        return len(traj) > before

