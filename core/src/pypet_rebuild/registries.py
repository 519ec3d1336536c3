"""Registries that registration hooks fill: storage backends, runners and
the keyword arguments of ``Environment`` that plugins claim.

Plugins add *types* through these objects rather than returning values from
hooks, so one plugin can register several things and the host can say which
plugin registered what.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pypet_rebuild.errors import PluginError

if TYPE_CHECKING:
    from pypet_rebuild.runner import Runner
    from pypet_rebuild.storage.base import StorageBackend

__all__ = [
    "BackendEntry",
    "EnvironmentOption",
    "EnvironmentOptionRegistry",
    "RunnerEntry",
    "RunnerRegistry",
    "StorageRegistry",
]


@dataclass(frozen=True)
class BackendEntry:
    name: str
    opener: Callable[..., StorageBackend]
    schemes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    plugin: str = ""
    # For formats that a suffix cannot tell apart (another program's HDF5
    # files): a cheap, read-only test of an existing file's contents.
    recognizes: Callable[[str], bool] | None = None


@dataclass(frozen=True)
class RunnerEntry:
    name: str
    factory: Callable[..., Runner]
    plugin: str = ""


@dataclass
class StorageRegistry:
    entries: dict[str, BackendEntry] = field(default_factory=dict)
    current_plugin: str = ""

    def add(
        self,
        name: str,
        opener: Callable[..., StorageBackend],
        *,
        schemes: tuple[str, ...] | list[str] = (),
        suffixes: tuple[str, ...] | list[str] = (),
        recognizes: Callable[[str], bool] | None = None,
    ) -> None:
        for scheme in schemes:
            owner = self.for_scheme(scheme)
            if owner is not None:
                raise PluginError(
                    f"storage backend {name!r} claims URL scheme {scheme!r}, which backend "
                    f"{owner.name!r} (plugin {owner.plugin!r}) already opens; disable one of "
                    "them with PYPET_REBUILD_DISABLE_PLUGINS"
                )
        self.entries[name] = BackendEntry(
            name, opener, tuple(schemes), tuple(s.lower() for s in suffixes), self.current_plugin, recognizes
        )

    def for_scheme(self, scheme: str) -> BackendEntry | None:
        return next((e for e in self.entries.values() if scheme in e.schemes), None)

    def recognizing(self, path: str) -> BackendEntry | None:
        """The first backend whose recogniser claims the existing file ``path``."""
        return next((e for e in self.entries.values() if e.recognizes is not None and e.recognizes(path)), None)

    def for_suffix(self, suffix: str) -> BackendEntry | None:
        return next((e for e in self.entries.values() if suffix.lower() in e.suffixes), None)


@dataclass
class RunnerRegistry:
    entries: dict[str, RunnerEntry] = field(default_factory=dict)
    current_plugin: str = ""

    def add(self, name: str, factory: Callable[..., Runner]) -> None:
        if name in self.entries:
            raise PluginError(
                f"runner {name!r} is registered twice (plugins {self.entries[name].plugin!r} "
                f"and {self.current_plugin!r}); disable one with PYPET_REBUILD_DISABLE_PLUGINS"
            )
        self.entries[name] = RunnerEntry(name, factory, self.current_plugin)



@dataclass(frozen=True)
class EnvironmentOption:
    name: str
    default: Any = None
    help: str = ""
    plugin: str = ""


@dataclass
class EnvironmentOptionRegistry:
    """Keyword arguments of ``Environment`` that belong to a plugin.

    Why: integrations such as git provenance take options
    (``Environment(..., git_repository=".")``) that the core must not know.
    The environment hands every claimed option, with its default when not
    given, to ``environment.plugin_options``; the rest go to the runner.
    """

    entries: dict[str, EnvironmentOption] = field(default_factory=dict)
    current_plugin: str = ""

    def add(self, name: str, default: Any = None, *, help: str = "") -> None:
        if not name.isidentifier():
            raise PluginError(f"environment option {name!r} must be a Python identifier")
        if name in self.entries:
            raise PluginError(
                f"environment option {name!r} is claimed twice (plugins {self.entries[name].plugin!r} "
                f"and {self.current_plugin!r}); disable one with PYPET_REBUILD_DISABLE_PLUGINS"
            )
        self.entries[name] = EnvironmentOption(name, default, help, self.current_plugin)

    def split(self, options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(claimed options with defaults filled in, the options left for the runner)``."""
        claimed = {name: options.get(name, entry.default) for name, entry in self.entries.items()}
        rest = {name: value for name, value in options.items() if name not in self.entries}
        return claimed, rest
