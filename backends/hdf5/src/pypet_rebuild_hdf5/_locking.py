"""Who may write, and when readers may look: two sidecar files with ``flock``.

* ``<file>.lock``: the writer lock, held exclusively for as long as one
  backend writes the file. It holds the writer's pid for error messages. The
  kernel drops a ``flock`` when its process dies, so a lock left by a killed
  process never blocks anyone; no pid guessing is needed.
* ``<file>.journal``: the undo journal (see ``_journal``); its ``flock`` is
  taken exclusively by the writer while committed bytes change and shared
  by readers for the duration of one read, so a reader never sees a
  half-applied commit.

A writer removes both files when it closes cleanly. Whoever locks one of
them checks afterwards that the path still names the file it locked (a
closing writer may have removed it in between) and starts over if not.

Both are opened with ``open_sidecar``: never through a symbolic link and
never when the name is a second hard link to some other file, because
anyone who can create files in the store's folder could otherwise make the
writer overwrite any file it may write.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import stat
from collections.abc import Iterator

from pypet_rebuild.errors import StorageError, StorageLockedError

__all__ = [
    "WriterLock", "lock_path", "journal_path", "still_linked", "flock", "fsync_directory", "open_sidecar",
]


def lock_path(path: str) -> str:
    return path + ".lock"


def journal_path(path: str) -> str:
    return path + ".journal"


def still_linked(fd: int, path: str) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (mine.st_dev, mine.st_ino)


def open_sidecar(path: str, flags: int) -> int:
    """Open a lock or journal file, refusing links: see the module docstring."""
    try:
        # O_NONBLOCK: opening a FIFO planted under that name must not hang (no effect on files).
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, 0o644)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise StorageError(
            f"{path!r} is a symbolic link; pypet-rebuild never follows links for its lock and journal "
            "files, since a link could make it overwrite another file. Remove the link (if no "
            "pypet-rebuild process writes the store now) and open the store again"
        ) from None
    status = os.fstat(fd)
    if not stat.S_ISREG(status.st_mode) or status.st_nlink != 1:
        os.close(fd)
        raise StorageError(
            f"{path!r} is not a plain file of its own (a hard link to another file, or a special "
            "file); pypet-rebuild will not write it. Remove it and open the store again"
        )
    return fd


@contextlib.contextmanager
def flock(fd: int, operation: int) -> Iterator[None]:
    fcntl.flock(fd, operation)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def fsync_directory(path: str) -> None:
    """Make a newly created file's name durable (power-loss safety)."""
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WriterLock:
    """The exclusive right to write one HDF5 file, across processes and within one."""

    def __init__(self, path: str) -> None:
        self.path = lock_path(path)
        self.storage_path = path
        self.fd: int | None = None

    def acquire(self) -> None:
        while self.fd is None:
            fd = open_sidecar(self.path, os.O_RDWR | os.O_CREAT)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
                os.close(fd)
                raise StorageLockedError(self._message(holder)) from None
            if still_linked(fd, self.path):
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
                self.fd = fd
            else:
                os.close(fd)

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; False (no error) if someone does."""
        try:
            self.acquire()
        except StorageLockedError:
            return False
        return True

    def release(self) -> None:
        """Give the lock up and remove the lock file (while still holding it)."""
        if self.fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self.fd)
        self.fd = None

    def _message(self, holder: str) -> str:
        pid, _, host = holder.partition(" ")
        if pid == str(os.getpid()) and host == socket.gethostname():
            who = "another storage object of this process (an Environment or backend not closed yet)"
        elif pid:
            who = f"process {pid} on {host or 'an unknown host'}"
        else:
            who = "another process"
        return (
            f"{self.storage_path!r} is open for writing by {who}; only one writer at a time is "
            "allowed. Close the other writer first (readers such as load_trajectory need no lock), "
            "or store into another file"
        )
