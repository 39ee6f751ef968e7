"""Addresses, phones, contacts and the yes/no answers of a request written as sentences.

A letter says "Acme LLC, located at 12 Main St, Boise, ID 83702", "she will be working ... at
Hauptstrasse 5, 80331 Munich, Germany", "questions may be directed to Jane Roe at jane@acme.com",
"was hired here in the United States", "will remain on our U.S. payroll"; a self-employed person
writes "I am a freelance photographer based at ...", "you can reach me at (208) 555-0100". Whose
address or phone it is comes from the words of its own sentence: "I", "my", "me" make it the
worker's; "we", "our", a company's name the employer's; an address abroad is the place of work.

Pure functions of the text (`parsers.prose` wraps them as its readers); each value found is
normalised by `parsers.values`, and one that does not normalise is not offered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from parsers import values


@dataclass
class Said:
    """A value said in a sentence: its field, the value read, the words it came from, how sure, and
    where it starts in the text. Mutable: the prose reader lowers `conf` and sets `uncertain` when
    the text says two different things."""

    field: str
    value: str
    raw: str
    conf: float
    pos: int
    uncertain: str | None = None


_US_ADDRESS = re.compile(
    r"\b\d{1,6}\s+[A-Z0-9][^,\n;()]{2,50}(?:,\s*(?:Suite|Ste\.?|Apt\.?|Apartment|Unit|Floor|Fl\.?|Room|#)\s*[\w-]+)?"
    r",\s*[A-Z][A-Za-z .'-]{1,40},\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?\b")
# An address abroad: two to four comma-separated pieces, the last a country's name
# a piece ends at a comma or a sentence's end; a country may be written with its article ("the Netherlands")
_PIECE = r"(?:the\s+)?[A-Z0-9](?:[^,\n;().]|\.(?!\s)){1,50}"
_ABROAD_ADDRESS = re.compile(rf"{_PIECE}(?:,\s*{_PIECE}){{1,3}}")
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I am|my|me|myself)\b")
_WE = re.compile(r"\b(?:we|our|us)\b", re.I)
_HOME_CUE = re.compile(r"\b(?:live|lives|living|reside|resides|residing|home|based|my\s+address)\b", re.I)
_PHONE = re.compile(r"(?<![\w-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w-])")
_PHONE_CUE = re.compile(r"\b(?:reach|call|phone|telephone|tel|mobile|cell|ring|contact)\b", re.I)
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}\b")
_NAME = r"[A-Z][\w'’-]+(?:\s(?:[A-Z][\w'’.-]*|van|von|de|der|den|la|le|da|di|du|del|dos)){1,4}"
_DIRECTED = re.compile(
    rf"\b(?:directed|addressed|sent|put|referred)\s+to\s+(?P<name>{_NAME})\s*(?:,|\(|at|on|via|by)\s*"
    rf"(?:e-?mail\s*)?(?P<email>{_EMAIL.pattern})?"
    rf"|\b(?:contact|ask|reach|write\s+to|e-?mail)\s+(?P<name2>{_NAME})\s*(?:,|\(|at|on|via|by)\s*"
    rf"(?:e-?mail\s*)?(?P<email2>{_EMAIL.pattern})")
_HIRED = re.compile(r"(?:\b(?:was|were|been|is|got)\s+|,\s*|\band\s+)(?:originally\s+|first\s+)?"
                    r"(?:hired|recruited|engaged|employed)"
                    r"\s+(?:here\s+)?(?:in\s+the\s+(?:United\s+States|U\.?S\.?A?\.?)|in\s+the\s+US|by\s+us\s+here|"
                    r"(?P<no>abroad|outside\s+the\s+(?:United\s+States|U\.?S\.?)|locally\s+in))", re.I)
_REMAINS = re.compile(r"\b(?:will|shall|is\s+going\s+to|continues?\s+to|to)\s+(?P<no>not\s+|no\s+longer\s+)?"
                      r"(?:remain|stay|be\s+kept|continue|be)"
                      r"\s+(?:on\s+(?:our|the)\s+(?:U\.?S\.?\s+)?payroll|(?:employed\s+by\s+us|our\s+employee|"
                      r"an\s+employee\s+of\s+(?:ours|the\s+company)))", re.I)
_TRADE = re.compile(
    r"\bI\s+(?:am|work\s+as|'m)\s+(?:an?\s+)?(?P<trade>(?:freelance|self-employed|independent)\s+[a-z][a-z -]{2,40}?)"
    r"(?=\s*(?:\(|,|\.|;|\s+(?:based|living|and|who|with|in|at|from)\b))"
    r"|\b(?:I\s+run|I\s+own|my\s+(?:own\s+)?(?:business|company|firm|practice)(?:\s+is)?)\s+"
    r"(?P<business>(?:an?\s+)?[A-Za-z][\w&' -]{2,50}?)(?=\s*(?:\(|,|\.|;|\s+(?:based|in|at|from)\b))")


def _sentence(text: str, pos: int, start_of: Callable[[int], int]) -> str:
    return text[start_of(pos):pos]


def _address_abroad(text: str, start: int) -> tuple[str, int] | None:
    """The address that starts at `start` and ends with a country's name (not the United States)."""
    m = _ABROAD_ADDRESS.match(text, start)
    if m is None:
        return None
    pieces = m.group().split(",")
    for k in range(len(pieces), 1, -1):
        last = pieces[k - 1].strip().rstrip(".")
        country = values.parse_country(last)
        if country is not None and country != "US":
            written = ",".join(pieces[:k]).strip().rstrip(".")
            return written, start + len(",".join(pieces[:k]))
    return None


def addresses(text: str, start_of: Callable[[int], int]) -> list[Said]:
    """U.S. addresses (the employer's, or the worker's with "I live"/"based at" in its sentence) and
    the place of work abroad (an address ending with another country, after "at")."""
    out: list[Said] = []
    text = _unwrap(text)
    for m in _US_ADDRESS.finditer(text):
        before = _sentence(text, m.start(), start_of)
        near = before[-60:]
        if not re.search(r"\b(?:at|in|is|of|address)\s*:?\s*$", near, re.I):
            continue
        mine = bool(_FIRST_PERSON.search(before)) and not _WE.search(before)
        if mine or (_HOME_CUE.search(near) and not _WE.search(near) and not re.search(r"\blocated\b", near)):
            base = "worker.address"
        else:
            base = "employer.address"
        pairs, why = values.normalize(base, m.group())
        if why is None:
            out.extend(Said(f, v, m.group(), 0.8, m.start()) for f, v in pairs)
    for m in re.finditer(r"\bat\s+(?=[A-Z0-9])", text):
        found = _address_abroad(text, m.end())
        if found is None or not re.search(r"\d", found[0]):
            continue
        pairs, why = values.normalize("assignment.work_address", found[0])
        if why is None and any(f.endswith(".street") for f, _ in pairs):
            out.extend(Said(f, v, found[0], 0.8, m.end()) for f, v in pairs)
    return out


def phones(text: str, start_of: Callable[[int], int]) -> list[Said]:
    """A self-employed writer's own phone: a number with a cue ("reach me at", "call me") in a
    sentence in the first person."""
    out: list[Said] = []
    for m in _PHONE.finditer(text):
        before = _sentence(text, m.start(), start_of)[-80:]
        if not _PHONE_CUE.search(before):
            continue
        if not _FIRST_PERSON.search(before):
            continue  # an employer's phone is its signature's (`parsers.signature`)
        pairs, why = values.normalize("worker.phone", m.group())
        if why is None:
            out.extend(Said(f, v, m.group(), 0.8, m.start()) for f, v in pairs)
    return out


def contacts(text: str, start_of: Callable[[int], int]) -> list[Said]:
    """"Questions may be directed to Jane Roe at jane@acme.com": the employer's contact; "reach me at
    ... or at this address (me@mail.com)": the worker's own e-mail."""
    out: list[Said] = []
    for m in _DIRECTED.finditer(text):
        name = m.group("name") or m.group("name2")
        email = m.group("email") or m.group("email2")
        name = re.sub(r"\s+(?:at|on|via|by)$", "", name.strip())
        if len(name.split()) >= 2:
            out.append(Said("employer.contact_name", name, name, 0.8, m.start()))
        if email and (value := values.parse_email(email)):
            out.append(Said("employer.contact_email", value, email, 0.8, m.start()))
    for m in _EMAIL.finditer(text):
        before = _sentence(text, m.start(), start_of)[-100:]
        mine = re.search(r"\b(?:reach|contact|write\s+to|e-?mail)\s+me\b|\bmy\s+(?:e-?mail|address)\b", before, re.I)
        if mine and (value := values.parse_email(m.group())):
            out.append(Said("worker.email", value, m.group(), 0.8, m.start()))
    return out


def _unwrap(text: str) -> str:
    """A letter's lines joined where a sentence wraps ("at Rue\nGroltchynd 86"); same length, so
    positions stay those of the text."""
    return re.sub(r"(?<!\n)\n(?!\n)", " ", text)


def answers(text: str) -> list[Said]:
    """Hired in the United States, and remains an employee, said in words."""
    out: list[Said] = []
    text = _unwrap(text)
    m = _HIRED.search(text)
    if m is not None:
        out.append(Said("assignment.hired_in_us", "false" if m.group("no") else "true", m.group(), 0.8, m.start()))
    m = _REMAINS.search(text)
    if m is not None:
        out.append(Said("assignment.remains_employee", "false" if m.group("no") else "true", m.group(), 0.8,
                        m.start()))
    return out


def business(text: str) -> list[Said]:
    """What a self-employed person does, from "I am a freelance photographer" or "I run ...": offered
    for staff to check, since the certificate names the business, which the sentence only implies."""
    m = _TRADE.search(text)
    if m is None:
        return []
    written = (m.group("trade") or m.group("business") or "").strip()
    written = re.sub(r"^(?:an?\s+)", "", written)
    if not written:
        return []
    return [Said("worker.business", written, m.group(), 0.6, m.start(),
                 "read from prose; the business is implied by the sentence, please check it")]

