"""Opening the HDF5 file for reading and for writing, safely across processes.

A backend starts as a reader: no lock, the file opened read-only, reopened
whenever another process committed to it. The first write turns it into
the writer: it takes the writer lock, repairs the file if a writer died,
and from then on reads and writes go through one h5py file on a
``JournaledFile``. Every write operation commits before it returns and is
rolled back completely if it raises, so a file is always in the state after
some complete operation.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import time
import warnings
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import h5py

from pypet_rebuild.errors import (
    DamagedDataError, PypetRebuildError, SchemaVersionError, StorageError, StorageWarning,
)

from pypet_rebuild_hdf5._journal import (
    ACTIVE, HEADER_SIZE, IDLE, JournaledFile, JournalHeader, read_header, recover,
)
from pypet_rebuild_hdf5._locking import (
    WriterLock, flock, fsync_directory, journal_path, open_sidecar, still_linked,
)
from pypet_rebuild_hdf5._options import HDF5Options

__all__ = ["FileAccess", "Session", "LAYOUT_ATTRIBUTE", "LAYOUT_VERSION"]

LAYOUT_ATTRIBUTE = "pypet_rebuild_layout"
LAYOUT_VERSION = 1
T = TypeVar("T")
_TORN_HEADER_WAIT = 0.5  # seconds; a live writer writes its 44-byte header in microseconds
_WRITERS: weakref.WeakSet[FileAccess] = weakref.WeakSet()


@atexit.register
def _close_writers() -> None:
    """Commit and unlock what a script forgot to close, before h5py tears down at exit."""
    for access in list(_WRITERS):
        with contextlib.suppress(Exception):
            access.close()


class Session:
    """One open h5py file plus caches that stay valid while it stays open."""

    def __init__(self, h5: h5py.File, options: HDF5Options, writable: bool, raw: Any = None) -> None:
        self.h5 = h5
        self.raw = raw
        self.options = options
        self.writable = writable
        self.cache: dict[Any, Any] = {}


class FileAccess:
    def __init__(self, path: str, options: HDF5Options) -> None:
        self.path = path
        self.options = options
        self._reader: Session | None = None
        self._reader_stamp: tuple[Any, ...] | None = None
        self._writer: Session | None = None
        self._lock: WriterLock | None = None
        self._journal_fd: int | None = None
        self._main_fd: int | None = None
        self._journaled: JournaledFile | None = None

    # -- reading -----------------------------------------------------------------------

    def read(self, operation: Callable[[Session | None], T], what: str = "") -> T:
        """Run ``operation`` on a consistent view (None: no file yet, an empty storage).

        ``what`` names what is read, for the message when the file turns out damaged.
        """
        if self._writer is not None:
            try:
                return operation(self._writer)
            except Exception as exc:
                raise self._damaged(exc, what) from exc
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline:
            fd = self._locked_journal()
            try:
                if fd is not None and self._writer_died_mid_commit(fd):
                    continue
                session = self._reader_session(fd)
                result = operation(session)
                if fd is None and os.path.exists(journal_path(self.path)):
                    continue  # a writer started while we read without its lock: read again
                return result
            except Exception as exc:
                if fd is None and os.path.exists(journal_path(self.path)):
                    self._drop_reader()
                    continue
                raise self._damaged(exc, what) from exc
            finally:
                if fd is not None:
                    os.close(fd)
        raise StorageError(f"{self.path!r} kept changing for a minute while being read; try again later")

    def _damaged(self, exc: Exception, what: str) -> Exception:
        """Errors of ours pass; anything h5py raises while reading means a damaged file."""
        where = f" while reading {what}" if what else ""
        if isinstance(exc, DamagedDataError):
            return DamagedDataError(f"HDF5 storage {self.path!r}{where}: {exc}")
        if isinstance(exc, PypetRebuildError):
            return exc
        return StorageError(
            f"HDF5 storage {self.path!r} cannot be read{where}: the file is damaged "
            f"({type(exc).__name__}: {exc}). Restore it from a backup; parts that still read can be "
            "copied out with load_trajectory or h5py"
        )

    def _locked_journal(self) -> int | None:
        """The journal, share-locked so no commit runs meanwhile; None if there is none."""
        while True:
            try:
                fd = open_sidecar(journal_path(self.path), os.O_RDONLY)
            except FileNotFoundError:
                return None
            fcntl.flock(fd, fcntl.LOCK_SH)
            if still_linked(fd, journal_path(self.path)):
                return fd
            os.close(fd)

    def _writer_died_mid_commit(self, fd: int) -> bool:
        """Repair the file if a writer died during a commit; True if the caller must retry."""
        header = read_header(fd)
        if header is None and os.fstat(fd).st_size > 0:
            header = self._settled_header(fd)
        if header is None or header.state != ACTIVE or os.fstat(fd).st_size <= HEADER_SIZE:
            return False
        fcntl.flock(fd, fcntl.LOCK_UN)
        lock = WriterLock(self.path)
        if not lock.try_acquire():
            time.sleep(0.001)  # a live writer is about to commit
            return True
        try:
            self._repair()
        finally:
            lock.release()
        return True

    def _settled_header(self, fd: int) -> JournalHeader:
        """The header once a writer finished writing it; a header that stays
        invalid was damaged (a torn write at a power loss, or tampering)."""
        deadline = time.monotonic() + _TORN_HEADER_WAIT
        while time.monotonic() < deadline:
            time.sleep(0.001)
            header = read_header(fd)
            if header is not None:
                return header
        raise StorageError(
            f"the journal {journal_path(self.path)!r} beside {self.path!r} is damaged (its header is "
            "not a valid pypet-rebuild journal header). If no process is writing the store, open it "
            "for writing once (any write, or Environment(..., resume=True)) to reset the journal, or "
            "delete the journal file"
        )

    def _repair(self) -> None:
        try:
            journal = open_sidecar(journal_path(self.path), os.O_RDWR)
            main = os.open(self.path, os.O_RDWR)
        except PermissionError as exc:
            raise StorageError(
                f"{self.path!r} was left mid-write by a process that died; open it once with write "
                "permission (any pypet-rebuild write, or Environment(..., resume=True)) to repair it"
            ) from exc
        try:
            with flock(journal, fcntl.LOCK_EX):
                recover(main, journal, fsync=self.options.fsync)
                os.unlink(journal_path(self.path))
        finally:
            os.close(main)
            os.close(journal)

    def _reader_session(self, journal_fd: int | None) -> Session | None:
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            self._drop_reader()
            return None
        header = read_header(journal_fd) if journal_fd is not None else None
        stamp = (status.st_ino, status.st_size, status.st_mtime_ns, header.generation if header else None)
        if self._reader is not None and stamp == self._reader_stamp:
            return self._reader
        self._drop_reader()
        if status.st_size == 0 or (header is not None and header.state == ACTIVE and header.base == 0):
            # Nothing committed yet: a new file whose first writer is still at work, or was
            # killed before its first commit (its next writer starts it anew).
            return None
        # Through a Python file object, not by name: HDF5 hands out one shared, cached view per
        # file opened by name in a process, which would go stale for this reader.
        raw = open(self.path, "rb", buffering=0)  # noqa: SIM115 (closed with the session)
        try:
            h5 = self._open_h5(raw, "r")
        except BaseException:
            raw.close()
            raise
        self._reader = Session(h5, self.options, writable=False, raw=raw)
        self._reader_stamp = stamp
        return self._reader

    def _drop_reader(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(Exception):
                self._reader.h5.close()
                self._reader.raw.close()
        self._reader = None
        self._reader_stamp = None

    # -- writing -----------------------------------------------------------------------

    def write(self, operation: Callable[[Session], T]) -> T:
        """Run ``operation`` and commit it; roll everything back if it raises."""
        session = self._writer if self._writer is not None else self._open_writer()
        assert self._journaled is not None
        try:
            result = operation(session)
            session.h5.flush()
            self._journaled.commit()
        except BaseException as exc:
            self._close_writer(commit=False)
            if isinstance(exc, Exception) and not isinstance(exc, PypetRebuildError):
                raise self._error("could not be written; nothing of this operation was stored", exc) from exc
            raise
        return result

    def _open_writer(self) -> Session:
        # Scripts write to results/<name>.h5 by default: make the folder, as
        # the SQLite backend does, rather than fail after the set-up.
        try:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        except OSError as exc:
            raise self._error("cannot be created: its folder cannot be made", exc) from exc
        lock = WriterLock(self.path)
        try:
            lock.acquire()
        except FileNotFoundError as exc:
            raise self._error("cannot be created (does its folder exist?)", exc) from exc
        self._lock = lock
        try:
            created = not os.path.exists(self.path)
            self._journal_fd = open_sidecar(journal_path(self.path), os.O_RDWR | os.O_CREAT)
            self._main_fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            with flock(self._journal_fd, fcntl.LOCK_EX):
                self._recover_for_writing()
            if created and self.options.fsync:
                fsync_directory(self.path)
            journal_fd = self._journal_fd
            self._journaled = JournaledFile(
                self._main_fd, journal_fd, fsync=self.options.fsync,
                exclusive=lambda: flock(journal_fd, fcntl.LOCK_EX),
            )
            empty = os.fstat(self._main_fd).st_size == 0
            h5 = self._open_h5(self._journaled, "w" if empty else "r+")
            if empty:
                h5.attrs[LAYOUT_ATTRIBUTE] = LAYOUT_VERSION
                h5.attrs["title"] = self.options.title
                h5.flush()
                self._journaled.commit()
        except BaseException:
            self._close_writer(commit=False)
            raise
        self._drop_reader()
        self._writer = Session(h5, self.options, writable=True)
        _WRITERS.add(self)
        return self._writer

    def _recover_for_writing(self) -> None:
        """Undo what a dead writer left half-done, saying so where the user may wonder."""
        assert self._main_fd is not None and self._journal_fd is not None
        header = read_header(self._journal_fd)
        if header is None and os.fstat(self._journal_fd).st_size > 0:
            warnings.warn(
                f"the journal beside {self.path!r} was damaged (invalid header) and is reset; "
                "the file is used as it is", StorageWarning, stacklevel=5,
            )
        leftover = os.fstat(self._main_fd).st_size
        if recover(self._main_fd, self._journal_fd, fsync=self.options.fsync) and header and header.base == 0:
            if leftover:
                warnings.warn(
                    f"{self.path!r} was left by a writer that died before its first commit ({leftover} "
                    "bytes, nothing committed); it is started anew as an empty store",
                    StorageWarning, stacklevel=5,
                )

    def _close_writer(self, *, commit: bool) -> None:
        """Close the writing side; without ``commit`` undo everything since the last commit."""
        try:
            if self._writer is not None:
                try:
                    self._writer.h5.close()
                except Exception:
                    if commit:
                        raise
            if self._journaled is not None:
                if commit:
                    self._journaled.commit()
                else:
                    self._journaled.rollback()
        finally:
            self._release_writer()

    def _release_writer(self) -> None:
        """Give up the files and the lock; the journal goes only if nothing is left to undo."""
        if self._journal_fd is not None:
            with flock(self._journal_fd, fcntl.LOCK_EX):  # wait for readers to finish
                header = read_header(self._journal_fd)
                if header is not None and header.state == IDLE:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(journal_path(self.path))
            os.close(self._journal_fd)
        if self._main_fd is not None:
            os.close(self._main_fd)
        if self._lock is not None:
            self._lock.release()
        self._writer = self._journaled = self._lock = None
        self._journal_fd = self._main_fd = None

    def close(self) -> None:
        self._drop_reader()
        if self._lock is not None:
            self._close_writer(commit=True)

    def __del__(self) -> None:
        # A backend dropped without close() must not keep the writer lock for the rest of the process.
        with contextlib.suppress(Exception):
            self.close()

    # -- helpers -----------------------------------------------------------------------

    def _open_h5(self, target: Any, mode: str) -> h5py.File:
        try:
            h5 = h5py.File(target, mode)
        except OSError as exc:
            raise self._error("is not a readable HDF5 file (not HDF5, truncated or damaged)", exc) from exc
        version = h5.attrs.get(LAYOUT_ATTRIBUTE)
        if version is not None and int(version) > LAYOUT_VERSION:
            h5.close()
            raise SchemaVersionError(
                f"{self.path!r} was written with HDF5 layout version {int(version)}; this "
                f"pypet-rebuild-hdf5 reads up to version {LAYOUT_VERSION}: upgrade pypet-rebuild-hdf5"
            )
        return h5

    def _error(self, what: str, cause: BaseException) -> StorageError:
        if isinstance(cause, StorageError):
            return cause
        return StorageError(f"HDF5 storage {self.path!r} {what}: {cause}")

