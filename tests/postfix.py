"""A private Postfix (Debian's package) in front of the gateway's LMTP listener, as deployed.

Its own config_directory, queue_directory and data_directory in a folder of its own (made with
mkdtemp: the postfix user must traverse it, and pytest's base folder is private to root), started
with `postfix -c DIR start` (root), listening on a loopback port, relaying every recipient of its
virtual domain to `lmtp:inet:127.0.0.1:PORT` from a source address of its own (`lmtp_bind_address`,
127.0.0.2 by default) so the gateway tells the relay from a direct client on 127.0.0.1. No chroot,
no DNS (`disable_dns_lookups`), its log in the folder (`maillog_file`, through postlogd).

The `Authentication-Results` our receiving server would write (a milter such as OpenDKIM or
OpenDMARC) are added by `header_checks`: PREPEND lines chosen by the From header, and IGNORE for
any `Authentication-Results` a sender wrote under our authserv-id, as a real setup must do.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.servers import free_port, wait_for_port

_MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {base}/queue
data_directory = {base}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = {hostname}
mydomain = ours.example
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
virtual_mailbox_domains = {domain}
virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}
lmtp_bind_address = {bind}
smtpd_recipient_restrictions = permit_mynetworks, reject
header_checks = regexp:{base}/etc/header_checks
maillog_file_prefixes = {base}
maillog_file = {base}/postfix.log
alias_maps =
alias_database =
smtputf8_enable = no
disable_dns_lookups = yes
smtp_host_lookup = native
lmtp_host_lookup = native
"""

# Debian's master.cf services, without chroot (the queue folder has no copy of /etc to chroot into).
_MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


@dataclass
class PostfixServer:
    """One private Postfix instance under `base` (see the module docstring)."""

    base: Path
    lmtp_port: int
    header_checks: list[str]
    domain: str = "intake.example"
    hostname: str = "mx.ours.example"
    bind: str = "127.0.0.2"
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)

    @property
    def etc(self) -> Path:
        return self.base / "etc"

    def setup(self) -> None:
        for sub in ("etc", "queue", "data"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        shutil.chown(self.base / "data", "postfix")
        values = {"base": self.base, "hostname": self.hostname, "domain": self.domain,
                  "lmtp_port": self.lmtp_port, "bind": self.bind}
        (self.etc / "main.cf").write_text(_MAIN_CF.format(**values), encoding="utf-8")
        (self.etc / "master.cf").write_text(_MASTER_CF.format(port=self.port), encoding="utf-8")
        (self.etc / "header_checks").write_text("\n".join(self.header_checks) + "\n", encoding="utf-8")

    def _postfix(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["postfix", "-c", str(self.etc), *args], capture_output=True, text=True,
                              timeout=60, check=False, stdin=subprocess.DEVNULL)

    def start(self) -> None:
        done = self._postfix("start")
        if done.returncode != 0:
            raise RuntimeError(f"postfix did not start ({done.returncode}): {done.stderr.strip()}\n{self.log()}")
        wait_for_port(self.host, self.port, timeout=30)

    def stop(self) -> None:
        self._postfix("stop")
        deadline = time.monotonic() + 20
        pid_file = self.base / "queue" / "pid" / "master.pid"
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)

    def log(self) -> str:
        try:
            return (self.base / "postfix.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""


def _require_postfix() -> None:
    if shutil.which("postfix") is None:
        pytest.fail("Postfix is not installed: run scripts/setup --test (Debian package postfix)")


@contextlib.contextmanager
def running_postfix(lmtp_port: int, header_checks: list[str], **kw: str) -> Iterator[PostfixServer]:
    """Start a private Postfix relaying to `lmtp_port`, yield it, stop it and remove its folder."""
    _require_postfix()
    base = Path(tempfile.mkdtemp(prefix="coc-postfix-"))
    base.chmod(0o755)
    server = PostfixServer(base=base, lmtp_port=lmtp_port, header_checks=header_checks, **kw)  # type: ignore[arg-type]
    try:
        server.setup()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
