"""What OCR makes of a faxed letter's label words, put back before the label finder reads the lines.

A label is short, and one misread glyph in it can hide it: a question's mark read as a `7`
("Recruited in the U.S 7" over "Yes"), `ID` read as `1)` or `1D` ("Employer 1D" over "033260790"),
an `I` as a curly bracket ("{RS employer number"), a hint's bracket as another ("{if known)",
"(01).MM.YYYY)"), a label word's last letter as a colon before the hint. These are no value's
characters where they stand (after a label's last word, before its leader or at the line's end,
before a value that answers the label), so they are put right on the line; the value itself is read
as it was, but for an EIN OCR cut in two, joined and doubted.
"""

from __future__ import annotations

import re
from dataclasses import replace

from parsers.layout import Line, Word
from parsers.ocr_repair import CROSSED_CONFIDENCE
from parsers.types import Box
from parsers.values import parse_bool

_LEADER = re.compile(r"[._]{3,}")
# `ID` as a typewriter's fax reads it: the `I` a one, the `D` a bracket or left as it was.
_ID_SLIPS = frozenset({"1)", "1D", "l)", "lD", "I)", "1d", "1])"})
# A bracket for an `I` at the start of a word of capitals ("{RS" for "IRS").
_BRACKET_I = re.compile(r"^[{\[](?=[A-Z]{2,}\b)")
# "U.S." at a question's end with its U read as a zero or its S as a five ("0,S.?", "U5.").
_US_SLIP = re.compile(r"(?:[0O][.,]?[S5]|U[.,]?5)[.,]?(?P<mark>\??)")
# Initials parted by slashes with an O read as a zero ("D/0/B").
_SLASHED_ZERO = re.compile(r"[A-Z](?:/[A-Z0])*/0(?:/[A-Z0])*/?")


def _gap(word: Word) -> bool:
    """A leader or a tab: what stands between a label and its value."""
    return word.text == "\t" or _LEADER.fullmatch(word.text) is not None


def _ends_words(word: Word) -> bool:
    """The word a label's last word can be: it ends in a letter, or an abbreviation's dot ("U.S.")."""
    return re.search(r"[A-Za-z][.]?$", word.text) is not None


def _question_seven(line: Line, below: Line | None) -> Line:
    """The line with a `7` that stands for a question's mark taken out (the mark goes on the word
    before it): a lone `7` after a label's last word, at the line's end or before a tab, whose answer
    (after the tab, or on the next line) is a yes or no. A `7` before a leader is `whole_label`'s."""
    words = line.words
    for k, w in enumerate(words):
        if w.text != "7" or k == 0:
            continue
        before = k - 1
        while before > 0 and _gap(words[before]):
            before -= 1
        if not _ends_words(words[before]):
            continue
        after = words[k + 1:]
        if after and not _gap(after[0]):
            continue
        answer = " ".join(x.text for x in after if not _gap(x)) if after else (below.text if below else "")
        if parse_bool(answer.strip()) is None:
            continue
        fixed = list(words)
        if before == k - 1:
            fixed[before] = replace(words[before], text=words[before].text + "?")
        del fixed[k]
        return replace(line, words=fixed)
    return line


def _id_slips(line: Line) -> Line:
    """The line with `ID` read as `1)` or `1D` after a label's word put right ("Employer 1D",
    "Federal tax 1) (NN-NNNNNNN)"), and a bracket read for an initial `I` ("{RS number")."""
    words = line.words
    fixed = list(words)
    for k, w in enumerate(words):
        if w.text in _ID_SLIPS and k > 0 and words[k - 1].text.isalpha() and \
                (k + 1 == len(words) or _gap(words[k + 1]) or words[k + 1].text.startswith("(")):
            fixed[k] = replace(w, text="ID")
        elif w.text == "1)" and 0 < k < len(words) - 1 and words[k - 1].text.isalpha() and \
                words[k - 1].text.islower() and words[k + 1].text in ("the", "a", "an"):
            fixed[k] = replace(w, text="in")  # "Was the employee hired 1) the U.S.": no enumeration mid-line
        elif _BRACKET_I.match(w.text) and (k == 0 or _gap(words[k - 1])):
            fixed[k] = replace(w, text="I" + w.text[1:])
        elif (us := _US_SLIP.fullmatch(w.text)) is not None and k > 0 and words[k - 1].text.isalpha() and \
                (k + 1 == len(words) or _gap(words[k + 1]) or re.fullmatch(r"[a-z]+\??", words[k + 1].text)):
            fixed[k] = replace(w, text="U.S." + us["mark"])  # "Hired in the 0,S.?", "Wired by U5. office?"
        elif _SLASHED_ZERO.fullmatch(w.text):
            fixed[k] = replace(w, text=w.text.replace("0", "O"))  # "D/0/B": initials hold no digit
    return line if fixed == words else replace(line, words=fixed)


def _brackets(line: Line) -> Line:
    """The line with a hint's brackets OCR misread put right: a curly or square bracket opening a
    hint a round one closes ("{if known)"), and a bracket read inside the hint's word for one of
    its letters ("(01).MM.YYYY)" for "(DD.MM.YYYY)"), which leaves more closed than opened."""
    words = line.words
    fixed = list(words)
    for k, w in enumerate(words):
        text = w.text
        if text[:1] in "{[" and ")" in " ".join(x.text for x in words[k:]) and "(" not in text:
            text = "(" + text[1:]
        if text.startswith("(") and text.count(")") > text.count("(") and (inner := text.find(")")) < len(text) - 1:
            text = text[:inner] + text[inner + 1:]
        if text != w.text:
            fixed[k] = replace(w, text=text)
    return line if fixed == words else replace(line, words=fixed)


def _inner_colon(line: Line) -> Line:
    """The line with a colon OCR read for a label word's last letter taken off ("Name of the posted
    worke: (last, first) ...... Roe, Jo"): a colon before the label's hint, when a leader or tab
    after the hint is the label's real separator."""
    words = line.words
    for k in range(len(words) - 2):
        w = words[k]
        if len(w.text) > 2 and w.text.endswith(":") and w.text[-2].isalpha() and words[k + 1].text.startswith("("):
            close = next((j for j in range(k + 1, len(words)) if ")" in words[j].text), None)
            if close is not None and close + 1 < len(words) and _gap(words[close + 1]):
                return replace(line, words=[*words[:k], replace(w, text=w.text[:-1]), *words[k + 1:]])
    return line


# An EIN whose seven digits OCR cut in two at a typewriter's wide digit ("50-9904 120"): nothing
# else is written as two digits, a hyphen and seven digits.
_EIN_HEAD = re.compile(r"\d{2}-\d{1,6}")


def _ein_gap(line: Line) -> Line:
    """The line with an EIN OCR cut in two joined again, doubted (the gap may hide a digit)."""
    words = line.words
    for k in range(len(words) - 1):
        a, b = words[k], words[k + 1]
        if _EIN_HEAD.fullmatch(a.text) and b.text.isdigit() and len(a.text) - 3 + len(b.text) == 7 and \
                (k + 2 == len(words) or not words[k + 2].text[:1].isdigit()):
            box = Box(x0=a.box.x0, y0=min(a.box.y0, b.box.y0), x1=b.box.x1, y1=max(a.box.y1, b.box.y1)) \
                if a.box is not None and b.box is not None else a.box
            joined = Word(a.text + b.text, box, min(a.conf, b.conf, CROSSED_CONFIDENCE), a.page)
            return replace(line, words=[*words[:k], joined, *words[k + 2:]])
    return line


def mend(lines: list[Line]) -> list[Line]:
    """`lines` with the label slips of the module's doc put right, and an EIN cut in two joined."""
    out = [_ein_gap(_inner_colon(_brackets(_id_slips(line)))) for line in lines]
    return [_question_seven(line, out[k + 1] if k + 1 < len(out) else None) for k, line in enumerate(out)]
