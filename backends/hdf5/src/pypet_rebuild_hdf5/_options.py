"""Opener options and URLs: what a user may pass, checked before any file is touched."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from pypet_rebuild.errors import StorageError

__all__ = ["HDF5Options", "path_from_url", "DURABILITY_LEVELS"]

# "process" (default): every commit survives any crash of the process (kill -9,
# the OOM killer, a batch system's time limit), the operating system keeping
# what was written; no fsync, so big data goes at page-cache speed.
# "fsync": also survives a power loss or OS crash (journal and file synced at
# every commit), at the price of writing everything to the disk before returning.
DURABILITY_LEVELS = ("fsync", "process")

# complib names PyTables users know, mapped to what h5py writes.
_BUILTIN_COMPRESSORS = {"zlib": "gzip", "gzip": "gzip", "lzf": "lzf"}
_PLUGIN_COMPRESSORS = ("blosc", "blosc2", "zstd", "lz4", "bzip2")


def path_from_url(url: str) -> str:
    """``hdf5:///abs/x.h5`` -> ``/abs/x.h5``; ``hdf5://rel/x.h5`` -> ``rel/x.h5``; paths stay."""
    text = os.fspath(url)
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme != "hdf5":
            raise StorageError(f"the HDF5 backend opens hdf5:// URLs and .h5/.hdf5 paths, not {text!r}")
        text = unquote(parts.netloc + parts.path)
        if not text:
            raise StorageError(f"{url!r} names no file; write e.g. hdf5:///home/me/results.h5")
    return os.path.abspath(os.path.expanduser(text))


@dataclass(frozen=True)
class HDF5Options:
    """What ``open_hdf5`` accepts besides the URL.

    ``complevel`` defaults to 0: simulation output (floats) compresses
    poorly, compression costs more time than the disk saves for the 1 MiB
    arrays the benchmarks write, and uncompressed datasets open in every
    HDF5 tool without filter plugins. Set 1-9 to compress arrays and columns.
    ``durability`` defaults to ``"process"``: syncing 100 MiB of arrays costs
    about as much as writing them, which ``"fsync"`` users accept knowingly.
    ``fletcher32`` defaults to on: a checksum per chunk of every array, run
    column and the run status table, so a flipped bit on disk is an error on
    reading instead of a wrong number in a paper (docs/reliability.md has
    its cost). Scalars and packed values are not chunked datasets; packed
    values carry their own CRC.
    """

    complevel: int = 0
    complib: str = "zlib"
    shuffle: bool = True
    fletcher32: bool = True
    title: str = ""
    durability: str = "process"
    filters: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_kwargs(cls, url: str, options: dict[str, Any]) -> HDF5Options:
        known = {"complevel", "complib", "shuffle", "fletcher32", "title", "durability"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise StorageError(f"unknown option(s) {unknown} for HDF5 storage {url!r}; known: {sorted(known)}")
        made = cls(**options)
        if not isinstance(made.complevel, int) or not 0 <= made.complevel <= 9:
            raise StorageError(f"complevel must be an integer from 0 to 9, got {made.complevel!r} (for {url!r})")
        if made.durability not in DURABILITY_LEVELS:
            raise StorageError(
                f"durability must be one of {list(DURABILITY_LEVELS)}, got {made.durability!r} (for {url!r})"
            )
        object.__setattr__(made, "filters", made._filters(url))
        return made

    @property
    def fsync(self) -> bool:
        return self.durability == "fsync"

    def _filters(self, url: str) -> dict[str, Any]:
        """Keyword arguments for ``create_dataset`` on arrays and columns."""
        options: dict[str, Any] = {"fletcher32": True} if self.fletcher32 else {}
        if self.complevel == 0:
            return options
        if self.shuffle:
            options["shuffle"] = True
        library = self.complib.split(":", 1)[0].lower()
        if library in _BUILTIN_COMPRESSORS:
            options["compression"] = _BUILTIN_COMPRESSORS[library]
            if library != "lzf":
                options["compression_opts"] = self.complevel
            return options
        if library in _PLUGIN_COMPRESSORS:
            options.update(_plugin_filter(self.complib, self.complevel, url))
            options.pop("shuffle", None)  # blosc shuffles inside its own filter
            return options
        raise StorageError(
            f"unknown complib {self.complib!r} for {url!r}; use one of "
            f"{sorted(_BUILTIN_COMPRESSORS) + list(_PLUGIN_COMPRESSORS)}"
        )


def _plugin_filter(complib: str, level: int, url: str) -> dict[str, Any]:
    """Filters HDF5 does not ship, through the hdf5plugin package (an optional install)."""
    try:
        import hdf5plugin
    except ImportError:
        raise StorageError(
            f"complib {complib!r} (for {url!r}) needs the hdf5plugin package: pip install hdf5plugin; "
            "or use complib='zlib' or 'lzf', which need nothing extra"
        ) from None
    library, _, codec = complib.lower().partition(":")
    if library == "blosc":
        return dict(hdf5plugin.Blosc(cname=codec or "blosclz", clevel=level))
    if library == "blosc2":
        return dict(hdf5plugin.Blosc2(cname=codec or "blosclz", clevel=level))
    if library == "zstd":
        return dict(hdf5plugin.Zstd(clevel=level))
    if library == "lz4":
        return dict(hdf5plugin.LZ4())
    return dict(hdf5plugin.BZip2(blocksize=level))
