"""Dates as people write them ("4/24/85", "April 24th, 1985", "24. April 1985"), read to one `date`.

Split from `parsers.values`, which hands every date field's text here; a period ("from March 1,
2027 until June 30, 2028") is two dates read the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from parsers.value_text import clean as _clean
from parsers.value_text import fold as _fold

_MONTHS: dict[str, int] = {}
for _i, _names in enumerate(
    [
        ("january", "jan", "januar", "janvier", "enero", "gennaio", "jänner", "janeiro"),
        ("february", "feb", "febr", "februar", "fevrier", "février", "febrero", "febbraio", "fevereiro"),
        ("march", "mar", "marz", "märz", "mars", "marzo", "março", "marco", "maart", "mrz"),
        ("april", "apr", "avril", "abril", "aprile"),
        ("may", "mai", "mayo", "maggio", "maio", "mei"),
        ("june", "jun", "juni", "juin", "junio", "giugno", "junho"),
        ("july", "jul", "juli", "juillet", "julio", "luglio", "julho"),
        ("august", "aug", "aout", "août", "agosto", "augustus"),
        ("september", "sep", "sept", "septembre", "septiembre", "settembre", "setembro"),
        ("october", "oct", "oktober", "okt", "octobre", "octubre", "ottobre", "outubro"),
        ("november", "nov", "novembre", "noviembre", "novembro"),
        ("december", "dec", "dezember", "dez", "decembre", "décembre", "diciembre", "dicembre",
         "dezembro"),
    ],
    start=1,
):
    for _n in _names:
        _MONTHS[_fold(_n)] = _i

_WEEKDAYS = re.compile(
    r"^(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday|rsday)?\.?,?\s+",
    re.IGNORECASE,
)
_ORDINAL = r"(?:st|nd|rd|th|\.)?"
_MONTH_WORD = r"([a-zà-ÿ]{3,10})\.?"


def _year(text: str, today: date | None = None) -> int | None:
    """A four-digit year, or a two-digit one pivoted so that it lies within 20 years ahead of now."""
    if len(text) == 4:
        return int(text)
    if len(text) == 2:
        yy = int(text)
        now = (today or date.today()).year
        century = now - now % 100
        year = century + yy
        return year if year <= now + 20 else year - 100
    return None


def _make(year: int | None, month: int | None, day: int | None) -> date | None:
    if year is None or month is None or day is None:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_date(raw: str, *, today: date | None = None) -> date | None:  # noqa: PLR0911  (each date form returns as soon as it reads)
    """A calendar date from the common U.S., ISO and written forms.

    Slashed and dashed numeric dates are month first (U.S.) unless the first number cannot be a
    month (24/04/1985); dotted ones (24.04.1985) are day first as in Europe, unless that is
    impossible. Two-digit years pivot to at most 20 years ahead of `today`.
    """
    text = _fold(_clean(raw)).strip(" .")
    if not text:
        return None
    text = _WEEKDAYS.sub("", text)
    text = re.sub(r"\s+", " ", text)

    # ISO and other year-first numeric forms: 1985-04-24, 1985/4/24, 1985.04.24
    m = re.fullmatch(r"(\d{4})\s?[-/.]\s?(\d{1,2})\s?[-/.]\s?(\d{1,2})(?:t[\d:.+z\-]*)?", text)
    if m:
        return _make(int(m[1]), int(m[2]), int(m[3]))
    # 19850424
    m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    if m:
        return _make(int(m[1]), int(m[2]), int(m[3]))
    # a/b/y with / - or . (spaces around the separators are tolerated, OCR adds them)
    m = re.fullmatch(r"(\d{1,2})\s?([-/.])\s?(\d{1,2})\s?\2\s?(\d{4}|\d{2})", text)
    if m:
        a, sep, b, year = int(m[1]), m[2], int(m[3]), _year(m[4], today)
        if sep == ".":
            return _make(year, b, a) or _make(year, a, b)
        return _make(year, a, b) or _make(year, b, a)
    # 04241985 (eight digits, month first) is too ambiguous with 19850424 beyond the case above.
    # April 24, 1985 / Apr. 24 1985 / March 3rd, 2027 / Apr-24-1985
    m = re.fullmatch(_MONTH_WORD + r"[\s\-/]?(\d{1,2})" + _ORDINAL + r",?[\s\-/,]\s?(\d{4}|\d{2})", text)
    if m and m[1] in _MONTHS:
        return _make(_year(m[3], today), _MONTHS[m[1]], int(m[2]))
    # 24 April 1985 / 24-Apr-1985 / 3. März 2027 / 3rd of March, 2027
    m = re.fullmatch(r"(\d{1,2})" + _ORDINAL + r"[\s\-/]?(?:of )?" + _MONTH_WORD + r",?[\s\-/]?(\d{4}|\d{2})",
                     text)
    if m and m[2] in _MONTHS:
        return _make(_year(m[3], today), _MONTHS[m[2]], int(m[1]))
    return None


def parse_period(raw: str) -> tuple[date, date] | None:
    """(start, end) from "03/01/2027 to 06/30/2028", "from March 1, 2027 until June 30, 2028",
    "2027-03-01 - 2028-06-30"; None unless both ends are dates."""
    text = _clean(raw)
    text = re.sub(r"^(?:from|between|beginning|starting)\s+", "", text, flags=re.IGNORECASE)
    parts = re.split(r"\s+(?:to|until|till|through|thru|and|bis|au)\s+|\s+[-–—]+\s+|\s*[–—]\s*", text,
                     maxsplit=1, flags=re.IGNORECASE)
    if len(parts) != 2:
        return None
    start, end = parse_date(parts[0].strip(" ,")), parse_date(parts[1].strip(" ,."))
    if start is None or end is None:
        return None
    return start, end


def month_slip(raw: str) -> str | None:
    """The date put right when OCR misread one letter of its month's name ("4-Peb-2012",
    "Septemher 3, 2027"): the one word of letters that is no month but one letter off exactly one
    month's English name or abbreviation, and the date then reads. A guess, for the caller to doubt."""
    if parse_date(raw) is not None:
        return None
    words = re.findall(r"[A-Za-z]{3,10}", raw)
    if len(words) != 1 or _fold(words[0]) in _MONTHS:
        return None
    word = _fold(words[0])
    close = [n for n, i in _MONTHS.items() if n.isascii() and i and len(n) == len(word)
             and sum(a != b for a, b in zip(n, word, strict=True)) == 1]
    if len({_MONTHS[n] for n in close}) != 1:
        return None
    fixed = raw.replace(words[0], close[0].capitalize(), 1)
    return fixed if parse_date(fixed) is not None else None


# OCR's slips in a date's marks: a tilde for the hyphen of a dashed date ("2030~01-28"), a comma
# for the period of a month's abbreviation ("Dec, 10th, 1978"), a period for the comma after an
# ordinal day ("Oct. 23rd. 2030"); at 98 lines an inch a mark is a speck or two.
# Also a comma for a dot of a dotted date ("18.09,2020"), a space or comma for an ISO date's dash
# ("2029 01-24"), a space after a dashed month
# ("17-Dec- 1991"), and an ordinal day's 1 read as an i or l, its 5 as an S ("Nov. ist", "Mar. Sth").
_AS_DIGIT = str.maketrans("OoDIl|SB", "00011158")


def _digits_of(m: re.Match[str]) -> str:
    """A group of a date's digits with the look-alike letters OCR read in it made digits ("l2", "2O27")."""
    group = m.group()
    return group.translate(_AS_DIGIT) if any(c.isdigit() for c in group) else group


# ... and a digit of a number read as the letter it looks like ("O5/12/2027", "May l2, 2027", "1lth").
_MARK_SLIPS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"(?<![A-Za-z])[\dOoDIl|SB]{1,4}(?=(?:st|nd|rd|th)?(?![A-Za-z]))"), _digits_of),
    (re.compile(r"(?<=\s)[iIl](?=\d?(?:st|nd|rd|th)\b)"), "1"),
    (re.compile(r"(?<=\s)S(?=th\b)"), "5"),
    (re.compile(r"(?<=\d)\s?~\s?(?=\d)"), "-"),
    (re.compile(r"^([A-Za-z]{3,9}),(?=\s*\d)"), r"\1."),
    (re.compile(r"(?<=\d)(st|nd|rd|th)\.(?=\s*\d{4}$)"), r"\1,"),
    (re.compile(r"^(\d{1,2})[.,](\d{1,2})[.,](\d{4})$"), r"\1.\2.\3"),
    (re.compile(r"(?<=[A-Za-z])-\s+(?=\d{4}$)"), "-"),
    (re.compile(r"^(\d{4})[ ,](\d{2})-(\d{2})$|^(\d{4})-(\d{2})[ ,](\d{2})$"), r"\1\4-\2\5-\3\6"),
)


def date_slip(raw: str) -> str | None:
    """The date put right when OCR misread one of its marks (`_MARK_SLIPS`) or one letter of its
    month (`month_slip`), and it then reads; else None. A guess, for the caller to doubt."""
    if parse_date(raw) is not None:
        return None
    text = fixed = raw.strip()
    for pattern, mark in _MARK_SLIPS:  # one after the other: a date may hold two ("Mar, Sth, 2031")
        fixed = pattern.sub(mark, fixed)
        if fixed != text and parse_date(fixed) is not None:
            return fixed
    return month_slip(fixed) or month_slip(raw)
