"""A box's closing word that belongs to a closed vocabulary, read back through the i/l confusion.

Typed in small letters and faxed, an `l` and an `i` (and a capital `I`) are one thin stroke, and
Tesseract picks among them with full confidence: `foods lic`, `textiles itd.`, `I.l.c.`, `1696
vindjind bivd`. A company's name ends in a legal form (`parsers.evidence`'s `_US_FORM` and
`_FOREIGN_FORM`, the same patterns that place a company as employer or host) and a street in a
street type (the common U.S. Postal Service suffixes): closed lists, where the thin letters of the
last word can be settled. Only when the word read is none of the list and exactly one way of
reading its thin strokes as `i` or `l` makes it one is it changed; the other words of the box,
names no list holds, are left to the glyph check (`parsers.form_glyphs`) and stay flagged.
"""

from __future__ import annotations

import itertools

from parsers.evidence import _FOREIGN_FORM, _US_FORM

_THIN = "iIl1"  # one thin stroke, read as any of these (`s.1.` for `s.l.`: text boxes take digits)
_MOST_THIN = 5  # more thin strokes than this in one word: 2**n readings, and no list word has them
_COMPANY_PATHS = ("employer.name", "assignment.host_name")

# Street types that hold an `l` or an `i` (USPS Publication 28 suffixes and their abbreviations);
# a suffix without one cannot be misread this way and needs no entry.
_STREET_TYPES = frozenset({
    "blvd", "boulevard", "lane", "ln", "place", "pl", "plaza", "plz", "hill", "hills", "hls",
    "mill", "mills", "loop", "circle", "cir", "trail", "trl", "villa", "village", "vlg", "ville",
    "isle", "island", "field", "fields", "fld", "flds", "lake", "lakes", "lk", "lks",
    "heights", "hts", "highway", "hwy", "drive", "dr", "pike", "ridge", "rdg", "view", "vista",
    "landing", "lndg", "valley", "vly", "mall", "alley", "aly", "park", "crossing", "xing",
})


def _street_type(text: str) -> bool:
    words = text.split()
    return len(words) > 1 and words[-1].rstrip(".").casefold() in _STREET_TYPES


def _legal_form(text: str) -> bool:
    return bool(_US_FORM.search(text) or _FOREIGN_FORM.search(text))


def _case_of(word: str) -> bool:
    """True when the word's letters other than thin strokes are all capitals (`LIC`, `I.I.C.`)."""
    others = [c for c in word if c.isalpha() and c not in _THIN]
    return bool(others) and all(c.isupper() for c in others)


def settle_last_word(path: str, text: str) -> str:
    """`text` read for the box of `path`, its last word's thin letters settled by the box's list.

    Unchanged when the box has no list, the text already ends in a list word, or no single way of
    reading the thin strokes of its last word gives one.
    """
    if path in _COMPANY_PATHS:
        fits = _legal_form
    elif path.endswith(".street"):
        fits = _street_type
    else:
        return text
    if not text or fits(text):
        return text
    head, _sep, last = text.rpartition(" ")
    at = [k for k, c in enumerate(last) if c in _THIN]
    if not at or len(at) > _MOST_THIN:
        return text
    upper = _case_of(last)
    initials = [w[0] for w in head.split() if w[0].isalpha()]
    capital = upper or sum(c.isupper() for c in initials) > len(initials) / 2  # `Analytics lnc`: `Inc`
    found: set[str] = set()
    for letters in itertools.product("il", repeat=len(at)):
        chars = list(last)
        for k, c in zip(at, letters, strict=True):
            chars[k] = c.upper() if upper or (k == 0 and capital) else c
        word = "".join(chars)
        candidate = f"{head} {word}" if head else word
        if word.casefold() != last.casefold() and fits(candidate):
            found.add(word)
    if len(found) != 1:
        return text
    word = found.pop()
    return f"{head} {word}" if head else word


def street_type_slip(text: str) -> str | None:
    """A street read off a faxed letter with a street type misread through its thin strokes
    (`7954 Zascond Bivd, Suite 734`), put right (`Blvd`); None when no word of it is one.

    A letter's street may go on after its type (a suite, a unit), so the word before a comma is
    asked as well as the last; a word is put right only when it is no street type and exactly one
    reading of its thin strokes makes it one.
    """
    words = text.split(" ")
    for n, raw in enumerate(words):
        core = raw.rstrip(".,;")
        at = [k for k, c in enumerate(core) if c in _THIN]
        ends = n == len(words) - 1 or raw.endswith(",")  # a street type ends the street's name
        if n == 0 or not ends or not at or len(at) > _MOST_THIN or core.casefold() in _STREET_TYPES:
            continue
        found = {_thin_reading(core, at, letters) for letters in itertools.product("il", repeat=len(at))}
        hits = {w for w in found if w.casefold() in _STREET_TYPES and w.casefold() != core.casefold()}
        if len(hits) == 1:
            words[n] = hits.pop() + raw[len(core):]
            return " ".join(words)
    return None


def _thin_reading(word: str, at: list[int], letters: tuple[str, ...]) -> str:
    """`word` with its thin strokes at `at` read as `letters`, in the word's case."""
    others = [c for c in word if c.isalpha() and c not in _THIN]
    upper = len(others) > 1 and all(c.isupper() for c in others)  # `BIVD`; `Hiil` is `Hill`
    chars = list(word)
    for k, c in zip(at, letters, strict=True):
        chars[k] = c.upper() if upper or (k == 0 and word[0].isupper()) else c
    return "".join(chars)
