"""Fax marks glued to a value: what is left of dot leaders, underlines and box edges after OCR.

Tesseract reads the last dots of a leader, an underline or the edge of a box as a character stuck
to the value (`[`, `(`, `|`, `!`, `l`, `Q`, `J`, `G`, `9` ...): `9108-76-4638`, `Ghr@northbridge.com`,
`JUSA`. Such a string must never pass as the value. A mark that no value of the field can hold
(a bracket, a bar) is taken off; a letter or digit is taken off only when the value then reads as
its field and did not before (an SSN of ten digits, an unknown country), or when its shape says it
is not part of it (a capital glued before a small-letter e-mail address). Either way the value
is flagged: what was taken off is a guess, for staff to confirm.
"""

from __future__ import annotations

import re

from parsers import values

DOUBT = "a mark at the edge of the value was taken off (a leader or box line read by OCR?)"

_OPEN = "[({<"
_CLOSE = "])}>"
_NEVER = "|!_`'\"‘’“”¦«»~"  # never at the edge of any value
_LEADER = ".,:;…-–—="  # a leader's last dots, a separator
_GLYPH = set("QJGIl1|!9[](){}")  # what a box edge or a leader's end looks like to Tesseract
# ... and one written with dots ("Acme L.L.C,", "Nordlys S.A,"): its last dot read as a comma
_ABBREVIATED_FORM = re.compile(r"(?:\b(?:Co|Inc|Ltd|Corp|Bhd|Pty|Pte|Ltda|Lda|Cia)|"
                               r"(?<![\w.])(?:L\.L\.[CP]|S\.A|N\.V|B\.V|K\.K|S\.p\.A))\s?,$")
# A company's or town's name a leader's marks were taken off and that then starts with a small
# letter glued to a capital ("sTreackwy Engineering"): the letter was the leader's too.
_GLUED_SMALL = re.compile(r"^[a-z](?=[A-Z][a-z]{2})")
_NAMED = {"employer.name", "assignment.host_name", "worker.place_of_birth"}
_GLUED_CAPITAL = re.compile(r"^[QJG]([a-z0-9][a-z0-9._%+-]*@)")


def legal_form_comma(raw: str) -> str | None:
    """ "Acme Co," (over the next label): the legal form's dot OCR read as a comma, put back; else None."""
    text = raw.strip()
    return re.sub(r"\s?,$", ".", text) if _ABBREVIATED_FORM.search(text) else None


def _strip_marks(text: str) -> str:
    """Brackets, bars and leader dots at the ends; a bracket is kept when it is closed inside."""
    while text:
        c = text[0]
        if c in _NEVER or c in _LEADER or (c in _OPEN and _CLOSE[_OPEN.index(c)] not in text) or c in _CLOSE:
            text = text[1:].lstrip()
            continue
        break
    while text:
        c = text[-1]
        if c in _NEVER or c in _OPEN or c in ",:;…-–—=" or (c in _CLOSE and _OPEN[_CLOSE.index(c)] not in text):
            text = text[:-1].rstrip()
            continue
        break
    return text


def _reads(field: str, text: str) -> bool:
    try:
        return bool(text) and values.normalize(field, text)[1] is None
    except Exception:  # noqa: BLE001 - an odd string simply does not read
        return False


def strip_artefacts(field: str, raw: str) -> tuple[str, str | None]:
    """The value without the marks glued to its ends, and a doubt when anything was taken off."""
    text = raw.strip()
    stripped = _strip_marks(text)
    if stripped and stripped != text:
        glued_on = text.endswith(stripped) and not text[: len(text) - len(stripped)][-1:].isspace()
        text = stripped
        changed = True
        if field in _NAMED and glued_on and _GLUED_SMALL.match(text):
            text = text[1:]  # "_-«sAcme GmbH": the leader's end read as a small letter too, glued on
    else:
        changed = False
    if field.endswith("email"):
        m = _GLUED_CAPITAL.match(text)
        if m:
            return text[1:], DOUBT
    if values.has_shape(field) and not _reads(field, text):
        head, tail = text[:1] in _GLYPH, text[-1:] in _GLYPH
        for ok, cand in ((head, text[1:]), (tail, text[:-1]), (head and tail, text[1:-1])):
            if ok and _reads(field, cand.strip()):
                return cand.strip(), DOUBT
    return text, DOUBT if changed else None


# A speck OCR read as a dot inside a word: between two small letters of a person's name
# ("Tout.hon Dest.on"), or after a long word of an address before the next word ("92 Hyxkailt.
# Street"); no name is written so, and an address's abbreviations are short ("St.", "Blvd.").
_NAME_SPECK = re.compile(r"(?<=[a-z])\.(?=[a-z])")
_ADDRESS_SPECK = re.compile(r"(?<=[A-Za-z][a-z]{4})\.(?= [A-Z][a-z])")
SPECK_DOUBT = "a dot inside a word or number was taken out (a speck read by OCR?)"
_SPECK_FIELDS = {"worker.name", "worker.first_name", "worker.last_name", "employer.contact_name"}
# ... or as a colon between a house number's digits ("Ninmonweg 1:38"): no street is numbered so.
_NUMBER_SPECK = re.compile(r"(?<=\b\d)(?<!\d:\d):(?=\d{1,3}\b)")


def inner_speck(field: str, raw: str) -> str | None:
    """`raw` without the dots `_NAME_SPECK` / `_ADDRESS_SPECK` / `_NUMBER_SPECK` find for `field`, else None."""
    if field in _SPECK_FIELDS:
        fixed = _NAME_SPECK.sub("", raw)
    elif field.endswith(("address", ".street")):
        fixed = _NUMBER_SPECK.sub("", _ADDRESS_SPECK.sub("", raw))
    else:
        return None
    return fixed if fixed != raw else None
