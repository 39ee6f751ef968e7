"""Numbers and dates said in sentences: an SSN or EIN beside its cue words, dates beside theirs.

Split from `parsers.prose`: "Social Security number 123-45-6789", "EIN 12-3456789", "born 4/24/1985",
"from March 3, 2027 through February 28, 2029". A number or date without a cue, or with two, is
emitted uncertain or left out.
"""

from __future__ import annotations

import re

from parsers import values
from parsers.pii import mask_ssn
from parsers.prose_text import (
    NO_LABEL,
    _Ctx,
    _Found,
)
from parsers.ssn_grammar import find_ssns, plain_hyphens

# ---------------------------------------------------------------------------------------------
# Numbers: SSN and EIN
# ---------------------------------------------------------------------------------------------

_SSN_CUE = re.compile(
    r"social\s+security|\bssn\b|\bss\s*#|\bss\s*no\b|\bsoc\.?\s*sec\b|\bs\.s\.n\b|\bssa\s+number", re.I
)
_EIN_CUE = re.compile(
    r"\bein\b|\be\.i\.n\b|\bfein\b|employer\s+identification|\btax\s*(?:payer\s*)?(?:id|identification)\b"
    r"|\btin\b|federal\s+(?:tax\s+)?id",
    re.I,
)
# Words that make a 9- or 10-digit number something other than an SSN.
_OTHER_NUMBER_CUE = re.compile(
    r"\b(?:phone|tel|telephone|fax|call|mobile|cell|account|acct|order|invoice|ref|reference|zip"
    r"|routing|case|ticket|policy|claim|passport|extension|ext)\b",
    re.I,
)
# A number near these is a family member's, not the worker's.
_FAMILY = re.compile(r"\b(?:spouse|wife|husband|son|daughter|child|children|dependent|dependant)'?s?\b", re.I)

_EIN_RE = re.compile(r"(?<![\d-])(\d{2})(-?)(\d{7})(?![\d-])")


def _nearest(cues: dict[str, re.Pattern[str]], window: str) -> str | None:
    """The cue that ends closest to the end of `window` (the one right before the value)."""
    best: tuple[int, str] | None = None
    for name, rx in cues.items():
        for m in rx.finditer(window):
            if best is None or m.end() > best[0]:
                best = (m.end(), name)
    return best[1] if best else None


def _numbers(ctx: _Ctx) -> list[_Found]:  # noqa: C901, PLR0912  (one case per kind of number a sentence holds)
    out: list[_Found] = []
    cues = {"ssn": _SSN_CUE, "ein": _EIN_CUE, "other": _OTHER_NUMBER_CUE}
    for m in find_ssns(ctx.text):
        if ctx.text[max(m.start() - 1, 0):m.start()] == "-" or ctx.text[m.end():m.end() + 1] == "-":
            continue  # part of a longer hyphenated number (1-800-..., an account number)
        raw = m.group(0)
        window = ctx.before(m.start(), 60)
        cue = _nearest(cues, window)
        if cue in ("ein", "other"):
            continue
        value = values.parse_ssn(raw)
        if _FAMILY.search(window):
            if value is not None and cue is not None:
                out.append(_Found("worker.ssn", value, raw, 0.4, m.start(),
                                  f"{NO_LABEL}; may be a family member's number"))
            continue
        if cue == "ssn":
            if value is None:
                out.append(_Found("worker.ssn", raw, raw, 0.5, m.start(),
                                  f"not a valid Social Security number ({mask_ssn(raw)})"))
            else:
                out.append(_Found("worker.ssn", value, raw, 0.9, m.start()))
        elif plain_hyphens(m) and value is not None:
            # NNN-NN-NNNN is the SSN's own shape (phones are NNN-NNN-NNNN), but with no cue a
            # person should confirm it.
            out.append(_Found("worker.ssn", value, raw, 0.6, m.start(),
                              f"{NO_LABEL}; SSN-shaped number with no 'social security' nearby"))
        # bare or spaced digits with no cue could be anything: left out
    for m in _EIN_RE.finditer(ctx.text):
        raw = m.group(0)
        cue = _nearest(cues, ctx.before(m.start(), 60))
        value = values.parse_ein(raw)
        if cue == "ein":
            if value is None:
                out.append(_Found("employer.ein", raw, raw, 0.5, m.start(),
                                  "not a valid Employer Identification Number"))
            else:
                out.append(_Found("employer.ein", value, raw, 0.9, m.start()))
        elif cue is None and m.group(2) == "-" and value is not None:
            out.append(_Found("employer.ein", value, raw, 0.5, m.start(),
                              f"{NO_LABEL}; EIN-shaped number with no 'EIN' nearby"))
    return out


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------

_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
          r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DATE_RE = re.compile(
    rf"\b(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+\d{{4}}|\d{{1,2}}-{_MONTH}-(?:\d{{4}}|\d{{2}}(?!\d))"
    r"|\d{1,2}/\d{1,2}/\d{4}|\d{1,2}/\d{1,2}/\d{2}(?![\d/])|\d{4}-\d{2}-\d{2}"
    r"|\d{1,2}\.\d{1,2}\.\d{4})(?![\d])",
    re.I,
)
_DATE_CUES: dict[str, re.Pattern[str]] = {
    "dob": re.compile(r"\b(?:born|birth|d\.?o\.?b\.?|birthday)\b", re.I),
    "start": re.compile(
        r"\b(?:from|beginning|begins|begin|starting|starts|start|commencing|commences|effective"
        r"|as\s+of|between|leaving|departing|departs|arriving)\b",
        re.I,
    ),
    "end": re.compile(
        r"\b(?:through|thru|until|till|ending|ends|end|returning|returns|concluding)\b",
        re.I,
    ),
    "hire": re.compile(r"\b(?:hired|hire|joined|employed\s+(?:by\s+us\s+)?since|with\s+us\s+since)\b",
                       re.I),
}
_PERIOD_CONTEXT = re.compile(
    r"\b(?:period|assign\w*|work\w*|transfer\w*|post(?:ed|ing)|second\w*|stay\w*|abroad|employ\w*|"
    r"coverage|certificate|detach\w*|relocat\w*|project|through|thru|until|ending|ends|dates?)\b",
    re.I,
)
_FIELD_FOR = {"dob": "worker.date_of_birth", "start": "assignment.start_date",
              "end": "assignment.end_date", "hire": "assignment.hire_date"}


def _dates(ctx: _Ctx) -> list[_Found]:
    """Each date takes the meaning of the nearest cue word before it in its sentence.

    Two dates joined by a dash, "to", "and", "through" or "until" form a period ("from X to Y",
    "between X and Y", "3/3/2027 - 2/28/2029"); "to" and "and" mean nothing elsewhere ("send the
    confirmation to ..."). Dates left with no cue are offered as a period only when exactly two
    remain, and then marked uncertain.
    """
    out: list[_Found] = []
    loose: list[tuple[re.Match[str], str]] = []
    prev: re.Match[str] | None = None
    prev_kind: str | None = None
    prev_value: str | None = None
    for m in _DATE_RE.finditer(ctx.text):
        raw = m.group(0)
        parsed = values.parse_date(raw)
        value = parsed.isoformat() if parsed else None
        sent = ctx.sentence_start(m.start())
        gap = ctx.text[prev.end() : m.start()] if prev is not None and prev.end() >= sent else None
        joined = gap is not None and re.fullmatch(r"\s*(?:-|to|and|through|thru|until|till)\s*", gap, re.I)
        if joined and prev is not None and prev_kind in (None, "start"):
            kind: str | None = "end"
            if prev_kind is None and prev_value is not None:
                # an uncued date joined to this one is the period's start
                loose = [x for x in loose if x[0] is not prev]
                sentence = ctx.text[max(sent, m.start() - 300) : m.end()]
                sure = re.search(r"\b(?:period|assignment|dates?|transfer\w*|work\w*|posted|stay|"
                                 r"secondment|employment|abroad)\b", sentence, re.I)
                why = None if sure else f"{NO_LABEL}; a date range with no word saying what it is"
                conf = 0.8 if sure else 0.5
                out.append(_Found("assignment.start_date", prev_value, prev.group(0), conf, prev.start(), why))
                if value is not None:
                    out.append(_Found("assignment.end_date", value, raw, conf, m.start(), why))
                prev, prev_kind, prev_value = m, "end", value
                continue
        else:
            lo = max(sent, prev.end() if prev is not None else 0, m.start() - 60)
            window = ctx.text[lo : m.start()]
            kind = _nearest(_DATE_CUES, window)
        prev, prev_kind, prev_value = m, kind, value
        if value is None:
            continue
        if kind in ("start", "end") and not _PERIOD_CONTEXT.search(ctx.text[max(sent, m.start() - 300) :
                                                                            m.end() + 200]):
            # "your letter from 3/3/2026": a start or end with nothing about work or a period
            out.append(_Found(_FIELD_FOR[kind], value, raw, 0.5, m.start(),
                              f"{NO_LABEL}; nothing says this date belongs to the assignment"))
        elif kind in _FIELD_FOR:
            out.append(_Found(_FIELD_FOR[kind], value, raw, 0.85, m.start()))
        else:
            loose.append((m, value))
    have = {f.field for f in out}
    # A date alone on its line (the letter's own date) is not a candidate for anything.
    loose = [(m, v) for m, v in loose if not _own_line(ctx.text, m)]
    if "assignment.start_date" not in have and "assignment.end_date" not in have and len(loose) == 2:
        (m1, v1), (m2, v2) = sorted(loose, key=lambda x: x[1])
        why = f"{NO_LABEL}; two dates with no from/through words"
        out.append(_Found("assignment.start_date", v1, m1.group(0), 0.4, m1.start(), why))
        out.append(_Found("assignment.end_date", v2, m2.group(0), 0.4, m2.start(), why))
    return out


def _own_line(text: str, m: re.Match[str]) -> bool:
    before = text[max(0, m.start() - 40) : m.start()].rstrip(" ")
    after = text[m.end() : m.end() + 40].lstrip(" ")
    if m.start() >= 40 and "\n" not in before:
        return False
    return (before == "" or before.endswith("\n")) and (after == "" or after.startswith("\n"))
