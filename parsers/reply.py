"""The new text of an answer to one of our replies: the quote stripped, our own words left out.

An employer answers our *information needed* reply by replying to it, and every mail program
quotes our message below (or above) the answer in its own way: `>` lines, "On ... wrote:",
Outlook's "-----Original Message-----" or From:/Sent:/To:/Subject: block, Gmail's `gmail_quote`,
Apple Mail's `blockquote type="cite"`. quotequail (closeio) knows these shapes, in text and HTML;
what it leaves is the answer. Our reply is full of field words ("date of birth: missing", help
texts with examples), so as a second guard every line that is a line of our own reply is dropped
before anything is read: a quote no library recognises still never becomes the employer's data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import quotequail

from parsers.mime import html_to_text

# Any reference of the shape PREFIX-YEAR-NUMBER; the pipeline keeps only those of its own prefix.
ANY_REFERENCE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2,10}-\d{4}-\d{6,}(?!\d)")
_MIN_OURS = 8  # shorter lines of ours ("Hello,") are words anyone writes
MAX_TEXT = 200_000  # an answer longer than this is read from its start only


def _key(line: str) -> str:
    return " ".join(line.lstrip("> \t").casefold().split())


@dataclass(frozen=True)
class NewText:
    text: str
    stripped: bool  # a quote was found and removed


def new_text_plain(text: str) -> NewText:
    """The answer in a plain-text body: what is above and below the quote quotequail finds."""
    text = text[:MAX_TEXT].replace("\r\n", "\n")
    try:
        found = quotequail.unwrap(text)
    except Exception:  # a library failure reads the whole text (the guard below still applies)
        found = None
    if not found or not (found.get("text_top") or found.get("text_bottom")):
        return NewText(text, bool(found))
    pieces = [found.get("text_top") or "", found.get("text_bottom") or ""]
    return NewText("\n\n".join(p for p in pieces if p.strip()), True)


def new_text_html(source: str) -> NewText:
    """The answer in an HTML-only body, as text lines (`blockquote type=cite`, `gmail_quote`, ...)."""
    source = source[:MAX_TEXT]
    try:
        found = quotequail.unwrap_html(source)
    except Exception:
        found = None
    if found and (found.get("html_top") or found.get("html_bottom")):
        pieces = [html_to_text(found.get("html_top") or ""), html_to_text(found.get("html_bottom") or "")]
        return NewText("\n\n".join(p for p in pieces if p.strip()), True)
    # No quote found (or only a header block such as Outlook's divRplyFwdMsg, which quotequail
    # reads as a forward and keeps nothing above): the whole text, and the body parser's own
    # quote handling and the guard of our lines do the rest.
    return NewText(html_to_text(source), bool(found))


def without_our_lines(text: str, ours: list[str]) -> str:
    """`text` without any line that is a line of one of our replies (quoted or not)."""
    keys = {_key(line) for t in ours for line in t.splitlines() if len(_key(line)) >= _MIN_OURS}
    if not keys:
        return text
    return "\n".join(line for line in text.split("\n") if _key(line) not in keys)


def references_in(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(0).upper() for m in ANY_REFERENCE.finditer(text[:MAX_TEXT])))


def sections(text: str) -> list[tuple[str | None, str]]:
    """Split an answer by the references it names on lines of their own, for a batch answered
    per request: [(None, text before any reference), (REF, its section), ...]. One reference
    or none: the whole text is one section (None), answered as a whole."""
    lines = text.split("\n")
    marks = [(i, refs[0]) for i, line in enumerate(lines) if len(refs := references_in(line)) == 1]
    if len({ref for _, ref in marks}) < 2:
        return [(None, text)]
    out: list[tuple[str | None, str]] = []
    head = "\n".join(lines[: marks[0][0]])
    if head.strip():
        out.append((None, head))
    for n, (i, ref) in enumerate(marks):
        end = marks[n + 1][0] if n + 1 < len(marks) else len(lines)
        out.append((ref, "\n".join(lines[i:end])))
    return out
