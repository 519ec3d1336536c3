"""Item-by-item packing of record data, shared by backends that store blobs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pypet_rebuild.values import pack, unpack

__all__ = ["pack_items", "unpack_items"]


def pack_items(data: dict[str, Any], pickled: Iterable[str] = ()) -> dict[str, bytes]:
    """Each item as one self-describing blob; only items named in
    ``pickled`` (the user's explicit choice) may fall back to pickle."""
    allowed = set(pickled)
    return {key: pack(value, allow_pickle=key in allowed) for key, value in data.items()}


def unpack_items(packed: dict[str, bytes]) -> dict[str, Any]:
    return {key: unpack(blob) for key, blob in packed.items()}
