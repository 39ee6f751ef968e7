"""A second, light IMAP session beside the IDLE of `intake.sources.imap`, for the latency of one mail.

Dovecot announces a new message to an IDLE session about half a second after the APPEND here (its
notification of mailbox changes is not immediate), which was most of the time a single mail took
from APPEND to reply. This session asks `STATUS (UIDNEXT)` every `interval` seconds instead and,
when UIDNEXT moved, asks the source for a poll at once (`ImapSource.request_poll`). It reads
nothing but the folder's counters and changes nothing: the source still fetches, stores and
acknowledges every message, and its own IDLE and periodic polls go on as before, so a nudge that
fails (a cut connection, a server without STATUS) costs only the latency it would have saved.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from imapclient import IMAPClient

log = logging.getLogger("intake.sources.imap")

NUDGE_SECONDS = 0.1  # how often the counters are asked for
IDLE_CHECK_SECONDS = 0.1  # how often the source's IDLE loop looks for a nudge (was 1 s)
_RETRY_SECONDS = 5.0  # after a failure, before the next connection


class ImapNudge:
    """Wake `source` (an `ImapSource`) when its folder's UIDNEXT moves."""

    def __init__(self, source: Any, interval: float = NUDGE_SECONDS) -> None:
        self.source = source
        self.interval = interval
        self.nudges = 0
        # The IDLE loop sees a requested poll between two `idle_check`s: make them short.
        source.idle_check_seconds = min(float(source.idle_check_seconds), IDLE_CHECK_SECONDS)

    def _connect(self) -> IMAPClient:
        """A session with the source's own server and credentials (no folder selected)."""
        client: IMAPClient = self.source.login(timeout=max(5.0, self.interval * 50))
        return client

    def run(self, stop: threading.Event) -> None:
        """Until `stop`: ask the counters, nudge on a change; reconnect after any failure."""
        client: IMAPClient | None = None
        last: Any = None
        while not stop.is_set():
            try:
                if client is None:
                    client = self._connect()
                    last = None
                status = client.folder_status(self.source.folder, [b"UIDNEXT"])
                uidnext = status.get(b"UIDNEXT")
                if last is not None and uidnext != last:
                    self.nudges += 1
                    self.source.request_poll()
                last = uidnext
            except Exception as exc:  # noqa: BLE001  (the source's own IDLE and polls still bring the mail)
                log.debug("imap nudge: %s", type(exc).__name__)
                _close(client)
                client = None
                stop.wait(_RETRY_SECONDS)
                continue
            stop.wait(self.interval)
        _close(client)


def _close(client: IMAPClient | None) -> None:
    if client is not None:
        with contextlib.suppress(Exception):
            client.logout()
