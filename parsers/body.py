"""Mail bodies, `.txt` files and letters: the new text of a message, read as labels and as sentences.

A reply quotes the message it answers, and the quoted part may hold another worker's SSN; only what
the sender wrote now is read. A *forwarded* message is the opposite: the employee's request that HR
passes on is the content, so it is read. HTML bodies are turned into the same lines (a two-cell
table row becomes `label: value`) so that one path reads both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from parsers.layout import lines_from_text
from parsers.prose import find_in_prose
from parsers.prose_text import clean_punctuation
from parsers.several import several, table_rows, with_shared
from parsers.typed import by_type, date_order, employer_address
from parsers.types import Candidate, Extraction, PartProblem
from parsers.workers import WorkerTable

# ---------------------------------------------------------------------------------------------
# Quoted replies, signatures, forwards
# ---------------------------------------------------------------------------------------------

_FORWARD = re.compile(
    r"^\s*(?:-{2,}\s*(?:Forwarded message|Forwarded Message|Weitergeleitete Nachricht|Message transféré)"
    r"\s*-*|Begin forwarded message:|-{2,}\s*Original Message\s*-{2,}\s*\(forwarded\))\s*$",
    re.I,
)
_ORIGINAL = re.compile(r"^\s*-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine)\s*-{2,}\s*$",
                       re.I)
_HEADER = re.compile(r"^\s*\*?(From|Sent|Date|To|Cc|Bcc|Subject|Reply-To|Von|Gesendet|An|Betreff|De|"
                     r"Envoyé|À|Objet)\*?\s*:", re.I)
_FW_SUBJECT = re.compile(r"^\s*\*?(?:Subject|Betreff|Objet)\*?\s*:\s*(?:(?:RE|AW|SV)\s*:\s*)*"
                         r"(?:FW|FWD|WG|TR|Fw|Fwd)\s*:", re.I)
_WROTE = re.compile(r"(?:wrote|schrieb|a écrit|escribió|scrisse)\s*:\s*$", re.I)
_RULE = re.compile(r"^\s*_{8,}\s*$")
# Put by `html_to_text` where Outlook's `#appendonsend` marks the start of the quoted message.
QUOTE_MARK = "[[coc-intake: quoted message follows]]"
_QSTART = "[[coc-intake: quote starts]]"
_QEND = "[[coc-intake: quote ends]]"


def _header_block(lines: list[str], i: int) -> tuple[int, bool] | None:
    """If an Outlook-style header block ("From: ... Sent: ... Subject: ...") starts at line i:
    (the index after it, whether its subject says it is forwarded)."""
    if not re.match(r"^\s*\*?(?:From|Von|De)\*?\s*:", lines[i], re.I):
        return None
    j = i
    names: set[str] = set()
    forwarded = False
    while j < len(lines) and j - i < 12:
        m = _HEADER.match(lines[j])
        if m:
            names.add(m.group(1).lower())
            forwarded = forwarded or bool(_FW_SUBJECT.match(lines[j]))
        elif (lines[j].strip() and not (j > i and lines[j][:1] in " \t")) or (
            not lines[j].strip() and len(names) >= 2
        ):
            break  # the block ends at a line that is not a header, or at the blank after it
        j += 1
    dated = names & {"sent", "date", "gesendet", "envoyé"}
    if dated and len(names) >= 3:
        return j, forwarded
    return None


def _skip_headers(lines: list[str], i: int) -> int:
    """Past the blank lines and the From/Date/Subject/To lines that open a forwarded message."""
    while i < len(lines) and not lines[i].strip():
        i += 1
    while i < len(lines):
        if _HEADER.match(lines[i]) or (lines[i][:1] in " \t" and lines[i].strip()):
            i += 1
        elif not lines[i].strip() and i + 1 < len(lines) and _HEADER.match(lines[i + 1]):
            i += 1  # Apple Mail puts each header in a block of its own
        else:
            break
    return i


def _is_wrote(lines: list[str], i: int) -> int:
    """Lines taken by an "On Tue, ... Jane <jane@x> wrote:" attribution at i (it may wrap), or 0."""
    s = lines[i].strip()
    if not re.match(r"^(?:On|Am|Le|El|Il)\s", s) and not re.match(r"^\d{1,4}[./-]", s):
        return 0
    if _WROTE.search(s):
        return 1
    if i + 1 < len(lines) and len(s) < 200 and _WROTE.search(lines[i + 1].strip()):
        return 2
    return 0


def strip_quoted(text: str) -> str:
    """The text the sender wrote now, plus any forwarded message; quotes and signatures removed
    (`strip_quoted_keeping_signature` gives the "-- " signature's lines too)."""
    return strip_quoted_keeping_signature(text)[0]


def strip_quoted_keeping_signature(text: str) -> tuple[str, list[str]]:
    """The text the sender wrote now, plus any forwarded message; quotes and signatures removed.

    Dropped: "> " lines, and everything after an "On ... wrote:" attribution, an
    "-----Original Message-----" line or an Outlook "From:/Sent:/Subject:" block, and after a "-- "
    signature line. A forward marker ("---------- Forwarded message ---------", "Begin forwarded
    message:", an Outlook header block whose subject starts "FW:") starts content that is read.
    Returned with the text: the signature's lines (for `parsers.signature`, never read as the request).
    """
    lines = clean_punctuation(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    signature: list[str] = []  # the lines after the first "-- " (read as a signature, never as the request)
    i = 0
    in_signature = False
    while i < len(lines):
        line = lines[i]
        if _FORWARD.match(line):
            out.append("")
            i = _skip_headers(lines, i + 1)
            in_signature = False
            continue
        if _RULE.match(line) or line.strip() == QUOTE_MARK or _ORIGINAL.match(line):
            k = i + 1
            while k < len(lines) and not lines[k].strip():
                k += 1
            block = _header_block(lines, k) if k < len(lines) else None
            if block and block[1]:
                out.append("")
                i = _skip_headers(lines, k)
                in_signature = False
                continue
            if block or line.strip() == QUOTE_MARK or _ORIGINAL.match(line):
                break
            i += 1
            continue
        block = _header_block(lines, i)
        if block:
            if block[1]:
                out.append("")
                i = _skip_headers(lines, i)
                in_signature = False
                continue
            break
        taken = _is_wrote(lines, i)
        if taken:
            k = i + taken
            while k < len(lines) and not lines[k].strip():
                k += 1
            if k < len(lines) and lines[k].lstrip().startswith(">"):
                i += taken  # a "> " quote: dropped line by line, the answer below it is read
                continue
            break
        if in_signature or line.lstrip().startswith(">"):
            if in_signature and not line.lstrip().startswith(">") and len(signature) < 20:
                signature.append(line)
            i += 1
            continue
        if line in ("-- ", "--"):
            in_signature = True  # until a forwarded message, if any
            if not signature:
                signature.append("")
            i += 1
            continue
        out.append(line)
        i += 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n"), signature[1:]


# ---------------------------------------------------------------------------------------------
# HTML to lines
# ---------------------------------------------------------------------------------------------

_BLOCK = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "hr",
          "section", "article", "header", "footer", "pre", "address", "dl", "dt", "dd", "center",
          "blockquote", "form", "fieldset", "main", "nav", "aside", "caption", "tbody", "thead"}
_PARA = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "ul", "ol", "hr", "pre"}
_SKIP = {"style", "script", "head", "title", "template", "noscript", "svg", "object", "xml"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr", "source"}


@dataclass
class _Table:
    rows: list[list[str]] = field(default_factory=list)
    cell: list[str] | None = None


class _HtmlLines(HTMLParser):
    """HTML -> text lines. Quoted blocks become marker lines so that `_drop_quotes` can tell a
    quoted reply (dropped) from a forwarded message that mail clients also put in a quote."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.buf: list[str] = []  # text of the current line (outside tables)
        self.lines: list[str] = []
        self.skip = 0
        self.tables: list[_Table] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, opened a quote)
        self.worker_tables: list[WorkerTable] = []

    # where text goes: the innermost open table cell, or the current line
    def _text(self, s: str) -> None:
        if self.tables and self.tables[-1].cell is not None:
            self.tables[-1].cell.append(s)
        elif not self.tables:
            self.buf.append(s)
        # text between a table's cells is layout whitespace

    def _newline(self, tag: str = "") -> None:
        """End the current line. A paragraph (`p`, a table, a heading) or a `<br>` on an empty line
        (Gmail's `<div><br></div>`) leaves a blank line: a sentence boundary for prose reading."""
        if self.tables:
            if self.tables[-1].cell is not None:
                self.tables[-1].cell.append("\n")
            return
        line = re.sub(r"[ \t\u00a0]+", " ", "".join(self.buf)).strip()
        self.buf = []
        if line:
            self.lines.append(line)
        if (tag in _PARA or (tag == "br" and not line)) and self.lines and self.lines[-1]:
            self.lines.append("")

    def _emit(self, line: str) -> None:
        """A whole line (a rendered table row, a marker) with no blank line around it."""
        if self.tables:
            self._newline()
            for part in line.split("\n"):
                self._text(part)
                self._newline()
            return
        if "".join(self.buf).strip():
            self._newline()
        self.buf = []
        self.lines.extend(line.split("\n"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
            return
        a = {k.lower(): (v or "") for k, v in attrs}
        classes = a.get("class", "").split()
        quote = (tag == "blockquote" or "gmail_quote" in classes or a.get("id") == "divRplyFwdMsg"
                 or "yahoo_quoted" in classes or a.get("type") == "cite")
        if tag not in _VOID:
            self.stack.append((tag, quote))
        if tag in _BLOCK:
            self._newline(tag)
        if a.get("id") == "appendonsend":
            self._emit(QUOTE_MARK)
        if quote:
            self._emit(_QSTART)
        if tag == "table":
            self.tables.append(_Table())
        elif tag == "tr" and self.tables:
            self.tables[-1].rows.append([])
            self.tables[-1].cell = None
        elif tag in ("td", "th") and self.tables:
            t = self.tables[-1]
            if not t.rows:
                t.rows.append([])
            t.cell = []
        elif tag == "img" and a.get("alt"):
            self._text(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        # close up to the matching open tag (HTML in mail is often unbalanced)
        idx = next((k for k in range(len(self.stack) - 1, -1, -1) if self.stack[k][0] == tag), None)
        if idx is None:
            return
        closing = self.stack[idx:]
        del self.stack[idx:]
        for t, quote in reversed(closing):
            self._close(t, quote)

    def _close(self, tag: str, quote: bool) -> None:
        if tag in ("td", "th") and self.tables:
            t = self.tables[-1]
            if t.cell is not None:
                text = "\n".join(re.sub(r"[ \t\u00a0]+", " ", s).strip() for s in "".join(t.cell).split("\n"))
                t.rows[-1].append(text.strip("\n"))
                t.cell = None
        elif tag == "table" and self.tables:
            table = self.tables.pop()
            for line in self._render(table):
                self._emit(line)
        if tag in _BLOCK:
            self._newline(tag)
        if quote:
            self._emit(_QEND)

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self._text(data.replace("\n", " ").replace("\r", " "))

    def close(self) -> None:
        super().close()
        for t, quote in reversed(self.stack):
            self._close(t, quote)
        self.stack = []
        self._newline()

    def _render(self, table: _Table) -> list[str]:
        """Two-cell rows -> "label: value"; a header row over data rows -> one "header: value" line
        per cell (one data row), dependent lines, or a `WorkerTable` (several workers)."""
        rows = [[c for c in r] for r in table.rows if any(c.strip() for c in r)]
        if not rows:
            return []
        pairs = [[c for c in r if c.strip()] for r in rows]
        if all(len(r) == 2 for r in pairs) and sum(_header(r[0]) is not None for r in pairs) * 2 >= len(pairs):
            # a column of labels beside a column of values, not a header row
            return [f"{a.strip().rstrip(':')}: {b}" for a, b in pairs]
        head = rows[0]
        fields = [_header(h) for h in head]
        known = sum(f is not None for f in fields)
        data = rows[1:]
        if len(head) >= 2 and known >= 2 and data and all("\n" not in h for h in head):
            dep_cols = {f.rsplit(".", 1)[-1] for f in fields if f}
            is_dep = (any(f and f.startswith("dependents") for f in fields)
                      or ("relationship" in dep_cols) or self._last_heading_is_dependents())
            if is_dep:
                return [_dependent_line(head, r) for r in data]
            if len(data) > 1 and any(f and f.startswith("worker.") for f in fields):
                self.worker_tables.append(WorkerTable(fields, data))
                return []
            return [f"{h.strip().rstrip(':')}: {v}" for h, v in zip(head, data[0], strict=False)
                    if v.strip()]
        out: list[str] = []
        for r in rows:
            cells = [c for c in r if c.strip()]
            if len(cells) == 2 and "\n" not in cells[0] and len(cells[0]) <= 60 and "\n" not in cells[1]:
                out.append(f"{cells[0].strip().rstrip(':')}: {cells[1]}")
            else:
                out.extend(c for c in cells)
        return out

    def _last_heading_is_dependents(self) -> bool:
        from parsers.labels import match_section

        last = next((ln for ln in reversed(self.lines) if ln.strip() and not ln.startswith("[[coc-intake")), "")
        return match_section(last) == "dependents"


def _header(text: str) -> str | None:
    from parsers.labels import header_field

    return header_field(text.strip().rstrip(":")) if text.strip() else None


def _dependent_line(head: list[str], row: list[str]) -> str:
    """A dependents table row as the "Dependent: Anna Doe, spouse, born 2/3/1986" line the label
    finder reads."""
    parts: list[str] = []
    for h, v in zip(head, row, strict=False):
        f = _header(h) or ""
        sub = f.rsplit(".", 1)[-1]
        if not v.strip():
            continue
        parts.append(f"born {v.strip()}" if sub == "date_of_birth" or re.search(r"birth|dob", h, re.I)
                     else v.strip())
    return "Dependent: " + ", ".join(parts)


def _drop_quotes(lines: list[str]) -> list[str]:
    """Remove quoted blocks, except a block that is a forwarded message (its first line, or the
    line just before it, is a forward marker, or its header block has a "FW:" subject)."""
    out: list[str] = []
    depth_drop = 0
    depth = 0
    for k, line in enumerate(lines):
        if line == _QSTART:
            depth += 1
            if depth_drop:
                continue
            prev = next((x for x in reversed(out) if x.strip()), "")
            first = next((x for x in lines[k + 1 :] if x.strip() and not x.startswith("[[coc-intake")), "")
            nxt = [x for x in lines[k + 1 : k + 12] if not x.startswith("[[coc-intake")]
            block = _header_block(nxt, next((i for i, x in enumerate(nxt) if x.strip()), 0)) if nxt else None
            if _FORWARD.match(prev) or _FORWARD.match(first) or (block and block[1]):
                continue
            if block:  # Outlook's divRplyFwdMsg: the header block of a reply; the rest is quoted
                out.append(QUOTE_MARK)
            depth_drop = depth
            continue
        if line == _QEND:
            if depth_drop and depth == depth_drop:
                depth_drop = 0
            depth = max(0, depth - 1)
            continue
        if not depth_drop:
            out.append(line)
    return out


def html_to_text(html: str) -> tuple[str, list[WorkerTable]]:
    """The readable text of an HTML body, quoted replies removed, and any table of several workers."""
    p = _HtmlLines()
    p.feed(html)
    p.close()
    lines = _drop_quotes(p.lines)
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n"), p.worker_tables


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------

_REQUEST_PREFIXES = ("worker.", "assignment.", "dependents", "request_type")
_LABEL_LINE = re.compile(r"^\s*[^:\n]{1,60}:\s*\S")


def _labelled_lines(lines: list[str]) -> set[int]:
    """Indexes of lines that start with a known label: prose reading leaves them to the label finder
    ("Dependent: Anna Doe, born 2/3/2012" is not the worker's birth date)."""
    from parsers.labels import match_label

    out: set[int] = set()
    for i, line in enumerate(lines):
        if _LABEL_LINE.match(line) and match_label(line.strip()) is not None:
            out.add(i)
    return out


def _read(text: str, part: str, signature: list[str] | None = None) -> list[Candidate]:
    from parsers.fields import find_fields
    from parsers.unlabelled import unlabelled

    lines = text.split("\n")
    labelled = list(find_fields(lines_from_text(text), part=part, method="text"))
    skip = _labelled_lines(lines)
    prose_text = "\n".join("" if i in skip else ln for i, ln in enumerate(lines))
    have = {c.field for c in labelled}
    prose = [c for c in find_in_prose(prose_text, part=part, method="text") if c.field not in have]
    # a labelled full name beats prose name parts, and the reverse pieces never mix
    if have & {"worker.first_name", "worker.last_name"}:
        prose = [c for c in prose if not c.field.startswith("worker.") or not c.field.endswith("_name")]
    found = labelled + prose
    found = found + unlabelled(found, prose_text, text, part=part, method="text", after_dashes=signature)
    typed = by_type([ln for i, ln in enumerate(lines) if i not in skip], {c.field for c in found}, part)
    return date_order(employer_address(found + typed))


def _extraction(text: str, part: str, media_type: str, cands: list[Candidate]) -> Extraction:
    ext = Extraction(part=part, media_type=media_type, text=text)
    if cands:
        ext.records = [cands]
    if not any(c.field.startswith(_REQUEST_PREFIXES) for c in cands):
        what = "only values that belong to the employer or the reply" if cands else "no request values"
        ext.problems.append(PartProblem(code="no_request", part=part,
                                        message=f"{part}: {what}; no worker or assignment found."))
    return ext


def _forward_at(lines: list[str]) -> int | None:
    """The line where a forwarded message starts below a note of the forwarder's own, else None."""
    for i, line in enumerate(lines):
        if line.lstrip().startswith(">"):
            continue
        if _FORWARD.match(line):
            return i
        block = _header_block(lines, i)
        if block is not None:
            return i if block[1] else None  # a quoted reply starts here, not a forward
        if _is_wrote(lines, i):
            return None
    return None


# What a forwarder's note may say in sentences and so correct: not names or mail addresses (its
# greeting and signature are the forwarder's own), which the note can still give with a label.
_NOTE_PROSE_FIELDS = ("assignment.", "worker.ssn", "worker.date_of_birth", "worker.citizenship", "employer.ein")


def _with_note(ext: Extraction, note: str, part: str) -> Extraction:
    """Values in the forwarder's note add to or correct the forwarded request's ("One correction:
    the assignment now ends on 1 May 2029, not on the date given below")."""
    from parsers.fields import find_fields

    labelled = find_fields(lines_from_text(note), part=part, method="text")
    have = {c.field for c in labelled}
    said = [c for c in find_in_prose(note, part=part, method="text")
            if c.field not in have and c.uncertain is None and c.field.startswith(_NOTE_PROSE_FIELDS)]
    notes = [c.model_copy(update={"provenance": c.provenance.model_copy(update={"label": "forwarder's note"})})
             for c in labelled + said]
    if not notes:
        return ext
    fixed = {c.field for c in notes}
    ext.records = [[c for c in rec if c.field not in fixed] + notes for rec in ext.records] or [notes]
    ext.problems = [p for p in ext.problems if p.code != "no_request"] if ext.records else ext.problems
    return ext


def _shifted(cands: list[Candidate], by: int) -> list[Candidate]:
    """Candidates read from a text that is shown `by` characters further on: their spans moved."""
    out = []
    for c in cands:
        span = c.provenance.span
        if span is not None:
            c = c.model_copy(update={"provenance": c.provenance.model_copy(
                update={"span": (span[0] + by, span[1] + by)})})
        out.append(c)
    return out


def _read_body(text: str, part: str, media_type: str) -> Extraction:
    lines = clean_punctuation(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    at = _forward_at(lines)
    if at is not None and at > 0:
        note = strip_quoted("\n".join(lines[:at]))
        inner, signature = strip_quoted_keeping_signature("\n".join(lines[at:]))
        if note.strip() and inner.strip():
            ext = _one_or_several(inner, signature, part, media_type)
            ext.records = [_shifted(rec, len(note) + 2) for rec in ext.records]  # offsets in the text below
            ext = _with_note(ext, note, part)
            ext.text = note + "\n\n" + inner
            return ext
    clean, signature = strip_quoted_keeping_signature(text)
    return _one_or_several(clean, signature, part, media_type)


def _one_or_several(clean: str, signature: list[str], part: str, media_type: str) -> Extraction:
    def read(text: str, part: str) -> list[Candidate]:
        return _read(text, part, signature)

    return several(clean, part, media_type, read, _extraction) or _extraction(clean, part, media_type,
                                                                              read(clean, part))


def parse_text(text: str, part: str) -> Extraction:
    """A plain mail body, `.txt` file or letter's text -> one record (the request), or one per
    worker when it names several; a forwarded request is read with its forwarder's note."""
    return _read_body(text, part, "text/plain")


def parse_html(html: str, part: str) -> Extraction:
    """An HTML body (Outlook, Gmail, Apple Mail) -> the same as `parse_text` on its readable lines.

    A table of several workers gives one record per row (`multi`), each with the body's other
    values (employer, contact) added.
    """
    raw, tables = html_to_text(html)
    if not tables:
        return _read_body(raw, part, "text/html")
    clean, signature = strip_quoted_keeping_signature(raw)
    cands = _read(clean, part, signature)
    return Extraction(part=part, media_type="text/html", text=clean, multi=True,
                      records=with_shared(table_rows(tables, part), cands))
