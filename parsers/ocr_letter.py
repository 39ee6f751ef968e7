"""The OCR'd pages of one faxed or scanned letter, read together as one letter.

A letter's label at the foot of a page has its value at the top of the next one ("Foreign company"
| page 2 | "Cierdrax Instruments SARL"), and the label finder pairs them when it sees the pages'
lines together, as it does for a text PDF's pages. What stands between them on a fax is the fax
machine's header line atop the next page ("NOV-20-2026 09:13 FROM: ... P.2/2"): printed in the top
margin, above any line of the letter. On the pages after the first it is taken out of the lines
read (its text stays in the page's text); the first page's header is kept, since it carries the
sender's name and number.

A line that is only leader is a ruled line no label or value stands on: the bottom edge of a table's
label cell, where its value wrapped onto a second line ("3024 Chiethmi Street, Myndtra," | rule |
"NC 60870"), or an underline under a label written above its value. It separates nothing, and read
as a line it would stand between a value and its continuation, so it is left out too.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import replace

from parsers import email_names, form_words, ocr_labels, postcodes
from parsers.layout import Line, Word, lines_from_words
from parsers.ocr import LOW_CONFIDENCE
from parsers.page_read import find_on_page
from parsers.types import Candidate, Part

# A fax header is printed within the top ~0.2 in of the page (0.013 of its height in the faxes
# seen); a letter's own text starts below a margin of half an inch or more (0.045 of 11 in).
HEADER_BAND = 0.035
COLUMN_SLACK = 0.008  # a value column's words start within this of one another (of the page's width)


_LEADER = re.compile(r"[._]{3,}")


def _only_leader(line: Line) -> bool:
    return all(_LEADER.fullmatch(w.text) or w.text == "\t" for w in line.words)


# A short function word with a digit OCR read for its look-alike letter ("Who 1s going", "Date 0f
# birth"): between two words of letters no number is written so.
_DIGIT_WORDS = {"1s": "is", "1n": "in", "0f": "of", "0n": "on", "t0": "to", "1f": "if"}


# ... and "is" read with an 8 for its s after a question's word ("Who 18 going"): no number stands there.
_QUESTION_WORDS = frozenset({"who", "what", "where", "when", "which", "how"})


def _digit_words(line: Line) -> Line:
    """`line` with each `_DIGIT_WORDS` word between two words of letters put right."""
    words = line.words
    fixed = [replace(w, text=_DIGIT_WORDS[w.text]) if w.text in _DIGIT_WORDS and 0 < k < len(words) - 1
             and words[k - 1].text.isalpha() and words[k + 1].text.isalpha() else
             replace(w, text="is") if w.text == "18" and 0 < k < len(words) - 1 and
             words[k - 1].text.casefold() in _QUESTION_WORDS and words[k + 1].text.isalpha() else w
             for k, w in enumerate(words)]
    return line if fixed == words else replace(line, words=fixed)


def _opens_hint(words: list[Word]) -> bool:
    text = " ".join(w.text for w in words)
    return text.count("(") > text.count(")")


def _cell_tabs(lines: list[Line]) -> list[Line]:
    """A table's label wrapped in its cell ("Name of person (surname," over "given name)") with its
    value OCR read one word space after the cut hint, no tab between: the tab is put back where
    the page's value column starts (the words after the other rows' tabs start there), and the
    hint's rest under it ("given name)") is no label of its own: it is left out."""
    starts = [box.x0 for ln in lines for k in range(len(ln.words) - 1)
              if ln.words[k].text == "\t" and (box := ln.words[k + 1].box) is not None]
    if len(starts) < 3:
        return lines
    col = statistics.median(starts)
    if sum(abs(x - col) <= COLUMN_SLACK for x in starts) < 0.6 * len(starts):
        return lines  # no one value column
    out: list[Line] = []
    cut = False  # the line before was a label whose hint its cell cut
    for ln in lines:
        words = ln.words
        if _only_leader(ln):  # the cell's bottom rule between (left out of the letter's lines)
            out.append(ln)
            continue
        if cut and not _opens_hint(words) and " ".join(w.text for w in words).count(")") == 1 and \
                " ".join(w.text for w in words).rstrip().endswith(")"):
            cut = False
            continue  # "given name)": the cut hint's end
        cut = False
        if any(w.text == "\t" for w in words):
            out.append(ln)
            continue
        at = next((k for k in range(1, len(words)) if (box := words[k].box) is not None
                   and abs(box.x0 - col) <= COLUMN_SLACK and _opens_hint(words[:k])), None)
        if at is None:
            out.append(ln)
            continue
        out.append(replace(ln, words=[*words[:at], Word("\t", None, words[at - 1].conf, words[at].page), *words[at:]]))
        cut = True
    return out


def _continuation_header(line: Line, first: bool) -> bool:
    box = line.box
    return not first and box is not None and box.y1 <= HEADER_BAND


def read_letter(pages: list[tuple[int, list[Word]]], part: Part, sure: set[str]) -> tuple[list[Candidate], list[str]]:
    """Candidates of the OCR'd pages read as one letter, and each page's text (in `pages`' order).

    `pages`: (page number, that page's words), in page order, pages with no words left out.
    """
    if not pages:
        return [], []
    read: list[Line] = []
    texts: list[str] = []
    for k, (_number, words) in enumerate(pages):
        lines = ocr_labels.mend(_cell_tabs([_digit_words(line) for line in lines_from_words(words, tabs=True)]))
        texts.append("\n".join(line.text for line in lines))
        read += [line for line in lines if not _continuation_header(line, k == 0) and not _only_leader(line)]
    found, _text = find_on_page(read, part, "ocr", pages[0][0], sure)
    found = _name_by_domain(_same_domain(_signer_not_worker([_city_piece(_street_type(c)) for c in found])))
    found = _same_domain(found)  # the company's name put right by its addresses now spells their one domain
    # As on our form: a postal code put right by its country's pattern, a doubted address by the
    # names it is made of, each flagged (`postcodes`, `email_names`).
    return email_names.settle(postcodes.settle(found, _doubted), _doubted, _name_vouches), texts


def _name_vouches(c: Candidate) -> bool:
    """A letter's name vouches for the address made of it unless its reader doubted it: OCR reads
    a name, set in words of its own, better than the one long word of an address, even unsure."""
    return c.uncertain is None


def _doubted(c: Candidate) -> bool:
    """A letter's value goes to staff when its reader doubted it or OCR was unsure (`merge`)."""
    return c.uncertain is not None or c.confidence < LOW_CONFIDENCE


DOMAIN = "read {!r}: one letter off the domain the company's name spells and another address has"


def _spelt(label: str, company: str) -> bool:
    """`label` (a domain's name, "acmeengi") is the company's name run together as addresses are
    made of it: its first word, and the start of its second ("Acme Engineering Inc." -> "acmeengi")."""
    words = re.findall(r"[a-z]+", company.casefold())
    if not words or not label.startswith(words[0]):
        return False
    rest = label[len(words[0]):]
    return not rest or (len(words) > 1 and len(rest) >= 2 and words[1].startswith(rest))


def _same_domain(found: list[Candidate]) -> list[Candidate]:
    """Two of the letter's addresses with domains one letter apart ("acmeengi" / "acmeeugi", "acmeenngi") are
    the company's one domain: when only one of them is spelt by the company's name, the other is
    put right, flagged (OCR misread the letter; the name and the other address agree)."""
    companies = [c.value for c in found if c.field in ("employer.name", "assignment.host_name")]
    mails = [c for c in found if "email" in c.field and c.value.count("@") == 1 and "." in c.value.split("@")[1]]
    labels = {c.value.split("@")[1].split(".")[0] for c in mails}
    spelt = {d for d in labels if any(_spelt(d, name) for name in companies)}
    if len(spelt) != 1:
        return found
    good, ids = spelt.pop(), {id(c) for c in mails}
    return [_domain_put_right(c, good) if id(c) in ids else c for c in found]


NAME_BY_DOMAIN = "read {!r}: one letter off what the company's e-mail domain spells"


def _name_by_domain(found: list[Candidate]) -> list[Candidate]:
    """The employer's name whose second word starts one character off what its addresses' domain
    spells after the first ("Acme Rohotics" / "acmerobo.com"): that character OCR misread, put
    right and flagged, when two addresses agree on the domain or the character is no letter
    ("Rob»tics"); one address against one name says nothing of which is wrong."""
    labels = [c.value.split("@")[1].split(".")[0] for c in found
              if "email" in c.field and c.value.count("@") == 1 and "." in c.value.split("@")[1]]
    return [_spelt_right(c, labels) if c.field == "employer.name" else c for c in found]


def _first_word_right(c: Candidate, labels: list[str]) -> Candidate | None:
    """`c` (the employer's name) with its first word put right by the domains' start when one
    character of it is off what they spell ("Shoxtick Freight Co." / "shoxrick...", "Thune.ork"):
    two addresses agree, or the character is no letter; else None."""
    words = c.value.split()
    head = words[0]
    for label in dict.fromkeys(labels):
        if len(label) <= len(head) or not head.isascii():
            continue
        off = [k for k in range(len(head)) if head[k].casefold() != label[k]]
        if len(off) != 1 or not head[:off[0]].isalpha() or not head[off[0] + 1:].isalpha():
            continue
        k = off[0]
        fixed = head[:k] + (label[k].upper() if head[k].isupper() else label[k]) + head[k + 1:]
        if sum(x.startswith(fixed.casefold()) for x in labels) >= 2 or not head[k].isalpha():
            return c.model_copy(update={"value": " ".join([fixed, *words[1:]]),
                                        "uncertain": c.uncertain or NAME_BY_DOMAIN.format(c.value)})
    return None


def _spelt_right(c: Candidate, labels: list[str]) -> Candidate:
    """`c` (the employer's name) put right by one of the domains `labels` (see `_name_by_domain`)."""
    words = c.value.split()
    if len(words) < 3:
        return c
    if (first := _first_word_right(c, labels)) is not None:
        return first
    head, second = words[0].casefold(), words[1]
    for label in dict.fromkeys(labels):
        rest = label[len(head):] if label.startswith(head) else ""
        if len(rest) < 3 or len(second) < len(rest):
            continue
        off = [k for k in range(len(rest)) if second[k].casefold() != rest[k]]
        if len(off) == 1 and (labels.count(label) >= 2 or not second[off[0]].isalpha()):
            k = off[0]
            fixed = second[:k] + (rest[k].upper() if second[k].isupper() else rest[k]) + second[k + 1:]
            return c.model_copy(update={"value": " ".join([words[0], fixed, *words[2:]]),
                                        "uncertain": c.uncertain or NAME_BY_DOMAIN.format(c.value)})
    return c


def _one_off(label: str, good: str) -> bool:
    """`label` is `good` with one letter misread, or one read twice or lost (`heathhbrack`)."""
    if len(label) == len(good):
        return sum(a != b for a, b in zip(label, good, strict=True)) == 1
    short, long_ = sorted((label, good), key=len)
    return len(long_) - len(short) == 1 and any(long_[:k] + long_[k + 1:] == short for k in range(len(long_)))


def _domain_put_right(c: Candidate, good: str) -> Candidate:
    """`c`'s address with the domain name `good` when its own is one letter off it, else `c`."""
    local, _, domain = c.value.partition("@")
    label = domain.split(".")[0]
    if label == good or not _one_off(label, good):
        return c
    return c.model_copy(update={"value": f"{local}@{good}{domain[len(label):]}",
                                "uncertain": c.uncertain or DOMAIN.format(domain)})


# The small words a town's name links its parts with ("Frankfurt am Main", "Kingston upon Hull",
# "Rio de Janeiro"): any other word written small in a city is a piece OCR cut off the word before.
_CITY_LINKS = {"am", "an", "im", "in", "upon", "on", "sur", "sous", "en", "les", "de", "la", "le", "di",
               "der", "den", "del", "da", "do", "dos", "das", "du", "bei", "ob", "vor", "the", "under",
               "at", "by", "aan", "op", "zum", "zur", "over", "van", "von", "et", "lès", "ad", "al"}
CITY_PIECE = "read {!r}: one word OCR cut in two?"


def _city_piece(c: Candidate) -> Candidate:
    """A city OCR cut in two ("June jass" for "Junejass"): a word written small that links no parts
    of a town's name goes on the capitalised word before it, flagged."""
    if not c.field.endswith(".city"):
        return c
    m = re.fullmatch(r"(.*?\b[A-Z][a-z]+) ([a-z]{2,})\b(.*)", c.value)
    if m is None or m[2] in _CITY_LINKS:
        return c
    return c.model_copy(update={"value": m[1] + m[2] + m[3],
                                "uncertain": c.uncertain or CITY_PIECE.format(m[1].split()[-1] + " " + m[2])})


_NAME_PARTS = ("worker.first_name", "worker.middle_name", "worker.last_name", "worker.name")
SIGNER = "another name under a label read as the worker's was the letter's signer's"


def _name_words(text: str) -> list[str]:
    return sorted(re.findall(r"[^\W\d_][\w'-]*", text.casefold()))


def _signer_not_worker(found: list[Candidate]) -> list[Candidate]:
    """The worker's name read under two labels, one of them the letter's signer's (its contact's):
    that label, OCR garbled ("Hi person" for "HR person"), was the contact's. Its name leaves the
    worker's fields, and the other name stays, flagged. Only when exactly one name is not the
    signer's: a worker writing for themselves signs with their own name."""
    signers = {" ".join(_name_words(c.value)) for c in found if c.field == "employer.contact_name"}
    groups: dict[str | None, list[Candidate]] = {}
    for c in found:
        if c.field in _NAME_PARTS:
            groups.setdefault(c.provenance.label, []).append(c)
    if len(groups) < 2 or not signers:
        return found
    said = {label: " ".join(_name_words(" ".join(c.value for c in cs))) for label, cs in groups.items()}
    signed = [label for label, name in said.items() if name in signers]
    others = [label for label, name in said.items() if name not in signers]
    if not signed or len(others) != 1:
        return found
    drop = {id(c) for label in signed for c in groups[label]}
    keep = {id(c) for c in groups[others[0]]}
    return [c.model_copy(update={"uncertain": c.uncertain or SIGNER}) if id(c) in keep else c
            for c in found if id(c) not in drop]


_STREET_TYPES = ("Road", "Street", "Avenue", "Drive", "Lane", "Parkway", "Boulevard", "Court", "Place", "Way")


def _type_slip(street: str) -> str | None:
    """A U.S. street ("713 Hamsil Roud, Suite 262") whose type word is one letter off exactly one
    street type: the street with that type; else None."""
    m = re.match(r"(\d+\s+[A-Z][a-z]+\s+)([A-Z][a-z]{3,8})(?=,|$)", street)
    if m is None or m[2] in _STREET_TYPES:
        return None
    close = [t for t in _STREET_TYPES if len(t) == len(m[2]) and sum(a != b for a, b in zip(t, m[2], strict=True)) == 1]
    return street[:m.start(2)] + close[0] + street[m.end(2):] if len(close) == 1 else None


def _street_type(c: Candidate) -> Candidate:
    """A street whose type OCR misread through its thin strokes (`Bivd`, `Roud`) put right, and flagged:
    its other words may be read alike, and a person checks it (`form_words.street_type_slip`)."""
    if not c.field.endswith(".street") or \
            (fixed := form_words.street_type_slip(c.value) or _type_slip(c.value)) is None:
        return c
    return c.model_copy(update={"value": fixed, "uncertain": c.uncertain or
                                f"read {c.value!r}: a street type with an i for an l?"})


def by_page(found: list[Candidate], numbers: list[int]) -> dict[int, list[Candidate]]:
    """The letter's candidates by the page they were read on (each page's boxes are levelled and
    re-read with that page's image); one without a page of `numbers` goes with the first."""
    out: dict[int, list[Candidate]] = {n: [] for n in numbers}
    for c in found:
        out[c.provenance.page if c.provenance.page in out else numbers[0]].append(c)
    return out
