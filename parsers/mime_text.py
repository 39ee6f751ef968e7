"""The text side of a mail: decoding a body in whatever charset it claims (or does not), unflowing
format=flowed, HTML to lines and the "view this in HTML" placeholder test, and safe file names.
Part of `parsers.mime`; no MIME structure here."""

from __future__ import annotations

import contextlib
import html as html_lib
import re
import unicodedata
from email.header import decode_header, make_header
from email.message import Message
from html.parser import HTMLParser

from parsers.pii import count_ssns

_BOILERPLATE_RE = re.compile(r"html|mime|multi-?part|rich text|formatted", re.IGNORECASE)
_BOILERPLATE_VERB_RE = re.compile(
    r"view|read|display|support|capable|enable|client|program|reader|browser|see|requires?|format",
    re.IGNORECASE,
)


# --- text ------------------------------------------------------------------------------------


def decode_text(data: bytes, charset: str | None) -> tuple[str, str | None]:  # noqa: PLR0911  (each charset fallback returns as soon as one decodes)
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
    for written in text.split("\n"):
        line = written.rstrip("\r")
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
    for row in lines:
        # Cells keep their tab separators; a row's leading tab (before its first cell) goes.
        cells = [re.sub(r" {2,}", " ", c).strip() for c in row.split("\t")]
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


def _unsurrogate(value: str) -> str:
    """Header bytes that were not ASCII arrive as surrogate escapes: read them as UTF-8 or cp1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    data = value.encode("ascii", "surrogateescape")
    return decode_text(data, None)[0]
