"""The header side of a mail: the capped policy the parser reads with (hostile values cut before
they are parsed, each value parsed once) and `read_meta`, the envelope-ish facts a reply policy and
the store need (`MailMeta`), read leniently. Part of `parsers.mime`."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.policy import EmailPolicy
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Any

from parsers.mime_text import _unsurrogate

_MSGID_RE = re.compile(r"<[^<>\s]+>")
_REPORTED_HEADER_MAX = 4000  # a header value longer than this is cut in `MailMeta.headers`
_REPORTED_HEADER_REPEATS = 100  # occurrences of one header kept in `MailMeta.headers`
# The stdlib header parser costs ~3 ms per KB of a parameter-laden value, and the feed parser asks
# for Content-Type several times per part; hostile values are cut before they are parsed.
_STRUCTURE_HEADER_CAP = 2000
_OTHER_HEADER_CAP = 16000
_STRUCTURE_PARAMS_CAP = 30  # Outlook's longest real Content-Disposition has 4; RFC 2231 continuations add some


@functools.lru_cache(maxsize=256)
def _parse_header(name: str, value: str) -> Any:
    # Header objects are immutable strings, so one parse can serve every lookup of the same value.
    try:
        return policy.default.header_fetch_parse(name, value)
    except RecursionError:  # comments nested a thousand deep: read the value without them
        return policy.default.header_fetch_parse(name, re.sub(r"[()]", " ", value))


class _CappedPolicy(EmailPolicy):
    """`policy.default`, except that a header value is capped before parsing and parsed once."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if not isinstance(value, str) or hasattr(value, "name"):
            return super().header_fetch_parse(name, value)
        if not name.lower().startswith("content-"):
            return _parse_header(name, value[:_OTHER_HEADER_CAP])
        value = value[:_STRUCTURE_HEADER_CAP]
        cut = -1
        for _ in range(_STRUCTURE_PARAMS_CAP):  # parameter parsing is what costs
            cut = value.find(";", cut + 1)
            if cut < 0:
                break
        return _parse_header(name, value if cut < 0 else value[:cut])


_POLICY = _CappedPolicy()



@dataclass(frozen=True)
class MailMeta:
    """The envelope-ish facts a reply policy and the store need, read leniently."""

    message_id: str | None
    from_addr: str | None  # lower-cased addr-spec
    from_name: str | None
    to: list[str]
    reply_to: str | None
    subject: str
    date: datetime | None  # always timezone-aware (UTC when the header gave none)
    in_reply_to: str | None
    references: list[str]
    # Every header, lower-cased name -> decoded value; repeated headers joined with "\n".
    headers: dict[str, str] = field(default_factory=dict)


# --- headers ---------------------------------------------------------------------------------


def _empty_meta() -> MailMeta:
    return MailMeta(None, None, None, [], None, "", None, None, [], {})


def read_meta(msg: Message) -> MailMeta:
    """The metadata of a parsed message; each header is read on its own so one bad one costs only itself."""
    collected: dict[str, list[str]] = {}
    for name, value in _raw_items(msg):
        values = collected.setdefault(name.strip().lower(), [])
        if len(values) < _REPORTED_HEADER_REPEATS:
            values.append(_header_text(value[:_OTHER_HEADER_CAP])[:_REPORTED_HEADER_MAX])
    headers = {key: "\n".join(values) for key, values in collected.items()}

    from_addrs = _addresses(msg, "from")
    from_addr = from_addrs[0][1] if from_addrs else None
    from_name = (from_addrs[0][0] or None) if from_addrs else None
    reply = _addresses(msg, "reply-to")
    message_id = _first_msgid(headers.get("message-id"))
    if message_id is None and headers.get("message-id", "").strip():
        message_id = headers["message-id"].strip().split()[0]
    return MailMeta(
        message_id=message_id,
        from_addr=from_addr,
        from_name=from_name,
        to=[addr for _, addr in _addresses(msg, "to")],
        reply_to=reply[0][1] if reply else None,
        subject=" ".join(headers.get("subject", "").split("\n")[0].split()),
        date=_date(headers.get("date")),
        in_reply_to=_first_msgid(headers.get("in-reply-to")),
        references=_MSGID_RE.findall(headers.get("references", "")),
        headers=headers,
    )


def _raw_items(msg: Message) -> list[tuple[str, str]]:
    """Header (name, value) pairs, decoded where possible and raw where the policy chokes."""
    out: list[tuple[str, str]] = []
    try:
        raw = list(msg.raw_items())
    except Exception:
        raw = list(getattr(msg, "_headers", []))
    for name, value in raw:
        out.append((str(name), value if isinstance(value, str) else str(value)))
    return out


def _header_text(value: str) -> str:
    """A raw header value unfolded with RFC 2047 words decoded, undecodable bytes replaced."""
    value = _unsurrogate(value)
    unfolded = re.sub(r"\r?\n[ \t]+", " ", value).strip()
    if "=?" in unfolded:
        try:
            return str(make_header(decode_header(unfolded)))
        except Exception:  # unknown charset or broken encoded word: keep it raw
            return unfolded
    return unfolded


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """(display name, lower-cased addr-spec) pairs; the structured parser first, then a lenient one."""
    out: list[tuple[str, str]] = []
    try:
        header = msg[name]
        if header is None:
            return []
        for addr in getattr(header, "addresses", ()):
            spec = _unsurrogate(addr.addr_spec or "").strip().lower()
            if "@" in spec:
                out.append((_unsurrogate(str(addr.display_name or "")), spec))
        if out:
            return out
    except Exception:  # the structured parser raises on some malformed headers
        pass
    values = [_header_text(v[:_OTHER_HEADER_CAP]) for k, v in _raw_items(msg) if k.lower() == name][:1]
    for display, written in getaddresses(values):
        spec = written.strip().lower()
        if "@" in spec:
            out.append((display, spec))
    if not out and values:
        display, spec = parseaddr(values[0])
        if spec:
            out.append((display, spec.strip().lower()))
    return out


def _first_msgid(value: str | None) -> str | None:
    if not value:
        return None
    found = _MSGID_RE.findall(value)
    return found[0] if found else None


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except Exception:  # garbage dates are common in spam and old clients
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


