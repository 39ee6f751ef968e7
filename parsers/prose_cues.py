"""More of what a letter says in sentences: who to contact, where the work is, and the yes/no facts.

`parsers.prose` reads numbers, dates, countries, companies and the worker's name beside their cue
words. A letter written as sentences also says "Questions may go to Jane Roe at jane@acme.com"
(the employer's contact), "... at Leopoldstrasse 12, 80802 Munich, Germany" (an address, whose own
type says whose it is: abroad, the place of work; in the U.S., the employer's), "she was hired here
in the United States" and "he will stay on our payroll" (the two yes/no facts, with their negations).
Each reader wants its cue in the value's own sentence, and a value whose cue is weak is flagged.
"""

from __future__ import annotations

import re

from parsers import values
from parsers.prose_text import _EMAIL_RE, _NAME, _NOT_NAME, NO_LABEL, _Ctx, _Found

_CONTACT_CUE = re.compile(
    r"\b(?:contact\w*|question\w*|quer(?:y|ies)|enquir\w+|inquir\w+|reach\w*|direct\w*|address\w*|"
    r"write|call|speak|get\s+in\s+touch|more\s+information|details)\b", re.I)
_ONE_LINE_NAME = _NAME.replace("\\n(?!\\n)", "(?!x)x")  # a name on one line: not "Jo Roe\nReply"
_NAME_THEN_MAIL = re.compile(
    rf"(?P<name>{_ONE_LINE_NAME})\s*(?:,\s*)?(?:\(|<|at\b|via\b|on\b|by\s+e-?mail\s+at\b|e-?mail:?|:)\s*"
    rf"(?P<mail>[A-Za-z0-9._%+-]{{1,64}}@[A-Za-z0-9.-]{{1,253}}\.[A-Za-z]{{2,24}})\b")
_US = r"(?:the\s+)?(?:United\s+States(?:\s+of\s+America)?|U\.\s?S\.(?:\s?A\.)?|USA|US|America)\b"
_HIRED_US = re.compile(rf"\b(?:hired|recruited|engaged|taken\s+on)\b[^.;]{{0,30}}?\b(?:in|by\s+our\s+\w+\s+in)\s+"
                       rf"(?:here\s+in\s+)?{_US}|\b(?:hired|recruited|engaged)\s+here\b", re.I)
_HIRED_ABROAD = re.compile(r"\b(?:hired|recruited|engaged|taken\s+on)\b[^.;]{0,20}?\b(?:abroad|overseas|locally|"
                           r"outside\s+(?:of\s+)?the\s+(?:United\s+States|U\.\s?S\.))", re.I)
_NOT_HIRED_US = re.compile(rf"\b(?:not|never)\s+(?:\w+\s+)?(?:hired|recruited)\b[^.;]{{0,30}}?{_US}", re.I)
_REMAIN = re.compile(
    r"\b(?P<neg>(?:will|shall|is\s+to|would|does|do)\s+(?:not|no\s+longer)\s+|won't\s+|will\s+)?"
    r"(?:remain|stay|continue|be\s+kept|keep\s+(?:being|working))\w*\b(?:[^.;]|\.(?=\S|\s[a-z])){0,50}?"
    r"\b(?:payroll|employ(?:ee|ed|ment)|staff|our\s+books)\b", re.I)
_LEAVE = re.compile(r"\b(?:will|shall)\s+(?:leave|come\s+off|be\s+removed\s+from)\s+(?:our\s+)?"
                    r"(?:U\.\s?S\.\s+)?(?:payroll|employ\w*|staff)", re.I)
_AT_ADDRESS = re.compile(r"\b(?:located\s+at|based\s+at|situated\s+at|at|address(?:\s+is)?:?)\s+"
                         r"(?P<addr>\d(?:[^;\n]|\n(?!\n)){4,140}|[A-Z](?:[^;\n]|\n(?!\n)){2,60}?\s\d{1,5}[A-Za-z]?,"
                         r"(?:[^;\n]|\n(?!\n)){4,120})")
_HOME = re.compile(r"\b(?:lives?|living|resid\w+|home)\b", re.I)


def _contacts(ctx: _Ctx) -> list[_Found]:
    """ "Questions may be directed to Jane Roe at jane@acme.com": the employer's contact."""
    out: list[_Found] = []
    for m in _NAME_THEN_MAIL.finditer(ctx.text):
        tokens = m.group("name").split()
        cut = next((i for i, t in enumerate(tokens) if t.rstrip(".") in _NOT_NAME), len(tokens))
        if cut < 2 or cut < len(tokens):
            continue
        window = ctx.before(m.start(), 80)
        if not _CONTACT_CUE.search(window) or re.search(r"\bconfirm", window, re.I):
            continue
        name = " ".join(tokens)
        mail = values.parse_email(m.group("mail").rstrip(".")) or m.group("mail")
        out.append(_Found("employer.contact_name", name, name, 0.8, m.start("name")))
        out.append(_Found("employer.contact_email", mail, m.group("mail"), 0.8, m.start("mail")))
    if not out:  # "questions to hr@acme.com": the address alone
        for m in _EMAIL_RE.finditer(ctx.text):
            window = ctx.before(m.start(), 60)
            if _CONTACT_CUE.search(window) and not re.search(r"\bconfirm|\bmy\s+e-?mail", window, re.I):
                raw = m.group(0).rstrip(".")
                out.append(_Found("employer.contact_email", values.parse_email(raw) or raw, raw, 0.7, m.start(),
                                  f"{NO_LABEL}; an address to write to, maybe not the contact's"))
    return out


def _hired(ctx: _Ctx) -> list[_Found]:
    """ "She was hired here in the United States" / "hired abroad"."""
    out: list[_Found] = []
    for rx, value in ((_NOT_HIRED_US, "false"), (_HIRED_ABROAD, "false"), (_HIRED_US, "true")):
        for m in rx.finditer(ctx.text):
            if value == "true" and re.search(r"\b(?:not|never)\s+(?:\w+\s+)?$", ctx.before(m.start(), 20), re.I):
                continue
            if re.match(r"\s*\?", ctx.text[m.end():m.end() + 3]):
                continue  # "Hired in the USA?": a question asks, it states nothing
            out.append(_Found("assignment.hired_in_us", value, m.group(0), 0.8, m.start()))
        if out:
            return out
    return out


def _remains(ctx: _Ctx) -> list[_Found]:
    """ "He will remain on our U.S. payroll" / "will not remain our employee during the assignment"."""
    out: list[_Found] = []
    for m in _REMAIN.finditer(ctx.text):
        if re.match(r"[^.\n]{0,30}\?", ctx.text[m.end():]):
            continue  # a question, not a statement
        neg = m.group("neg") or ""
        value = "false" if re.search(r"not|no\s+longer|won't", neg, re.I) else "true"
        out.append(_Found("assignment.remains_employee", value, m.group(0), 0.8, m.start()))
    for m in _LEAVE.finditer(ctx.text):
        out.append(_Found("assignment.remains_employee", "false", m.group(0), 0.8, m.start()))
    return out


def _address_in(run: str) -> tuple[str, dict[str, str]] | None:
    """The shortest start of `run`, cut at a comma or a sentence's end, that reads as a whole
    address (a street with a number, a postal code, a city, and its country, written or a U.S.
    state's)."""
    cuts = [m.start() for m in re.finditer(r",|\.(?=\s|$)", run)] + [len(run)]
    for comma in [m.start() for m in re.finditer(",", run)]:
        # "..., Bergen, Norway for two years": a part may end before the sentence goes on
        cuts += [comma + 2 + m.start() for m in re.finditer(r"\s", run[comma + 2:comma + 40])]
    for end in sorted(set(cuts)):
        text = run[:end].strip(" ,.")
        if len(text) < 8:
            continue
        parts = values.parse_address(text)
        if re.search(r"\d", parts.get("street", "")) and parts.get("postal_code") and parts.get("city") and \
                parts.get("country") and re.search(r"[^\W\d_]", parts["city"]) and len(parts.get("state", "")) <= 30:
            return text, parts
    return None


def _addresses(ctx: _Ctx) -> list[_Found]:
    """ "... located at 12 Main St, Boise, ID 83702" and "... at Leopoldstrasse 12, 80802 Munich,
    Germany": the value's type says whose address it is (abroad: the place of work)."""
    out: list[_Found] = []
    for m in _AT_ADDRESS.finditer(ctx.text):
        found = _address_in(m.group("addr").replace("\n", " "))
        if found is None:
            continue
        text, parts = found
        abroad = parts.get("country") not in (None, "US")
        if abroad:
            base = "assignment.work_address"
        else:
            base = "worker.address" if _HOME.search(ctx.before(m.start(), 60)) else "employer.address"
        pos = m.start("addr")
        for key in ("street", "city", "state", "postal_code", "country"):
            if parts.get(key):
                out.append(_Found(f"{base}.{key}", parts[key], text, 0.75, pos))
    return out


READERS = [_contacts, _hired, _remains, _addresses]
