"""Where a label's value lies among the lines of a part: beside it, under it, on the lines after.

The geometry half of the label finder (`parsers.fields`): which line is a label or heading, which
can be a value, an address continued onto the next lines, a value across a page break.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from parsers.artefacts import legal_form_comma
from parsers.evidence import _FOREIGN_FORM, _US_FORM
from parsers.field_checks import (
    _box,
    _is_dependents_header,
    _odd_abroad,
    _open_end,
    _text,
    _v_overlap,
    _wants_more,
)
from parsers.label_whole import whole_label
from parsers.label_words import (
    PLACE,
)
from parsers.labels import LabelMatch, match_label_at, match_section
from parsers.layout import Line, Word
from parsers.postcodes import postal_slip
from parsers.types import Box, Method
from parsers.values import (
    has_shape,
    normalize,
    parse_country,
    parse_email,
)


def _legal_form(text: str, *, alone: bool = False) -> bool:
    """`text` ends in a company's legal form ("Acme L.L.C."); `alone`: is one and nothing else."""
    return any(m is not None and (not alone or m.start() == 0)
               for m in (_US_FORM.search(text), _FOREIGN_FORM.search(text)))


# The end of a domain a line cut off: "om", "com", "i.com", ".co.uk", "-logistics.com".
_DOMAIN_TAIL = re.compile(r"[.-]?[a-z0-9-]{0,20}(?:\.[a-z0-9-]{1,20}){0,3}", re.IGNORECASE)
WRAP_DOUBT = 0.80  # as an OCR'd word a removed line crossed (`ocr_repair.CROSSED_CONFIDENCE`)


_CO_OPEN = re.compile(r"&\s*Co\.?$")  # a partnership's form waiting for its kind ("GmbH & Co." over "KG")


@dataclass
class LineReader:
    """The lines of one part and which are taken: where a label's value lies (beside it, under it,
    on the next lines) for the label finder that subclasses it."""

    lines: list[Line]
    part: str
    method: Method
    section: str | None = None
    self_employed: bool = False
    used: set[int] = field(default_factory=set)
    by_page: dict[int | None, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # positional look-ups stay within a page: linear per page, not per document
        for j, ln in enumerate(self.lines):
            if ln.box is not None:
                self.by_page.setdefault(ln.page, []).append(j)

    # ---------------------------------------------------------------------------------- helpers
    def _section_for_labels(self) -> str | None:
        """A "Contact" block belongs to the worker when the request is a self-employed one."""
        if self.section == "contact" and self.self_employed:
            return "worker"
        return self.section

    def _label(self, text: str) -> LabelMatch | None:
        section = self._section_for_labels()
        return whole_label(text, match_label_at(text, section), section)

    def _is_label_or_heading(self, text: str) -> bool:
        if not text.strip():
            return True
        if match_section(text) is not None or _is_dependents_header(text):
            return True
        m = match_label_at(text, self._section_for_labels())
        return m is not None and (m.separator or not m.strict)

    def _sentence_goes_on(self, i: int) -> bool:
        """Line `i` ends a sentence wrapped from the line above ("We ask for ... for the following"
        over "assignment:"): it starts written small, right under prose that ends in a word. It is
        no heading: "assignment:" there opens no section of the host's labels."""
        text, own = self.lines[i].text.lstrip(), self.lines[i]
        if i == 0 or not text[:1].islower():
            return False
        above = self.lines[i - 1]
        prev = above.text.rstrip()
        if above.page != own.page or len(prev.split()) < 4 or not prev[-1:].isalpha() or \
                sum(w[:1].islower() for w in prev.split()) < 2:
            return False
        a, b = above.box, own.box
        return a is None or b is None or b.y0 - a.y1 < 1.5 * max(a.y1 - a.y0, b.y1 - b.y0)

    def _same_row(self, i: int) -> list[int]:
        """Indices of the lines on the same visual row as line `i` (itself only without positions)."""
        box = self.lines[i].box
        if box is None:
            return [i]
        page = self.lines[i].page
        return [j for j in self.by_page.get(page, [])
                if (b := self.lines[j].box) is not None and _v_overlap(box, b) >= 0.5]

    # ------------------------------------------------------------------------- value beside label
    def _could_be_value(self, words: list[Word], fld: str) -> bool:
        """Not another label or heading, unless it reads as this field's value ("Employee" under
        "Request type" is a heading word and the answer)."""
        text = _text(words)
        if not text.strip():
            return False
        if self._labelled(text):
            return False  # a label with its own value ("Request type: Employee") answers itself
        if not self._is_label_or_heading(text):
            return True
        return has_shape(fld) and normalize(fld, text)[1] is None

    def _labelled(self, text: str) -> bool:
        """A label of its own with its value after a separator ("Name (last, first) ____ Roe, Jo"):
        no value of the line above (a sentence wrapped to "assignment:" over it)."""
        m = self._label(text)
        return m is not None and bool(m.separator) and bool(text[m.end:].strip(" \t._:"))

    def _beside(self, i: int, label_words: list[Word], fld: str) -> tuple[list[Word], int | None]:  # noqa: C901, PLR0912  (the places a value lies beside its label: right, under, next line)
        """The value of a label with nothing after it: right of it, under it, or the next line."""
        lb = _box(label_words)
        if lb is None:
            j = i + 1
            if j + 1 < len(self.lines) and not self.lines[j].text.strip() and j not in self.used:
                j += 1  # a label over its value with an empty line between them
            if j < len(self.lines) and j not in self.used and self._could_be_value(self.lines[j].words, fld):
                return self.lines[j].words, j
            return [], None
        page = self.lines[i].page
        h = lb.y1 - lb.y0
        right: tuple[float, int] | None = None
        below: tuple[float, float, int] | None = None
        for j in self.by_page.get(page, []):
            box = self.lines[j].box
            if j == i or j in self.used or box is None:
                continue
            if _v_overlap(lb, box) >= 0.5 and box.x0 >= lb.x1 - 0.2 * h:
                d = box.x0 - lb.x1
                if right is None or d < right[0]:
                    right = (d, j)
            elif box.y0 >= lb.y1 - 0.3 * h and box.y0 - lb.y1 <= 3 * h and \
                    box.x0 < lb.x1 + h and box.x1 > lb.x0 - h:
                cand = (round(box.y0 - lb.y1, 4), abs(box.x0 - lb.x0), j)
                if below is None or cand < below:
                    below = cand
        # right first, then under; a candidate that reads as the field's value beats one that does
        # not ("Page 1 of 2" to the right of "SSN", the number under it)
        options = [j for j in (right[1] if right else None, below[2] if below else None)
                   if j is not None and self._could_be_value(self.lines[j].words, fld)]
        for j in options:
            if normalize(fld, self.lines[j].text)[1] is None:
                return self.lines[j].words, j
        if options:
            return self.lines[options[0]].words, options[0]
        on_page = self.by_page.get(page, [])
        if on_page and i == max(on_page, key=lambda k: ((b := self.lines[k].box) is not None and b.y0) or 0.0):
            # the label ends its page: its value opens the next one ("Address abroad" | page 2)
            nxt = [k for k in self.by_page.get((page or 0) + 1, []) if k not in self.used]
            if nxt:
                j = min(nxt, key=lambda k: (((b := self.lines[k].box) is not None and b.y0) or 0.0, k))
                if self._could_be_value(self.lines[j].words, fld):
                    return self.lines[j].words, j
        return [], None

    def _address_lines(self, i: int, words: list[Word], fld: str) -> list[Word]:
        """An address written on several lines: add the lines under its first one (at most two,
        none a label, aligned with it when positions are known) until it reads as an address."""
        if normalize(fld, _text(words))[1] is None and not _wants_more(fld, _text(words)):
            return words
        box = _box(words)
        own = self.lines[i].box
        margin = own.x0 if own is not None else -1.0  # a wrapped line may start under the label
        start = max([i, *(k for k, ln in enumerate(self.lines) if any(w in ln.words for w in words[:1]))])
        joined = list(words)
        first = joined  # the address with the first line under it taken
        taken: list[int] = []
        for j in range(start + 1, min(start + 3, len(self.lines))):
            ln = self.lines[j]
            if j in self.used or not ln.words or self._is_label_or_heading(ln.text) or \
                    ((lm := self._label(ln.text)) is not None and lm.separator and (
                        not ln.text[lm.end:].strip() or (lm.score >= PLACE and re.search(r"\t|__|\.\.", ln.text)))):
                break  # a label, its value beside it or after its gap ("Site of the work<tab>", "Country ____ Finland")
            lb = ln.box
            if box is not None and (lb is None or ln.page != self.lines[i].page
                                    or min(abs(lb.x0 - box.x0), abs(lb.x0 - margin)) > 3 * (box.y1 - box.y0)
                                    or lb.y0 - box.y1 > 2 * (box.y1 - box.y0)):
                break
            last = joined[-1]
            # a line break is a comma ("Main St" over "Boise, ID") or a wrap inside a part ("117,
            # 384-7494" over "Tairthien, Japan": the code and its city): the reading that is whole
            comma = [*joined[:-1], Word(last.text.rstrip(",") + ",", last.box, last.conf, last.page, last.at),
                     *ln.words]
            wrap = [*joined, *ln.words]
            if not last.text.endswith(",") and (_open_end(_text(joined)) or (
                    _odd_abroad(fld, _text(comma)) and not _odd_abroad(fld, _text(wrap)))):
                joined = wrap  # "Keizersgracht 14, 1015 CX" over "Amsterdam, the Netherlands": the code goes on
            else:
                # a wrap whose postal code OCR misread reads whole once the code is put right
                # ("..., Cefun C3L" over "4s5, Canada"), where the comma reading cuts the code
                mended = postal_slip(_text(wrap)) if self.method == "ocr" else None
                short = _wants_more(fld, _text(wrap)) and (mended is None or _wants_more(fld, mended))
                joined = comma if last.text.endswith(",") or short or not _wants_more(fld, _text(comma)) else wrap
            taken.append(j)
            if len(taken) == 1:
                first = list(joined)
            if box is not None and lb is not None:
                box = Box(x0=box.x0, y0=lb.y0, x1=box.x1, y1=lb.y1)
            if normalize(fld, _text(joined))[1] is None and not _wants_more(fld, _text(joined)):
                self.used.update(taken)
                return self._country_line(j, joined, fld)
        return self._taken(fld, words, (joined, first), taken)

    def _taken(self, fld: str, words: list[Word], joined_first: tuple[list[Word], list[Word]],
               taken: list[int]) -> list[Word]:
        """What `_address_lines` keeps when no reading was whole and short of nothing: all the lines
        it took when only they make the address read, the first one when the address's line ended
        in a comma ("..., Vansylt Z5F ON7," over "Canada"), else the line alone."""
        joined, first = joined_first
        whole, alone = normalize(fld, _text(joined)), normalize(fld, _text(words))
        if taken and whole[1] is None and (alone[1] is not None or (
                len(whole[0]) > len(alone[0]) and whole[0][:len(alone[0]) - 1] == alone[0][:-1])):
            # only the lines together read, or they read more of it, the line's own parts but its
            # last as they were ("22 Fouthork Street, Cefun C3L" over "4s5, Canada")
            self.used.update(taken)
            return joined
        if taken and _text(words).rstrip().endswith(",") and normalize(fld, _text(first))[1] is None:
            self.used.add(taken[0])
            return first
        return words

    def _name_goes_on(self, i: int, words: list[Word]) -> list[Word]:
        """A faxed name written family name first ("Roe, Jo") whose last given name or initial the
        line's end pushed under it ("Lura", "Y."): a line of one capitalised word, no label, with a
        labelled line after it (so it is no label over its own value that OCR garbled)."""
        j = i + 1
        if "," not in _text(words) or j + 1 >= len(self.lines) or j in self.used:
            return words
        one = self.lines[j].words
        if len(one) != 1 or not re.fullmatch(r"[A-Z](?:[a-z'-]{1,20}|\.)?", one[0].text) or \
                self._is_label_or_heading(self.lines[j].text) or not self._labelled(self.lines[j + 1].text):
            return words
        self.used.add(j)
        return [*words, *one]

    def _wrapped(self, i: int, words: list[Word]) -> list[Word]:
        """A value cut at a comma goes on on the next line ("O'Neasford," over "Herken"), when that
        line is no label and starts where the value does."""
        j = i + 1
        while j < len(self.lines) and j in self.used:
            j += 1
        if j >= len(self.lines) or not self.lines[j].words or self._is_label_or_heading(self.lines[j].text) or \
                self._labelled(self.lines[j].text):  # "Acme Co," (a dot read as a comma) over "Tax number ... 12-3"
            return words
        if self.method == "ocr" and legal_form_comma(_text(words)) is not None:
            return words  # "Acme L.L.C," ends at its legal form: the line under it is no more of it
        box, lb, own = _box(words), self.lines[j].box, self.lines[i].box
        if box is not None and (lb is None or own is None or lb.y0 - box.y1 > 2 * (box.y1 - box.y0)
                                or min(abs(lb.x0 - box.x0), abs(lb.x0 - own.x0)) > 2 * (box.y1 - box.y0)):
            return words
        self.used.add(j)
        return [*words, *self.lines[j].words]

    def _email_wrapped(self, i: int, words: list[Word]) -> list[Word]:
        """An e-mail address its line cut inside the domain goes on on the next line
        ("k.roe@acmeengi.c" over "om", "j.roe@acme." over "com"): that line one short piece of a
        domain and nothing else, right under the value or atop the next page (its header left out).
        A head that reads as an address by itself ("roe@acme.co" over "m") could have ended there:
        the joined address is trusted less than either piece (`WRAP_DOUBT`)."""
        last = words[-1]
        j = self._domain_piece(i, words)
        if j is None:
            return words
        ln, piece = self.lines[j], self.lines[j].words[0]
        conf = min(last.conf, piece.conf)
        if parse_email(last.text) is not None:
            conf = min(conf, WRAP_DOUBT)
        self.used.add(j)
        box = Box.union([b for b in (last.box, piece.box) if b is not None]) if ln.page == last.page else last.box
        return [*words[:-1], Word(last.text + piece.text, box, conf, last.page, last.at)]

    def _domain_piece(self, i: int, words: list[Word]) -> int | None:
        """The line after line `i` when it holds only the rest of the e-mail address `words` end in."""
        last = words[-1]
        j = i + 1
        while j < len(self.lines) and j in self.used:
            j += 1
        if "@" not in last.text or last.text.endswith((",", ";")) or j >= len(self.lines) or \
                len(self.lines[j].words) != 1:
            return None
        ln, piece = self.lines[j], self.lines[j].words[0]
        if not _DOMAIN_TAIL.fullmatch(piece.text) or self._is_label_or_heading(ln.text) or \
                parse_email(last.text + piece.text) is None:
            return None
        own, lb = _box(words), ln.box
        if ln.page == self.lines[i].page:  # right under the value
            near = own is None or lb is None or lb.y0 - own.y1 <= 1.5 * (own.y1 - own.y0)
            return j if near else None
        # on a later page, only its first line can go on with the value
        return None if any(k < j and self.lines[k].page == ln.page for k in range(len(self.lines))) else j

    def _country_line(self, j: int, words: list[Word], fld: str) -> list[Word]:
        """The country alone on the line after an address's last line belongs to it."""
        k = j + 1
        if k >= len(self.lines) or k in self.used:
            return words
        ln = self.lines[k]
        if not ln.words or len(ln.text) > 40 or self._is_label_or_heading(ln.text) or \
                parse_country(ln.text) is None or ln.page != self.lines[j].page:
            return words
        last = words[-1]
        joined = [*words[:-1], Word(last.text + ",", last.box, last.conf, last.page, last.at), *ln.words]
        if normalize(fld, _text(joined))[1] is not None:
            return words
        self.used.add(k)
        return joined

    def _legal_form_below(self, i: int, words: list[Word]) -> list[Word]:
        """A company's name whose legal form wrapped onto the next line ("Lainepone Instruments"
        over "L.L.C.", under the name's first letter): the form belongs to it. Only a line that is
        a legal form and nothing else, aligned with the value, never one under the label."""
        j = i + 1
        if j >= len(self.lines) or j in self.used or (_legal_form(_text(words)) and not _CO_OPEN.search(_text(words))):
            return words  # a name that ends in its form; "GmbH & Co." goes on ("KG")
        ln = self.lines[j]
        box, lb = _box(words), ln.box
        if not ln.words or len(ln.text) > 24 or not _legal_form(ln.text.strip(), alone=True) or \
                (box is not None and (lb is None or ln.page != self.lines[i].page
                                      or abs(lb.x0 - box.x0) > 2 * (box.y1 - box.y0)
                                      or lb.y0 - box.y1 > 2 * (box.y1 - box.y0))):
            return words
        self.used.add(j)
        return [*words, *ln.words]
