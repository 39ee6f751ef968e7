"""Waiting for new mail on an IMAP connection: IDLE where the server has it (renewed before the
server's 30-minute limit, with a poll every `poll_seconds` anyway), a sleep of `poll_seconds`
otherwise. Ends early for `request_poll` (the `wake` event) or `stop`.

Two traps of IMAP IDLE are handled here: mail announced in the answer to an earlier command is
not announced again (`announced_news`), and imapclient's `idle_check` swallows an EOF, so a cut
connection is noticed from the socket (`readable`), not left idling for 25 minutes.
"""

from __future__ import annotations

import imaplib
import select
import threading
import time
from dataclasses import dataclass
from typing import Any

from imapclient import IMAPClient

_NUMBER_AND_WORD = 2  # an untagged "* 3 EXISTS": the count, then what it counts
_EOF_READS = 2  # a socket readable twice with nothing to read has been closed


@dataclass(frozen=True)
class WaitPolicy:
    use_idle: bool
    poll_seconds: float
    idle_check_seconds: float
    idle_renew_seconds: float


def readable(client: IMAPClient) -> bool:
    """True when the connection's socket has something to read now (data, or EOF)."""
    try:
        return bool(select.select([client.socket()], [], [], 0)[0])
    except (OSError, ValueError):  # closed already
        return True


def announced_news(client: IMAPClient) -> bool:
    """True (and forgotten) when the server announced EXISTS or RECENT in the answer to an earlier command.

    A message that arrives while we SEARCH, FETCH or MOVE is announced in that command's answer, which
    imaplib files away; IDLE would not announce it again, so it would wait for the next mail.
    """
    pending = getattr(getattr(client, "_imap", None), "untagged_responses", None)
    if not isinstance(pending, dict):
        return False
    news = False
    for kind in ("EXISTS", "RECENT"):
        if pending.pop(kind, None):
            news = True
    return news


def is_change(response: Any) -> bool:
    """EXISTS or RECENT means new mail; BYE means the server is closing the session."""
    if not isinstance(response, tuple) or not response:
        return False
    if response[0] == b"BYE":
        raise imaplib.IMAP4.abort("server said BYE")
    return len(response) >= _NUMBER_AND_WORD and response[1] in (b"EXISTS", b"RECENT")


def wait_for_mail(client: IMAPClient, lock: threading.Lock, wake: threading.Event, stop: threading.Event,
                  policy: WaitPolicy) -> None:
    """Wait for new mail: IDLE when the server has it, otherwise sleep ``poll_seconds``.

    Returns when a poll is due (new mail, IDLE renewal, ``wake``) or ``stop`` is set. Every command
    on the connection is sent holding ``lock``.
    """
    if not (policy.use_idle and client.has_capability("IDLE")):
        deadline = time.monotonic() + policy.poll_seconds
        while not stop.is_set() and time.monotonic() < deadline:
            if wake.wait(min(policy.idle_check_seconds, max(0.0, deadline - time.monotonic()))):
                break
        wake.clear()
        with lock:
            client.noop()  # notices a dropped connection before the next poll
        return
    if announced_news(client):
        return  # new mail was announced in the answer to an earlier command: poll now
    with lock:
        client.idle()
        started = time.monotonic()
        at_eof = 0
        try:
            while not stop.is_set() and not wake.is_set():
                checked = time.monotonic()
                responses = client.idle_check(timeout=policy.idle_check_seconds)
                if any(is_change(r) for r in responses):
                    break
                # imapclient's idle_check swallows EOF and returns nothing: a connection cut
                # without BYE would leave us idling on a dead socket until the IDLE renewal
                # (25 minutes). EOF looks like a socket that is readable at once yet gives no line.
                quick = time.monotonic() - checked < policy.idle_check_seconds / 2
                at_eof = at_eof + 1 if not responses and quick and readable(client) else 0
                if at_eof >= _EOF_READS:
                    raise imaplib.IMAP4.abort("connection closed by the server or the network during IDLE")
                # Poll anyway every poll_seconds (the documented longest wait for a missed IDLE
                # notification), and re-issue IDLE before the server's 30-minute limit.
                if time.monotonic() - started >= min(policy.idle_renew_seconds, policy.poll_seconds):
                    break
        finally:
            wake.clear()
            client.idle_done()
