"""Scratch folders of the worker pool and the zygote, and the ones a dead process left behind.

A pool writes the training data into a temporary folder for its workers, and
the workers write fitted pipelines there; the process deletes it when it exits.
A process killed outright (``SIGKILL``, an out-of-memory kill, a notebook
kernel stopped by ``SIGTERM``) never gets to, and the data would stay in the
temporary directory for good. So each folder holds a file its process keeps
locked (``flock``) for as long as it lives, and creating a folder deletes the
folders of the same kind whose lock nobody holds: the kernel drops a lock when
its process ends, however it ends, whichever PID namespace it ran in.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: folders are neither locked nor swept
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

#: the file each folder's process keeps locked
LOCK_NAME = ".owner"
#: a folder without that file (written by an older version, or created this instant) is left alone this long
UNLOCKED_GRACE_SECONDS = 86400.0


class ScratchDir:
    """A temporary folder owned by this process while it lives; the dead owners' folders of its kind are swept.

    Parameters
    ----------
    prefix : str
        The folders' name prefix in the temporary directory, e.g. ``"automl-workers-"``.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        sweep(prefix)
        self.path = Path(tempfile.mkdtemp(prefix=prefix))
        self._fd: int | None = None
        self._lock()

    def ensure(self) -> Path:
        """The folder, made again (and locked) if it was removed; returned."""
        if not self.path.is_dir():
            self.path.mkdir(parents=True, exist_ok=True)
            self._lock()
        return self.path

    def remove(self) -> None:
        """Delete the folder and let go of its lock."""
        shutil.rmtree(self.path, ignore_errors=True)
        self._unlock()

    def _lock(self) -> None:
        self._unlock()
        if fcntl is None:  # pragma: no cover
            return
        with contextlib.suppress(OSError):  # no lock (a read-only or odd filesystem): the folder is never swept
            fd = os.open(self.path / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return
            self._fd = fd

    def _unlock(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def sweep(prefix: str, root: str | os.PathLike[str] | None = None) -> list[Path]:
    """Delete the folders named ``prefix*`` in ``root`` (the temporary directory) whose process is gone; the deleted.

    Only this user's folders are considered; one whose lock file is missing
    counts as gone once it is :data:`UNLOCKED_GRACE_SECONDS` old.
    """
    base = Path(tempfile.gettempdir() if root is None else root)
    removed: list[Path] = []
    if fcntl is None:  # pragma: no cover
        return removed
    try:
        candidates = [p for p in base.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return removed
    for path in candidates:
        if _abandoned(path):
            shutil.rmtree(path, ignore_errors=True)
            if not path.exists():
                removed.append(path)
    if removed:
        logger.info("deleted %d scratch folder(s) of processes that ended without cleaning up", len(removed))
    return removed


def _abandoned(path: Path) -> bool:
    """Whether ``path`` is this user's folder and no living process holds its lock."""
    try:
        st = path.lstat()
    except OSError:
        return False
    if not path.is_dir() or path.is_symlink() or st.st_uid != os.getuid():
        return False
    try:
        fd = os.open(path / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return time.time() - st.st_mtime > UNLOCKED_GRACE_SECONDS
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # its process holds it
    finally:
        os.close(fd)  # closing releases the lock taken just now
    return True


__all__ = ["ScratchDir", "sweep"]
