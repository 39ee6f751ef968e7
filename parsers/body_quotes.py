"""The new text of a mail body: quoted replies dropped, a forwarded message kept, the signature set apart.

Split from `parsers.body`. A reply quotes the message it answers, and the quoted part may hold another
worker's SSN, so only what the sender wrote now is read; a forwarded request is the content.
"""

from __future__ import annotations

import re

from parsers.prose_text import clean_punctuation

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


def strip_quoted_keeping_signature(text: str) -> tuple[str, list[str]]:  # noqa: C901, PLR0912, PLR0915  (the quoting styles of the mail programs, tried in the order they nest)
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
