"""The real daemon (`coc-intake run`) as a child process, for end-to-end and crash tests.

A separate process, not threads in the test, so that a test can kill it with SIGKILL at any moment
exactly as an operator's machine could die.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from intake.settings import load_settings
from intake.store import Store
from tests.servers import DovecotServer, SmtpSink, free_port, wait_for_port


def write_config(folder: Path, *, dovecot: DovecotServer | None, sink: SmtpSink | None,
                 store_url: str | None = None, workers: int = 2, extra: str = "") -> Path:
    smtp_port = free_port()
    config = folder / "coc-intake.toml"
    imap = ""
    if dovecot is not None:
        imap = f"""
[imap]
enabled = true
host = "{dovecot.host}"
port = {dovecot.port}
security = "none"
username = "{dovecot.user}"
password = "{dovecot.password}"
folder = "INBOX"
processed_folder = "Processed"
poll_seconds = 1
timeout_seconds = 20
reconnect_max_seconds = 2
"""
    relay = ""
    if sink is not None:
        relay = f"""
[relay]
host = "{sink.host}"
port = {sink.port}
security = "none"
first_retry_seconds = 1
max_retry_seconds = 2
"""
    # Sender trust is not the point of most daemon tests: the verdict is still recorded, but nothing
    # is held for staff (tests/test_senderauth.py runs the daemon with it on). A caller's [trust] wins.
    trust = "" if "[trust]" in extra else "\n[trust]\nflag_unverified = false\n"
    config.write_text(f"""
[store]
url = "{store_url or f'sqlite:///{folder}/var/coc-intake.db'}"

[paths]
var = "{folder}/var"

[smtp_listener]
port = {smtp_port}
accepted_recipients = ["certificate@localhost"]

[fax]
stable_seconds = 0.5
poll_seconds = 0.5
{imap}{relay}
[pipeline]
workers = {workers}

[web]
port = {free_port()}
{trust}{extra}
""", encoding="utf-8")
    return config


class GatewayProcess:
    def __init__(self, folder: Path, config: Path) -> None:
        self.folder = folder
        self.config = config
        self.settings = load_settings(config)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = folder / "gateway.log"

    @property
    def smtp_port(self) -> int:
        return int(self.settings.smtp_listener.port)

    def start(self) -> None:
        env = dict(os.environ, OMP_THREAD_LIMIT="1", PYTHONUNBUFFERED="1")
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "intake.cli", "--config", str(self.config), "run"],
                                         cwd=self.folder, stdout=out, stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
        wait_for_port("127.0.0.1", self.smtp_port, timeout=30)

    def kill(self) -> None:
        """SIGKILL the whole process group: the daemon and its extraction children."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None
        # The killed listener's port is free again as soon as the socket is gone.
        time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def store(self) -> Store:
        return Store.from_settings(self.settings)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
