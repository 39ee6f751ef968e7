"""An HTML mail body as the lines a plain one would have: a two-cell row is `label: value`.

Split from `parsers.body`, which reads both kinds alike: block tags end lines, quoted replies
become marker lines so they can be dropped (a forwarded message a client also quotes is kept), and a
table of several workers is handed on as a `WorkerTable`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from parsers.body_quotes import (
    _FORWARD,
    _QEND,
    _QSTART,
    QUOTE_MARK,
    _header_block,
)
from parsers.labels import header_field, match_section
from parsers.workers import WorkerTable

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

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: C901  (one case per HTML tag that shapes the text)
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
        last = next((ln for ln in reversed(self.lines) if ln.strip() and not ln.startswith("[[coc-intake")), "")
        return match_section(last) == "dependents"


def _header(text: str) -> str | None:
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
