"""Files only the gateway's own user may read: the database (and its WAL), sent mail, fax PDFs.

They hold personal data (the sealed columns aside, a `.eml` or a fax PDF is a reply in clear, and
the WAL holds recent pages of the database), so they are made 0600 in folders made 0700 whatever
the umask of the shell that started the gateway; the systemd unit's `UMask=0077` is not the only
guard. Two layers: `run`, `serve` and `worker` set the process umask to 0077 at start (so files a
library makes, such as SQLite's `-wal` and `-shm` or the log file, are private too), and what we
create ourselves gets an explicit mode (so a caller that forgot the umask, a test or another entry
point, still makes private files). Folders and files that already exist are left as they are: an
operator may have made them group-readable on purpose.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def private_umask() -> int:
    """Set the process umask to 0077; returns the one before."""
    return os.umask(PRIVATE_UMASK)


def make_private_dir(path: Path) -> None:
    """`mkdir -p` with every folder it creates 0700 (Path.mkdir gives parents the default mode)."""
    path = Path(path)
    missing: list[Path] = []
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # made by another process meanwhile
        os.chmod(folder, DIR_MODE)  # the mode of mkdir is masked by the umask; this one is not


def create_private_file(path: Path) -> bool:
    """Create an empty file 0600 unless it exists (so SQLite opens ours); True when made here."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return True


def open_private(path: Path) -> int:
    """A descriptor of `path` for writing, truncated, made 0600 when new (as `open(path, "wb")`)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return fd
