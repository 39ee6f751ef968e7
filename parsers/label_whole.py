"""A label read whole: the words before its separator, or a known label at its start, or the
label's words, with the value's start and the hints it holds (`whole_label`).

Apart from `label_words` (the words' scores) because a label with its value one space after it is
read by `label_spaced`, which scores with `label_words` in turn.
"""

from __future__ import annotations

import re
from dataclasses import replace

from parsers.hints import _LAST_FIRST
from parsers.label_spaced import after_words
from parsers.label_words import (
    _ABBREVIATION_COMMA,
    _HINTS,
    _SEPARATOR,
    OFFER,
    _for_meaning,
    _labelish,
    classify,
    content_words,
    segment,
)
from parsers.labels import _ENUM, LabelMatch

# A question's mark OCR read as a 7, between the label's last word and the leader or tab before its
# value ("Recruited in the U.S 7 ____ YES"): a digit standing alone there is no label's.
_QUESTION_SEVEN = re.compile(r"(?<=[A-Za-z.]) 7(?=[ ]?(?:\t|_{2,}|\.{2,}))")
# What OCR made of a leader's end ("payroll_...s*<tab>Yes", "payroll_...s* Yes"): right after the
# leader's dots, a mark or two, no digit, that is no word; the value is after the tab, or after the
# space when a mark no word holds (`*`, `«`, `~` ...) is among them ("St." is a word's).
_LEADER_JUNK = re.compile(r"(?<=[._…:])(?:(?=\S{0,3}[^\w\s])[^\s\d]{1,4}[ ]*\t[ \t]*|"
                          r"[^\s\d]{0,2}[*«»~^°|!;][^\s\d]{0,2}[ ]+)")


def _past_junk(text: str, at: int) -> int:
    """Where the value starts: past what `_LEADER_JUNK` matches at `at`, if it does."""
    junk = _LEADER_JUNK.match(text, at)
    return junk.end() if junk else at


def whole_label(text: str, m: LabelMatch | None, section: str | None, offset: int = 0) -> LabelMatch | None:  # noqa: C901, PLR0911  (each way a label can end (at its separator, at a known label, by its words))
    """The label of `text` read whole: `m` (a known label at its start) kept when it is the whole
    label, replaced when the label goes on to the separator, found by its words when `m` is None."""
    enum = _ENUM.match(text, offset)
    offset = enum.end() if enum else offset
    text = _ABBREVIATION_COMMA.sub(r"\1.", text)  # "Federal employer no, (NN-NNNNNNN)": its dot read as a comma
    text = _QUESTION_SEVEN.sub(" ?", text)  # "Recruited in the U.S 7 ____ YES": the question's mark read as a 7
    seg = segment(text, offset)
    if seg is None:
        return after_words(text, m, section, offset) or m
    label_end, value_start, hints = seg
    while value_start < len(text) and text[value_start] in "._…:\t ":  # "USA?____ NO": the leader too
        value_start += 1
    value_start = _past_junk(text, value_start)  # "payroll_...s*<tab>Yes": the leader's end OCR read as marks
    chained = _SEPARATOR.match(text, value_start - 1) if value_start > 0 and text[value_start - 1] == " " else None
    if chained and re.fullmatch(r"\s[-–—=>]+\s*", chained.group()):  # "Hired in the U.S.? — Yes": two separators
        value_start = chained.end()
    label = text[offset:label_end].strip()
    if (cut := re.search(r"\s*[(\[][^()\[\]]*$", label)) is not None and cut.start() > 0:
        # a hint its table cell wrapped ("(9" over "digits)"): a hint all the same, not label words
        hints = (*hints, cut.group().strip(" ([")) if cut.group().strip(" ([") else hints
        label = label[: cut.start()]
    if m is not None:
        if m.end >= value_start or m.end > label_end:
            m = replace(m, end=_past_junk(text, m.end)) if m.separator else m
            return replace(m, hints=hints) if hints and not m.hints else m  # the known label is the whole one
        extra = text[offset + len(m.label):label_end] if text[offset:].startswith(m.label) else label
        extra = extra.lstrip(" .")  # "Social Security no. of employee": the dot ends the known label's abbreviation
        if not _HINTS.sub(" ", extra).strip(" .,#)"):  # only hints before the separator ("U.S.? Yes", "U.S,?")
            return replace(m, end=value_start, separator=True, hints=hints or m.hints)
        ends_line = not text[value_start:].strip()  # "Name of the posted worker<tab>": the value is beside it
        leader = bool(re.search(r"\.\.|__|\t|…", text[label_end:value_start]))  # no value sits before a leader
        if not _labelish(label) or not (ends_line or leader or _labelish(extra, section, extra=True)):
            return m  # the value starts on the label's line ("Employee Jane Doe, SSN: ...")
        if not content_words(_HINTS.sub(" ", extra)):  # only stop words follow
            return replace(m, end=value_start, separator=True, hints=hints or m.hints)
    elif not _labelish(label):
        return None
    found = classify(_for_meaning(label), section)
    if found is None or found[1] < OFFER:
        if m is None:  # "Assynee (last, first)": words OCR garbled, a hint that says a name, family name first
            return LabelMatch("worker.name", value_start, label, True, False, OFFER, hints) \
                if _LAST_FIRST.search(" ".join(hints)) else None
        return replace(m, end=value_start, separator=True, score=OFFER - 0.01, label=label, hints=hints)
    fld, score = found
    return LabelMatch(fld, value_start, label, True, False, score, hints)
