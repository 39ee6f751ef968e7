"""Debian's HylaFAX+ for tests: the system instance (faxq, hfaxd on port 4559), no modem.

Started as /work/shared/reference/test-servers.md found works here, `USE_FAXGETTY=no
/etc/init.d/hylafax start` (without the variable the init script wrongly says it runs), and stopped
again if this fixture started it. Jobs queue and wait for a modem that never comes (state `W`),
which is all a reply transport needs to be checked: the job, its number and its document. The
fixture removes the jobs a test made. `received_fax_mail` runs HylaFAX's own `bin/faxrcvd` on a TIFF
in recvq/ with its mail captured, as a fax server's "fax by mail" notification.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SPOOL = Path("/var/spool/hylafax")
INIT = Path("/etc/init.d/hylafax")
PORT = 4559


@dataclass(frozen=True)
class Job:
    jid: str
    state: str
    number: str
    pages: str
    status: str


def _listening(port: int = PORT) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def faxstat(*flags: str) -> str:
    return subprocess.run(["faxstat", *flags, "-h", "localhost"], capture_output=True, text=True, timeout=30,
                          check=True).stdout


def jobs(*flags: str) -> dict[str, Job]:
    """The jobs `faxstat -s` (or other flags) lists, by job id."""
    out: dict[str, Job] = {}
    for line in faxstat(*(flags or ("-s",))).splitlines():
        m = re.match(r"^(\d+)\s+\d+\s+(\S)\s+\S+\s+(\S+)\s+(\d+:\d+)\s+\S+\s*(.*)$", line)
        if m:
            out[m.group(1)] = Job(m.group(1), m.group(2), m.group(3), m.group(4), m.group(5).strip())
    return out


def document_of(jid: str) -> bytes:
    """The document HylaFAX holds for a job (its queue file's pdf:/tiff:/postscript: line)."""
    for folder in ("sendq", "doneq"):
        qfile = SPOOL / folder / f"q{jid}"
        if qfile.exists():
            m = re.search(r"^(?:pdf|tiff|postscript|!pdf):\d+::(\S+)$", qfile.read_text(), re.M)
            assert m, qfile.read_text()
            return (SPOOL / m.group(1)).read_bytes()
    raise FileNotFoundError(f"no queue file for job {jid}")


def remove(jid: str, owner: str = "coc-intake") -> None:
    """What `faxrm` does, as the job's owner (root's faxrm may not kill another user's job): JKILL
    over the protocol; HylaFAX then reports the job FAILED, "Job aborted by request"."""
    import ftplib

    with contextlib.suppress(ftplib.Error, OSError), ftplib.FTP(timeout=10) as ftp:
        ftp.connect("127.0.0.1", PORT)
        ftp.sendcmd(f"USER {owner}")
        ftp.sendcmd(f"JKILL {jid}")


@dataclass
class HylaFax:
    host: str = "127.0.0.1"
    port: int = PORT
    made: list[str] | None = None

    def toml(self, extra: str = "") -> str:
        return (f'[fax_out]\ntransport = "hylafax"\nhylafax_host = "{self.host}"\nhylafax_port = {self.port}\n'
                f"hylafax_timeout_seconds = 10\n{extra}")


@contextlib.contextmanager
def running_hylafax() -> Iterator[HylaFax]:
    if not INIT.exists() or shutil.which("faxstat") is None:
        pytest.skip("HylaFAX+ is not installed (scripts/setup --test installs hylafax-server, hylafax-client)")
    started = False
    if not _listening():
        subprocess.run([str(INIT), "start"], env=dict(os.environ, USE_FAXGETTY="no"), capture_output=True,
                       timeout=60, check=True)
        started = True
        deadline = time.monotonic() + 15
        while not _listening() and time.monotonic() < deadline:
            time.sleep(0.1)
    before = set(jobs("-s"))
    server = HylaFax()
    try:
        yield server
    finally:
        for jid in jobs("-s"):
            if jid not in before:
                remove(jid)
        if started:
            subprocess.run([str(INIT), "stop"], capture_output=True, timeout=60, check=False)


def received_fax_mail(tiff: bytes, tmp_path: Path, *, caller_id: str, caller_name: str = "",
                      send_to: str = "certificate@localhost", from_address: str = "faxserver@fax.example.org",
                      filetype: str = "pdf") -> bytes:
    """The mail HylaFAX's `bin/faxrcvd` sends for a received fax: run by hand on `tiff` placed in
    recvq/, with an etc/FaxDispatch (removed after) whose SENDMAIL captures the mail to a file."""
    if not (SPOOL / "bin" / "faxrcvd").exists():
        pytest.skip("HylaFAX+ is not installed")
    dispatch = SPOOL / "etc" / "FaxDispatch"
    assert not dispatch.exists(), "a FaxDispatch of the machine's own: not overwritten"
    commid = f"{time.time_ns() % 10**9:09d}"
    fax = SPOOL / "recvq" / f"fax{commid}.tif"
    captured = tmp_path / "faxrcvd.eml"
    capture = tmp_path / "sendmail.sh"
    capture.write_text(f'#!/bin/sh\ncat > "{captured}"\n', encoding="utf-8")
    capture.chmod(0o755)
    dispatch.write_text(f'SENDTO="{send_to}"\nFROMADDR="{from_address}"\nFILETYPE={filetype}\n'
                        f'SENDMAIL="{capture}"\n', encoding="utf-8")
    fax.write_bytes(tiff)
    try:
        subprocess.run(["bin/faxrcvd", f"recvq/{fax.name}", "ttyS0", commid, "", caller_id, caller_name],
                       cwd=SPOOL, capture_output=True, timeout=60, check=True)
    finally:
        dispatch.unlink(missing_ok=True)
        fax.unlink(missing_ok=True)
    return captured.read_bytes()
