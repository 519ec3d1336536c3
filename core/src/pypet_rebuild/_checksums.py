"""A CRC-32 around every packed value blob, so that damage on disk is an error.

Backends store packed blobs as opaque bytes (SQL BLOB columns, HDF5
variable-length rows, GridFS files) where no storage layer checks them:
one flipped bit would otherwise decode to a wrong number or a confusing
decoding error. A sealed blob is ``magic + crc32(payload) + payload``;
blobs written before checksums existed (no magic) are read as they are.
"""

from __future__ import annotations

import struct
import zlib

from pypet_rebuild.errors import DamagedDataError

__all__ = ["seal", "unseal"]

_MAGIC = b"PRB-CRC\x01"
_CRC = struct.Struct("<I")
_PREFIX = len(_MAGIC) + _CRC.size


def seal(payload: bytes) -> bytes:
    return b"".join((_MAGIC, _CRC.pack(zlib.crc32(payload)), payload))


def unseal(blob: bytes) -> bytes:
    """The payload of a sealed blob, checked; an unsealed (older) blob unchanged."""
    if not blob.startswith(_MAGIC):
        return blob
    payload = blob[_PREFIX:]
    (expected,) = _CRC.unpack_from(blob, len(_MAGIC))
    if zlib.crc32(payload) != expected:
        raise DamagedDataError(
            f"a stored value is damaged: its CRC-32 does not match ({len(payload)} bytes); the storage "
            "medium or a copy corrupted it. Restore the store from a backup or re-run the affected runs"
        )
    return payload
