"""A private PostgreSQL that a test may stop and start: initdb + pg_ctl in a temporary folder.

The machine's own PostgreSQL (127.0.0.1:5432) is shared with other test runs and must never be
restarted, so the database-outage tests run the daemon on one of these instead. It listens on a free
loopback port with trust authentication; its files belong to the ``postgres`` user because initdb
refuses to run as root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, wait_for_port

__all__ = ["PrivatePostgres", "pg_bin", "running_postgres"]


def pg_bin() -> Path:
    """The newest /usr/lib/postgresql/*/bin holding initdb and pg_ctl."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if not found:
        pytest.fail("PostgreSQL server binaries (/usr/lib/postgresql/*/bin/pg_ctl) are not installed")
    return Path(found[-1]).parent


class PrivatePostgres:
    """One cluster under ``base``: ``start``, ``stop`` (fast or immediate), ``restart``, ``url``."""

    def __init__(self, base: Path, port: int | None = None, user: str = "postgres") -> None:
        self.base = base
        self.port = port or free_port()
        self.user = user
        self.data = base / "data"
        self.bin = pg_bin()
        self.log = base / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        run_as = self.user if os.geteuid() == 0 else None
        proc = subprocess.run([str(self.bin / args[0]), *args[1:]], capture_output=True, text=True, timeout=timeout,
                              check=False, user=run_as, cwd=self.base, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({proc.returncode}): {proc.stderr.strip()}\n{self.tail()}")
        return proc

    def init(self) -> None:
        if os.geteuid() == 0:
            pw = pwd.getpwnam(self.user)
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.base}'\nfsync = off\nmax_connections = 60\n")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        wait_for_port("127.0.0.1", self.port, timeout=30)

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends every session cleanly; ``immediate`` is a crash (recovery on the next start)."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""


@contextlib.contextmanager
def running_postgres() -> Iterator[PrivatePostgres]:
    """initdb, start, yield, stop (immediate) and remove the folder."""
    base = Path(tempfile.mkdtemp(prefix="coc-pg-"))
    base.chmod(0o755)
    pg = PrivatePostgres(base)
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        with contextlib.suppress(Exception):
            pg.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running private PostgreSQL on a free loopback port, stoppable by the test."""
    with running_postgres() as pg:
        yield pg
