"""The plugin host: discovery, registration, and finding what was asked for.

Builtins (the in-memory backend and the serial runner) are listed in
``BUILTIN_PLUGINS`` and registered exactly like third-party plugins found
through the ``pypet_rebuild`` entry-point group. A plugin that fails to
import does not stop the host; it is remembered, and asking for what it
would have provided raises ``PluginLoadError`` chained to the cause.
"""

from __future__ import annotations

import functools
import importlib
import os
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pluggy

from pypet_rebuild import hookspecs
from pypet_rebuild._install_hint import install_command
from pypet_rebuild.errors import MissingPluginError, PluginError, PluginLoadError, StorageError
from pypet_rebuild.provenance import package_version
from pypet_rebuild.registries import EnvironmentOptionRegistry, RunnerRegistry, StorageRegistry
from pypet_rebuild.values import ValueTypeRegistry, default_registry

if TYPE_CHECKING:
    from pypet_rebuild.runner import Runner
    from pypet_rebuild.storage.base import StorageBackend

__all__ = [
    "BUILTIN_PLUGINS",
    "DISABLE_ENV",
    "NO_AUTOLOAD_ENV",
    "PluginHost",
    "PluginInfo",
    "get_plugin_host",
    "hookimpl",
    "mask_url",
]

hookimpl = pluggy.HookimplMarker(hookspecs.PROJECT_NAME)

ENTRY_POINT_GROUP = hookspecs.PROJECT_NAME
BUILTIN_PLUGINS = ("pypet_rebuild.memory_backend", "pypet_rebuild.serial_runner")
DISABLE_ENV = "PYPET_REBUILD_DISABLE_PLUGINS"
NO_AUTOLOAD_ENV = "PYPET_REBUILD_DISABLE_PLUGIN_AUTOLOAD"

# Which plugin (and so which extra) provides a backend scheme, file suffix or
# runner that is not installed: this is what makes the install hint exact.
KNOWN_SCHEMES = {
    "hdf5": "hdf5",
    "sqlite": "sql",
    "postgresql": "sql",
    "postgres": "sql",
    "mysql": "sql",
    "mongodb": "mongo",
    "mongodb+srv": "mongo",
    "mongomock": "mongo",
}
KNOWN_SUFFIXES = {".h5": "hdf5", ".hdf5": "hdf5", ".hdf": "hdf5", ".db": "sql", ".sqlite": "sql"}
KNOWN_RUNNERS = {"multiprocessing": "multiprocessing", "mpi": "mpi"}


@dataclass
class PluginInfo:
    """What ``python -m pypet_rebuild plugins`` shows about one plugin."""

    name: str
    module: str
    distribution: str = "pypet-rebuild-core"
    version: str = ""
    backends: list[str] = field(default_factory=list)
    runners: list[str] = field(default_factory=list)
    value_types: list[str] = field(default_factory=list)
    environment_options: list[str] = field(default_factory=list)
    lifecycle_hooks: list[str] = field(default_factory=list)
    error: BaseException | None = None


def mask_url(url: str) -> str:
    """The URL with any password replaced, fit for error messages and logs."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def _disabled_names() -> set[str]:
    return {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}


class PluginHost:
    """A pluggy manager plus the registries its plugins filled."""

    def __init__(
        self,
        *,
        autoload: bool | None = None,
        disabled: set[str] | None = None,
        extra_plugins: tuple[tuple[str, Any], ...] = (),
    ) -> None:
        if autoload is None:
            autoload = os.environ.get(NO_AUTOLOAD_ENV, "") in ("", "0")
        self.disabled = _disabled_names() if disabled is None else set(disabled)
        self.manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.storage = StorageRegistry()
        self.runners = RunnerRegistry()
        self.environment_options = EnvironmentOptionRegistry()
        self.value_types: ValueTypeRegistry = default_registry()
        for module_name in BUILTIN_PLUGINS:
            name = module_name.rsplit(".", 1)[-1]
            if name not in self.disabled:
                info = PluginInfo(name, module_name, version=package_version())
                self._register(name, importlib.import_module(module_name), info)
        if autoload:
            self._load_entry_points()
        for name, plugin in extra_plugins:
            self._register(name, plugin, PluginInfo(name, getattr(plugin, "__name__", repr(plugin)), ""))

    @property
    def hook(self) -> Any:
        return self.manager.hook

    def _load_entry_points(self) -> None:
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in self.disabled or ep.name in self.plugins:
                continue
            dist = ep.dist
            info = PluginInfo(
                ep.name, ep.value, dist.metadata["Name"] if dist else "?", dist.version if dist else ""
            )
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken plugin is reported, never fatal to the host
                info.error = exc
                self.plugins[ep.name] = info
                continue
            self._register(ep.name, plugin, info)

    def _register(self, name: str, plugin: Any, info: PluginInfo) -> None:
        try:
            self.manager.register(plugin, name=name)
            self.storage.current_plugin = self.runners.current_plugin = name
            self.environment_options.current_plugin = name
            before = (set(self.storage.entries), set(self.runners.entries), set(self.environment_options.entries))
            self.manager.subset_hook_caller(
                "pypet_rebuild_register_storage_backends", self._others(plugin)
            )(registry=self.storage)
            self.manager.subset_hook_caller("pypet_rebuild_register_runners", self._others(plugin))(
                registry=self.runners
            )
            self.manager.subset_hook_caller(
                "pypet_rebuild_register_environment_options", self._others(plugin)
            )(registry=self.environment_options)
            staging = ValueTypeRegistry()
            self.manager.subset_hook_caller("pypet_rebuild_register_value_types", self._others(plugin))(
                registry=staging
            )
            staging.merge_into(self.value_types)
            added_types = staging.tags()
        except PluginError:
            raise
        except Exception as exc:
            if self.manager.is_registered(plugin):
                self.manager.unregister(plugin)
            info.error = exc
            self.plugins[name] = info
            return
        info.backends = sorted(set(self.storage.entries) - before[0])
        info.runners = sorted(set(self.runners.entries) - before[1])
        info.value_types = sorted(added_types)
        info.environment_options = sorted(set(self.environment_options.entries) - before[2])
        info.lifecycle_hooks = sorted(
            caller.name
            for caller in self.manager.get_hookcallers(plugin) or ()
            if not caller.name.startswith("pypet_rebuild_register_")
        )
        self.plugins[name] = info

    def _others(self, plugin: Any) -> list[Any]:
        """Every registered plugin but ``plugin``: registration hooks run
        once per plugin, as it is registered, so the registries know who
        added what."""
        return [p for p in self.manager.get_plugins() if p is not plugin]

    # -- lookups -------------------------------------------------------------

    def _missing(self, what: str, plugin_name: str | None) -> PluginError:
        if plugin_name is None:
            known = ", ".join(sorted(self.storage.entries) + sorted(self.runners.entries))
            return MissingPluginError(f"no installed plugin provides {what}; installed: {known}")
        info = self.plugins.get(plugin_name)
        if info is not None and info.error is not None:
            error = PluginLoadError(
                f"{what} needs the plugin {plugin_name!r}, which is installed but failed to load: "
                f"{info.error!r}; reinstall it with {install_command(plugin_name)}"
            )
            error.__cause__ = info.error
            return error
        if plugin_name in self.disabled:
            return MissingPluginError(
                f"{what} needs the plugin {plugin_name!r}, which is disabled by {DISABLE_ENV}"
            )
        return MissingPluginError(
            f"{what} needs the plugin {plugin_name!r}, which is not installed; "
            f"install it with: {install_command(plugin_name)}"
        )

    def open_storage(self, url: str | os.PathLike[str], **options: Any) -> StorageBackend:
        """Open the backend that answers ``url``: a scheme URL or a file path."""
        text = os.fspath(url)
        scheme = urlsplit(text).scheme if "://" in text else ""
        if scheme:
            entry = self.storage.for_scheme(scheme)
            if entry is None:
                raise self._missing(f"storage URL {mask_url(text)!r}", KNOWN_SCHEMES.get(scheme))
        else:
            suffix = Path(text).suffix
            entry = self.storage.recognizing(text) if Path(text).is_file() else None
            entry = entry or self.storage.for_suffix(suffix)
            if entry is None:
                if suffix.lower() not in KNOWN_SUFFIXES:
                    schemes = sorted(s for e in self.storage.entries.values() for s in e.schemes)
                    raise StorageError(
                        f"cannot tell which storage backend opens {text!r}: use a file ending "
                        f"in .h5 or .hdf5, or a URL with one of the schemes {schemes}"
                    )
                raise self._missing(f"storage path {text!r}", KNOWN_SUFFIXES[suffix.lower()])
        return entry.opener(text, **options)

    def make_runner(self, name: str, **options: Any) -> Runner:
        entry = self.runners.entries.get(name)
        if entry is None:
            if name in KNOWN_RUNNERS:
                raise self._missing(f"the runner {name!r}", KNOWN_RUNNERS[name])
            raise MissingPluginError(
                f"unknown runner {name!r}; installed runners: {sorted(self.runners.entries)}"
            )
        return entry.factory(**options)


@functools.cache
def get_plugin_host() -> PluginHost:
    """The process-wide host, built on first use with entry-point autoloading."""
    return PluginHost()
