"""The walk through a message's MIME structure: alternatives, related logos, signatures, TNEF,
forwarded messages and the limits (parts, depth, size) that keep a hostile one cheap. Part of
`parsers.mime`, which calls `_Walker` from `parse_mail`."""

from __future__ import annotations

import html as html_lib
import logging
import mimetypes
import re
from dataclasses import dataclass, field
from email import errors as email_errors
from email import message_from_bytes
from email.message import Message

from parsers import sniff as sniff_mod
from parsers.mime_headers import _POLICY
from parsers.mime_text import (
    _filename,
    carries_less,
    decode_text,
    is_html_boilerplate,
    unflow,
)
from parsers.pii import mask_ssns
from parsers.types import Limits, Part, PartProblem

log = logging.getLogger("parsers.mime")

LOGO_MAX_BYTES = 20 * 1024  # inline images in multipart/related below this are logos, not scans
TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
TNEF_MAGIC = b"\x78\x9f\x3e\x22"
# Detached signatures of multipart/signed carry no request; skipping them keeps staff lists clean.
SIGNATURE_TYPES = frozenset({"application/pkcs7-signature", "application/x-pkcs7-signature",
                             "application/pgp-signature"})  # fmt: skip
ENCRYPTED_TYPES = frozenset({"application/pkcs7-mime", "application/x-pkcs7-mime", "application/pgp-encrypted"})
# Declared types that say nothing about the content, so the bytes decide.
_VAGUE_TYPES = frozenset({
    "application/octet-stream", "binary/octet-stream", "application/x-download", "application/download",
    "application/force-download", "application/unknown", "application/x-unknown", "application/binary",
    "application/x-msdownload", "",
})  # fmt: skip
_PROBLEM_FOR_DEFECT: dict[type, tuple[str, str]] = {
    email_errors.CloseBoundaryNotFoundDefect: (
        "truncated", "closing MIME boundary missing: the message may be truncated"),
    email_errors.StartBoundaryNotFoundDefect: ("malformed_multipart", "MIME boundary never found"),
    email_errors.NoBoundaryInMultipartDefect: ("malformed_multipart", "multipart part without a boundary"),
    email_errors.MultipartInvariantViolationDefect: ("malformed_multipart", "multipart part is not multipart"),
    email_errors.FirstHeaderLineIsContinuationDefect: ("malformed_header", "header block starts mid-header"),
    email_errors.MissingHeaderBodySeparatorDefect: ("malformed_header", "a header line could not be read"),
    email_errors.MisplacedEnvelopeHeaderDefect: ("malformed_header", "envelope line among the headers"),
    email_errors.InvalidBase64PaddingDefect: ("bad_base64", "base64 data has bad padding"),
    email_errors.InvalidBase64CharactersDefect: ("bad_base64", "base64 data has invalid characters"),
    email_errors.InvalidBase64LengthDefect: ("bad_base64", "base64 data has an impossible length"),
}  # fmt: skip

# --- the walk --------------------------------------------------------------------------------


@dataclass
class _Slot:
    """One piece of a message body: a plain text and/or HTML alternative."""

    plain: str | None = None
    html: str | None = None


@dataclass
class _Scope:
    """What one message (the top one or a forwarded one) contributes: body slots and attachment count."""

    prefix: str
    slots: list[_Slot] = field(default_factory=list)
    attachments: int = 0
    first_part_index: int = 0


class _Walker:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.parts: list[Part] = []
        self.problems: list[PartProblem] = []
        self.entities = 0
        self.total_bytes = 0
        self.forwarded = 0
        self.attachments = 0  # in the whole message, forwarded ones included
        self.stopped = False
        self._seen: set[tuple[str, str]] = set()

    def problem(self, code: str, message: str, part: str) -> None:
        key = (code, part)
        if key in self._seen:
            return
        self._seen.add(key)
        self.problems.append(PartProblem(code=code, message=mask_ssns(message), part=part))

    def count(self) -> bool:
        """Count one MIME entity; False (and stop) once past `max_parts`."""
        self.entities += 1
        if self.entities > self.limits.max_parts:
            self.problem("too_many_parts", f"more than {self.limits.max_parts} MIME parts; the rest were not read",
                         "message")  # fmt: skip
            self.stopped = True
        return not self.stopped

    # parsing -------------------------------------------------------------------------------

    def load(self, data: bytes, where: str) -> Message | None:
        """Parse bytes into a Message; a nesting bomb that breaks the stdlib parser is defused and retried."""
        try:
            return message_from_bytes(data, policy=_POLICY)
        except RecursionError:
            self.problem("too_deep", f"MIME structure nested too deeply (over {self.limits.max_depth} levels)",
                         where)  # fmt: skip
            try:
                return message_from_bytes(_defuse(data, self.limits.max_depth + 2), policy=_POLICY)
            except Exception as exc:
                self.problem("parse_error", f"message could not be parsed ({type(exc).__name__})", where)
                return None
        except Exception as exc:
            self.problem("parse_error", f"message could not be parsed ({type(exc).__name__})", where)
            return None

    # structure -----------------------------------------------------------------------------

    def message(self, msg: Message, depth: int, prefix: str, where: str) -> None:
        """Collect one message's body and attachments as parts named under `prefix`."""
        scope = _Scope(prefix=prefix, first_part_index=len(self.parts))
        if depth > 0 and _headers_size(msg) > self.limits.max_header_bytes:
            self.problem("header_too_large", f"forwarded message's header block is over the limit of "
                         f"{self.limits.max_header_bytes} bytes; it was not read", where)  # fmt: skip
            return
        try:
            self.entity(msg, depth, scope, where, in_related=False)
        finally:
            self.emit_body(scope)  # a failure deeper down must not cost the body already read

    def entity(self, part: Message, depth: int, scope: _Scope, where: str, in_related: bool) -> None:
        if self.stopped or not self.count():
            return
        if depth > self.limits.max_depth:
            self.problem("too_deep", f"MIME parts nested deeper than {self.limits.max_depth} levels were not "
                         "read", where)  # fmt: skip
            return
        self.defects(part, where)
        ctype = _content_type(part)
        if ctype.startswith("multipart/"):
            payload = part.get_payload()
            if not isinstance(payload, list):
                self.salvage_multipart(part, depth, scope, where, in_related)
                return
            if ctype == "multipart/alternative":
                self.alternative([c for c in payload if isinstance(c, Message)], depth, scope, where)
                return
            for child in payload:
                if isinstance(child, Message):
                    self.entity(child, depth + 1, scope, where, in_related or ctype == "multipart/related")
            return
        if ctype in {"message/rfc822", "message/global"}:
            self.forwarded_message(part, depth, scope, where)
            return
        self.leaf(part, ctype, depth, scope, where, in_related)

    def alternative(self, children: list[Message], depth: int, scope: _Scope, where: str) -> None:  # noqa: C901  (the ways a mail's alternatives differ (stub, lost table, both))
        """Prefer the plain text unless empty or boilerplate; every alternative's attachments still count."""
        slot = _Slot()
        for child in children:
            if not isinstance(child, Message):
                continue
            ctype = _content_type(child)
            if self.stopped:
                break
            if ctype in ("text/plain", "text/html") and not _is_attachment(child):
                if not self.count():
                    break
                self.defects(child, where)
                text = self.text_of(child, where)
                if ctype == "text/plain" and slot.plain is None:
                    slot.plain = text
                elif ctype == "text/html" and slot.html is None:
                    slot.html = text
                continue
            if ctype.startswith("multipart/"):
                # A related or mixed branch: its HTML is this slot's HTML, its attachments are ours.
                inner = _Scope(prefix=scope.prefix, attachments=scope.attachments)
                self.entity(child, depth + 1, inner, where, ctype == "multipart/related")
                scope.attachments = inner.attachments
                plains = [s.plain for s in inner.slots if s.plain]
                htmls = [s.html for s in inner.slots if s.html]
                if slot.html is None and htmls:
                    slot.html = "\n".join(htmls)
                if slot.plain is None and plains and not htmls:
                    slot.plain = "\n".join(plains)
                continue
            if ctype.startswith("text/") and not _is_attachment(child):
                continue  # text/enriched, text/calendar alternatives: not a request
            self.entity(child, depth + 1, scope, where, in_related=False)
        if slot.plain is not None or slot.html is not None:
            scope.slots.append(slot)

    def salvage_multipart(self, part: Message, depth: int, scope: _Scope, where: str, in_related: bool) -> None:
        """A multipart whose boundary is missing or wrong: guess it from the first `--xyz` line."""
        payload = part.get_payload()
        text = payload if isinstance(payload, str) else ""
        match = re.search(r"^--([^\s-][^\r\n]{0,69}?)\s*$", text, re.MULTILINE)
        if match is not None and depth + 1 <= self.limits.max_depth:
            boundary = match.group(1).rstrip("-") if match.group(1).endswith("--") else match.group(1)
            rebuilt = f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n{text}'
            inner = self.load(rebuilt.encode("utf-8", "surrogateescape"), where)
            if inner is not None and isinstance(inner.get_payload(), list):
                self.problem("malformed_multipart", "MIME boundary missing or wrong; parts were recovered "
                             "by guessing it", where)  # fmt: skip
                self.entity(inner, depth + 1, scope, where, in_related)
                return
        self.problem("malformed_multipart", "MIME boundary missing or wrong; the part was read as text", where)
        data = text.encode("utf-8", "surrogateescape")
        decoded, _ = decode_text(data, None)
        scope.slots.append(_Slot(plain=decoded))

    def forwarded_message(self, part: Message, depth: int, scope: _Scope, where: str) -> None:
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(inner, Message):
            self.problem("malformed_multipart", "forwarded message is empty", where)
            return
        self.forwarded += 1
        n = self.forwarded
        name = f"forwarded {n}"
        if depth + 1 > self.limits.max_depth:
            self.problem("too_deep", f"MIME parts nested deeper than {self.limits.max_depth} levels were not "
                         "read", name)  # fmt: skip
            return
        self.message(inner, depth + 1, f"{name}: ", name)

    def leaf(self, part: Message, ctype: str, depth: int, scope: _Scope, where: str, in_related: bool) -> None:  # noqa: C901, PLR0911, PLR0912  (one case per kind of MIME leaf part)
        filename = _filename(part)
        attachment = _is_attachment(part) or filename is not None
        if ctype in ("text/plain", "text/html") and not attachment:
            body = self.text_of(part, where)
            scope.slots.append(_Slot(plain=body) if ctype == "text/plain" else _Slot(html=body))
            return
        if ctype in SIGNATURE_TYPES:
            return
        data = self.payload_bytes(part, where)
        if data is None:
            return
        declared = ctype
        small = len(data) < LOGO_MAX_BYTES
        if in_related and small and ctype.startswith("image/") and not _disposition_is(part, "attachment"):
            return  # a logo or signature image, not a pasted scan
        if self.attachments >= self.limits.max_attachments:
            self.problem("too_many_attachments", f"more than {self.limits.max_attachments} attachments; "
                         "the rest were not read", "message")  # fmt: skip
            return
        self.attachments += 1
        media = self.media_type(data, filename, declared)
        scope.attachments += 1
        shown = filename or f"unnamed{_extension_for(media)}"
        name = f"{scope.prefix}attachment {scope.attachments}: {shown}"
        if self.total_bytes + len(data) > self.limits.max_bytes:
            self.problem("too_large", f"attachment of {len(data)} bytes would pass the message limit of "
                         f"{self.limits.max_bytes} bytes; not read", name)  # fmt: skip
            return
        self.total_bytes += len(data)
        if self.defect_codes(part) & {"bad_base64"}:
            self.problem("bad_base64", "attachment's base64 data is damaged; the bytes may be incomplete", name)
        text: str | None = None
        if media.startswith("text/") or media in ("message/delivery-status", "message/rfc822"):
            text, trouble = decode_text(data, _charset(part))
            if trouble:
                self.problem("bad_charset", trouble, name)
        if media in TNEF_TYPES:
            self.problem("unsupported", "unsupported (Outlook TNEF)", name)
        elif media in ENCRYPTED_TYPES:
            self.problem("unsupported", "unsupported (encrypted message)", name)
        self.parts.append(Part(name=name, media_type=media, data=data, filename=filename, text=text))
        if media == "message/rfc822" and ctype != "message/rfc822":
            # An attached .eml file: keep it as a part and read what it carries as a forwarded message.
            self.forwarded += 1
            fname = f"forwarded {self.forwarded}"
            if depth + 1 > self.limits.max_depth:
                self.problem("too_deep", f"MIME parts nested deeper than {self.limits.max_depth} levels "
                             "were not read", fname)  # fmt: skip
                return
            inner = self.load(data, fname)
            if inner is not None:
                self.message(inner, depth + 1, f"{fname}: ", fname)

    def media_type(self, data: bytes, filename: str | None, declared: str) -> str:
        if declared in TNEF_TYPES or data.startswith(TNEF_MAGIC) or (filename or "").lower() == "winmail.dat":
            return "application/ms-tnef"
        if declared not in _VAGUE_TYPES and "/" in declared:
            return declared
        try:
            return sniff_mod.sniff(data, filename, None)
        except Exception:  # a sniffing bug must not lose the part
            return declared or "application/octet-stream"

    def payload_bytes(self, part: Message, where: str) -> bytes | None:
        try:
            payload = part.get_payload() if part.is_multipart() else part.get_payload(decode=True)
        except Exception as exc:
            self.problem("bad_encoding", f"part could not be decoded ({type(exc).__name__})", where)
            return None
        if isinstance(payload, bytes):
            return payload
        if isinstance(payload, str):
            return payload.encode("utf-8", "surrogateescape")
        if isinstance(payload, list):  # message/delivery-status and other message/* containers
            chunks: list[bytes] = []
            for sub in payload:
                try:
                    chunks.append(sub.as_bytes() if isinstance(sub, Message) else str(sub).encode())
                except Exception:
                    continue
            return b"\n".join(chunks)
        return b""

    def text_of(self, part: Message, where: str) -> str:
        data = self.payload_bytes(part, where) or b""
        text, trouble = decode_text(data, _charset(part))
        if trouble:
            self.problem("bad_charset", trouble, where)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        try:
            fmt = str(part.get_param("format") or "").lower()
            delsp = str(part.get_param("delsp") or "").lower() == "yes"
        except Exception:
            fmt, delsp = "", False
        if fmt == "flowed" and _content_type(part) == "text/plain":
            text = unflow(text, delsp)
        return text

    def emit_body(self, scope: _Scope) -> None:
        """The body part of one message, placed before that message's attachments.

        Plain text when every piece has a usable plain alternative; otherwise one `text/html` part
        whose `text` is the HTML source, so that the HTML body parser (which knows tables and
        quoted-reply blocks) reads it once. Plain pieces beside HTML ones are escaped into it.
        """
        slots = [s for s in scope.slots if s.plain is not None or s.html is not None]
        if not slots:
            return
        use_html = [s.plain is None or (s.html is not None and (is_html_boilerplate(s.plain)
                                                               or carries_less(s.plain, s.html))) for s in slots]
        if any(use_html):
            pieces = [
                (s.html or "") if html else "<div>" + "<br>\n".join(map(html_lib.escape, (s.plain or "").split("\n")))
                + "</div>"
                for s, html in zip(slots, use_html, strict=True)
            ]  # fmt: skip
            text, media = "\n".join(pieces), "text/html"
        else:
            plains = [s.plain or "" for s in slots]
            text = "\n".join(t for t in plains if t.strip()) if len(plains) > 1 else plains[0]
            media = "text/plain"
        body = Part(name=f"{scope.prefix}body", media_type=media, data=text.encode("utf-8"), text=text)
        self.parts.insert(scope.first_part_index, body)

    # defects -------------------------------------------------------------------------------

    def defects(self, part: Message, where: str) -> None:
        for defect in getattr(part, "defects", []):
            for cls, (code, message) in _PROBLEM_FOR_DEFECT.items():
                if isinstance(defect, cls) and code != "bad_base64":
                    self.problem(code, message, where)

    def defect_codes(self, part: Message) -> set[str]:
        codes: set[str] = set()
        for defect in getattr(part, "defects", []):
            for cls, (code, _) in _PROBLEM_FOR_DEFECT.items():
                if isinstance(defect, cls):
                    codes.add(code)
        return codes


def _content_type(part: Message) -> str:
    try:
        value = part.get_content_type()
    except Exception:
        return "application/octet-stream"
    return value.strip().lower() if isinstance(value, str) else "application/octet-stream"


def _charset(part: Message) -> str | None:
    try:
        value = part.get_param("charset")
    except Exception:
        return None
    if isinstance(value, tuple):
        value = value[2]
    return str(value) if value else None


def _disposition_is(part: Message, kind: str) -> bool:
    try:
        return (part.get_content_disposition() or "") == kind
    except Exception:
        return False


def _is_attachment(part: Message) -> bool:
    return _disposition_is(part, "attachment")


def _extension_for(media: str) -> str:
    known = {"application/pdf": ".pdf", "image/tiff": ".tif", "image/jpeg": ".jpg", "text/plain": ".txt",
             "message/rfc822": ".eml", "text/csv": ".csv", "application/ms-tnef": ".dat",
             "message/delivery-status": ".txt", "text/rfc822-headers": ".txt"}  # fmt: skip
    if media in known:
        return known[media]
    return mimetypes.guess_extension(media) or ".bin"


def _header_block_size(data: bytes) -> int:
    """Bytes before the blank line that ends the top header block (all of `data` when none does)."""
    ends = [i for i in (data.find(b"\n\n"), data.find(b"\n\r\n")) if i >= 0]
    return min(ends) + 1 if ends else len(data)


def _headers_size(msg: Message) -> int:
    """Header bytes of an already parsed (forwarded) message, counted as name, colon, value."""
    try:
        return sum(len(str(k)) + 2 + len(str(v)) for k, v in getattr(msg, "_headers", []))
    except Exception:
        return 0


_DELIMITER_RE = re.compile(rb"(?m)^--")


def _flood_cut(data: bytes, most: int) -> int | None:
    """Offset of the `most`-th line that could be a MIME boundary, or None when there are fewer."""
    for i, m in enumerate(_DELIMITER_RE.finditer(data), start=1):
        if i >= most:
            return m.start()
    return None


_NESTING_RE = re.compile(rb"(?im)^content-type:[ \t]*(multipart/|message/(?:rfc822|global))")


def _defuse(data: bytes, keep: int) -> bytes:
    """Turn every multipart or message/rfc822 declaration after the first `keep` into an opaque leaf.

    Only used when the stdlib parser itself overflowed the stack on a nesting bomb; what lies deeper
    than the limit is not read anyway.
    """
    count = 0

    def repl(m: re.Match[bytes]) -> bytes:
        nonlocal count
        count += 1
        if count <= keep:
            return m.group(0)
        return m.group(0)[: m.start(1) - m.start(0)] + b"application/x-defused-"

    return _NESTING_RE.sub(repl, data)

