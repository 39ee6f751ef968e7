"""A label is everything before its separator, and a label the vocabulary never saw is read by its words.

`labels.match_label_at` finds a known label at the start of a text. People write longer labels
("Full name of employee", "Name of employer's contact person", "Start date of the assignment
abroad"); taking only the known start of one ("Full name") left the rest of the label as the value
(`of employee`). So a line with a separator is segmented first (dot leaders, underscores, a tab,
several spaces, a colon, a question mark: `segment`) and the whole label is classified
(`classify`): its content words, stemmed and mapped to a few synonyms, are scored against every
label of the vocabulary, each word weighted by how few fields use it (`first` says more than
`name`), fuzzily for a word OCR misread. A label scored `PLACE` or more places its value; between
`OFFER` and `PLACE` the value is offered for staff to check (`low_confidence`), never placed silently.
Hints in the label's brackets ("(last, first)", "(dd/mm/yyyy)") are returned for the value reader.
"""

from __future__ import annotations

import difflib
import math
import re
from functools import cache, lru_cache

from parsers.labels import _FIELD_SECTION, _SECTION_PREFIXES, LABELS, SECTION_LABELS, _tokens

PLACE = 0.72  # a label this close to one of the vocabulary places its value
OFFER = 0.45  # this close: the value is offered, flagged
SURE_WORDS = 0.85  # below this, a value that does not read as the field's says the text was no label
GLYPH_SLIP_SCORE = 0.84  # a label read through a look-alike letter: placed when its value reads (`FUZZY_SCORE`)
MARGIN = 0.08  # the best field must beat the next one by this much to be placed

_STOP = frozenset(
    "of the a an in to be for on at by is are will this that please enter provide your his her their its our my "
    "during as with who which any or and if being sent".split()
)
# A few words that mean the same in a label (own list: stems and synonyms, not phrasings).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "surname": ("last", "name"), "family": ("last",), "given": ("first",), "forename": ("first", "name"),
    "christian": ("first",), "born": ("birth",), "dob": ("date", "birth"), "birthdate": ("birth", "date"),
    "when": ("date",), "where": ("place",), "town": ("city",), "location": ("place",),
    "staff": ("employee",), "personnel": ("employee",), "transferee": ("employee",), "assignee": ("employee",),
    "expatriate": ("employee",), "seconded": ("employee",), "secondee": ("employee",),
    "individual": ("person",), "firm": ("company",), "corporation": ("company",),
    "organization": ("company",), "organisation": ("company",), "entity": ("company",),
    "enterprise": ("company",), "employing": ("employer",), "telephone": ("phone",), "tel": ("phone",),
    "mobile": ("phone",), "cell": ("phone",), "mail": ("email",), "soc": ("social",), "sec": ("security",),
    "ssa": ("ssn",), "usa": ("us",), "america": ("us",), "identification": ("id",), "foreign": ("abroad",),
    "overseas": ("abroad",),
    "host": ("abroad",), "receiving": ("abroad",),
    "departure": ("start",), "beginning": ("start",), "begin": ("start",), "begins": ("start",),
    "commencement": ("start",), "starting": ("start",), "starts": ("start",), "return": ("end",),
    "returning": ("end",), "ending": ("end",), "ends": ("end",), "until": ("end",),
    "thru": ("end",), "recruited": ("hired",), "remain": ("remains",), "stays": ("remains",),
    "stay": ("remains",), "continues": ("remains",), "approval": ("confirmation",),
    "notify": ("confirmation",), "notice": ("confirmation",), "notification": ("confirmation",),
    "prepared": ("requested",), "submitted": ("requested",),
    "requester": ("requested",), "completed": ("requested",), "citizen": ("citizenship",),
    "nationality": ("citizenship",), "national": ("citizenship",), "passport": ("citizenship",),
    "american": ("us",),
    # verbs of a date's event, by their base form (`_lemma`): "commencing", "leaves", "finishes"
    "commence": ("start",), "depart": ("start",), "leave": ("start",), "arrive": ("start",),
    "finish": ("end",), "conclude": ("end",), "terminate": ("end",), "expire": ("end",),
    "recruit": ("hired",), "engage": ("hired",),
    # staying on: "still employed", "kept on payroll", "retained by"
    "posting": ("assignment",), "secondment": ("assignment",), "deployment": ("assignment",),
    "still": ("remains",), "keep": ("remains",), "kept": ("remains",), "retain": ("remains",),
    # a question's pronoun names what it asks for: who a person, where a place, when a date
    "who": ("person",), "whom": ("person",),
    "join": ("join",), "enter": ("enter",),  # their sense is a date's (`_DATE_SENSE`): read by base form
}
# Participles that, before "to", say where the worker goes (before a noun they say who: "Posted worker").
_SENT_TO = frozenset({"posted", "seconded", "assigned", "sent", "transferred", "deployed", "relocated", "dispatched",
                      "delegated", "moving", "going", "relocating", "travelling", "traveling", "heading"})
# Words that make the given name after them another one: "Other given names", "Additional forenames".
_OTHER = frozenset({"other", "additional", "further", "more", "second", "remaining"})


_DATE_SENSE = {"first": "start", "last": "end", "final": "end", "initial": "start", "join": "hired",
               "enter": "hired"}


@lru_cache(maxsize=8192)
def _lemma(word: str) -> str | None:
    """The base form of an inflected verb or noun that `_SYNONYMS` knows ("commencing",
    "commences", "commenced", "commencement" are `commence`), else None."""
    for w in (word, _stem(word)):
        if w in _SYNONYMS:
            return w
    for suffix in ("ements", "ement", "ments", "ment", "ings", "ing", "ied", "ies", "ed", "es", "s"):
        if len(word) - len(suffix) < 3 or not word.endswith(suffix):
            continue
        base = word[: -len(suffix)]
        tails = ("y",) if suffix in ("ied", "ies") else ("", "e")
        for cand in (*(base + t for t in tails), base[:-1] if len(base) > 3 and base[-1] == base[-2] else ""):
            if cand in _SYNONYMS:
                return cand
    return None


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@lru_cache(maxsize=8192)
def content_words(text: str, *, vocabulary: bool = False) -> tuple[str, ...]:
    """The words of a label that carry its meaning: folded, stemmed, synonyms mapped, no stop words.

    `vocabulary`: a label of the vocabulary, whose "Going to" is its own entry (read as a written
    label's "posted to", it would make every "Work site" + "Going to" an entry for the country)."""
    out: list[str] = []
    toks = [t.text for t in _tokens(text)]
    for k, w in enumerate(toks):
        if w in _STOP and w not in _SYNONYMS:
            continue
        if w in _OTHER and k + 1 < len(toks) and _SYNONYMS.get(_lemma(toks[k + 1]) or "", ("",))[0] == "first":
            out.append("middle")  # "Other given names": the names after the first
            continue
        if out and out[-1] == "middle" and _SYNONYMS.get(_lemma(w) or "", ("",))[0] == "first":
            continue
        if not vocabulary and w in _SENT_TO and k + 1 < len(toks) and toks[k + 1] == "to":
            out.append("abroad")  # "Country employee is posted to", "Seconded to (company)": where the worker goes
            continue
        lemma = _lemma(w)
        mapped = _SYNONYMS[lemma] if lemma is not None else (_stem(w),)
        out.extend(m for m in mapped if m not in out)
    return tuple(out)


@cache
def _index(section: str | None) -> tuple[list[tuple[frozenset[str], str]], dict[str, float]]:  # noqa: C901  (each source of label words (vocabulary, sections, synonyms) in turn)
    """(content words, field) of every label, and each word's weight (rarer across fields: heavier)."""
    entries: dict[frozenset[str], str] = {}
    if section in SECTION_LABELS:
        for fld, variants in SECTION_LABELS[section].items():
            for v in variants:
                entries.setdefault(frozenset(content_words(v, vocabulary=True)), fld)
    for fld, variants in LABELS.items():
        for v in variants:
            entries.setdefault(frozenset(content_words(v, vocabulary=True)), fld)
    # "Employee surname", "Surname of the worker": whose field it is, before or after the label
    for fld, variants in LABELS.items():
        for prefix in _SECTION_PREFIXES.get(_FIELD_SECTION.get(fld.split(".", 1)[0], ""), []):
            for v in variants:
                entries.setdefault(frozenset(content_words(f"{prefix} {v}", vocabulary=True)), fld)
    entries.pop(frozenset(), None)
    fields_of: dict[str, set[str]] = {}
    for words, fld in entries.items():
        for w in words:
            fields_of.setdefault(w, set()).add(fld.split("[", 1)[0])
    n = len({f for f in entries.values()})
    weight = {w: math.log(1 + n / len(fs)) for w, fs in fields_of.items()}
    return list(entries.items()), weight


@cache
def _postings(section: str | None) -> tuple[dict[str, tuple[int, ...]], tuple[float, ...]]:
    """For `_index(section)`: the entries each word is in, and each entry's total weight, so that
    `scores` weighs only the labels that share a word with the one read, not all of them."""
    entries, weight = _index(section)
    having: dict[str, list[int]] = {}
    for k, (words, _fld) in enumerate(entries):
        for w in words:
            having.setdefault(w, []).append(k)
    return {w: tuple(ks) for w, ks in having.items()}, tuple(sum(weight[w] for w in ws) for ws, _f in entries)


@lru_cache(maxsize=4096)
def _known(word: str, section: str | None) -> str | None:
    """The vocabulary's word for `word`, allowing an OCR slip in a long word."""
    weight = _index(section)[1]
    if word in weight:
        return word
    if len(word) < 5:
        return _glyph_slip(word, section)
    if (synonym := _synonym_slip(word)) is not None and synonym in weight:
        return synonym
    close = difflib.get_close_matches(word, list(weight), n=1, cutoff=0.8)
    if close and len(word) - len(close[0]) >= 2 and word.startswith(close[0]):
        return None  # "seconded" is not "second" misread: another word made from it, not an OCR slip
    return close[0] if close else _glyph_slip(word, section)  # "llired": two letters for one


# Letters OCR reads one for another in a fax's small print ("Date horn", "Period trom", "Sturt date",
# "Hire dato", "Work sile"), and the pairs of letters it reads for one and the one for two ("Where
# bom", "llired in the U.S.").
_LOOKALIKE = {"h": "b", "b": "h", "c": "e", "e": "co", "i": "l", "l": "it", "t": "fl", "f": "t", "n": "u",
              "u": "n", "o": "ae", "a": "o", "v": "y", "y": "v"}
_LOOKALIKE_PAIRS = (("m", "rn"), ("rn", "m"), ("ll", "h"), ("li", "h"), ("cl", "d"))


def _slips(word: str) -> set[str]:
    """Every word `word` may be with one look-alike letter or pair put right, or (a word of four
    letters or more) with one letter that a broken stroke lost put back ("bith")."""
    out = {word[:k] + alt + word[k + 1:] for k, c in enumerate(word) for alt in _LOOKALIKE.get(c, "")}
    for seen, meant in _LOOKALIKE_PAIRS:
        at = word.find(seen)
        while at >= 0:
            out.add(word[:at] + meant + word[at + len(seen):])
            at = word.find(seen, at + 1)
    if len(word) >= 4:
        out |= {word[:k] + c + word[k:] for k in range(1, len(word) + 1) for c in "abcdefghijklmnopqrstuvwxyz"}
    return out


@lru_cache(maxsize=4096)
def _glyph_slip(word: str, section: str | None) -> str | None:
    """The vocabulary's word for a word one slip of `_slips` off it ("horn" is "born", a birth;
    "trom" is "from"), when only one word is so close; else None."""
    weight = _index(section)[1]
    found: set[str] = set()
    for cand in _slips(word):
        lemma = _lemma(cand)
        mapped = _SYNONYMS[lemma] if lemma is not None else (cand,)
        if mapped[0] in weight:
            found.add(mapped[0])
    return found.pop() if len(found) == 1 else None


def _slipped(word: str, section: str | None) -> bool:
    """Whether `word` was read as the vocabulary's word through a look-alike slip (scored lower)."""
    known = _known(word, section)
    return known not in (word, None) and (len(word) < 5 or _synonym_slip(word) is not None
                                           or known == _glyph_slip(word, section))


def _synonym_slip(word: str) -> str | None:
    """The vocabulary's word for a long word one letter off exactly one long synonym ("hxpatriate"
    is "expatriate", an employee), else None: `_known` finds the vocabulary's own words so."""
    if len(word) < 7:
        return None
    close = {_SYNONYMS[s] for s in _SYNONYMS if len(s) == len(word) and
             sum(a != b for a, b in zip(s, word, strict=True)) == 1}
    return next(iter(close))[0] if len(close) == 1 and len(next(iter(close))) == 1 else None


@lru_cache(maxsize=4096)
def classify(label: str, section: str | None = None, leaves: frozenset[str] | None = None) -> tuple[str, float] | None:
    """The field a whole label most likely names and a score in [0, 1], or None without a clue.

    `leaves`: only fields ending so ("start_date", ...): the value's type already says which kind of
    field it is ("Last day abroad: 2028-10-21" is a date, so not the last name).
    """
    ranked = scores(label, section, leaves)
    if not ranked:
        return None
    fld, score = ranked[0]
    if len(ranked) > 1 and score - ranked[1][1] < MARGIN:
        score = min(score, PLACE - 0.01)  # two fields as close: offered, never placed
    return fld, round(score, 3)


def _rejoined(raw: tuple[str, ...], section: str | None) -> tuple[str, ...]:
    """The label's words with a word OCR cut in two joined again ("Date of bi rth"): two pieces
    next to each other, one of them no word the vocabulary knows, that together are one it knows."""
    out = list(raw)
    k = 0
    while k + 1 < len(out):
        a, b = out[k], out[k + 1]
        if (_known(a, section) is None or _known(b, section) is None) and _known(a + b, section) == a + b:
            out[k:k + 2] = [a + b]
        k += 1
    return tuple(out)


@lru_cache(maxsize=4096)
def scores(label: str, section: str | None = None,
           leaves: frozenset[str] | None = None) -> tuple[tuple[str, float], ...]:
    """Every field the words of `label` point to, best first, with its score in [0, 1] (a sheet's
    column weighs these against what its cells hold); `leaves` as for `classify`."""
    raw = _rejoined(content_words(_HINTS.sub(" ", label)), section)
    if leaves is not None:  # among dates, "first day" is the start and "last day" the end
        raw = tuple(_DATE_SENSE.get(w, w) for w in raw)
    words = frozenset(k for w in raw if (k := _known(w, section)) is not None)
    if not words:
        return ()
    unknown = len(raw) - len(words)
    entries, weight = _index(section)
    having, entry_weight = _postings(section)
    best: dict[str, float] = {}
    total_s = sum(weight[w] for w in words) + unknown * 1.5
    for at in sorted({at for w in words for at in having.get(w, ())}):  # in the entries' order, as ties go
        ewords, fld = entries[at]
        common = words & ewords
        if leaves is not None and fld.rsplit(".", 1)[-1] not in leaves:
            continue
        hit = sum(weight[w] for w in common)
        precision = hit / total_s
        recall = hit / entry_weight[at]
        f1 = 2 * precision * recall / (precision + recall)
        if f1 > best.get(fld, 0.0):
            best[fld] = f1
    if any(_slipped(w, section) for w in raw):
        best = {f: min(v, GLYPH_SLIP_SCORE) for f, v in best.items()}  # a guess from look-alike letters
    if _head_word(label) in ("name", "names"):
        best = {f: v for f, v in best.items() if f.rsplit(".", 1)[-1].endswith("name")
                or f.rsplit(".", 1)[-1] == "business"} or best
    return tuple(sorted(best.items(), key=lambda kv: -kv[1]))


def _head_word(label: str) -> str | None:
    """The noun a label is about: its last word before "of"/"for"/"at" ("Last name of employee",
    "Personal name"). A label about a name names a name field, whatever its other words
    ("personal" also stands in "personal number", an identifier)."""
    toks = [t.text for t in _tokens(_HINTS.sub(" ", label))]
    for k, w in enumerate(toks):
        if w in ("of", "for", "at") and k:
            toks = toks[:k]
            break
    return toks[-1] if toks else None


# ------------------------------------------------------------------------------ segmentation

_HINTS = re.compile(r"\(([^()]*)\)|\[([^\[\]]*)\]")
_SEPARATOR = re.compile(r"\s*(?::|;|\?|\.{2,}|…+|(?:\s?\.){3,}|(?:\s\.){2,}(?=\s)|_{2,}|\t|\s{2,}|\s[-–—=>]+\s|=)\s*")
# The characters a `_SEPARATOR` match can begin with, besides white space (`\s` is `str.isspace`):
# a letter never starts one, so `segment` tries the pattern only where one may start.
_SEPARATOR_START = frozenset(":;?.…_=")
_LABELISH = re.compile(r"^[A-Za-z][A-Za-z'’./#&\- ]*$")
# Hints about a value's form, not its meaning: left out when the label is classified.
_FORMAT_HINT = re.compile(r"\b(?:mm|dd|yy|yyyy|month|day|year|digits?|code|if known|if any|optional|last|first|"
                          r"surname|given|mi|city|state|street|nn|n|as on|as shown|print|capitals)\b", re.I)


def segment(text: str, start: int = 0) -> tuple[int, int, tuple[str, ...]] | None:
    """(end of the label, start of the value, hints) when a separator follows a label-like text.

    A separator inside a hint's parentheses does not count ("(dd/mm/yyyy)"), unless the hint is
    never closed on the line: a label wrapped in its table cell ("SSN (9" over "digits)") ends
    at its column's tab stop all the same."""
    found = _segment(text, start, nested=False)
    if found is None and text.count("(", start) + text.count("[", start) > \
            text.count(")", start) + text.count("]", start):
        found = _segment(text, start, nested=True)
    return found


def _segment(text: str, start: int, *, nested: bool) -> tuple[int, int, tuple[str, ...]] | None:
    depth = 0
    i = start
    while i < len(text):
        c = text[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth = max(0, depth - 1)
        elif (depth == 0 or nested) and i > start and (c in _SEPARATOR_START or c.isspace()):
            m = _SEPARATOR.match(text, i) or _after_hint(text, start, i)
            if m and m.end() > m.start() and (depth == 0 or "\t" in m.group() or ":" in m.group()):
                hints = tuple(h.strip() for a, b in _HINTS.findall(text[start:i]) if (h := a or b).strip())
                return i, m.end(), hints
        i += 1
    return None


_ABBREVIATION_COMMA = re.compile(r"(?<=\s)(no|nr|num|tel|ph|fed|reg|dept),(?=\s|$)", re.IGNORECASE)
_HINT_GAP = re.compile(r"\s+(?=[^\s(\[])")


def _after_hint(text: str, start: int, i: int) -> re.Match[str] | None:
    """The space after a hint about the value's form that closes a label ("Name (last, first) Roe,
    Jo", "Return date (DD.MM.YYYY) 22.09.2031": a typewriter's tab no wider than a space), as a
    separator; not before a second hint, nor after a hint about meaning ("Employer (U.S.) address")."""
    if text[i - 1] != ")" or (opened := text.rfind("(", start, i)) < 0 or \
            not _FORMAT_HINT.search(text[opened:i]) or not _labelish(text[start:opened]):
        return None
    m = _HINT_GAP.match(text, i)
    if m is None or _SEPARATOR.search(text, m.end()) or text[m.end():].split(maxsplit=1)[0].casefold() in _STOP:
        return None  # "Place (city, state) of birth ____ Boise, ID": the label goes on to its separator
    return m


def _labelish(label: str, section: str | None = None, *, extra: bool = False) -> bool:
    """Words a label is made of: letters, no digits (a value's), no '@', not too many. The words
    that follow a known label must be label words too: "Name Jane Doe  SSN ..." has a value in it."""
    bare = _HINTS.sub(" ", _ABBREVIATION_COMMA.sub(r"\1.", label)).strip()
    if not bare or not _LABELISH.match(bare) or len(bare.split()) > 9:
        return False
    if extra:
        for t in _tokens(bare):
            w = t.text
            if w in _STOP or w in _SYNONYMS or _known(_stem(w), section) is not None:
                continue
            if bare[t.start:t.start + 1].islower() and len(w) > 2:
                continue  # "Name of the posted worker": a word written small is the label's, a name's is not
            return False
    return True


def _for_meaning(label: str) -> str:
    """The label without its format hints; a hint about place ("(abroad)", "(U.S.)") stays."""
    return _HINTS.sub(lambda h: " " if _FORMAT_HINT.search(h.group()) else " " + h.group()[1:-1] + " ", label)
