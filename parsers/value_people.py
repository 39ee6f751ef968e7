"""Names and dependents: a whole name to first, middle and last, a dependent line to its parts.

Split from `parsers.values`: "Smith, John A." and "Dr. John A. Smith Jr." give the same parts, and
"Anna Doe, spouse, born 2/3/1986" gives a dependent's name, relationship and date of birth.
"""

from __future__ import annotations

import re

from parsers.value_dates import parse_date
from parsers.value_text import clean as _clean
from parsers.value_text import fold as _fold

_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "herr", "frau", "mme", "mlle",
           "sr", "sra", "srta"}
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "v", "phd", "md", "esq"}
_PARTICLES = {"van", "von", "de", "del", "della", "der", "den", "di", "da", "dos", "das", "du", "la",
              "le", "ten", "ter", "bin", "al", "st", "mc", "zu", "vom"}


def name_initial(token: str) -> str:
    """ "Q." -> "Q": initials are stored without their dot."""
    return token[:-1] if re.fullmatch(r"\w\.", token) else token


# What OCR makes of a middle initial I between two names: a digit one, a bar, a brace, a bracket,
# an exclamation mark, a small l.
_INITIAL_I = frozenset("1|}{[]!l")
SLIP_DOUBT = 0.80  # a name put right so is offered for a person to check (under `ocr.LOW_CONFIDENCE`)
_GIVEN = re.compile(r"[^\W\d_][\w'’-]*")


def initial_slip(text: str) -> tuple[str, str] | None:
    """(the name put right, why) when OCR misread a middle initial: "Jo 1 Roe" or "Jo } van Roe" (an
    I), "Jo K, van Roe" (the initial's dot read as a comma: no family name ends in an initial).
    Always a guess, so always said."""
    tokens = text.split()
    if len(tokens) < 3:
        return None
    if tokens[1] in _INITIAL_I and tokens[0][:1].isupper() and _GIVEN.fullmatch(tokens[0]) is not None:
        return " ".join([tokens[0], "I", *tokens[2:]]), f"read {tokens[1]!r} for a middle initial: I?"
    if re.fullmatch(r"[A-Z],", tokens[1]) and tokens[0][:1].isupper() and \
            _GIVEN.fullmatch(tokens[0]) is not None and "," not in " ".join(tokens[2:]):
        return " ".join([tokens[0], tokens[1][0] + ".", *tokens[2:]]), \
            f"read {tokens[1]!r}: a middle initial and its dot, not a family name and a comma?"
    return None


_MORE_PARTICLES = {"ibn", "af", "av", "op", "zur", "dela", "des", "el", "lo", "e", "y"}


# "la" of "de la" with its l read as a capital J, I or a one ("de Ja Roe"): no name is "Ja" there.
_PARTICLE_LA = re.compile(r"\b([Dd]e)\s+[JI1]a(?=\s+[A-Z])")


def particle_slip(text: str) -> tuple[str, str] | None:
    """(the name put right, why) when OCR misread the l of a particle "la" after "de"; else None."""
    fixed = _PARTICLE_LA.sub(r"\1 la", text)
    return (fixed, f"read {text!r}: the particle la with its l misread?") if fixed != text else None


def piece_slip(text: str) -> tuple[str, str] | None:
    """(the name put right, why) when OCR cut a name in two ("Jo Nour ley" for "Jo Nourley"): a
    word written small that is no particle ("van", "de") goes on the capitalised word before it.
    "Roe, jo" stays: a comma ends the word before. Always a guess, so always said."""
    tokens = text.split()
    for k in range(1, len(tokens)):
        word, before = tokens[k], tokens[k - 1]
        if re.fullmatch(r"[a-z]{2,}", word) and word not in _PARTICLES | _MORE_PARTICLES and word not in _SUFFIXES \
                and re.fullmatch(r"[A-Z][a-z'’-]+", before) and before.casefold() not in _PARTICLES:
            joined = " ".join([*tokens[: k - 1], before + word, *tokens[k + 1:]])
            return joined, f"read {before + ' ' + word!r}: one name OCR cut in two?"
    return None


def parse_name(raw: str) -> dict[str, str]:  # noqa: C901, PLR0912  (each way a name is written (Last, First; initials; particles))
    """`first_name`, `middle_name`, `last_name` from "Jane Q. Doe", "Doe, Jane Q." or "Dr. Jane Doe".

    Keys are absent when a part is not there ("Doe" gives only `last_name`); particles such as
    "van der" stay with the last name, suffixes such as "Jr." follow it.
    """
    text = _clean(raw)
    last = text.split()[-1].casefold() if text else ""
    if last.endswith(".") and last.strip(".") not in _SUFFIXES and len(last) > 2:
        text = text.rstrip(".")  # a sentence's full stop, not an initial's or "Jr."'s dot
    if not text:
        return {}
    suffix = ""
    while True:  # titles first, in either order of the name: "Ms. Doe, Jane", "Dr. Jane Doe"
        m = re.match(r"^(\w+)\.?\s+", text)
        if not (m and m[1].casefold() in _TITLES and len(text.split()) > 1):
            break
        text = text[m.end() :]
    if "," in text:
        head, tail = (p.strip() for p in text.split(",", 1))
        tail_key = tail.casefold().replace(".", "").strip()
        if tail_key in _SUFFIXES:  # "Jane Doe, Jr."
            text, suffix = head, tail
        else:  # "Doe, Jane Q."
            last_tokens = head.split()
            rest = tail.split()
            rest = [t for t in rest if t.casefold().strip(".") not in _TITLES or len(rest) == 1]
            initial = len(rest) == 2 and len(rest[-1].strip(".")) == 1  # "Doe, Jane V": her middle initial
            if rest and rest[-1].casefold().strip(".") in _SUFFIXES and not initial:
                suffix = rest.pop()
            if not rest:
                return {"last_name": head}
            out = {"first_name": name_initial(rest[0]), "last_name": " ".join(last_tokens)}
            if len(rest) > 1:
                out["middle_name"] = " ".join(name_initial(t) for t in rest[1:])
            if suffix:
                out["last_name"] += f" {suffix}"
            return out
    tokens = text.split()
    while len(tokens) > 1 and tokens[0].casefold().strip(".") in _TITLES:
        tokens.pop(0)
    if len(tokens) > 1 and tokens[-1].casefold().strip(".,") in _SUFFIXES:
        suffix = tokens.pop()
    if len(tokens) == 1:
        out = {"last_name": tokens[0]}
    else:
        # the last name starts at the first particle after the first name ("Anna van der Berg")
        start = len(tokens) - 1
        for i in range(1, len(tokens) - 1):
            if tokens[i].casefold() in _PARTICLES:
                start = i
                break
        out = {"first_name": name_initial(tokens[0]), "last_name": " ".join(tokens[start:])}
        if start > 1:
            out["middle_name"] = " ".join(name_initial(t) for t in tokens[1:start])
    if suffix:
        out["last_name"] += f" {suffix.rstrip(',')}"
    return out


_RELATIONSHIPS = {
    "spouse": "spouse", "wife": "spouse", "husband": "spouse", "partner": "spouse",
    "domestic partner": "spouse", "married": "spouse",
    "child": "child", "son": "child", "daughter": "child", "stepchild": "child", "stepson": "child",
    "stepdaughter": "child", "children": "child", "kid": "child",
}


def parse_relationship(raw: str) -> str | None:
    """`spouse` or `child` from "wife", "Son", "Spouse"...; other relations lower-cased as written."""
    key = re.sub(r"[^a-z ]+", " ", _fold(_clean(raw))).strip()
    key = re.sub(r"^(?:the |his |her |their |my )", "", key)
    if not key:
        return None
    return _RELATIONSHIPS.get(key, key if len(key) <= 30 else None)


DEP_DATE = re.compile(
    r"(?:\b(?:born(?: on)?|b\.|dob|d\.o\.b\.|date of birth|birth date|geb\.?)\s*:?\s*)?"
    r"(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}\s?[/.\-]\s?\d{1,2}\s?[/.\-]\s?\d{2,4}"
    r"|[A-Za-z]{3,9}\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}|\d{1,2}(?:st|nd|rd|th|\.)? [A-Za-z]{3,9}\.?,? \d{4})",
    re.IGNORECASE,
)


def parse_dependent(raw: str) -> dict[str, str]:
    """`name`, `relationship`, `date_of_birth` (ISO) from "Anna Doe, spouse, born 2/3/1986".

    Also reads table rows without commas ("Anna Doe  spouse  02/03/1986") in any column order.
    """
    text = _clean(raw)
    out: dict[str, str] = {}
    for m in DEP_DATE.finditer(text):
        d = parse_date(m[1])
        if d is not None:
            out["date_of_birth"] = d.isoformat()
            text = text[: m.start()] + " , " + text[m.end() :]
            break
    words = re.split(r"(\s+|[,;()])", text)
    kept: list[str] = []
    for w in words:
        key = re.sub(r"[^a-z]+", "", _fold(w))
        if key in _RELATIONSHIPS and "relationship" not in out:
            out["relationship"] = _RELATIONSHIPS[key]
            kept.append(" , ")
        else:
            kept.append(w)
    rest = "".join(kept)
    rest = re.sub(r"\b(?:age[d]?\s*\d+|relationship|name)\b:?", " ", rest, flags=re.IGNORECASE)
    chunks = [c.strip(" .:-–") for c in re.split(r"[,;()]|\s-\s", rest)]
    chunks = [c for c in chunks if re.search(r"[A-Za-z]", c)]
    if chunks:
        out["name"] = re.sub(r"\s+", " ", chunks[0])
    return out


_MAIL_WITH_I = re.compile(r"[a-z0-9._%+-]*I[A-Za-z0-9._%+-]*@[a-z0-9.-]+")


def email_capital_i(raw: str) -> str | None:
    """ "I.roe@acme.com": in an address written all in small letters, a capital I is the l of the same
    glyph in a sans-serif face (addresses are written small); the address with l, else None. A guess."""
    text = raw.strip()
    if not _MAIL_WITH_I.fullmatch(text) or any(c.isupper() and c != "I" for c in text):
        return None
    local, domain = text.split("@", 1)
    return local.replace("I", "l") + "@" + domain


# An address OCR read with a gap in its name part ("v.vanderchymt on@acme.com", "t dousstead
# @acme.com") or with a look-alike for its at sign ("g.roe®acme.com"): addresses hold no space.
# An l read as a bracket or a bar ("payrol]@acme.com") is none of an address's characters either.
_MAIL_GAPPED = re.compile(r"(?P<head>[a-z0-9._%+\]|-]+)(?: (?P<tail>[a-z0-9._%+\]|-]+))? ?[@®©] ?"
                          r"[a-z0-9.-]+\.[a-z]{2,}\.?")


# Marks no address holds that a fax's OCR reads in one: a cent sign for a c ("\u00a2.roe@"), a pound
# sign beside the f it repeats ("f\u00a3.roe@"), a comma beside a dot ("acme,.com") or for the dot
# after an initial ("c,roe@").
_MAIL_MARKS = ((re.compile("\u00a2"), "c"), (re.compile("(?<=f)\u00a3|\u00a3(?=f)"), ""),
               (re.compile(r",(?=\.)|(?<=\.),"), ""), (re.compile(r"^([a-z]), ?(?=[a-z])"), r"\1."))


def _email_marks(text: str) -> str:
    """`text` with the `_MAIL_MARKS` of an address that has an at sign put right."""
    if "@" not in text:
        return text
    for pattern, mark in _MAIL_MARKS:
        text = pattern.sub(mark, text)
    return text


def email_gap(raw: str) -> str | None:
    """The address with its one gap closed and its at sign put back (`_MAIL_GAPPED`), or its marks
    no address holds put right (`_MAIL_MARKS`), else None. A gap after a lone letter is an initial's
    dot the fax lost ("t dousstead" is "t.dousstead"); one inside the name part only before a short
    last piece ("...chymt on@"): "jo roe jo@x.com" is a name and its address. A guess, for the
    caller to doubt."""
    text = _email_marks(raw.strip())
    m = _MAIL_GAPPED.fullmatch(text)
    if m is None:
        return None
    if " " not in text and "@" in text and not re.search(r"[\]|]", text):
        return text if text != raw.strip() else None
    text = re.sub(r"(?<=[a-z])[\]|](?=[a-z@.])", "l", text)
    if re.search(r"[\]|]", text):
        return None
    head, tail = m["head"], m["tail"]
    if tail is not None and len(head) == 1:
        text = text.replace(" ", ".", 1)
    elif tail is not None and len(tail) > 3:
        return None
    return re.sub(r"\s+", "", text).replace("®", "@").replace("©", "@").rstrip(".")


def answer_slip(raw: str) -> str | None:
    """ "YRS" -> "YES", "N0" -> "NO": a yes or no with one letter OCR misread (the answer to a yes/no
    question has no other words), when it is no answer as read; else None. A guess."""
    text = raw.strip().strip(".")
    if not text.isalnum() or not 2 <= len(text) <= 3 or text.casefold() in ("yes", "no"):
        return None
    for word in ("yes", "no"):
        if len(text) == len(word) and sum(a != b for a, b in zip(text.casefold(), word, strict=True)) == 1 and \
                text[0].casefold() == word[0]:
            return word.upper() if text.isupper() else word
    return None
