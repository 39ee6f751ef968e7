"""Signature blocks and letterheads: who wrote, for which company, and how to reach them.

An employer rarely writes "Contact person: Pat Lee" when the mail already ends "Regards, / Pat Lee /
Acme Widget Inc / (312) 555-0142 / pat@acme.example", and a letter on company paper does not repeat
the company's name and address in its body. Asking for those again is what makes an employer feel
unread (issue 14, item 6), so they are read here, by the shape every writer uses rather than by a
list of phrases:

- a *signature block* is the last block of a text, opened by a short valediction line ("Regards,",
  "Best,", "Sincerely,", "Warm wishes," ... any one to four words ending in a comma or "!", or a
  word or two on a line of its own right above a name) or by a "--" separator line, and made of a
  name, perhaps a job title, a company, an address, a phone number and an email address;
- a *letterhead* is the top of a letter, before its date, its salutation or its first paragraph:
  the company's name with its address, phone or email.

Pure: text in, candidates with provenance out. Every value carries `label` "signature block" or
"letterhead" and `SOURCE_CONFIDENCE`, less than a labelled value (typed text reads at 1.0, prose at
most 0.9), so a labelled or prose value always wins, and `intake.merge` never calls the two a
conflict (`WEAK_SOURCES`): a signature says who wrote, not who the request names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from parsers import values
from parsers.types import Candidate, Method, Provenance

SIGNATURE = "signature block"
LETTERHEAD = "letterhead"
SENDER = "sender address"  # the mail's From address, when the signature names its owner
WEAK_SOURCES = frozenset({SIGNATURE, LETTERHEAD, SENDER})
# Below a labelled value and prose's cap (0.9), above the review bar (0.80): read, not asked again.
SOURCE_CONFIDENCE = 0.82
MAX_BLOCK_LINES = 10  # a signature longer than this is a paragraph, not a signature

_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}\b")
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().\-/]{6,18}\d(?:\s*(?:x|ext\.?)\s*\d{1,6})?(?!\w)")
_FAX_LINE = re.compile(r"^\W*(?:f|fax|facsimile)\b\W", re.I)
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.I)
_CITY_STATE_ZIP = re.compile(r"\b[A-Z][A-Za-z.' -]{1,40},?\s+[A-Z]{2}\.?\s+\d{5}(?:-\d{4})?\b")
_STREET = re.compile(r"^\s*(?:\d{1,6}[A-Za-z]?\s+\S|P\.?\s?O\.?\s+Box\b|Suite\b|One\s+[A-Z])", re.I)
_CO_SUFFIX = re.compile(
    r"(?:,?\s+(?:Inc\.?|Incorporated|LLC|L\.L\.C\.|LLP|L\.P\.|LP|Ltd\.?|Limited|Corp\.?|Corporation|"
    r"Company|Co\.|PLLC|P\.C\.|PC|Group|Holdings|Partners|Associates))+$")
_UP, _LOW = "A-Z\u00c0-\u00de", "a-z\u00df-\u00ff"
_TOKEN = (rf"(?:[{_UP}][{_LOW}]+(?:['-][{_UP}]?[{_LOW}]+)*|[{_UP}]\.?|[{_UP}][{_LOW}]?'[{_UP}][{_LOW}]+"
          rf"|Mc[{_UP}][{_LOW}]+)")
_PARTICLE = r"(?:de|la|le|del|della|van|von|der|den|di|da|du|dos|ten|bin|al)"
NAME = rf"(?:(?:Mr|Ms|Mrs|Mx|Dr)\.?\s+)?{_TOKEN}(?:\s+(?:{_PARTICLE}\s+){{0,2}}{_TOKEN}){{1,3}}"
_NAME_LINE = re.compile(rf"^{NAME}$")
# The opening of a letter or mail ends in a comma too ("Dear Ms Roe,", "Hello,"): never a valediction.
_OPENING = re.compile(r"^(?:dear|hello|hi|hey|good\s+\w+|greetings|to\s+whom|attn|attention|re|subject)\b", re.I)
_DATE_LINE = re.compile(r"^(?:[A-Z][a-z]+\.?\s+\d{1,2},?\s+\d{4}|\d{1,2}\s+[A-Z][a-z]+\.?\s+\d{4}|"
                        r"\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{2}-\d{2})$")
# Words of a letter's title or a form's heading, never of a company's name.
_NOT_COMPANY = re.compile(r"\b(?:request|certificate|coverage|form|application|re|subject|page)\b", re.I)
# The recipient of a letter to us is not the writer's company.
_OURS = re.compile(r"social\s+security\s+administration|office\s+of\s+international\s+programs", re.I)


@dataclass
class Block:
    """What a signature block or letterhead holds; fields absent when not there."""

    kind: str
    name: str | None = None
    company: str | None = None
    phone: str | None = None
    email: str | None = None
    address: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


def _words(line: str) -> list[str]:
    return line.strip().split()


def _is_valediction(line: str) -> bool:
    """One to four words of letters ending in "," or "!" (or nothing), not an opening."""
    s = line.strip()
    if not s or _OPENING.match(s) or len(s) > 40:
        return False
    body = s.rstrip(",!").rstrip()
    words = body.split()
    if not 1 <= len(words) <= 4 or not words[0][:1].isupper():
        return False
    return all(re.fullmatch(r"[A-Za-z][A-Za-z']*\.?", w) for w in words)


def _is_name(line: str) -> bool:
    s = re.split(r"\s*[|,]\s*|\s+-\s+", line.strip())[0]
    return bool(_NAME_LINE.match(s)) and not _CO_SUFFIX.search(s) and not _OPENING.match(s)


def _name_of(line: str) -> str:
    return re.split(r"\s*[|,]\s*|\s+-\s+", line.strip())[0]


def _contact_bits(lines: list[str], block: Block) -> list[str]:  # noqa: C901  (each kind of contact line a signature holds)
    """Phone, email and address out of `lines` into `block`; the lines left over."""
    rest: list[str] = []
    for line in lines:
        s = line.strip()
        used = bool(_FAX_LINE.match(s))  # a fax number is not how the contact person is reached
        if (m := _EMAIL.search(s)) and block.email is None:
            block.email = values.parse_email(m.group(0)) or m.group(0)
            used = True
        if not used and block.phone is None:
            for m in _PHONE.finditer(_EMAIL.sub(" ", _URL.sub(" ", s))):
                phone = values.parse_phone(m.group(0))
                if phone and not re.fullmatch(r"\d{5}(?:-\d{4})?", phone.strip()):
                    block.phone, used = phone, True
                    break
        if not block.address and (m := _CITY_STATE_ZIP.search(s)):
            pieces = [p for p in re.split(r"\s*[|\u2022\u00b7]\s*", s) if p]
            here = next((p for p in pieces if _CITY_STATE_ZIP.search(p)), s)
            street = [p for p in pieces if p is not here and _STREET.match(p)]
            if not street and rest and _STREET.match(rest[-1]):
                street = [rest.pop()]
            text = ", ".join([*street, here])
            addr = values.parse_address(text, "US")
            if addr.get("city") and addr.get("state"):
                block.address = {k: v for k, v in addr.items() if v}
                used = True
        if _URL.fullmatch(s):
            used = True
        if not used:
            rest.append(line)
    return rest


def _fill(block: Block, lines: list[str], *, name_first: bool) -> Block:
    rest = _contact_bits(lines, block)
    if name_first and rest and _is_name(rest[0]):
        block.name = _name_of(rest[0])
        rest = rest[1:]
    company = next((ln.strip() for ln in rest if _CO_SUFFIX.search(ln.strip()) and not _OURS.search(ln)
                    and ":" not in ln and not _NOT_COMPANY.search(ln)), None)
    if company is None and not name_first and rest and (block.address or block.phone) and \
            not _OURS.search(rest[0]) and not _NOT_COMPANY.search(rest[0]) and ":" not in rest[0]:
        company = rest[0].strip()  # a letterhead's first line, over an address: the company
    if company and 2 <= len(company) <= 80 and re.search(r"[A-Za-z]{2}", company):
        block.company = company
    block.lines = lines
    return block


def signature_block(text: str) -> Block | None:
    """The signature at the end of `text` (a mail body or a letter page), if there is one.

    The last valediction line whose next non-empty line is a name, with at most `MAX_BLOCK_LINES`
    lines after it, opens the block; a "--" line opens it as well (a mail program's separator).
    """
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    first_text = next((i for i, ln in enumerate(lines) if ln.strip()), 0)
    for i in range(len(lines) - 1, first_text, -1):
        s = lines[i].strip()
        tail = [ln for ln in lines[i + 1:] if ln.strip()]
        if not tail or len(tail) > MAX_BLOCK_LINES:
            continue
        dashes = s in ("--", "-- ", "\u2014", "__")
        if not dashes and not _is_valediction(s):
            continue
        if not dashes and not s.endswith((",", "!")) and (len(_words(s)) > 2 or (i > 0 and lines[i - 1].strip())):
            continue  # a bare word is a valediction only alone in its paragraph ("Best" above the name)
        if not _is_name(tail[0]):
            continue
        return _fill(Block(SIGNATURE), tail, name_first=True)
    return None


def signature_after_dashes(lines: list[str]) -> Block | None:
    """A signature whose lines a mail program put after its "-- " separator (the body parser cuts
    them off before reading the request, so they come here on their own)."""
    tail = [ln for ln in lines if ln.strip()][:MAX_BLOCK_LINES]
    if not tail or not _is_name(tail[0]):
        return None
    return _fill(Block(SIGNATURE), tail, name_first=True)


def letterhead(text: str) -> Block | None:
    """The letterhead at the top of a letter's first page: the lines before its date line,
    salutation, subject line or first long line, at most six. It must hold an address, a phone
    number or a company suffix, else the first line is just a first line."""
    top: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        s = line.strip()
        if not s:
            if top:
                top.append("")
            continue
        if _DATE_LINE.match(s) or _OPENING.match(s) or _OURS.search(s) or len(s) > 70 or \
                (":" in s and not _PHONE.search(s) and not _EMAIL.search(s)):
            break  # the date, the salutation, the recipient, a paragraph or a label: the letter began
        top.append(s)
        if len([t for t in top if t]) >= 6:
            break
    block_lines = [t for t in top if t]
    if not block_lines or _STREET.match(block_lines[0]) or _EMAIL.search(block_lines[0]):
        return None
    block = _fill(Block(LETTERHEAD), block_lines, name_first=False)
    return block if block.company else None


def _cand(path: str, value: str, raw: str, part: str, method: Method, source: str) -> Candidate:
    return Candidate(field=path, value=value, raw=raw, confidence=SOURCE_CONFIDENCE,
                     provenance=Provenance(part=part, method=method, label=source))


def candidates(block: Block, *, part: str, method: Method, self_employed: bool = False,
               worker_name: str | None = None) -> list[Candidate]:
    """A block's values as candidates. In an employee's request the writer is the employer's
    contact and the company is the employer; a self-employed person's signature is their own
    phone, email and address (the company is theirs, not an employer)."""
    out: list[Candidate] = []
    prefix = "worker" if self_employed else "employer"
    if not self_employed:
        tokens = block.name.casefold().split() if block.name else []
        same = bool(worker_name and tokens and {tokens[0], tokens[-1]} == set(worker_name.casefold().split()))
        if block.name and not same:
            out.append(_cand("employer.contact_name", block.name, block.name, part, method, block.kind))
        if block.company:
            out.append(_cand("employer.name", block.company, block.company, part, method, block.kind))
    elif block.name and not worker_name:
        # A self-employed person signs their own request: the signature's name is the worker's.
        tokens = block.name.split()
        if len(tokens) >= 2:
            out.append(_cand("worker.first_name", tokens[0], block.name, part, method, block.kind))
            out.append(_cand("worker.last_name", tokens[-1], block.name, part, method, block.kind))
            if len(tokens) == 3:
                out.append(_cand("worker.middle_name", tokens[1], block.name, part, method, block.kind))
    if block.phone:
        out.append(_cand(f"{prefix}.{'phone' if self_employed else 'contact_phone'}", block.phone,
                         block.phone, part, method, block.kind))
    if block.email:
        out.append(_cand(f"{prefix}.{'email' if self_employed else 'contact_email'}", block.email,
                         block.email, part, method, block.kind))
    raw = ", ".join(block.address.values())
    for key, value in block.address.items():
        out.append(_cand(f"{prefix}.address.{key}", value, raw, part, method, block.kind))
    return out


def read_blocks(text: str, *, part: str, method: Method, have: set[str], letter: bool = False,
                after_dashes: list[str] | None = None, self_employed: bool = False,
                worker_name: str | None = None) -> list[Candidate]:
    """Signature (and, for a letter's first page, letterhead) values for the fields not in `have`.

    The signature's values come first; the letterhead adds only what the signature lacks (the
    company's name and address, most often).
    """
    blocks = [b for b in (signature_block(text),
                          signature_after_dashes(after_dashes) if after_dashes else None,
                          letterhead(text) if letter else None) if b is not None]
    out: list[Candidate] = []
    taken = set(have)
    for block in blocks:
        cands = candidates(block, part=part, method=method, self_employed=self_employed, worker_name=worker_name)
        # an address is taken whole or not at all: never a street of one block with a city of another
        addr = {c.field for c in cands if ".address." in c.field}
        if addr & taken:
            cands = [c for c in cands if c.field not in addr]
        cands = [c for c in cands if c.field not in taken]
        taken |= {c.field for c in cands}
        out.extend(cands)
    return out


def is_weak(label: str | None) -> bool:
    """True for a value read from a signature block or letterhead (`Provenance.label`)."""
    return label in WEAK_SOURCES


def _same_person(a: str, b: str) -> bool:
    ta, tb = a.casefold().replace(",", " ").split(), b.casefold().replace(",", " ").split()
    return bool(ta and tb) and {ta[0], ta[-1]} == {tb[0], tb[-1]}


def sender_contact(records: list[list[Candidate]], from_addr: str | None, from_name: str | None) -> Candidate | None:
    """The From address as the contact's email, when the mail's signature (or a sentence) names the
    person whose display name the From line carries and no other way to reach them was read: we
    answer that address anyway, so asking for "a phone number or email address" is asking again.
    A self-employed person's own address the same way, when the From name is theirs."""
    if not from_addr or not from_name or "@" not in from_addr:
        return None
    cands = [c for r in records for c in r]
    fields = {c.field: c.value for c in cands}
    if fields.get("request_type") == "self_employed":
        target, who = "worker.email", " ".join(fields.get(k, "") for k in ("worker.first_name", "worker.last_name"))
        reached = "worker.email" in fields
    else:
        target, who = "employer.contact_email", fields.get("employer.contact_name", "")
        reached = "employer.contact_email" in fields or "employer.contact_phone" in fields
    if reached or not who.strip() or not _same_person(who, from_name):
        return None
    return Candidate(field=target, value=from_addr, raw=from_addr, confidence=SOURCE_CONFIDENCE,
                     provenance=Provenance(part="message header", method="text", label=SENDER))
