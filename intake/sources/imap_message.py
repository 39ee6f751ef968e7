"""One IMAP message, from the server to the store and back: fetching bodies within the size limit,
storing each as a submission (a stand-in with its header when the message itself cannot be stored),
and acknowledging stored ones (keyword, or a move to the processed folder) so they are never
fetched again. `intake.sources.imap.ImapSource` calls these in that order, the crash-safe one.
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from typing import Any

from imapclient import IMAPClient
from sqlalchemy.exc import SQLAlchemyError

from intake.sources.common import StoreLike, describe_error
from intake.store import Incoming

log = logging.getLogger("intake.sources.imap")  # one logger for the whole source, as operators filter it


def chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _head(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]


def header_info(raw: bytes) -> tuple[str | None, str | None]:
    """(Message-ID, sender address) from a message's header; tolerant of broken headers."""
    try:
        msg = BytesHeaderParser().parsebytes(_head(raw) + b"\r\n\r\n")
        mid = msg.get("Message-ID")
        message_id = str(mid).strip() if mid else None
        sender = email.utils.parseaddr(str(msg.get("From", "")))[1] or None
    except Exception:  # noqa: BLE001  (a header we cannot parse is still stored; the pipeline reports it)
        return None, None
    return message_id or None, sender


def transient(exc: BaseException) -> bool:
    """Database and network trouble is retried later; anything else is about the message itself."""
    if isinstance(exc, OSError | TimeoutError):
        return True
    return isinstance(exc, SQLAlchemyError)


def as_utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.astimezone(UTC)  # naive means local time in imapclient
        return value.astimezone(UTC)
    return datetime.now(UTC)


def fetch_bodies(client: IMAPClient, uids: list[int], meta: dict[int, dict[bytes, Any]],
                 max_message_bytes: int | None, folder: str) -> dict[int, bytes]:
    """The messages' bytes by UID (fetched with PEEK: nothing is marked read); a message over
    `max_message_bytes` is its header only, with a marker saying why."""
    big = [
        u
        for u in uids
        if max_message_bytes is not None and int(meta[u].get(b"RFC822.SIZE", 0)) > max_message_bytes
    ]
    normal = [u for u in uids if u not in big]
    bodies: dict[int, bytes] = {}
    if normal:
        for uid, data in client.fetch(normal, [b"BODY.PEEK[]"]).items():
            body = data.get(b"BODY[]")
            if body is not None:
                bodies[int(uid)] = bytes(body)
    if big:
        for uid, data in client.fetch(big, [b"BODY.PEEK[HEADER]"]).items():
            head = bytes(data.get(b"BODY[HEADER]") or b"")
            size = int(meta[int(uid)].get(b"RFC822.SIZE", 0))
            # The body is never downloaded; the submission keeps the header so staff see who
            # sent what, and the marker tells the pipeline why there is nothing to read.
            note = (
                f"X-Coc-Intake-Truncated: message of {size} bytes exceeds the limit of "
                f"{max_message_bytes} bytes; body not downloaded\r\n"
            ).encode()
            bodies[int(uid)] = note + head
            log.warning("imap %s uid %d: %d bytes over the limit, storing the header only", folder, uid, size)
    return bodies


def _incoming(folder: str, uidvalidity: int, uid: int, raw: bytes, internaldate: Any) -> Incoming:
    message_id, sender = header_info(raw)
    return Incoming(
        channel="imap",
        raw=raw,
        sender=sender,
        received_at=as_utc(internaldate),
        message_id=message_id,
        imap_folder=folder,
        imap_uidvalidity=uidvalidity,
        imap_uid=uid,
    )


def store_messages(store: StoreLike, folder: str, uidvalidity: int,
                   messages: list[tuple[int, bytes, Any]]) -> list[tuple[int, bool]] | None:
    """Store fetched messages (uid, bytes, INTERNALDATE) together, one commit for all
    (`Store.store_submissions`): their (id, new) in order. None when something about one of the
    messages themselves failed (nothing was stored then): the caller stores them one by one
    (`store_message`), which keeps a stand-in for the one that cannot be stored. Database and
    network trouble is raised, as for one message."""
    incs = [_incoming(folder, uidvalidity, uid, raw, internaldate) for uid, raw, internaldate in messages]
    try:
        stored = store.store_submissions(incs)
    except Exception as exc:
        if transient(exc):
            raise
        return None
    for (uid, raw, _), (sid, new) in zip(messages, stored, strict=True):
        log.info("imap %s uid %d: submission %d%s (%d bytes)", folder, uid, sid, "" if new else " (already stored)",
                 len(raw))
    return stored


def store_message(store: StoreLike, folder: str, uidvalidity: int, uid: int, raw: bytes,
                  internaldate: Any) -> tuple[int, bool]:
    """Store one message as a submission: (its id, whether it is new)."""
    inc = _incoming(folder, uidvalidity, uid, raw, internaldate)
    try:
        sid, new = store.store_submission(inc)
    except Exception as exc:
        if transient(exc):
            raise
        # Something about this message itself (not the database) fails: store a stand-in with
        # its header so staff see it, rather than fetching it again forever.
        log.error(
            "imap %s uid %d: cannot store the message (%s); storing its header for staff",
            folder,
            uid,
            describe_error(exc),
        )
        note = f"X-Coc-Intake-Unstorable: {type(exc).__name__}; original size {len(raw)} bytes\r\n"
        inc = replace(inc, raw=note.encode() + _head(raw) + b"\r\n\r\n")
        sid, new = store.store_submission(inc)
    log.info(
        "imap %s uid %d: submission %d%s (%d bytes)",
        folder,
        uid,
        sid,
        "" if new else " (already stored)",
        len(raw),
    )
    return sid, new


def acknowledge(client: IMAPClient, uids: list[int], processed_folder: str | None, processed_flag: str) -> None:
    """Flag stored messages (keyword, and \\Seen when they stay), then move them if configured."""
    if not uids:
        return
    if not processed_folder:
        client.add_flags(uids, [b"\\Seen", processed_flag.encode()], silent=True)
        return
    client.add_flags(uids, [processed_flag.encode()], silent=True)
    if client.has_capability("MOVE"):
        client.move(uids, processed_folder)
        return
    client.copy(uids, processed_folder)
    client.add_flags(uids, [b"\\Deleted"], silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        client.expunge()
