"""The letterhead of a letter: whose paper it is written on.

An employer's letter carries the company's name and address at the top of its first page
("Acme Tools Inc." over "12 Main St | Boise, ID 83702"), and a writer seldom repeats them as
labelled fields. So when a letter's fields give no employer address, the letterhead's address is
offered for it; and an address read under a label as someone else's ("Registered address",
"Office address in the U.S." read as the worker's) that is the letterhead's is the employer's.
Both are flagged: the letterhead may be an agent's writing for the employer, and staff check.
"""

from __future__ import annotations

import re

from parsers.layout import Line
from parsers.types import Candidate, Method, Provenance
from parsers.values import normalize

HEAD_LINES = 4  # the letterhead is in the first lines of the first page
_SEPARATORS = re.compile(r"\s+[|•·]\s+")
# OCR reads the bar between a letterhead's street and city as a bracket, a brace, a capital I or a j
# (`|` is not in Tesseract's alphabet here: `ocr.CHAR_BLACKLIST`); standing alone between two parts
# of an address, none of them is a word; a backslash or slash alike, and a tab stop where OCR read
# no mark at all (the gap the bar stood in: "12 Main St, Suite 4<tab>Boise, ID").
_OCR_SEPARATORS = re.compile(r"\s+(?:[|•·\[\]{}()!\\/]|[Ilj](?=\s+[A-Z]))\s+|[ ]*\t[ ]*")
# A fax machine's transmission line over the page ("NOV-20-2026 09:31  FROM: ACME  P.1/2"), which
# OCR reads as a line or three above the letterhead: a clock time, a "FROM" or a page count.
_FAX_STAMP = re.compile(r"\b\d{1,2}\s?[:.]\s?\d{2}\b|\bF\W?R\W?O\W?M\b|\bP\W{0,2}\d{1,2}\s?/\s?\d{1,2}\b|"
                        r"\bpages?\s+\d", re.I)
STAMP_TOP = 0.06  # a transmission line is printed in the top half inch of the page
STAMP_BAND = 0.03  # ... and whatever OCR made of it in the top third of an inch (no letter's margin is so narrow)
WHY = "read from the letterhead: the address of whoever wrote the letter"


def _address(line: Line, method: Method = "text") -> dict[str, str] | None:
    """The address a letterhead line holds ("street | City, ST ZIP"), or None."""
    text = (_OCR_SEPARATORS if method == "ocr" else _SEPARATORS).sub(", ", line.text)
    if not re.search(r"\d", text) or "@" in text or len(text) > 160:
        return None
    pairs, doubt = normalize("employer.address", text)
    parts = {f.rsplit(".", 1)[-1]: v for f, v in pairs}
    if doubt is not None or not re.search(r"\d", parts.get("street", "")) or "postal_code" not in parts \
            or not parts.get("city"):
        return None
    return parts


def from_letterhead(lines: list[Line], found: list[Candidate], part: str, page: int,  # noqa: PLR0911  (each reason the letterhead gives nothing returns at once)
                    method: Method = "text") -> list[Candidate]:
    """`found` with the letterhead's address for the employer where the fields gave none, and a
    labelled other address that is the letterhead's moved to the employer (both flagged)."""
    if page != 1 or any(c.field.startswith("employer.address") and c.uncertain is None for c in found):
        return found
    if any(c.field == "worker.business" or c.value == "self_employed" for c in found):
        return found  # a self-employed person writes on their own paper
    found = _signature(lines, found, part, method)
    head = [ln for ln in _below_stamp(lines, method)[:HEAD_LINES] if ln.words]
    for ln in head:
        parts = _address(ln, method)
        if parts is None:
            owner = _same_words(ln, found) if method == "ocr" else None
            if owner is not None:  # its separator lost in the fax, but a labelled address says the same
                return _moved(found, owner)
            continue
        street = parts["street"].casefold()
        same = {c.field.rsplit(".", 1)[0] for c in found
                if c.field.endswith(".street") and c.value.casefold() == street
                and c.field.startswith(("worker.address", "assignment.work_address"))}
        if same:  # the letterhead's address read as another party's: it is the employer's
            return _moved(found, same.pop())
        if any(c.field.startswith("employer.address") for c in found):
            return found
        prov = Provenance(part=part, page=page, box=ln.box, method=method, label="letterhead")
        out = found + [Candidate(field=f"employer.address.{k}", value=v, raw=ln.text, confidence=0.8,
                                 provenance=prov, uncertain=WHY) for k, v in parts.items()]
        k = head.index(ln)
        if k and not any(c.field == "employer.name" for c in found) and _COMPANY.search(head[k - 1].text):
            name = head[k - 1]
            out.append(Candidate(field="employer.name", value=name.text, raw=name.text, confidence=0.8,
                                 provenance=prov.model_copy(update={"box": name.box}), uncertain=WHY))
        return out
    return found


def _moved(found: list[Candidate], owner: str) -> list[Candidate]:
    """The address read as `owner`'s made the employer's (flagged)."""
    return [c.model_copy(update={"field": "employer.address" + c.field[len(owner):], "uncertain": WHY})
            if c.field.startswith(owner + ".") else c for c in found]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.casefold())


def _one_off(a: str, b: str) -> bool:
    """`a` and `b` the same but for one character changed, added or dropped."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long = sorted((a, b), key=len)
    return any(long[:k] + long[k + 1:] == short for k in range(len(long)))


def _same_words(line: Line, found: list[Candidate]) -> str | None:
    """Whose labelled address (the worker's, the work site's) has the letterhead line's words,
    in order: a letterhead OCR read without the bar between street and city is still known.

    The state and ZIP are short and OCR garbles them alone ("P/," for "PA", "(6377" for "06377",
    and the line then reads as no address): with the street's number and words and the city the
    same, each of them one character off is still the same address."""
    words = _words(line.text)
    if len(words) < 4 or not any(w.isdigit() for w in words):
        return None
    for owner in ("worker.address", "assignment.work_address"):
        parts = {c.field[len(owner) + 1:]: c.value for c in found if c.field.startswith(owner + ".")}
        place = [w for k in ("street", "city") for w in _words(parts.get(k, ""))]
        rest = [w for k in ("state", "postal_code") for w in _words(parts.get(k, ""))]
        if place + rest == words:
            return owner
        if not place or not rest or words[:len(place)] != place or len(words) != len(place) + len(rest):
            continue
        if not any(w.isdigit() for w in place) or not parts.get("city"):
            continue
        if all(_one_off(a, b) for a, b in zip(words[len(place):], rest, strict=True)):
            return owner
    return None


def _below_stamp(lines: list[Line], method: Method) -> list[Line]:
    """The page's lines without a fax's transmission line at its top (OCR only: a text layer has none)."""
    if method != "ocr":
        return lines
    k = 0
    while k < len(lines) and k < HEAD_LINES and (box := lines[k].box) is not None and (
            box.y1 < STAMP_BAND or (box.y0 < STAMP_TOP and _FAX_STAMP.search(lines[k].text))):
        k += 1
    return lines[k:]


_CLOSING = re.compile(r"^(?:(?:yours\s+)?(?:sincerely|faithfully|truly)(?:\s+yours)?|(?:kind|best|warm)\s+regards|"
                      r"regards|respectfully(?:\s+yours)?|with\s+(?:kind\s+)?regards|thank\s+you)\s*,?$", re.I)
_PERSON = re.compile(r"^(?:(?:Mr|Ms|Mrs|Dr)\.?\s+)?[A-Z][\w'.-]+(?:\s+(?:[a-z]{2,4}\s+){0,2}[A-Z][\w'.-]+){1,3}$")
_COMPANY = re.compile(r"\b(?:Inc\.?|Incorporated|LLC|L\.L\.C\.|Corp\.?|Corporation|Co\.|Company|LLP|Ltd\.?|"
                      r"GmbH|Group|Holdings)\s*$")
SIGNED = "read from the letter's signature"


def _signature(lines: list[Line], found: list[Candidate], part: str, method: Method) -> list[Candidate]:
    """ "Sincerely, / Jane Roe / Acme Tools Inc.": who signed is the employer's contact, and the
    company under the name the employer, when the fields named neither (flagged)."""
    have = {c.field for c in found}
    for k, ln in enumerate(lines):
        if not _CLOSING.match(ln.text.strip()):
            continue
        after = [x for x in lines[k + 1:k + 5] if x.words][:3]
        out = list(found)
        for x in after:
            text = x.text.strip()
            prov = Provenance(part=part, page=x.page, box=x.box, method=method, label="signature")
            if _COMPANY.search(text) and "employer.name" not in have:
                out.append(Candidate(field="employer.name", value=text, raw=text, confidence=0.7,
                                     provenance=prov, uncertain=SIGNED))
                have.add("employer.name")
            elif _PERSON.match(text) and not _COMPANY.search(text) and "employer.contact_name" not in have:
                out.append(Candidate(field="employer.contact_name", value=text, raw=text, confidence=0.7,
                                     provenance=prov, uncertain=SIGNED))
                have.add("employer.contact_name")
        return out
    return found
