"""Crash safety: the HDF5 file is changed only through an undo journal.

Why: the HDF5 library updates its metadata (B-trees, heaps, object headers,
the superblock) in place, in whatever order its cache flushes them. A
process killed in the middle of that leaves a file HDF5 may refuse to open.
HDF5 offers no hook for this, but h5py accepts a Python file object as the
file, so every byte HDF5 reads or writes passes through ``JournaledFile``.

The scheme is SQLite's rollback journal, applied to bytes:

* The *committed* file is the main file cut at ``base`` bytes, as it was
  after the last commit. HDF5 writes at or past ``base`` (new data, new
  metadata) go straight to the file: nothing committed refers to them yet.
* HDF5 writes below ``base`` (metadata changed in place) are held in memory,
  page by page, and served back to HDF5's own reads.
* ``commit`` (after ``h5py.File.flush``): the original content of every
  changed page goes to the journal, then the pages go to the main file, then
  the journal header is marked idle with a new generation number. That last
  single 40-byte write is the commit point.
* Whoever opens the file next (``recover``) finds an active journal after a
  crash, writes the saved pages back and cuts the file at ``base``: exactly
  the last committed state. Saved pages are written completely before any
  page of the main file is touched, so a torn last journal record means the
  main file was not touched yet and the record can be ignored.

With ``fsync=True`` the journal is synced before the main file is touched,
the main file before the commit point, and the header after it, so the same
holds after a power loss; without it, after any crash of the process.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from pypet_rebuild._crash_points import crash_point

__all__ = ["JournaledFile", "JournalHeader", "read_header", "recover", "HEADER_SIZE"]

PAGE_SIZE = 4096
_MAGIC = b"PRBHDF5J"
_HEADER = struct.Struct("<8sQQIIQ")  # magic, generation, base size, state, pid, main file inode (+ crc32)
HEADER_SIZE = _HEADER.size + 4
_RECORD = struct.Struct("<QQI")  # generation, offset, length (+ crc32)
_RECORD_SIZE = _RECORD.size + 4
IDLE, ACTIVE = 0, 1


@dataclass(frozen=True)
class JournalHeader:
    generation: int
    base: int
    state: int
    pid: int
    inode: int


def _pack_header(header: JournalHeader) -> bytes:
    body = _HEADER.pack(_MAGIC, header.generation, header.base, header.state, header.pid, header.inode)
    return body + struct.pack("<I", zlib.crc32(body))


def read_header(fd: int) -> JournalHeader | None:
    """The journal's header, or None when it is missing or torn (never written completely)."""
    raw = os.pread(fd, HEADER_SIZE, 0)
    if len(raw) < HEADER_SIZE:
        return None
    body, (crc,) = raw[: _HEADER.size], struct.unpack("<I", raw[_HEADER.size:])
    magic, generation, base, state, pid, inode = _HEADER.unpack(body)
    if magic != _MAGIC or zlib.crc32(body) != crc:
        return None
    return JournalHeader(generation, base, state, pid, inode)


def write_header(fd: int, header: JournalHeader) -> None:
    _pwrite_all(fd, _pack_header(header), 0)


def _pwrite_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    view = memoryview(data).cast("B")
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _read_into(fd: int, view: memoryview, offset: int) -> int:
    """Read at ``offset`` into ``view`` without an intermediate copy where the OS allows."""
    if hasattr(os, "preadv"):
        return os.preadv(fd, [view], offset)
    data = os.pread(fd, len(view), offset)
    view[: len(data)] = data
    return len(data)


def _saved_pages(fd: int, generation: int) -> list[tuple[int, bytes]]:
    """The complete journal records of ``generation``; stops at a torn or older one."""
    pages, position = [], HEADER_SIZE
    while True:
        head = os.pread(fd, _RECORD_SIZE, position)
        if len(head) < _RECORD_SIZE:
            return pages
        record_generation, offset, length = _RECORD.unpack(head[: _RECORD.size])
        (crc,) = struct.unpack("<I", head[_RECORD.size:])
        data = os.pread(fd, length, position + _RECORD_SIZE) if record_generation == generation else b""
        if len(data) != length or zlib.crc32(data, zlib.crc32(head[: _RECORD.size])) != crc:
            return pages
        pages.append((offset, data))
        position += _RECORD_SIZE + length


def recover(main_fd: int, journal_fd: int, *, fsync: bool) -> bool:
    """Roll the main file back to its last commit if a writer died; True if it did.

    The caller holds the writer lock and the journal's exclusive lock.
    Running it twice (a crash during recovery) gives the same result.
    """
    header = read_header(journal_fd)
    if header is None or header.state != ACTIVE:
        return False
    main = os.fstat(main_fd)
    if header.inode != main.st_ino or main.st_size < header.base:
        # The journal belongs to a file that was deleted or replaced since: it must not touch this one.
        write_header(journal_fd, JournalHeader(header.generation + 1, main.st_size, IDLE, 0, main.st_ino))
        os.ftruncate(journal_fd, HEADER_SIZE)
        return False
    for offset, data in _saved_pages(journal_fd, header.generation):
        _pwrite_all(main_fd, data, offset)
    os.ftruncate(main_fd, header.base)
    if fsync:
        os.fsync(main_fd)
    write_header(journal_fd, JournalHeader(header.generation + 1, header.base, IDLE, 0, main.st_ino))
    os.ftruncate(journal_fd, HEADER_SIZE)
    if fsync:
        os.fsync(journal_fd)
    return True


class JournaledFile:
    """The file object h5py writes through; see the module docstring.

    ``exclusive`` is a context manager factory that keeps readers in other
    processes out while committed bytes change (the journal's lock).
    """

    def __init__(
        self, main_fd: int, journal_fd: int, *, fsync: bool, exclusive: Callable[[], AbstractContextManager[None]]
    ) -> None:
        self._fd = main_fd
        self._journal = journal_fd
        self._fsync = fsync
        self._exclusive = exclusive
        status = os.fstat(main_fd)
        self._size = status.st_size
        self._inode = status.st_ino
        header = read_header(journal_fd)
        self._generation = header.generation + 1 if header is not None else 1
        self._base = self._size
        self._pages: dict[int, bytearray] = {}
        self._originals: dict[int, bytes] = {}
        self._active = False
        self._position = 0
        write_header(journal_fd, self._header(IDLE))
        os.ftruncate(journal_fd, HEADER_SIZE)

    @property
    def generation(self) -> int:
        return self._generation

    # -- the file-object protocol h5py uses ------------------------------------------

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 0:
            self._position = offset
        elif whence == 1:
            self._position += offset
        else:
            self._position = self._size + offset
        return self._position

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:
        view = memoryview(buffer).cast("B")
        start, wanted = self._position, len(view)
        got = _read_into(self._fd, view, start) if wanted else 0
        if got < wanted:
            view[got:] = bytes(wanted - got)  # past the end reads as zeros, as with HDF5's sec2 driver
        if self._pages and start < self._base:
            self._overlay(view, start)
        self._position = start + wanted
        return wanted

    def read(self, size: int = -1) -> bytes:
        size = self._size - self._position if size < 0 else size
        buffer = bytearray(max(size, 0))
        self.readinto(buffer)
        return bytes(buffer)

    def write(self, data: bytes | memoryview) -> int:
        view = memoryview(data).cast("B")
        start, end = self._position, self._position + len(view)
        self._begin()
        crash_point("hdf5.write")
        if start < self._base:
            for page in range(start // PAGE_SIZE, (min(end, self._base) - 1) // PAGE_SIZE + 1):
                content = self._page(page)
                page_start = page * PAGE_SIZE
                low, high = max(start, page_start), min(end, page_start + len(content))
                content[low - page_start: high - page_start] = view[low - start: high - start]
        if end > self._base:
            low = max(start, self._base)
            _pwrite_all(self._fd, view[low - start:], low)
            self._size = max(self._size, end)
        self._position = end
        return len(view)

    def truncate(self, size: int | None = None) -> int:
        size = self._position if size is None else size
        # Cutting into committed bytes would destroy them before the commit;
        # HDF5 accepts a file longer than its end-of-allocation, so keep them.
        if size >= self._base and size != self._size:
            self._begin()
            os.ftruncate(self._fd, size)
            self._size = size
        return size

    def flush(self) -> None:
        """HDF5 flushes often; durability is ``commit``'s business."""

    # -- transactions ----------------------------------------------------------------

    def commit(self) -> None:
        """Make everything HDF5 wrote since the last commit the committed state."""
        if not self._active:
            return
        changed = sorted(p for p, content in self._pages.items() if content != self._originals[p])
        position = HEADER_SIZE
        for page in changed:
            original = self._originals[page]
            head = _RECORD.pack(self._generation, page * PAGE_SIZE, len(original))
            record = head + struct.pack("<I", zlib.crc32(original, zlib.crc32(head))) + original
            _pwrite_all(self._journal, record, position)
            position += len(record)
        if changed and self._fsync:
            os.fsync(self._journal)
        crash_point("hdf5.commit")
        with self._exclusive():
            for page in changed:
                _pwrite_all(self._fd, self._pages[page], page * PAGE_SIZE)
            if self._fsync:
                os.fsync(self._fd)
            self._generation += 1
            self._base = self._size
            write_header(self._journal, self._header(IDLE))
            if self._fsync:
                os.fsync(self._journal)
        if changed:
            os.ftruncate(self._journal, HEADER_SIZE)
        self._pages.clear()
        self._originals.clear()
        self._active = False

    def rollback(self) -> None:
        """Forget everything written since the last commit (a failed operation)."""
        if self._active:
            with self._exclusive():  # a commit may have failed half-way: restore its saved pages
                recover(self._fd, self._journal, fsync=self._fsync)
            self._generation += 1
            self._size = self._base
        self._pages.clear()
        self._originals.clear()
        self._active = False

    # -- helpers ----------------------------------------------------------------------

    def _header(self, state: int) -> JournalHeader:
        return JournalHeader(self._generation, self._base, state, os.getpid(), self._inode)

    def _begin(self) -> None:
        """Record where the committed file ends before the first byte changes."""
        if not self._active:
            write_header(self._journal, self._header(ACTIVE))
            self._active = True

    def _page(self, page: int) -> bytearray:
        content = self._pages.get(page)
        if content is None:
            start = page * PAGE_SIZE
            original = os.pread(self._fd, min(PAGE_SIZE, self._base - start), start)
            self._originals[page] = original
            content = self._pages[page] = bytearray(original)
        return content

    def _overlay(self, view: memoryview, start: int) -> None:
        end = min(start + len(view), self._base)
        first, last = start // PAGE_SIZE, (end - 1) // PAGE_SIZE
        pages = self._pages if len(self._pages) < last - first + 1 else range(first, last + 1)
        for page in pages:
            if not first <= page <= last or page not in self._pages:
                continue
            content, page_start = self._pages[page], page * PAGE_SIZE
            low, high = max(start, page_start), min(end, page_start + len(content))
            view[low - start: high - start] = content[low - page_start: high - page_start]
