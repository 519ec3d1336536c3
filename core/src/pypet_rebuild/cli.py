"""``python -m pypet_rebuild``: list plugins, list and copy stored trajectories, import pypet files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pypet_rebuild.errors import MissingPluginError, PypetRebuildError
from pypet_rebuild.plugins import get_plugin_host, mask_url
from pypet_rebuild.transfer import copy_trajectory

__all__ = ["main"]


def _plugins(_: argparse.Namespace) -> int:
    host = get_plugin_host()
    for info in sorted(host.plugins.values(), key=lambda i: i.name):
        origin = f"{info.distribution} {info.version}".strip()
        print(f"{info.name}  ({origin}; {info.module})")
        if info.error is not None:
            print(f"    FAILED TO LOAD: {info.error!r}")
            continue
        listed = (
            ("backends", info.backends),
            ("runners", info.runners),
            ("value types", info.value_types),
            ("environment options", info.environment_options),
            ("lifecycle hooks", info.lifecycle_hooks),
        )
        for label, names in listed:
            if names:
                print(f"    {label}: {', '.join(names)}")
        for backend in info.backends:
            entry = host.storage.entries[backend]
            opens = [f"{s}://" for s in entry.schemes] + [f"*{s}" for s in entry.suffixes]
            print(f"    {backend} opens: {', '.join(opens)}")
    return 0


def _list(args: argparse.Namespace) -> int:
    with get_plugin_host().open_storage(args.storage) as backend:
        for i, info in enumerate(backend.list_trajectories()):
            runs = backend.load_run_infos(info.name)
            done = sum(1 for r in runs if r.status.value == "completed")
            print(f"[{i}] {info.name}  ({done} of {len(runs)} stored runs completed) {info.comment}")
    return 0


def _copy(args: argparse.Namespace) -> int:
    info = copy_trajectory(
        args.source, args.destination, args.name, new_name=args.new_name, overwrite=args.overwrite
    )
    print(f"copied {info.name!r} from {mask_url(args.source)} to {mask_url(args.destination)}")
    return 0


def _import_pypet(args: argparse.Namespace) -> int:
    try:
        from pypet_rebuild_compat import import_pypet
    except ImportError as error:
        raise MissingPluginError(
            "import-pypet needs the plugin 'compat', which is not installed; "
            "install it with: pip install 'pypet-rebuild[compat]'"
        ) from error
    for info in import_pypet(
        args.source, args.destination, args.name, allow_pickle=args.allow_pickle, overwrite=args.overwrite
    ):
        print(f"imported {info.name!r} from {args.source} to {mask_url(args.destination)}")
    return 0


def _add_import_pypet(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser("import-pypet", help="convert a file written by pypet to any storage")
    command.add_argument("source", help="the pypet HDF5 file (opened read-only)")
    command.add_argument("destination", help="a storage URL or file path")
    command.add_argument("--name", action="append", help="a trajectory to import (repeatable; default: all)")
    command.add_argument("--allow-pickle", action="store_true", help="unpickle pickled leaves (trusted files only)")
    command.add_argument("--overwrite", action="store_true", help="replace trajectories of the same name")
    command.set_defaults(func=_import_pypet)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pypet-rebuild", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("plugins", help="list discovered plugins and what they register").set_defaults(func=_plugins)
    listing = commands.add_parser("list", help="list the trajectories in a storage")
    listing.add_argument("storage")
    listing.set_defaults(func=_list)
    copy = commands.add_parser("copy", help="copy a trajectory between storages")
    copy.add_argument("source")
    copy.add_argument("destination")
    copy.add_argument("--name", help="trajectory to copy (default: the newest)")
    copy.add_argument("--new-name", help="name in the destination (default: the same)")
    copy.add_argument("--overwrite", action="store_true", help="replace a trajectory of that name")
    copy.set_defaults(func=_copy)
    _add_import_pypet(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except PypetRebuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
