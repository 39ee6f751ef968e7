"""The label finder: labelled values in lines of words, from mail bodies, text PDFs and OCR alike.

A value is trusted only beside a label it can be tied to: the rest of the label's line, else (with
positions) the words to its right or under it, else (plain text) the next line. Prose without labels
is `parsers.prose`'s job; this module never guesses a value that has no label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from parsers.artefacts import DOUBT, SPECK_DOUBT, inner_speck, legal_form_comma, strip_artefacts
from parsers.columns import _ONLY_FAMILY, _ONLY_GIVEN
from parsers.evidence import (
    _DATE_ONLY,
    _FOREIGN_FORM,
    _US_FORM,
    DATE_FIELDS,
    NO_DATE_FIELD,
    disagreement,
    retarget,
    settle_dates,
)
from parsers.field_checks import (
    _ADDRESS_FIELDS,
    _ASSIGNMENT_DATES,
    _BOOL_LEAVES,
    _COMPANY_ADDRESS,
    _DATE_LEAVES,
    _DATE_VALUE,
    _DEP_HEADER_DOB,
    _DEP_HEADER_NAME,
    _DEP_HEADER_REL,
    _EMPTY,
    _FAMILY_WORDS,
    _ISO,
    _NAME_PARTS,
    _PERSON_WORDS,
    _SENT_WORDS,
    _US_WORDS,
    _WHOLE_NAMES,
    _box,
    _is_dependents_header,
    _looks_address,
    _signature_lines,
    _span,
    _split_words,
    _text,
    _type_confirms,
    by_type,
)
from parsers.field_lines import LineReader
from parsers.hints import _LAST_FIRST, apply_hints, hinted_field
from parsers.label_whole import whole_label
from parsers.label_words import (
    _HINTS,
    _STOP,
    OFFER,
    PLACE,
    SURE_WORDS,
    _for_meaning,
    _labelish,
    classify,
    content_words,
    scores,
)
from parsers.labels import LabelMatch, match_label_at, match_section
from parsers.layout import Line, Word
from parsers.postcodes import postal_slip
from parsers.types import Candidate, Method, Provenance
from parsers.value_dates import date_slip
from parsers.value_people import (
    SLIP_DOUBT,
    answer_slip,
    email_capital_i,
    email_gap,
    initial_slip,
    particle_slip,
    piece_slip,
)
from parsers.value_places import country_slip, state_slip
from parsers.values import (
    has_shape,
    normalize,
    only_particles,
    parse_bool,
    parse_country,
    parse_date,
    parse_email,
    parse_relationship,
    parse_ssn,
)


@dataclass
class _Finder(LineReader):
    out: list[Candidate] = field(default_factory=list)
    dep_index: int = -1
    dep_fields: set[str] = field(default_factory=set)
    scores: dict[int, float] = field(default_factory=dict)  # index in `out` -> its label's score
    one_word: list[tuple[str, list[Word], LabelMatch]] = field(default_factory=list)  # one-word whole names

    # ----------------------------------------------------------------------------------- emit
    def _emit(self, pairs: list[tuple[str, str]], raw: str, words: list[Word], label: str | None,
              reason: str | None) -> None:
        page = next((w.page for w in words if w.page is not None), None)
        prov = Provenance(part=self.part, page=page, box=_box(words), method=self.method, label=label,
                          span=_span(words))
        conf = min((w.conf for w in words), default=1.0)
        for fld, value in pairs:
            self.out.append(Candidate(field=fld, value=value, raw=raw, confidence=conf,
                                      provenance=prov, uncertain=reason))

    def _dependent_field(self, sub: str) -> str:
        """`dependents[k].sub`: a new dependent starts when a field of the current one repeats."""
        if self.dep_index < 0 or sub in self.dep_fields:
            self.dep_index += 1
            self.dep_fields = set()
        self.dep_fields.add(sub)
        return f"dependents[{self.dep_index}].{sub}"

    def _value(self, m: LabelMatch, raw: str, words: list[Word]) -> None:  # noqa: C901, PLR0911, PLR0912, PLR0915  (one value's checks in the order a clerk applies them; each ends the reading)
        if raw.strip().casefold().strip(" .") in _EMPTY or not raw.strip(" .:_-"):
            return
        fld = m.field
        if fld == "dependents" and self.section != "dependents" and not _FAMILY_WORDS.search(m.label or ""):
            fld = "worker.name"  # "Staff member": a member of staff, no family member
        if fld == "dependents":
            self.dep_index += 1
            self.dep_fields = {"name", "date_of_birth", "relationship"}
            base = f"dependents[{self.dep_index}]"
            pairs, reason = normalize(base, raw)
            if pairs and not any(f.endswith(".relationship") for f, _ in pairs) and reason is None:
                rel = parse_relationship(m.label)
                if rel in ("spouse", "child"):
                    pairs.append((f"{base}.relationship", rel))
            self._emit(pairs, raw, words, m.label, reason)
            return
        if fld.startswith("dependents.") and self.section != "dependents" and not _FAMILY_WORDS.search(m.label or ""):
            fld = "worker.name" if fld.endswith(".name") else fld  # "Staff member": no family member
            if fld.startswith("dependents."):
                return
        if fld.startswith("dependents."):
            fld = self._dependent_field(fld.split(".", 1)[1])
        fld = hinted_field(fld, m.hints)
        dotted = None  # "Acme Co,": read with its dot before the company checks below
        if self.method == "ocr" and (fixed := legal_form_comma(raw)) is not None:
            raw, dotted = fixed, DOUBT
        elif self.method == "ocr" and (mail := email_gap(raw)) is not None:  # "t dousstead @acme.com", "roe®acme.com"
            raw, words = mail, [replace(w, conf=min(w.conf, SLIP_DOUBT)) for w in words]
        switched: str | None = None  # why the value's type took it to another field than its label's
        if m.score < 1 and fld in _NAME_PARTS and (len(raw.split()) >= 2 or "," in raw):
            fld = "worker.name"  # a whole name under a label read by its words as one part of it
            switched = "a whole name, under a label read as one part of a name"
        if m.score < 1 and "email" not in fld and "@" in raw and (mail := parse_email(raw)) is not None and \
                len(raw.split()) <= len(mail.split()) + 1:  # "x@acme,com", "x @acme.com": OCR's slips
            # an address can only be an e-mail field's: the one of the label's party
            fld = {"employer": "employer.contact_email", "worker": "worker.email"}.get(fld.split(".")[0],
                                                                                         "confirmation_email")
            switched = "an e-mail address, under a label read as no e-mail field"
        if m.score < 1 and fld.rsplit(".", 1)[-1] not in _BOOL_LEAVES and len(raw.strip()) <= 5 and \
                parse_bool(raw) is not None:
            # a yes or no answers a yes/no question: the one its words point to
            asked = [f for f, _s in scores(_for_meaning(m.label), self.section) if f.rsplit(".", 1)[-1] in _BOOL_LEAVES]
            if not asked:
                return
            fld, switched = asked[0], "a yes/no answer, under a label read as another field"
        if m.score < 1 and fld not in (*_COMPANY_ADDRESS, *_ADDRESS_FIELDS) and not re.search(r"\d", raw) and \
                (_FOREIGN_FORM.search(raw) or _US_FORM.search(raw)) and \
                (fld in _WHOLE_NAMES or normalize(fld, raw)[1] is not None):
            # "Working for (abroad): Nordlicht GmbH" read as a yes/no question: a company is a company's
            abroad = "abroad" in content_words(_for_meaning(m.label or ""))  # "Working for (abroad)": the host
            fld = "employer.name" if _US_FORM.search(raw) and not abroad else "assignment.host_name"
            switched = "a company's name, under a label read as another field"
        if fld == "worker.foreign_id" and _US_WORDS.search(m.label or "") and parse_ssn(raw) is not None:
            fld, switched = "worker.ssn", "a U.S. number, under a label read as an ID abroad"
        if "email" in fld and fld != "confirmation_email" and m.score < 1 and parse_email(raw) == raw.strip() and \
                _SENT_WORDS & set(content_words(_for_meaning(m.label or ""))):
            # "E-mail address for the certificate": where what we send goes, not a party's own address
            fld, switched = "confirmation_email", None if m.score >= PLACE else "an address for what is sent"
        if fld == "worker.email" and m.score < 1 and not self.self_employed and \
                not _PERSON_WORDS.search(m.label or ""):
            fld, switched = "employer.contact_email", "an address to reply to: the writer's, not the worker's"
        if fld in _ADDRESS_FIELDS and not re.search(r"\d", raw) and \
                (_FOREIGN_FORM.search(raw) or _US_FORM.search(raw)):
            fld = "assignment.host_name" if fld == "assignment.work_address" else "employer.name"
            switched = "a company's name, under a label for an address"
        if fld in _COMPANY_ADDRESS and parse_country(raw) is not None and \
                not (_FOREIGN_FORM.search(raw) or _US_FORM.search(raw)):
            fld = "assignment.country"  # "Posted to: France": a destination that is a country, not a company
        raw = apply_hints(fld, raw, m.hints)
        swapped = retarget(fld, raw)
        if swapped is not None:
            fld = swapped[0]
        glued = swapped[1] if swapped else None
        if self.method == "ocr":  # a leader's end or a box edge read as a character of the value
            raw, glued = strip_artefacts(fld, raw)
            glued = glued or dotted or (swapped[1] if swapped else None)
            if (unspecked := inner_speck(fld, raw)) is not None:  # "Tout.hon", "92 Hyxkailt. Street"
                raw, glued = unspecked, glued or SPECK_DOUBT
            slip = (initial_slip(raw) or piece_slip(raw) or particle_slip(raw)) if fld == "worker.name" else None
            if slip is not None and normalize(fld, slip[0])[1] is None:
                # "Jo 1 Roe": an initial I misread, put right; a reading in doubt, as a word a line crossed
                raw, words = slip[0], [replace(w, conf=min(w.conf, SLIP_DOUBT)) for w in words]
            elif "email" in fld and (mail := email_capital_i(raw)) is not None:
                raw, words = mail, [replace(w, conf=min(w.conf, SLIP_DOUBT)) for w in words]  # "I.roe@x.com"
            elif (fld.rsplit(".", 1)[-1] in _DATE_LEAVES or m.score < 1) and (month := date_slip(raw)) is not None:
                # "4-Peb-2012", "Dec, 10th, 1978"; under a label read by its words, a date its words place below
                raw, words = month, [replace(w, conf=min(w.conf, SLIP_DOUBT)) for w in words]
            elif fld in _ADDRESS_FIELDS and (code := postal_slip(raw) or state_slip(raw)) is not None:
                raw, words = code, [replace(w, conf=min(w.conf, SLIP_DOUBT)) for w in words]  # "LI8 40W"
            elif fld.endswith(("citizenship", ".country")) and (code := country_slip(raw)) is not None:
                raw, words = code, [replace(w, conf=min(w.conf, SLIP_DOUBT)) for w in words]  # "U3A"
            elif fld.rsplit(".", 1)[-1] in _BOOL_LEAVES and (answer := answer_slip(raw)) is not None:
                raw, words = answer, [replace(w, conf=min(w.conf, SLIP_DOUBT)) for w in words]  # "YRS"
        pairs, reason = normalize(fld, raw)
        if m.score < 1 and fld.rsplit(".", 1)[-1] not in (*_DATE_LEAVES, "period") and \
                _DATE_VALUE.match(raw.strip()) and \
                (dated := classify(m.label, self._section_for_labels(), _ASSIGNMENT_DATES)) is not None and \
                dated[1] >= PLACE:
            # a date read by its words for a name ("Last day abroad"): the date field its words name
            fld, glued = dated[0], glued or f"the label {m.label!r} was read by its words and its value is a date"
            pairs, reason = normalize(fld, raw)
        elif m.score < 1 and fld.rsplit(".", 1)[-1] not in _DATE_LEAVES and not fld.startswith("dependents"):
            when = parse_date(raw) if _DATE_ONLY.match(raw.strip()) else None
            if when is not None:  # a date under a label read by its words as no date field: its place decides
                pairs, reason = [(fld, when.isoformat())], NO_DATE_FIELD
                self.scores[len(self.out)] = m.score
                self._emit(pairs, raw, words, m.label, reason)
                return
        if reason is not None and (other := self._by_type(m, fld, raw)) is not None:
            # "Born at: Boise, ID": the label's words point to a date and a place; the value reads as the place
            fld, pairs, doubt, m = other
            reason, switched = None, switched or doubt
        if reason is not None and fld == "worker.name" and m.score < 1 and \
                re.fullmatch(r"[^\W\d_][\w'.-]*", raw.strip()):
            self.one_word.append((raw.strip(), words, m))  # one part of the name: which, the others decide
            return
        if reason is not None and m.strict and (not m.separator or fld.rsplit(".", 1)[-1] in _DATE_LEAVES):
            return  # "From: jane@example.org" in a quoted mail header is no start date
        if reason is not None and m.score < SURE_WORDS:
            return  # a label read by its words whose value is not of its field: no label ("Status: single")
        reason = reason or glued or switched
        if len(pairs) == 1 and reason is None:
            abroad = fld == "assignment.host_name" and "abroad" in content_words(_for_meaning(m.label or ""))
            moved, why = disagreement(fld, pairs[0][1], by_words=m.score < 1 and not abroad)  # the label says abroad
            pairs, reason = [(moved, pairs[0][1])], why
        if m.score < PLACE and not (m.score >= OFFER and len(pairs) == 1 and _type_confirms(fld, raw)):
            reason = reason or f"the label {m.label!r} was not recognised for certain"
        if fld == "request_type" and pairs and pairs[0][1] == "self_employed":
            self.self_employed = True
        for k in range(len(pairs)):
            self.scores[len(self.out) + k] = m.score
        self._emit(pairs, raw, words, m.label, reason)

    def _by_type(self, m: LabelMatch, fld: str, raw: str) -> tuple[str, list[tuple[str, str]], str | None,
                                                                     LabelMatch] | None:
        """(field, pairs, doubt, label) when the value does not read as its label's best field but
        as another one the label's words point to (`by_type`); below `PLACE` it is offered, flagged."""
        if not m.label or fld.startswith("dependents") or not m.separator:
            return None
        found = by_type(m.label, fld, raw, self._section_for_labels())
        if found is None:
            return None
        alt, score, pairs = found
        doubt = None if score >= PLACE else f"the label {m.label!r} was read as {fld} by its words, " \
            "and its value is not one"
        return alt, pairs, doubt, replace(m, field=alt, score=min(m.score, score), strict=False)

    def _label_above(self, i: int, words: list[Word], text: str, m: LabelMatch | None) -> LabelMatch | None:  # noqa: C901, PLR0911  (each test that a line is a label over its value ends the reading)
        """A line that is a label as a whole, with its value under it or beside it ("Birthdate of
        worker" over "Apr. 12th, 1971"): read whole, not as a known label's start with the rest of
        the label for its value. Only when the value found there reads as the field's."""
        bare = text.strip()
        if not bare or (m is not None and m.end >= len(bare)) or not _labelish(bare):
            return None
        if re.search(r"[a-z]{3,}\.$", bare):
            return None  # "please find our request below.": a sentence, over the first label
        if bare in _signature_lines(tuple(ln.text for ln in self.lines)):
            return None  # "Regards,\nDana Roe\nHR Generalist\nAcme LLC": a signature, not a label over its value
        section = self._section_for_labels()
        if m is not None and (m.separator or not m.strict or has_shape(m.field)):
            rest = text[m.end:]
            first = rest.split()[0].casefold() if rest.split() else ""
            if normalize(m.field, rest)[1] is None and not _labelish(rest, section, extra=True) and \
                    first not in _STOP:  # "Full name of our traveller": no value starts with "of"
                return None  # "Employee Jane Doe": the value is on the line
        known = match_label_at(bare, section)
        if known is None and self.method == "ocr":  # "hxpatriate" over its name: a label OCR misread by a letter
            known = match_label_at(bare + ":", section)  # the close look-up a colon allows (`labels._fuzzy_label`)
        alt = whole_label(bare + "\t", known, section)
        if alt is None or alt.end <= len(bare) or alt.field == "dependents" or alt.field.startswith("dependents"):
            return None
        value, _j = self._beside(i, words, alt.field)
        vt = _text(value)
        if not vt.strip():
            return None
        if has_shape(alt.field):
            if alt.score < 1 and _DATE_ONLY.match(vt.strip()) and parse_date(vt) is not None:
                return alt  # a date: its place among the request's dates decides (`_settle_dates`)
            if normalize(alt.field, vt)[1] is None:
                return alt
            if not re.search(r"\d", vt) and (_FOREIGN_FORM.search(vt.strip()) or _US_FORM.search(vt.strip())):
                return alt  # "Working for (abroad)" over "Nordlicht GmbH": a company's name (see `_value`)
            typed = by_type(alt.label, alt.field, vt, section)  # "Born at" over "Boise, ID": the place
            return replace(alt, field=typed[0], score=min(alt.score, typed[1]), strict=False) if typed else None
        other = classify(vt, section) if _labelish(vt) else None
        return alt if other is None or other[1] < OFFER else None

    # ---------------------------------------------------------------------------------- tables
    def _dependents_table(self, i: int) -> bool:
        """A "Name | Date of birth | Relationship" header: read its rows as dependents."""
        own = self.lines[i].text
        if not (_DEP_HEADER_NAME.search(own) or _DEP_HEADER_DOB.search(own) or _DEP_HEADER_REL.search(own)):
            return False
        row = self._same_row(i)
        header = " ".join(_text(self.lines[j].words) for j in sorted(row))
        if not _is_dependents_header(header):
            return False
        self.used.update(row)
        j = max(row) + 1
        while j < len(self.lines):
            if j in self.used:
                j += 1
                continue
            group = sorted(self._same_row(j))
            words = [w for k in group for w in self.lines[k].words]
            text = _text(words)
            if not text.strip() or self._is_label_or_heading(text):
                break
            self.dep_index += 1
            self.dep_fields = {"name", "date_of_birth", "relationship"}
            pairs, reason = normalize(f"dependents[{self.dep_index}]", text.replace("|", ","))
            self._emit(pairs, text, words, "dependents table", reason)
            self.used.update(group)
            j = max(group) + 1
        return True

    # ------------------------------------------------------------------------------------ walk
    def _segment(self, i: int, words: list[Word]) -> list[Word] | None:  # noqa: C901, PLR0912, PLR0915  (the separators of a line, tried in the order they bind)
        """Read one stretch of words; return the rest when a second label follows on the line."""
        text = _text(words)
        if not text.strip():
            return None
        m = self._label(text)
        section = match_section(text) if not self._sentence_goes_on(i) else None
        if section is not None:
            heading = True
            if m is not None and not text[m.end :].strip():
                value, _j = self._beside(i, _split_words(words, m.end)[0], m.field)
                heading = not value
            if heading and (over := self._label_above(i, words, text, m)) is not None and over.score >= PLACE:
                # "Work site abroad" (a heading's words too) over "Hierkhiessgasse 20, 1352 Raissbrind":
                # a label over its value, in its section
                self.section, heading = section, False
            if heading:
                self.section = section
                if re.search(r"self", text, re.IGNORECASE):
                    self.self_employed = True
                return None
        m = self._label_above(i, words, text, m) or m
        if m is not None and m.field not in _WHOLE_NAMES and _LAST_FIRST.search(" ".join(m.hints)):
            m = replace(m, field="worker.name", score=min(m.score, PLACE - 0.01))  # "(last, first)": a name
        if m is not None and m.field == "worker.name" and m.hints:  # "Name (family)": one part of it
            if any(_ONLY_FAMILY.match(h) for h in m.hints):
                m = replace(m, field="worker.last_name")
            elif any(_ONLY_GIVEN.match(h) for h in m.hints):
                m = replace(m, field="worker.first_name")
        if m is not None and not m.hints and "(" in text:  # "Date of departure (dd/mm/yyyy)" over its value
            after = text[m.end:]
            upto = m.end if _HINTS.sub("", after).strip(" :.\t_") else len(text)
            found = tuple(h.strip() for a, b in _HINTS.findall(text[:upto]) if (h := a or b).strip())
            if found:
                m = replace(m, hints=found)
        if self._dependents_table(i) or m is None:
            return None
        label_words, value_words = _split_words(words, m.end)
        typed = re.fullmatch(r"(?P<lab>[A-Za-z][^@\d:]*?)\s+(?P<val>[^\s@]+@\S+)", _text(value_words))
        if typed and _labelish(typed["lab"]) and not re.search(r"[a-z]\.[a-z]", typed["lab"]):
            # "Email address for certificate (optional) hr@x.com"; "v.roe on@x.com" is an address OCR parted
            at = text.rfind(typed["val"])
            whole = whole_label(text[:at].rstrip() + "\t" + text[at:], None, self._section_for_labels())
            if whole is not None and whole.score >= OFFER:
                m = replace(whole, end=at)
                label_words, value_words = _split_words(words, at)
        rest: list[Word] | None = None
        for k in range(1, len(value_words)):
            if not re.search(r"[:;]", _text(value_words[k : k + 8])):
                continue
            tail = _text(value_words[k:])
            inner = match_label_at(tail, self._section_for_labels())
            if inner is not None and re.search(r"[:;]", tail[: inner.end]):
                value_words, rest = value_words[:k], value_words[k:]
                break
        # "Born 4/24/1985": a common word without a separator is a label only when its value is short,
        # has a shape to check and reads ("Born in a small town", "born 2/3/1986 in Boise, who" are prose)
        if m.strict and not m.separator and (
            not value_words or len(value_words) > 4 or not has_shape(m.field)
            or normalize(m.field, _text(value_words))[1] is not None
        ):
            return None
        j_value: int | None = None  # the line the value was found on, when not the label's
        if not value_words:
            value_words, j_value = self._beside(i, label_words, m.field)
            if j_value is not None:
                self.used.add(j_value)
        for _more in range(2):  # "van der" over "Tharson," over "Jo": a name goes on after a particle, too
            if not value_words or m.field in _ADDRESS_FIELDS or not (_text(value_words).rstrip().endswith(",") or (
                    m.field in _WHOLE_NAMES and only_particles(value_words[-1].text))):
                break
            value_words = self._wrapped(i, value_words)
        if self.method == "ocr" and value_words and m.field == "worker.name" and j_value is None:
            value_words = self._name_goes_on(i, value_words)  # "Roe, Jo" over "Lura"
        if value_words and "@" in value_words[-1].text:
            value_words = self._email_wrapped(i if j_value is None else j_value, value_words)
        if value_words and m.field in _COMPANY_ADDRESS:
            value_words = self._legal_form_below(i if j_value is None else j_value, value_words)
        if value_words and m.field in _COMPANY_ADDRESS and _looks_address(_text(value_words)):
            # an address under a label read as a company's name: the company's address (flagged below)
            m = replace(m, field=_COMPANY_ADDRESS[m.field], score=min(m.score, PLACE - 0.01))
        vt = _text(value_words)
        if value_words and m.field in _ADDRESS_FIELDS and not (
                not re.search(r"\d", vt) and (_FOREIGN_FORM.search(vt) or _US_FORM.search(vt))):
            value_words = self._address_lines(i, value_words, m.field)
        if value_words:
            self._value(m, _text(value_words), value_words)
        return rest

    def run(self) -> list[Candidate]:
        for i, line in enumerate(self.lines):
            if i in self.used:
                continue
            self.used.add(i)
            words: list[Word] | None = line.words
            while words:
                words = self._segment(i, words)
        self._one_word_names()
        self._settle_dates()
        self._country_of_work()
        return self.out

    def _one_word_names(self) -> None:
        """One word under a label read by its words as the whole name ("Personal name: Vyltine"):
        the part of the name no other label gave (the first name beside a "Last name"), flagged;
        with both parts given, or neither, it is left out as before."""
        for raw, words, m in self.one_word:
            have = {c.field for c in self.out}
            parts = [f for f in ("worker.first_name", "worker.last_name") if f not in have]
            if len(parts) != 1:
                continue
            self.scores[len(self.out)] = m.score
            self._emit([(parts[0], raw)], raw, words, m.label,
                       f"one word under the label {m.label!r}, read as the name's part that no other label gives")

    def _country_of_work(self) -> None:
        """The country of the work address is the country of assignment when no label gave that
        ("Work location country: France" and no "Country of assignment")."""
        fields = {c.field for c in self.out}
        if "assignment.country" in fields or (self.self_employed and "worker.address.country" in fields):
            return
        given = next((c for c in self.out if c.field == "assignment.work_address.country"), None)
        if given is not None and given.value != "US":
            self.out.append(given.model_copy(update={"field": "assignment.country"}))

    def _settle_dates(self) -> None:
        """The request's dates weighed by their order (`evidence.settle_dates`): a start after its
        end, two starts, a date read for a field that holds none. Only readings whose label was
        read by its words move; the first reading of each field counts (a later one is the
        merge's business)."""
        picked: list[int] = []
        seen: set[str] = set()
        for k, c in enumerate(self.out):
            is_date = bool(_ISO.fullmatch(c.value)) and (c.field in DATE_FIELDS or c.uncertain == NO_DATE_FIELD)
            if not is_date or c.field.startswith("dependents") or (c.field in seen and c.field != DATE_FIELDS[2]):
                continue
            seen.add(c.field)
            picked.append(k)
        starts = [k for k in picked if self.out[k].field == DATE_FIELDS[2]]
        if len(starts) > 2 or (len(starts) == 2 and any(self.out[k].field == DATE_FIELDS[3] for k in picked)):
            return  # more starts than one request has: a batch or dependents, not a period
        rows = [(self.out[k].field, self.out[k].value, self.scores.get(k, 1.0), self.out[k].uncertain)
                for k in picked]
        ranked = [[f for f, _s in scores(_for_meaning(self.out[k].provenance.label or ""), self.section)
                   if f in DATE_FIELDS] for k in picked]
        for k, (fld, doubt) in zip(picked, settle_dates(rows, ranked), strict=True):
            c = self.out[k]
            if fld != c.field:
                self.out[k] = c.model_copy(update={"field": fld, "uncertain": doubt})


def find_fields(lines: list[Line], *, part: str, method: Method) -> list[Candidate]:
    """Candidates for every labelled value in `lines`, each normalised through `values.normalize`.

    Tracks section headings ("Employer information", "Work abroad") so bare labels ("Name",
    "Phone") land on the right field; confidence is the lowest word confidence of the value, the
    box the union of its words; a value that does not normalise is kept with `uncertain` set.
    """
    return _Finder(lines, part, method).run()
