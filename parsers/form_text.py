"""What a box of our form was read as, made its value: shapes, stray marks, I or l.

A box's reading from Tesseract is checked against what the box asks for (digits of a comb, a
date, an e-mail, words) and cleaned of what a fax leaves (a mark at the end, a zero among letters,
a capital I and a small l confused); every change or doubt is said, for the candidate's flag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from parsers.form_layout import FieldSpec


@dataclass
class _Read:
    text: str = ""
    conf: float = 1.0
    words: list[str] = field(default_factory=list)


def _squash(text: str) -> str:
    return text.replace(" ", "")


_LONE_ZERO = re.compile(r"(?<![0-9A-Za-z])0(?![0-9A-Za-z])")
_STRAY = re.compile(r"[-.,/]{1,2}")
_STOP_AFTER_WORD = re.compile(r"[A-Za-z]{2}\.")  # names: only an initial takes a full stop
_STOP_AFTER_NUMBER = re.compile(r"\d[.,](?:\s|$)")  # `3177. PARK ROAD`


# A word of letters and digits together (a postal code abroad: `G0I7`, `O02`): a zero and an O, a
# one and an I or l, differ by a hair in most fonts and the word's other characters cannot tell.
_MIXED_WORD = re.compile(r"(?=[A-Za-z0-9]*[A-Za-z])(?=[A-Za-z0-9]*[0-9])[A-Za-z0-9]+")
_LOOKALIKE = set("0O1Il")


def _lookalikes(spec: FieldSpec, text: str) -> bool:
    """A 0/O or 1/I/l in a word of letters and digits; a postal code is one such word (`O02 M3Z6`)."""
    words = [text.replace(" ", "")] if spec.path.endswith("postal_code") else text.split()
    return any(_LOOKALIKE & set(w) for w in words if _MIXED_WORD.fullmatch(w))


_I_AFTER_LOWER = re.compile(r"(?<=[a-z])I")  # `NordIicht`: a capital never follows a small letter
_L_IN_CAPITALS = re.compile(r"(?<=[A-Z])l(?=[A-Z])|(?<![A-Za-z])l(?=[A-Z]{2})")  # `WlLLIAMS`, `lVERS`
_INITIAL_IL = re.compile(r"(?<![A-Za-z])[Il]+(?=[a-z])")  # `Itd` for `ltd`, `lnc` for `Inc`, `IIc`
_IL_WORD = re.compile(r"(?<![A-Za-z])[Il]+[a-z][A-Za-z]*")
_WORD_START = re.compile(r"(?<![A-Za-z])[A-Za-z]")
_WORD_BEFORE = re.compile(r"(?<![A-Za-z])([A-Za-z])[^\s]*\s+$")  # the first letter of the word just before


def _i_or_l(text: str) -> tuple[str, str | None]:
    """A capital I and a small l are the same stroke in most sans fonts, and Tesseract picks one.

    Typed in mixed or lower case, the letters around it tell: a capital after a small letter is an
    l (`NordIicht`), a small l among capitals is an I. A word that starts with either and goes on
    in small letters takes the case the word before it starts with (`nordlicht co Itd` -> `ltd`,
    `Northwind Analytics lnc` -> `Inc`, `Ceackiel de Ia Jourson` -> `la`), or first in its box the
    case most other words start with; alone, it could be either (`Ivers`, `lindqvist`).
    Every reading changed, or left undecided, is flagged.
    """
    doubt = None
    fixed = _I_AFTER_LOWER.sub("l", text)
    fixed = _L_IN_CAPITALS.sub("I", fixed)
    if fixed != text:
        doubt = "a capital I or a small l?"
    if _INITIAL_IL.search(fixed):
        others = [m.group() for m in _WORD_START.finditer(_IL_WORD.sub(" ", fixed))]
        upper = sum(c.isupper() for c in others)
        lower = len(others) - upper
        undecided = False

        def case(m: re.Match[str]) -> str:
            nonlocal undecided
            # The word before says first: a name's particles are small (`Ceackiel de la Jourson`,
            # where most words are capitalised), a legal form follows the name's case.
            before = _WORD_BEFORE.search(fixed[:m.start()])
            big = before.group(1).isupper() if before else upper > lower
            if not before and upper == lower:
                undecided = True
                return m.group()
            return "I" + "l" * (len(m.group()) - 1) if big else "l" * len(m.group())  # `Illinois`

        changed = _INITIAL_IL.sub(case, fixed)
        if undecided:
            return changed, "a capital I or a small l?"
        if changed != fixed:
            fixed, doubt = changed, "a capital I or a small l?"
    return fixed, doubt


def _value(spec: FieldSpec, read: _Read, chars: int = 0) -> tuple[str, str | None]:
    """The raw value to normalise from what was read, and a doubt if its shape is wrong."""
    text, case_doubt = _i_or_l(read.text) if spec.charset != "digits" else (read.text, None)
    raw, doubt = _shaped(spec, text, chars)
    return raw, doubt or case_doubt


def _shaped(spec: FieldSpec, text: str, chars: int) -> tuple[str, str | None]:  # noqa: C901, PLR0911, PLR0912  (one shape per kind of box: comb, date, digits, text, check)
    if spec.kind in ("comb", "date"):
        joined = text.replace(" ", "")
        if spec.charset == "digits":
            if not joined.isdigit() or len(joined) != spec.max_chars:
                return joined, f"{len(joined)} digits read where {spec.max_chars} were expected"
            if spec.kind == "date":
                return f"{joined[:2]}/{joined[2:4]}/{joined[4:]}", None
            return joined, None
        if len(joined) != chars:
            return joined, f"{len(joined)} characters read from {chars} boxes"
        if "l" in joined or ("I" in joined and joined.upper() != joined):
            others = [c for c in joined if c.isalpha() and c not in "Il"]
            if others and all(c.isupper() for c in others):
                joined = joined.replace("l", "I")  # `lE`: typed in capitals, the thin stroke is an I
            return joined.upper(), "a capital I or a small l?"  # `lt`: a code typed in small letters
        return joined.upper(), None
    if not text:
        return "", "ink in the box but nothing could be read"
    if spec.path.endswith("email"):
        squashed = text.replace(" ", "")
        if "," in squashed:  # a comma is never in an address: a full stop read badly
            return squashed.replace(",", "."), "a comma read in an e-mail address"
        if squashed.strip("-._+/&#") != squashed:  # `-HR@x.com`: the box's edge, not the address
            return squashed.strip("-._+/&#"), "a stray mark beside the e-mail address"
        return squashed, None
    doubts: list[str] = []
    words = text.split()
    if len(words) > 1 and any(_STRAY.fullmatch(w) for w in words):
        text = " ".join(w for w in words if not _STRAY.fullmatch(w))  # `DENVER, CO -`: a mark, not text
        doubts.append("a stray mark beside the text")
    if spec.charset in ("alpha", "place") and text[-1:] in ("-", ","):
        text = text[:-1].rstrip()  # `CO-`: a name or place never ends in a dash or comma
        doubts.append("a stray mark after the text")
    elif spec.charset == "place" and re.search(r"(?<![.A-Za-z])[A-Za-z]{2}\.$", text) and "," in text:
        text = text[:-1]  # `COLUMBUS, OH.`: a state code takes no full stop (`D.C.` keeps its own)
        doubts.append("a stray mark after the text")
    if spec.charset == "text" and text.endswith(","):
        text = text[:-1] + "."  # `ROBOTICS INC,`: no value ends in a comma; a full stop read badly
        doubts.append("a comma read at the end (a full stop?)")
    if spec.charset == "text" and re.search(r"[A-Za-z]", text) and _LONE_ZERO.search(text):
        # `SP. Z 0.0.`: a zero alone between stops in words is the letter O; say so, don't decide.
        text = _LONE_ZERO.sub("O", text)
        doubts.append("a letter O or a zero?")
    if spec.charset == "text" and _lookalikes(spec, text):
        doubts.append("a letter O or a zero (an I or a one) among letters and digits?")
    if spec.charset == "alpha" and _STOP_AFTER_WORD.search(text):
        doubts.append("a full stop after a name (speckle?)")
    if spec.charset == "text" and _STOP_AFTER_NUMBER.search(text):
        doubts.append("a full stop after a number (speckle?)")
    if doubts:
        return text, "; ".join(doubts)
    if spec.charset == "text" and re.search(r"@", text) and not spec.path.endswith("email"):
        return text, "unexpected characters"
    return text, None
