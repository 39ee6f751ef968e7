"""SMTP / LMTP listener: a message is committed to the store before the sender hears ``250``.

For sites that deliver straight to the gateway. Recipients are limited to configured addresses
(``550 5.1.1`` otherwise); a storage failure answers ``451 4.3.0`` so the sending MTA retries;
over the size limit answers ``552 5.3.4``. In LMTP mode there is one reply per accepted recipient.

Like a final-delivery agent (RFC 5321 4.4), the listener prepends ``Return-Path: <envelope sender>``
to the stored message, so the reply stage can see a null sender (bounce) the same way for every
channel; everything after that line is byte for byte what was received. The session (client IP,
HELO; MAIL FROM is the sender) is stored with the message for the pipeline's DKIM/SPF/DMARC check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from intake.sources.common import OnNew, StoreLike, describe_error, notify
from intake.store import Incoming

__all__ = ["IntakeHandler", "SmtpSource"]

log = logging.getLogger("intake.sources.smtp")

_TOO_BIG_AIOSMTPD = "552 Error: "  # "Too much mail data" (DATA) and "message size exceeds..." (MAIL SIZE=)
_TOO_BIG = "552 5.3.4 Message size exceeds fixed maximum message size"


def _message_id(raw: bytes) -> str | None:
    try:
        head = raw.split(b"\r\n\r\n", 1)[0]
        value = BytesHeaderParser().parsebytes(head + b"\r\n\r\n").get("Message-ID")
    except Exception:  # noqa: BLE001  (a message whose head cannot be parsed has no Message-ID to give)
        return None
    return str(value).strip() or None if value else None


def _client_ip(session: Session) -> str | None:
    """The client's IP address as text ("192.0.2.1", "2001:db8::1"); None for a non-IP peer."""
    peer = session.peer
    if isinstance(peer, tuple | list) and peer:
        return str(peer[0])[:64]
    return None


class IntakeHandler:
    """aiosmtpd handler: RCPT filter and store-then-250 DATA."""

    def __init__(
        self,
        store: StoreLike,
        *,
        accepted_recipients: Iterable[str],
        lmtp: bool = False,
        max_message_bytes: int | None = None,
        on_new: OnNew | None = None,
    ) -> None:
        self.store = store
        self.accepted = {a.strip().lower() for a in accepted_recipients if a.strip()}
        self.lmtp = lmtp
        self.max_message_bytes = max_message_bytes
        self.on_new = on_new

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.strip().lower() not in self.accepted:
            log.info("smtp: recipient %s rejected", address)
            return f"550 5.1.1 <{address}>: recipient address rejected: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    def _replies(self, envelope: Envelope, status: str) -> str:
        """One status line, or (LMTP) one per accepted recipient, as RFC 2033 requires."""
        if not self.lmtp:
            return status
        n = max(1, len(envelope.rcpt_tos))
        return "\r\n".join([status] * n)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        if raw is None:
            raw = envelope.content if isinstance(envelope.content, bytes) else b""
        raw = bytes(raw)
        if self.max_message_bytes is not None and len(raw) > self.max_message_bytes:
            return self._replies(envelope, _TOO_BIG)
        # aiosmtpd reports the null sender (bounces) as "<>".
        mail_from = (envelope.mail_from or "").strip().strip("<>").strip()
        stored = f"Return-Path: <{mail_from}>\r\n".encode("utf-8", "replace") + raw
        inc = Incoming(
            channel="lmtp" if self.lmtp else "smtp",
            raw=stored,
            sender=mail_from or None,
            received_at=datetime.now(UTC),
            message_id=_message_id(raw),
            recipients=tuple(envelope.rcpt_tos),
            # The session, for the sender check the pipeline makes later (storing never waits on DNS).
            client_ip=_client_ip(session),
            helo=(session.host_name or None) if isinstance(session.host_name, str) else None,
        )
        try:
            loop = asyncio.get_running_loop()
            sid, created = await loop.run_in_executor(None, self.store.store_submission, inc)
        except Exception as exc:  # noqa: BLE001  (any failure to store answers 451 so the sender retries; nothing is lost)
            log.error("smtp: storing a message from %s failed: %s", mail_from or "<>", describe_error(exc))
            return self._replies(envelope, "451 4.3.0 Temporary failure storing the message, try again later")
        log.info(
            "smtp: submission %d%s from %s (%d bytes)",
            sid,
            "" if created else " (already stored)",
            mail_from or "<>",
            len(raw),
        )
        if created:
            notify(self.on_new, sid)
        return self._replies(envelope, f"250 Message accepted for delivery <{sid}>")


class _SizeAware:
    """Rewrites aiosmtpd's own over-size reply to carry the enhanced status code (and, in LMTP, one
    line per recipient)."""

    lmtp_mode = False
    envelope: Envelope | None

    async def push(self, status: Any) -> None:
        if isinstance(status, str) and status.startswith(_TOO_BIG_AIOSMTPD):
            n = len(self.envelope.rcpt_tos) if (self.lmtp_mode and self.envelope is not None) else 1
            status = "\r\n".join([_TOO_BIG] * max(1, n))
        await super().push(status)  # type: ignore[misc]


class _IntakeSMTP(_SizeAware, SMTP):
    pass


class _IntakeLMTP(_SizeAware, LMTP):
    lmtp_mode = True


class _IntakeController(Controller):
    def __init__(self, handler: IntakeHandler, *, lmtp: bool, **kwargs: Any) -> None:
        self._lmtp = lmtp
        super().__init__(handler, **kwargs)

    def factory(self) -> SMTP:
        cls = _IntakeLMTP if self._lmtp else _IntakeSMTP
        return cls(self.handler, **self.SMTP_kwargs)


class SmtpSource:
    """The listener: ``start()`` binds and serves in a background thread, ``stop()`` closes it."""

    def __init__(
        self,
        store: StoreLike,
        *,
        host: str = "127.0.0.1",
        port: int = 2525,
        accepted_recipients: Iterable[str] = ("certificate@localhost",),
        lmtp: bool = False,
        max_message_bytes: int = 50 * 1024 * 1024,
        hostname: str | None = None,
        on_new: OnNew | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.lmtp = lmtp
        self.handler = IntakeHandler(
            store,
            accepted_recipients=accepted_recipients,
            lmtp=lmtp,
            max_message_bytes=max_message_bytes,
            on_new=on_new,
        )
        self._controller = _IntakeController(
            self.handler,
            lmtp=lmtp,
            hostname=host,
            port=port,
            server_hostname=hostname,
            data_size_limit=max_message_bytes,
        )

    @classmethod
    def from_settings(cls, listener: Any, store: StoreLike, on_new: OnNew | None = None) -> SmtpSource:
        """Build from the ``[smtp_listener]`` settings section (attribute access)."""
        kwargs: dict[str, Any] = {}
        for name in ("host", "port", "accepted_recipients", "lmtp", "max_message_bytes"):
            if getattr(listener, name, None) is not None:
                kwargs[name] = getattr(listener, name)
        return cls(store, on_new=on_new, **kwargs)

    def start(self) -> None:
        self._controller.start()
        log.info("%s listener on %s:%d", "lmtp" if self.lmtp else "smtp", self.host, self.port)

    def stop(self) -> None:
        self._controller.stop()
