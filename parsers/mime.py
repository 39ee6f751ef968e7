"""A raw mail message, as any client or a hostile sender builds it, into readable `Part`s.

Everything downstream (body, PDF, OCR, spreadsheet parsers) wants one decoded body and each
attachment's exact bytes with a believable media type; it should never need to know about MIME.
Mail is adversarial and sloppy (wrong charsets, missing boundaries, truncated uploads, nesting
bombs), so `parse_mail` never raises: what cannot be read becomes a `PartProblem` beside whatever
could be read. Only stdlib `email` with `policy.default` is used (hostile header values are cut first).
"""

from __future__ import annotations

import contextlib
import functools
import html as html_lib
import logging
import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import errors as email_errors
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import Message
from email.policy import EmailPolicy
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

from parsers import sniff as sniff_mod
from parsers.pii import count_ssns, mask_ssns
from parsers.types import Limits, Part, PartProblem

log = logging.getLogger(__name__)

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
_BOILERPLATE_RE = re.compile(r"html|mime|multi-?part|rich text|formatted", re.IGNORECASE)
_BOILERPLATE_VERB_RE = re.compile(
    r"view|read|display|support|capable|enable|client|program|reader|browser|see|requires?|format",
    re.IGNORECASE,
)
_MSGID_RE = re.compile(r"<[^<>\s]+>")
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


@dataclass(frozen=True)
class ParsedMail:
    meta: MailMeta
    parts: list[Part]
    problems: list[PartProblem]


def parse_mail(raw: bytes, limits: Limits) -> ParsedMail:
    """Read a raw RFC 5322 message into its metadata, body and attachment parts. Never raises.

    Parts, in message order:
    - `"body"`: `text/plain` with the plain text; or, when a message has no usable plain text
      (HTML only, or a "view this in HTML" placeholder), `text/html` with the HTML source as
      `text` (one part, not a rendering plus the source: the pipeline parses every text part, and
      the HTML body parser handles tables and quoted replies better than any flattening here;
      `html_to_text` is there for callers that want lines). No body part when there is no text.
    - `"attachment N: name"`: decoded bytes; `text` set for text types. `.eml` files are a part
      and are also read as a forwarded message.
    - `"forwarded N: body"`, `"forwarded N: attachment M: name"`: a `message/rfc822` part's contents,
      N counting forwarded messages through the whole message.
    """
    walker = _Walker(limits)
    data = raw
    if len(raw) > limits.max_bytes:
        walker.problem(
            "too_large", f"message is {len(raw)} bytes, over the limit of {limits.max_bytes}; "
            "only the start was read", "message",
        )  # fmt: skip
        data = raw[: limits.max_bytes]
    if _header_block_size(data) > limits.max_header_bytes:
        # The stdlib parser holds every header line in memory and re-parses values on access; a
        # header block of megabytes is not mail, and nothing in it is worth a worker's time.
        walker.problem(
            "header_too_large", f"message header block is over the limit of {limits.max_header_bytes} bytes; "
            "the message was not read", "message",
        )  # fmt: skip
        return ParsedMail(meta=_empty_meta(), parts=[], problems=walker.problems)
    cut = _flood_cut(data, max(400, 4 * limits.max_parts))
    if cut is not None:
        # The stdlib parser spends ~0.1 ms per part: a small message of 200k empty parts would hold a
        # worker for half a minute before the part limit below is ever consulted.
        walker.problem("too_many_parts", f"more than {limits.max_parts} MIME parts; the rest were not read",
                       "message")  # fmt: skip
        data = data[:cut]
    msg = walker.load(data, "message")
    meta = _empty_meta()
    if msg is not None:
        try:
            meta = read_meta(msg)
        except Exception as exc:  # never raise on hostile headers
            walker.problem("malformed_header", f"headers could not be read ({type(exc).__name__})", "message")
        try:
            walker.message(msg, depth=0, prefix="", where="message")
        except RecursionError:
            walker.problem("too_deep", "MIME structure nested too deeply", "message")
        except Exception as exc:  # keep what was read so far
            log.warning("mime walk failed: %s", type(exc).__name__)
            walker.problem("parse_error", f"message structure could not be read ({type(exc).__name__})",
                           "message")  # fmt: skip
    return ParsedMail(meta=meta, parts=walker.parts, problems=walker.problems)


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


def _unsurrogate(value: str) -> str:
    """Header bytes that were not ASCII arrive as surrogate escapes: read them as UTF-8 or cp1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    data = value.encode("ascii", "surrogateescape")
    return decode_text(data, None)[0]


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
    for display, spec in getaddresses(values):
        spec = spec.strip().lower()
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


# --- text ------------------------------------------------------------------------------------


def decode_text(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Bytes to text with the declared charset, falling back sensibly; returns (text, problem or None).

    Undeclared 8-bit text is UTF-8 when it decodes as such, else windows-1252 (what Western
    clients really send). Latin-1 and ASCII labels are read as windows-1252, which is a superset in
    practice (curly quotes and the euro sign arrive under both labels).
    """
    label = (charset or "").strip().strip('"').lower()
    if label in ("", "us-ascii", "ascii", "iso-8859-1", "latin1", "latin-1", "iso_8859-1", "x-unknown",
                 "unknown-8bit", "8bit", "default"):  # fmt: skip
        if label in ("iso-8859-1", "latin1", "latin-1", "iso_8859-1"):
            return _cp1252(data), None
        try:
            return data.decode("utf-8"), None
        except UnicodeDecodeError:
            return _cp1252(data), None
    try:
        return data.decode(label), None
    except LookupError:
        text = _fallback(data)
        return text, f"unknown charset {label[:40]!r}; read as UTF-8 or windows-1252"
    except UnicodeDecodeError:
        if label.replace("_", "-") in ("utf-8", "utf8"):
            return _cp1252(data), "text declared UTF-8 is not UTF-8; read as windows-1252"
        return data.decode(label, errors="replace"), f"text is not valid {label[:40]}"
    except Exception:  # exotic codecs can raise anything
        return _fallback(data), f"charset {label[:40]!r} failed; read as UTF-8 or windows-1252"


def _fallback(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _cp1252(data)


def _cp1252(data: bytes) -> str:
    # The five bytes windows-1252 leaves undefined become U+FFFD rather than an error.
    return data.decode("cp1252", errors="replace")


def unflow(text: str, delsp: bool = False) -> str:
    """Undo RFC 3676 format=flowed: join soft-broken lines and remove space-stuffing."""
    out: list[str] = []
    current: str | None = None
    current_depth = -1
    for line in text.split("\n"):
        line = line.rstrip("\r")
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth:]
        stuffed = body.startswith(" ")
        if stuffed:
            body = body[1:]  # space-stuffing
        quote = ">" * depth + (" " if depth and stuffed else "")
        if current is not None and depth != current_depth:
            out.append(current)
            current = None
        soft = body.endswith(" ") and body != "-- "
        piece = body[:-1] if (soft and delsp) else body
        if current is None:
            current, current_depth = quote + piece, depth
        else:
            current += piece
        if not soft:
            out.append(current)
            current = None
    if current is not None:
        out.append(current)
    return "\n".join(out)


def is_html_boilerplate(text: str) -> bool:
    """True for an empty plain alternative or one that only says "this message is in HTML"."""
    stripped = " ".join(text.split())
    if not stripped:
        return True
    return (
        len(stripped) < 300
        and bool(_BOILERPLATE_RE.search(stripped))
        and bool(_BOILERPLATE_VERB_RE.search(stripped))
        and not count_ssns(stripped) and not re.search(r"\d{2}-?\d{7}", stripped)  # carries data
    )


_DATA = re.compile(r"\d{3}-?\d{2}-?\d{4}|\d{2}-\d{7}|\b\d{1,4}[./-]\d{1,2}[./-]\d{2,4}\b|@[\w-]+\.|"
                   r"^[^:\t\n]{2,60}(?::|\t)[ \t]*\S", re.M)


def carries_less(plain: str, html: str) -> bool:
    """True when the plain alternative holds clearly less of the request than the HTML one.

    Senders' plain parts are not always the message: a stub whatever its words, or a rendering
    that lost the table of labels and values. What carries the request is its data (SSNs, EINs,
    dates, e-mail addresses, `label: value` lines), counted in both alternatives.
    """
    if len(html) > 2_000_000:
        return False
    plain_n = len(_DATA.findall(plain))
    html_n = len(_DATA.findall(html_to_text(html)))
    return html_n >= 3 and plain_n < 0.6 * html_n


class _TextFromHtml(HTMLParser):
    """HTML to readable text: block elements and <br> end lines, table cells are tab-separated.

    Block edges are marked "\x00" (soft) and <br> "\n" (hard) so adjacent paragraphs do not leave
    blank lines between them while a deliberate <br><br> still does.
    """

    _BLOCK = frozenset({"p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table",
                        "blockquote", "pre", "hr", "ul", "ol", "dl", "dt", "dd", "section", "article",
                        "header", "footer", "address"})  # fmt: skip
    _SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skip = 0
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skip += 1
        elif tag in ("td", "th"):
            self.chunks.append("\t")
        elif tag == "br":
            self.chunks.append("\n")
        elif tag in self._BLOCK:
            self.chunks.append("\x00")
        if tag == "pre":
            self.pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in self._BLOCK:
            self.chunks.append("\x00")
        if tag == "pre":
            self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        # Collapse whitespace as a browser does, but not non-breaking spaces: a run of them is how
        # every mail client writes the gap typed between a label and its value ("&nbsp; &nbsp;").
        self.chunks.append(data if self.pre else re.sub(r"[ \t\r\n\f\v]+", " ", data))


def html_to_text(source: str) -> str:
    """Readable text of an HTML mail body, one visual line per line, for the label parsers."""
    parser = _TextFromHtml()
    try:
        parser.feed(source)
        parser.close()
    except Exception:  # HTMLParser is lenient, but be sure
        return html_lib.unescape(re.sub(r"<[^>]*>", " ", source))
    # A gap of two or more spaces, one of them non-breaking, is a column gap: a tab, as between cells.
    text = re.sub(r"[ \xa0]*\xa0[ \xa0]+|[ \xa0]+\xa0[ \xa0]*", lambda m: "\t" if len(m.group(0)) >= 2 else " ",
                  "".join(parser.chunks)).replace("\xa0", " ")
    lines: list[str] = []
    for hard in text.split("\n"):
        # "\x00" marks a block edge: it ends a line but, unlike <br>, never makes an empty one.
        lines.extend([p for p in hard.split("\x00") if p.strip()] or [""])
    out: list[str] = []
    for line in lines:
        # Cells keep their tab separators; a row's leading tab (before its first cell) goes.
        cells = [re.sub(r" {2,}", " ", c).strip() for c in line.split("\t")]
        line = "\t".join(cells[1:] if len(cells) > 1 and not cells[0] else cells).rstrip("\t ")
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip("\n")


# --- file names ------------------------------------------------------------------------------


def safe_filename(name: str | None) -> str | None:
    """A decoded attachment name fit to show to staff: basename only, no control or bidi characters.

    It is never used as a path, but a name like `../../x` or one with a right-to-left override
    would mislead the person reviewing it.
    """
    if name is None:
        return None
    name = _unsurrogate(str(name))
    if "=?" in name:
        with contextlib.suppress(Exception):
            name = str(make_header(decode_header(name)))
    name = unicodedata.normalize("NFC", name)  # Apple Mail sends decomposed (NFD) names
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    name = " ".join(name.split())
    if not name.strip("."):
        return None
    return name[:200]


def _filename(part: Message) -> str | None:
    """The attachment's name: the structured header's parameters first (they decode RFC 2047 and
    2231 and, unlike `get_filename`, keep a name like `<scan>` whole), then the compat lookups."""
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        try:
            value = getattr(part[header], "params", {}).get(param)
        except Exception:
            value = None
        if value:
            return safe_filename(str(value))
    raw: object = None
    try:
        raw = part.get_filename() or part.get_param("name")
    except Exception:
        raw = None
    if isinstance(raw, tuple):
        raw = raw[2]
    return safe_filename(str(raw)) if raw else None


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
        if ctype == "message/rfc822" or ctype == "message/global":
            self.forwarded_message(part, depth, scope, where)
            return
        self.leaf(part, ctype, depth, scope, where, in_related)

    def alternative(self, children: list[Message], depth: int, scope: _Scope, where: str) -> None:
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

    def leaf(self, part: Message, ctype: str, depth: int, scope: _Scope, where: str, in_related: bool) -> None:
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
    except Exception:  # noqa: BLE001 - a header that cannot even be measured is not worth reading
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
