"""Real servers for tests: a private Dovecot (IMAP) and a recording aiosmtpd sink.

The gateway's sources and outbox talk to real servers in tests, so protocol details (UIDVALIDITY,
IDLE, MOVE, SMTP reply codes) are exercised for real rather than assumed by a mock.
Import the fixtures into a test module (``from tests.servers import dovecot, smtp_sink``) or a
conftest.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from imapclient import IMAPClient

__all__ = [
    "DovecotServer",
    "SinkMessage",
    "SmtpSink",
    "dovecot",
    "free_port",
    "imap_append",
    "imap_count",
    "imap_uids",
    "running_dovecot",
    "running_smtp_sink",
    "smtp_sink",
    "wait_for_port",
]


def free_port() -> int:
    """A free TCP port on loopback (the OS picks it; a tiny race with other processes is accepted)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    """Block until something accepts connections on host:port, or fail the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


_DOVECOT_CONF = """\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = {base}/passwd
}}
userdb {{
  driver = passwd-file
  args = {base}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


@dataclass
class DovecotServer:
    """A private Dovecot instance: its own config, base_dir, passwd-file and Maildir under ``base``."""

    base: Path
    host: str = "127.0.0.1"
    port: int = 0
    user: str = "coc"
    password: str = "secret"
    tls: bool = False
    tls_port: int = 0
    config: Path = field(init=False)

    def __post_init__(self) -> None:
        self.config = self.base / "dovecot.conf"

    def __iter__(self) -> Iterator[Any]:
        """Unpacks as (host, port, user, password, config path)."""
        return iter((self.host, self.port, self.user, self.password, self.config))

    def setup(self) -> None:
        """Write config and passwd-file; the mail home belongs to the dovecot user (root is refused)."""
        dv = pwd.getpwnam("dovecot")
        if not self.port:
            self.port = free_port()
        for sub in ("run", "state", "home"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        home = self.base / "home"
        os.chown(home, dv.pw_uid, dv.pw_gid)
        (self.base / "passwd").write_text(
            f"{self.user}:{{PLAIN}}{self.password}:{dv.pw_uid}:{dv.pw_gid}::{home}\n", encoding="utf-8"
        )
        conf = _DOVECOT_CONF.format(base=self.base, port=self.port)
        if self.tls:
            if not self.tls_port:
                self.tls_port = free_port()
            _self_signed(self.base / "cert.pem", self.base / "key.pem", self.host)
            conf = conf.replace("ssl = no\n", "")
            conf = conf.replace(
                "  inet_listener imaps {\n    port = 0\n  }",
                f"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {self.tls_port}\n    ssl = yes\n  }}",
            )
            conf += f"ssl = yes\nssl_cert = <{self.base}/cert.pem\nssl_key = <{self.base}/key.pem\n"
        self.config.write_text(conf, encoding="utf-8")

    def start(self) -> None:
        """Start the master process and wait until the IMAP port answers."""
        # Output goes to a file: the daemonised children inherit the descriptors and would keep a
        # pipe open forever.
        with open(self.base / "start.out", "wb") as out:
            proc = subprocess.run(
                ["dovecot", "-c", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=30,
                check=False,
            )
        if proc.returncode != 0:
            output = (self.base / "start.out").read_text(errors="replace")
            raise RuntimeError(f"dovecot failed to start: {output.strip()}\n{self.log()}")
        wait_for_port(self.host, self.port)
        if self.tls_port:
            wait_for_port(self.host, self.tls_port)

    def pid(self) -> int | None:
        """The master's pid, or None when it is not running."""
        try:
            return int((self.base / "run" / "master.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        """Stop the master by its pid and wait for it (and the port) to go away."""
        pid = self.pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        # The master removes master.pid itself; remove a stale one so pid() reports "stopped".
        with contextlib.suppress(OSError):
            (self.base / "run" / "master.pid").unlink()

    def restart(self) -> None:
        """Stop and start on the same port: every client connection is dropped."""
        self.stop()
        self.start()

    def kick(self) -> None:
        """Disconnect every session of the mail user (``doveadm kick``) without stopping the server."""
        self.doveadm("kick", self.user)

    def doveadm(self, *args: str) -> str:
        """Run ``doveadm -c CONFIG ARGS`` against this instance and return its stdout."""
        proc = subprocess.run(
            ["doveadm", "-c", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def log(self) -> str:
        """Dovecot's log, for failure messages."""
        try:
            return (self.base / "dovecot.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def client(self) -> IMAPClient:
        """A logged-in IMAPClient for test set-up and assertions (caller logs out)."""
        c = IMAPClient(self.host, port=self.port, ssl=False, timeout=30)
        c.login(self.user, self.password)
        return c


def _self_signed(cert_path: Path, key_path: Path, host: str) -> None:
    """A throw-away certificate for 127.0.0.1 (tests connect with verification off, or trust it)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "coc-intake test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)


def _require_dovecot() -> None:
    if shutil.which("dovecot") is None or shutil.which("doveadm") is None:
        pytest.fail("Dovecot is not installed (package dovecot-imapd); the IMAP tests need a real server")


@contextlib.contextmanager
def running_dovecot(tls: bool = False) -> Iterator[DovecotServer]:
    """Start a private Dovecot, yield it, stop it (by master.pid) and remove its folder.

    The folder is made with mkdtemp rather than pytest's tmp_path because the dovecot user must be
    able to traverse it, and pytest's base folder is private to root. ``tls=True`` adds a
    self-signed certificate: STARTTLS on the plain port and implicit TLS on ``tls_port``.
    """
    _require_dovecot()
    base = Path(tempfile.mkdtemp(prefix="coc-dovecot-"))
    base.chmod(0o755)
    server = DovecotServer(base=base, tls=tls)
    try:
        server.setup()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    """A running private Dovecot on a free loopback port (no TLS)."""
    with running_dovecot() as server:
        yield server


def imap_append(
    server: DovecotServer, folder: str, message: bytes, flags: tuple[str, ...] = (), create: bool = True
) -> int | None:
    """APPEND one message as a delivery agent would; returns its UID (Dovecot has UIDPLUS)."""
    c = server.client()
    try:
        if create and not c.folder_exists(folder):
            c.create_folder(folder)
        resp = c.append(folder, message, flags=flags)
        # imapclient returns b"[APPENDUID <validity> <uid>] Append completed."
        text = resp.decode() if isinstance(resp, bytes) else str(resp)
        if "APPENDUID" in text:
            return int(text.split("APPENDUID", 1)[1].split("]", 1)[0].split()[1])
        return None
    finally:
        c.logout()


def imap_uids(server: DovecotServer, folder: str, criteria: list[Any] | str = "ALL") -> list[int]:
    """UIDs in a folder matching the criteria ([] when the folder does not exist)."""
    c = server.client()
    try:
        if not c.folder_exists(folder):
            return []
        c.select_folder(folder, readonly=True)
        return sorted(int(u) for u in c.search(criteria))
    finally:
        c.logout()


def imap_count(server: DovecotServer, folder: str) -> int:
    """How many messages a folder holds (0 when it does not exist)."""
    c = server.client()
    try:
        if not c.folder_exists(folder):
            return 0
        return int(c.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"])
    finally:
        c.logout()


# --------------------------------------------------------------------------- SMTP sink


@dataclass(frozen=True)
class SinkMessage:
    """One envelope the sink accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    received_at: float


class _SinkHandler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    def _failure(self, stage: str) -> str | None:
        with self.sink.lock:
            if self.sink.fail_with is None or self.sink.fail_stage != stage:
                return None
            if self.sink.fail_times is not None:
                if self.sink.fail_times <= 0:
                    return None
                self.sink.fail_times -= 1
            self.sink.failures += 1
            return self.sink.fail_with

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        self.sink.rcpt_seen.set()
        if self.sink.rcpt_delay:
            await asyncio.sleep(self.sink.rcpt_delay)
        failure = self._failure("rcpt")
        if failure is not None:
            return failure
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        failure = self._failure("data")
        if failure is not None:
            return failure
        msg = SinkMessage(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            content=bytes(envelope.original_content or b""),
            received_at=time.time(),
        )
        with self.sink.lock:
            self.sink.messages.append(msg)
        self.sink.arrived.set()
        return "250 Message accepted"


class SmtpSink:
    """A recording SMTP server (the relay in tests); ``fail_with`` makes it answer an error instead.

    ``fail_with`` is a full reply line such as ``"451 4.3.0 try later"`` (temporary) or ``"550 5.1.1
    no such user"`` (permanent); ``fail_stage`` picks RCPT or DATA; ``fail_times`` limits how many
    answers fail (None: all of them) so retry-then-succeed can be tested. A ``"421 ..."`` reply is
    followed by aiosmtpd closing nothing by itself, so a client sees the code and decides.
    """

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port()
        self.messages: list[SinkMessage] = []
        self.lock = threading.Lock()
        self.arrived = threading.Event()
        self.fail_with: str | None = None
        self.fail_stage: Literal["rcpt", "data"] = "data"
        self.fail_times: int | None = None
        self.failures = 0
        self.rcpt_delay = 0.0  # seconds each RCPT is held (a slow relay, so a test can act meanwhile)
        self.rcpt_seen = threading.Event()  # set at every RCPT
        self._controller = Controller(_SinkHandler(self), hostname=host, port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def fail(self, reply: str | None, *, stage: Literal["rcpt", "data"] = "data", times: int | None = None) -> None:
        """Answer ``reply`` (e.g. ``"451 4.3.0 busy"``) at ``stage``, ``times`` times (None: always)."""
        with self.lock:
            self.fail_with = reply
            self.fail_stage = stage
            self.fail_times = times

    def received(self) -> list[SinkMessage]:
        with self.lock:
            return list(self.messages)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[SinkMessage]:
        """Wait until at least ``count`` messages arrived; returns them (fewer on timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received()
            if len(got) >= count:
                return got
            time.sleep(0.05)
        return self.received()


@contextlib.contextmanager
def running_smtp_sink() -> Iterator[SmtpSink]:
    """Start a recording SMTP sink on a free loopback port, yield it, stop it."""
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A running recording SMTP sink on a free loopback port."""
    with running_smtp_sink() as sink:
        yield sink
