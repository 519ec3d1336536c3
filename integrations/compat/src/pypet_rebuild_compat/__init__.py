"""Moving from pypet: read its HDF5 files and import them into any pypet-rebuild storage."""

from __future__ import annotations

from pypet_rebuild_compat.importer import import_pypet
from pypet_rebuild_compat.pypet_file import PypetFileBackend, is_pypet_file, open_pypet

__all__ = ["PypetFileBackend", "import_pypet", "is_pypet_file", "open_pypet"]
