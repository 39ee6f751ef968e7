"""Value normalisers: the ways people write a value, reduced to the one canonical string.

Every parser reads values as text (a form field, a line of a letter, an OCRed word, a spreadsheet
cell); they all hand that text to `normalize`, so "4/24/85" and "April 24th, 1985" reach the request
model as the same ISO date whatever file they came from. Normalisers check *shape* only (nine digits
for an SSN); whether a value is allowed (area 666, an unassigned EIN prefix) is for validation.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from datetime import date
from functools import lru_cache

import pycountry

from parsers.ssn_grammar import SEPARATOR_CHARS, SSN_IN_TEXT, SSN_VALUE, canonical, is_ssn

# --------------------------------------------------------------------------------------------------
# helpers


def _fold(text: str) -> str:
    """Lower case without accents: "Québec" and "QUEBEC" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _clean(raw: str | None) -> str:
    """Trim spaces, and the stray punctuation a value picks up at its ends on forms and in OCR."""
    if raw is None:
        return ""
    text = unicodedata.normalize("NFKC", raw).replace("\u00a0", " ")
    text = re.sub(r"\s+", " ", text).strip()
    return text.strip(" \t:;,|_")


# OCR reads digits as look-alike letters; only applied to values that must be all digits.
_OCR_DIGITS = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "l": "1", "I": "1", "|": "1",
                             "i": "1", "!": "1", "S": "5", "s": "5", "B": "8", "Z": "2", "z": "2"})


def _digits_value(raw: str, groups: tuple[int, ...]) -> str | None:
    """Digits in `groups` sizes from text like "123 45 6789", "123.45.6789" or "123456789"."""
    text = _clean(raw)
    total = sum(groups)
    if not text:
        return None
    letters = sum(c.isalpha() for c in text)
    digits = sum(c.isdigit() for c in text)
    if letters and digits >= total - 2:  # a few OCR look-alikes among real digits
        text = text.translate(_OCR_DIGITS)
    if not re.fullmatch(r"[#\s]*[\d\s.\-/–—_]+", text):
        return None
    only = re.sub(r"\D", "", text)
    if len(only) != total:
        return None
    # The separators written must fall on group boundaries (or be absent).
    parts = [p for p in re.split(r"[\s.\-/–—_]+", text.strip("# ")) if p]
    if len(parts) > 1:
        sizes = [len(p) for p in parts]
        ok_boundaries: set[int] = set()
        acc = 0
        for g in groups[:-1]:
            acc += g
            ok_boundaries.add(acc)
        acc = 0
        for s in sizes[:-1]:
            acc += s
            if acc not in ok_boundaries:
                return None
    out: list[str] = []
    pos = 0
    for g in groups:
        out.append(only[pos : pos + g])
        pos += g
    return "-".join(out)


# --------------------------------------------------------------------------------------------------
# identifiers


def parse_ssn(raw: str) -> str | None:
    """An SSN as `NNN-NN-NNNN` from "123-45-6789", "123 45 6789", "123456789", "123.45.6789",
    "123 / 45 / 6789", "123–45–6789": the one grammar of `parsers.ssn_grammar`, which the mask uses
    too (so whatever is read as an SSN is masked). Whitespace inside is kept as written, not
    collapsed, so that the mask, which sees the text as written, finds the same number."""
    # Separators left at the ends by a form box or OCR ("123-45-6789.") are not part of the number.
    text = unicodedata.normalize("NFKC", raw or "").strip().strip(" \t:;,|" + SEPARATOR_CHARS).strip()
    letters = sum(c.isalpha() for c in text)
    if letters and sum(c.isdigit() for c in text) >= 7:  # a few OCR look-alikes among real digits
        text = text.translate(_OCR_DIGITS)
    m = SSN_VALUE.fullmatch(text)
    return canonical(m) if m and is_ssn(m) else None


def parse_ein(raw: str) -> str | None:
    """An EIN as `NN-NNNNNNN` from "12-3456789", "12 3456789" or "123456789"."""
    return _digits_value(raw, (2, 7))


# --------------------------------------------------------------------------------------------------
# dates

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


def parse_date(raw: str, *, today: date | None = None) -> date | None:
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


# --------------------------------------------------------------------------------------------------
# countries

# Adjectives, native names and the other ways a country is written that pycountry does not carry.
# Every agreement country of domain.md, the U.S., and the neighbours people confuse them with.
_COUNTRY_ALIASES: dict[str, str] = {
    # United States
    "us": "US", "usa": "US", "u s a": "US", "united states": "US", "united states of america": "US",
    "america": "US", "american": "US", "us citizen": "US", "american citizen": "US",
    "vereinigte staaten": "US", "estados unidos": "US", "etats unis": "US", "stati uniti": "US",
    # agreement countries
    "italy": "IT", "italia": "IT", "italian": "IT", "italie": "IT", "italien": "IT",
    "germany": "DE", "deutschland": "DE", "german": "DE", "allemagne": "DE", "alemania": "DE",
    "federal republic of germany": "DE", "brd": "DE", "frg": "DE", "west germany": "DE",
    "switzerland": "CH", "schweiz": "CH", "suisse": "CH", "svizzera": "CH", "swiss": "CH",
    "confederation helvetique": "CH", "helvetia": "CH",
    "norway": "NO", "norge": "NO", "noreg": "NO", "norwegian": "NO",
    "belgium": "BE", "belgie": "BE", "belgique": "BE", "belgien": "BE", "belgian": "BE",
    "canada": "CA", "canadian": "CA",
    "united kingdom": "GB", "uk": "GB", "u k": "GB", "great britain": "GB", "britain": "GB",
    "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB", "british": "GB",
    "english": "GB", "scottish": "GB", "welsh": "GB", "gb": "GB",
    "united kingdom of great britain and northern ireland": "GB",
    "sweden": "SE", "sverige": "SE", "swedish": "SE", "swede": "SE",
    "spain": "ES", "espana": "ES", "spanish": "ES", "kingdom of spain": "ES",
    "france": "FR", "french": "FR", "frankreich": "FR", "republique francaise": "FR",
    "portugal": "PT", "portuguese": "PT",
    "netherlands": "NL", "the netherlands": "NL", "holland": "NL", "nederland": "NL", "dutch": "NL",
    "kingdom of the netherlands": "NL", "niederlande": "NL", "pays bas": "NL",
    "austria": "AT", "osterreich": "AT", "oesterreich": "AT", "austrian": "AT",
    "finland": "FI", "suomi": "FI", "finnish": "FI",
    "ireland": "IE", "eire": "IE", "irish": "IE", "republic of ireland": "IE",
    "luxembourg": "LU", "luxemburg": "LU", "letzebuerg": "LU", "luxembourgish": "LU",
    "luxembourger": "LU",
    "greece": "GR", "hellas": "GR", "ellada": "GR", "ελλαδα": "GR", "hellenic republic": "GR",
    "greek": "GR",
    "korea": "KR", "south korea": "KR", "republic of korea": "KR", "korea south": "KR",
    "korea republic of": "KR", "korean": "KR", "south korean": "KR", "rok": "KR",
    "hanguk": "KR", "daehan minguk": "KR", "대한민국": "KR", "한국": "KR", "s korea": "KR",
    "chile": "CL", "chilean": "CL",
    "australia": "AU", "australian": "AU",
    "japan": "JP", "nippon": "JP", "nihon": "JP", "日本": "JP", "japanese": "JP",
    "denmark": "DK", "danmark": "DK", "danish": "DK", "dane": "DK",
    "czech republic": "CZ", "czechia": "CZ", "czech": "CZ", "cesko": "CZ", "ceska republika": "CZ",
    "tschechien": "CZ",
    "poland": "PL", "polska": "PL", "polish": "PL", "polen": "PL",
    "slovak republic": "SK", "slovakia": "SK", "slovensko": "SK", "slovenska republika": "SK",
    "slovak": "SK",
    "hungary": "HU", "magyarorszag": "HU", "hungarian": "HU",
    "brazil": "BR", "brasil": "BR", "brazilian": "BR",
    "uruguay": "UY", "uruguayan": "UY",
    "slovenia": "SI", "slovenija": "SI", "slovenian": "SI", "slovene": "SI",
    "iceland": "IS", "island": "IS", "icelandic": "IS", "islande": "IS",
    # Quebec has its own understanding
    "quebec": "CA-QC", "province of quebec": "CA-QC", "quebec canada": "CA-QC", "canada quebec": "CA-QC",
    "qc": "CA-QC", "ca qc": "CA-QC", "quebecois": "CA-QC", "quebecer": "CA-QC", "quebecker": "CA-QC",
    # frequent non-agreement countries
    "philippines": "PH", "the philippines": "PH", "pilipinas": "PH", "filipino": "PH",
    "philippine": "PH", "mexico": "MX", "mexican": "MX", "china": "CN", "chinese": "CN",
    "prc": "CN", "india": "IN", "indian": "IN", "russia": "RU", "russian": "RU",
    "north korea": "KP", "dprk": "KP", "new zealand": "NZ", "israel": "IL", "turkey": "TR",
    "turkiye": "TR", "taiwan": "TW", "vietnam": "VN", "viet nam": "VN", "hong kong": "HK",
    "singapore": "SG", "south africa": "ZA", "uae": "AE", "united arab emirates": "AE",
    "argentina": "AR", "colombia": "CO", "peru": "PE", "romania": "RO", "bulgaria": "BG",
    "croatia": "HR", "estonia": "EE", "latvia": "LV", "lithuania": "LT", "serbia": "RS",
    "ukraine": "UA", "egypt": "EG", "saudi arabia": "SA", "indonesia": "ID", "malaysia": "MY",
    "thailand": "TH",
}


def _country_key(text: str) -> str:
    key = _fold(text)
    key = key.replace(".", "")
    key = re.sub(r"[^\w]+", " ", key).strip()
    if key.startswith("the "):
        key = key[4:]
    return key


@lru_cache(maxsize=1)
def _country_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for c in pycountry.countries:
        names = [c.alpha_2, c.alpha_3, c.name]
        for attr in ("official_name", "common_name"):
            val = getattr(c, attr, None)
            if val:
                names.append(val)
        for n in list(names):
            # "Korea, Republic of" is also written "Republic of Korea"
            if ", " in n:
                head, tail = n.split(", ", 1)
                names.append(f"{tail} {head}")
        for n in names:
            table.setdefault(_country_key(n), c.alpha_2)
    for alias, code in _COUNTRY_ALIASES.items():
        table[_country_key(alias)] = code
    return table


def parse_country(raw: str) -> str | None:
    """An ISO 3166-1 alpha-2 code (or `CA-QC` for Quebec) from a code, name, native name or adjective.

    "Munich, Germany" and "Germany (DE)" work too: the whole text is tried first, then its last
    comma-separated part and the text in or outside parentheses.
    """
    text = _clean(raw)
    if not text:
        return None
    table = _country_table()
    key = _country_key(text)
    if key in table:
        return table[key]
    if key.upper().replace(" ", "") == "CAQC":
        return "CA-QC"
    tries: list[str] = []
    paren = re.match(r"^(.*?)\(([^)]*)\)\s*$", text)
    if paren:
        tries += [paren[1], paren[2]]
    if "," in text:
        tries += [text.rsplit(",", 1)[1], text.split(",", 1)[0]]
    if " - " in text:
        tries += text.split(" - ")
    for t in tries:
        k = _country_key(t)
        if k and k in table:
            return table[k]
    for suffix in (" citizen", " national", " nationality", " citizenship"):
        if key.endswith(suffix) and key[: -len(suffix)] in table:
            return table[key[: -len(suffix)]]
    return _close_country(key)


def _close_country(key: str) -> str | None:
    """ "freland" -> IE, "germanv" -> DE: one OCR slip in a name of six letters or more."""
    if len(key) < 6:
        return None
    names = [k for k in _country_table() if len(k) >= 6 and abs(len(k) - len(key)) <= 1]
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.8)
    codes = {_country_table()[c] for c in close}
    return codes.pop() if len(codes) == 1 else None


# --------------------------------------------------------------------------------------------------
# U.S. states, ZIP codes

US_STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana",
    "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
    "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri",
    "MT": "Montana", "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio",
    "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island",
    "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah",
    "VT": "Vermont", "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin",
    "WY": "Wyoming", "PR": "Puerto Rico", "GU": "Guam", "VI": "U.S. Virgin Islands",
    "AS": "American Samoa", "MP": "Northern Mariana Islands", "AA": "Armed Forces Americas",
    "AE": "Armed Forces Europe", "AP": "Armed Forces Pacific",
}
# Traditional (AP style) abbreviations still common in letters.
_STATE_ABBREVIATIONS: dict[str, str] = {
    "ala": "AL", "ariz": "AZ", "ark": "AR", "calif": "CA", "cal": "CA", "colo": "CO", "conn": "CT",
    "del": "DE", "fla": "FL", "ga": "GA", "ill": "IL", "ind": "IN", "kan": "KS", "kans": "KS",
    "ky": "KY", "la": "LA", "md": "MD", "mass": "MA", "mich": "MI", "minn": "MN", "miss": "MS",
    "mo": "MO", "mont": "MT", "neb": "NE", "nebr": "NE", "nev": "NV", "nh": "NH", "nj": "NJ",
    "nm": "NM", "ny": "NY", "nc": "NC", "nd": "ND", "okla": "OK", "ore": "OR", "oreg": "OR",
    "pa": "PA", "penn": "PA", "ri": "RI", "sc": "SC", "sd": "SD", "tenn": "TN", "tex": "TX",
    "vt": "VT", "va": "VA", "wash": "WA", "wva": "WV", "w va": "WV", "wis": "WI", "wisc": "WI",
    "wyo": "WY", "washington dc": "DC", "washington d c": "DC", "d c": "DC",
}


@lru_cache(maxsize=1)
def _state_table() -> dict[str, str]:
    table = {_country_key(name): code for code, name in US_STATES.items()}
    table.update({code.lower(): code for code in US_STATES})
    table.update({_country_key(k): v for k, v in _STATE_ABBREVIATIONS.items()})
    table["virgin islands"] = "VI"
    return table


def parse_state(raw: str) -> str | None:
    """A USPS two-letter state code from "ID", "Idaho", "Calif." or "New York"."""
    text = _clean(raw).strip(".")
    if not text:
        return None
    return _state_table().get(_country_key(text))


def parse_zip(raw: str) -> str | None:
    """A ZIP code as `NNNNN` or `NNNNN-NNNN` (also from "NNNNNNNNN" and "NNNNN NNNN")."""
    text = _clean(raw).strip(".")
    m = re.fullmatch(r"(\d{5})(?:\s?[-–]\s?|\s)?(\d{4})?", text)
    if not m:
        return None
    return f"{m[1]}-{m[2]}" if m[2] else m[1]


# --------------------------------------------------------------------------------------------------
# booleans, contact details, request type

_TRUE = {"yes", "y", "x", "checked", "true", "t", "1", "on", "ja", "oui", "si", "sí", "[x]", "(x)",
         "☒", "☑", "✓", "✔", "✗", "✘", "selected", "yes ✓", "affirmative", "correct"}
_FALSE = {"no", "n", "false", "f", "0", "off", "unchecked", "nein", "non", "[ ]", "( )", "☐", "[]",
          "()", "not checked", "none", "negative"}


def parse_bool(raw: str) -> bool | None:
    """A yes/no answer: "Yes", "Y", "X", "checked", "true", "No", "N", "☐" ... ("Yes, since 2019" too)."""
    text = _clean(raw).casefold().strip(" .!")
    # A question's mark or the separator after it, left before the answer: "Hired here? > Y".
    text = re.sub(r"^(?:\?\s*)?[:>=\-\u2013\u2014]?\s*", "", text)
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    # a marked option among printed ones: "[X] Yes [ ] No", "Yes ☐ No ☒"
    mark = r"(?:\[\s*[x✓✔×]\s*\]|\(\s*[x✓✔×]\s*\)|[☒☑■✓✔✗✘])"
    if re.match(r"[\[(☐□☒☑■✓✔✗✘]", text):  # boxes before their options
        chosen = set(re.findall(mark + r"\s*(yes|no)\b", text))
    else:
        chosen = set(re.findall(r"\b(yes|no)\s*" + mark, text))
    if len(chosen) == 1:
        return chosen.pop() == "yes"
    if chosen:
        return None
    m = re.match(r"^(yes|no|true|false)\b[\s,;.\-–(]", text + " ")
    if m and not re.search(r"[\[☐□(]", text):
        return m[1] in ("yes", "true")
    return None


_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")


_SPACED_DOT = re.compile(
    r"(@[\w-]+(?:\.[\w-]+)*)(?: ?\. ?(?=(?:[a-z][\w-]*\s?[.,]\s?)*[a-z]{2,4}\b(?![\w.-]*@))"
    r"| ?, ?(?=(?:[a-z][\w-]*\s?[.,]\s?)+[a-z]{2,4}\b(?![\w.-]*@)))"
)


def parse_email(raw: str) -> str | None:
    """The one e-mail address in the text ("Jane <jane@x.org>", "mailto:..."), domain in lower case."""
    text = _clean(raw)
    # OCR: "jane. doe@x.org" (a space after a dot), "x,org" (a comma for the dot before the TLD)
    text = re.sub(r"([\w+-])\.\s(?=[\w.+-]+@)", r"\1.", text)
    text = re.sub(r"(@[\w.,-]+)", lambda m: re.sub(r"[.,]{2,}", ".", m[1]), text)  # "example,.com"
    text = re.sub(r"(@[\w.-]+),([A-Za-z]{2,6})\b", r"\1.\2", text)
    while (fixed := _SPACED_DOT.sub(r"\1.", text, count=1)) != text:
        text = fixed  # "x@mail .example. com": spaces OCR put around the domain's dots
    found = _EMAIL.findall(text)
    if len(set(f.casefold() for f in found)) != 1:
        return None
    addr = found[0].strip(".")
    local, domain = addr.rsplit("@", 1)
    if "." not in domain or len(domain.rsplit(".", 1)[1]) < 2:
        return None
    return f"{local}@{domain.lower()}"


def parse_phone(raw: str) -> str | None:
    """A phone number as written (trimmed), if it holds 7 to 15 digits and nothing but phone characters."""
    text = _clean(raw).rstrip(".")
    if not text:
        return None
    digits = sum(c.isdigit() for c in text)
    if not 7 <= digits <= 15:
        return None
    if not re.fullmatch(r"(?:tel:?\s*)?\+?[\d\s().\-–/]+(?:\s*(?:x|ext\.?|extension)\s*\d{1,6})?", text,
                        re.IGNORECASE):
        return None
    return text


def parse_request_type(raw: str) -> str | None:
    """`employee` or `self_employed` from "Employee", "Self-employed", "self employed person", ..."""
    key = re.sub(r"[^a-z]+", " ", _fold(_clean(raw))).strip()
    if not key:
        return None
    if re.search(r"\bs\w?l\w? ?[ec]mploy|\bfree ?lanc|\bsole proprietor|\bindependent contractor\b|"
                 r"\bown business\b", key):
        return "self_employed"
    if re.search(r"\b(?:employee|employed|worker|staff|transferred|detached|posted|secondment|"
                 r"seconded)\b", key):
        return "employee"
    return None


# --------------------------------------------------------------------------------------------------
# names

_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "herr", "frau", "mme", "mlle",
           "sr", "sra", "srta"}
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "v", "phd", "md", "esq"}
_PARTICLES = {"van", "von", "de", "del", "della", "der", "den", "di", "da", "dos", "das", "du", "la",
              "le", "ten", "ter", "bin", "al", "st", "mc", "zu", "vom"}


def _initial(token: str) -> str:
    """ "Q." -> "Q": initials are stored without their dot."""
    return token[:-1] if re.fullmatch(r"\w\.", token) else token


def parse_name(raw: str) -> dict[str, str]:
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
            out = {"first_name": _initial(rest[0]), "last_name": " ".join(last_tokens)}
            if len(rest) > 1:
                out["middle_name"] = " ".join(_initial(t) for t in rest[1:])
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
        out = {"first_name": _initial(tokens[0]), "last_name": " ".join(tokens[start:])}
        if start > 1:
            out["middle_name"] = " ".join(_initial(t) for t in tokens[1:start])
    if suffix:
        out["last_name"] += f" {suffix.rstrip(',')}"
    return out


# --------------------------------------------------------------------------------------------------
# addresses

_POSTAL_ABROAD = [
    r"[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}",  # United Kingdom: LS1 4AP
    r"[A-Z]\d[\dW]\s?[A-Z\d]{4}",  # Ireland (Eircode): T12 X70A
    r"[A-Z]\d[A-Z]\s?\d[A-Z]\d",  # Canada: H2X 1Y4
    r"\d{4}\s?[A-Z]{2}",  # Netherlands: 3511 AB
    r"\d{5}-\d{3}",  # Brazil: 80010-000
    r"\d{4}-\d{3}",  # Portugal: 1100-148
    r"\d{3}-\d{4}",  # Japan: 530-0001
    r"\d{3}\s\d{2}",  # Sweden, Czechia, Slovakia, Greece: 211 22
    r"\d{2}-\d{3}",  # Poland: 31-001
    r"[A-Z]{1,2}-\d{4,5}",  # old-style with country prefix: D-80802, CH-4051
    r"\d{4,7}",  # most others (Chile and Israel have seven digits: 8320000)
]
_POSTAL = "(?:" + "|".join(_POSTAL_ABROAD) + ")"
_US_STATE_ZIP = re.compile(r"^(?:(?P<city>.*?)[\s,]+)?(?P<state>[A-Za-z][A-Za-z .]{1,20}?)\.?\s+"
                           r"(?P<zip>\d{5}(?:-\d{4})?)$")


def _split_postal(segment: str) -> tuple[str, str] | None:
    """("80802", "Munich") from "80802 Munich" or "Leeds LS1 4AP"; None if the segment has no code."""
    m = re.fullmatch(rf"(?P<code>{_POSTAL})\s+(?P<city>\D.*)", segment)
    if m:
        return m["code"], m["city"].strip()
    m = re.fullmatch(rf"(?P<city>\D.*?)\s+(?P<code>{_POSTAL})", segment)
    if m:
        return m["code"], m["city"].strip(" ,")
    return None


_OCR_ADDRESS_DIGITS = str.maketrans("Oo@Il|", "000111")


def _fix_digits(m: re.Match[str]) -> str:
    """ "31-@01" -> "31-001": letters OCR reads for digits, inside a token that is mostly digits."""
    token = m[0]
    digits = sum(c.isdigit() for c in token)
    if digits < 2 or digits < 0.6 * sum(c != "-" for c in token):
        return token
    return token.translate(_OCR_ADDRESS_DIGITS)


def parse_address(raw: str, default_country: str | None = None) -> dict[str, str]:
    """`street`, `city`, `state`, `postal_code`, `country` from a one- or several-line address.

    Reads U.S. addresses ("123 Main St, Boise, ID 83702") and the European/Asian postal-code-first
    ones ("Leopoldstrasse 12, 80802 Munich, Germany"); keys are absent when unknown. An address
    whose last part is a country gets that country, one with a U.S. state and ZIP gets `US`,
    others `default_country` if given.
    """
    text = unicodedata.normalize("NFKC", raw or "").replace("\u00a0", " ")
    # (not an Irish Eircode's routing key, "I70 P9D8", nor a Canadian code's second half, "V9Z 9I5")
    text = re.sub(r"(?<![\w@])(?<![A-Z]\d[A-Z]\s)[\dOo@Il|]*\d[\dOo@Il|\-]*(?![\w@])(?!\s[A-Z\d]{4}\b)",
                  _fix_digits, text)
    segments = [s.strip(" .;") for s in re.split(r"[,;\n]+|\s{3,}|\t", text)]
    segments = [re.sub(r"\s+", " ", s) for s in segments if s.strip(" .;")]
    out: dict[str, str] = {}
    if not segments:
        return out
    # the country, if the last part names one (but "ID 83702" is Idaho, not Indonesia)
    if len(segments) > 1 and not re.search(r"\d", segments[-1]):
        code = parse_country(segments[-1])
        if code is not None and not (len(segments[-1]) == 2 and parse_state(segments[-1])):
            out["country"] = code
            segments.pop()
    # U.S.: "... City, ST 12345" or "... City ST 12345"
    for i in range(len(segments) - 1, 0, -1):
        m = _US_STATE_ZIP.match(segments[i])
        if m and parse_state(m["state"]):
            out["state"] = parse_state(m["state"]) or ""
            out["postal_code"] = m["zip"]
            if m["city"]:
                out["city"] = m["city"].strip(" ,")
                street = segments[:i]
            elif i >= 2:
                out["city"] = segments[i - 1]
                street = segments[: i - 1]
            else:
                street = segments[:i]
            if street:
                out["street"] = ", ".join(street)
            out.setdefault("country", "US")
            return out
    # Elsewhere: "Street 12, 80802 City" or "12 Road, City LS1 4AP"
    for i in range(len(segments) - 1, 0, -1):
        split = _split_postal(segments[i])
        if split:
            out["postal_code"], out["city"] = split
            # a region may follow the city as its own part ("..., 20121 Milan, Lombardy")
            if i + 1 < len(segments):
                out["state"] = ", ".join(segments[i + 1 :])
            out["street"] = ", ".join(segments[:i])
            break
    else:
        if len(segments) >= 2:
            out["street"] = ", ".join(segments[:-1])
            out["city"] = segments[-1]
        else:
            out["street"] = segments[0]
    if "country" not in out and default_country:
        out["country"] = default_country
    return out


# --------------------------------------------------------------------------------------------------
# dependents

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


_DEP_DATE = re.compile(
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
    for m in _DEP_DATE.finditer(text):
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


# --------------------------------------------------------------------------------------------------
# the dispatcher

_DATE_FIELDS = {"date_of_birth", "start_date", "end_date", "hire_date", "irs_3121l_date"}
_COUNTRY_FIELDS = {"citizenship", "residence_country"}
_BOOL_FIELDS = {"hired_in_us", "remains_employee"}
_EMAIL_FIELDS = {"email", "contact_email", "confirmation_email"}
_PHONE_FIELDS = {"phone", "contact_phone"}
_ADDRESS_FIELDS = {"employer.address", "worker.address", "assignment.work_address"}
_ADDRESS_KEYS = ("street", "city", "state", "postal_code", "country")


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


_EIN_IN_TEXT = re.compile(r"(?<![\d-])\d{2}[ .\-]?\d{7}(?![\d-])")


def _only(pattern: re.Pattern[str], text: str, parse: Callable[[str], str | None], group: int = 0) -> str | None:
    """The value when exactly one stretch of `text` reads as one ("123-45-6789 (on file)")."""
    found = {v for m in pattern.finditer(text) if (v := parse(m[group])) is not None}
    return found.pop() if len(found) == 1 else None


def has_shape(field: str) -> bool:
    """Whether `normalize` checks the shape of this field's values (a date, an SSN) or takes any text.

    A label that is also a common word ("Born", "To") is believed without a separator only when
    its value has a shape that confirms it; names and addresses have none that prose lacks.
    """
    leaf = field.rsplit(".", 1)[-1]
    return (
        leaf in {"ssn", "ein", "state", "postal_code", "country", "request_type", "relationship"}
        | _DATE_FIELDS | _COUNTRY_FIELDS | _BOOL_FIELDS | _EMAIL_FIELDS | _PHONE_FIELDS
        or field in ("assignment.country", "assignment.period")
    )


_OCR_LETTERS = {"J": "I", "L": "I", "1": "I", "|": "I", "Q": "O", "0": "O", "D": "O", "5": "S", "8": "B",
                "2": "Z", "H": "N", "N": "H", "U": "V", "V": "U", "C": "G", "G": "C"}


def fix_place(raw: str) -> str:
    """ "Boise, JD" -> "Boise, ID": a "City, ST" place whose code is no state but one OCR slip from one.

    Only a code that is not a state is touched, and only when exactly one repair gives a state.
    """
    text = _clean(raw)
    m = re.fullmatch(r"(.+?),\s*([A-Za-z0-9|]{2})\.?", text)
    if not m or m[2].upper() in US_STATES:
        return text
    code = m[2].upper()
    repairs = {
        fixed
        for i in range(2)
        if code[i] in _OCR_LETTERS
        for fixed in [code[:i] + _OCR_LETTERS[code[i]] + code[i + 1 :]]
        if fixed in US_STATES
    }
    return f"{m[1]}, {repairs.pop()}" if len(repairs) == 1 else text


# Company-form suffixes OCR gets wrong in a fixed way (letters read as digits). The shapes on the
# left never occur in a company name as typed, so the repair cannot change a right value.
_COMPANY_REPAIRS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(Sp\.?\s*z)\s*[0oO][.,]\s*[0oO][.,]?(?=\s|$)"), r"\1 o.o."),
    (re.compile(r"\bS\.\s?r\.\s?[1lI|]\.(?=\s|$)"), "S.r.l."),
    (re.compile(r"\bB[.,]\s?V[.,](?=\s|$)"), "B.V."),
    (re.compile(r"\bGmb[Hh]\b|\bGrnbH\b|\bGmbll\b"), "GmbH"),
]


def fix_company(text: str) -> str:
    """Undo the OCR slips that company-form suffixes suffer ("Sp. z 0.0." -> "Sp. z o.o.")."""
    for pattern, repl in _COMPANY_REPAIRS:
        text = pattern.sub(repl, text)
    return text


def normalize(field: str, raw: str) -> tuple[list[tuple[str, str]], str | None]:
    """Canonical (field, value) pairs for a raw value read for `field`, and why it failed, if it did.

    A full name (`worker.name`) yields first/middle/last name; an address yields its sub-fields;
    a dependent line (`dependents[0]`) yields name, relationship and date of birth. When the value
    cannot be normalised the list holds `(field, raw stripped)` so staff still see it, and the reason
    says why (never quoting an SSN).
    """
    text = _clean(raw)
    leaf = field.rsplit(".", 1)[-1]
    if not text:
        return [], "empty value"
    fail: list[tuple[str, str]] = [(field, text)]

    if leaf == "ssn":
        ssn = parse_ssn(text) or _only(SSN_IN_TEXT, text, parse_ssn)
        return ([(field, ssn)], None) if ssn else (fail, "not an SSN: expected 9 digits as NNN-NN-NNNN")
    if leaf == "ein":
        ein = parse_ein(text) or _only(_EIN_IN_TEXT, text, parse_ein)
        return ([(field, ein)], None) if ein else (fail, "not an EIN: expected 9 digits as NN-NNNNNNN")
    if leaf in _DATE_FIELDS:
        d = parse_date(text)
        if d is None:  # "04/24/1985 (age 41)"
            found = _only(_DEP_DATE, text, lambda t: (x.isoformat() if (x := parse_date(t)) else None), group=1)
            d = date.fromisoformat(found) if found else None
        return ([(field, d.isoformat())], None) if d else (fail, "not a date")
    if field == "assignment.country" or leaf in _COUNTRY_FIELDS or field.endswith("address.country"):
        code = parse_country(text)
        return ([(field, code)], None) if code else (fail, "unknown country")
    if field.endswith("address.state"):
        if field.startswith("assignment."):  # a region abroad is free text
            return [(field, text)], None
        state = parse_state(text)
        return ([(field, state)], None) if state else (fail, "not a U.S. state")
    if field.endswith("address.postal_code"):
        zip_code = parse_zip(text)
        if zip_code:
            return [(field, zip_code)], None
        if field.startswith("assignment.") and re.fullmatch(r"[A-Za-z0-9 \-]{2,12}", text):
            return [(field, text)], None
        return fail, "not a ZIP code"
    if leaf in _BOOL_FIELDS:
        b = parse_bool(text)
        if b is None:
            return fail, "not a yes/no answer"
        return [(field, "true" if b else "false")], None
    if leaf in _EMAIL_FIELDS:
        email = parse_email(text)
        return ([(field, email)], None) if email else (fail, "not an e-mail address")
    if leaf in _PHONE_FIELDS:
        phone = parse_phone(text)
        return ([(field, phone)], None) if phone else (fail, "not a phone number")
    if field == "request_type":
        kind = parse_request_type(text)
        return ([(field, kind)], None) if kind else (fail, "unknown request type")
    if field == "worker.name":
        parts = parse_name(text)
        if "first_name" not in parts or "last_name" not in parts or re.search(r"\d", text) \
                or len(text.split()) > 6:
            return fail, "not a full name"
        return [(f"worker.{k}", parts[k]) for k in ("first_name", "middle_name", "last_name")
                if k in parts], None
    if field == "assignment.period":
        period = parse_period(text)
        if period is None:
            return fail, "not a period: expected two dates, from and to"
        return [("assignment.start_date", period[0].isoformat()),
                ("assignment.end_date", period[1].isoformat())], None
    if field in ("worker.place_of_birth", "assignment.hire_place"):
        return [(field, fix_place(text))], None
    if field in ("worker.first_name", "worker.middle_name", "worker.last_name"):
        return [(field, _initial(text))], None
    if field in ("employer.name", "assignment.host_name"):
        return [(field, fix_company(text))], None
    if field in _ADDRESS_FIELDS:
        default = "US" if field != "assignment.work_address" else None
        addr = parse_address(text, default_country=default)
        if "street" not in addr or "city" not in addr:
            return fail, "address not understood"
        out = [(f"{field}.{k}", addr[k]) for k in _ADDRESS_KEYS if k in addr]
        us = field != "assignment.work_address" and addr.get("country") == "US"
        if us and ("state" not in addr or "postal_code" not in addr):
            return out, "U.S. address without state or ZIP code"
        return out, None
    if field == "dependents" or field.startswith("dependents."):  # the label finder's unnumbered form
        return normalize(field.replace("dependents", "dependents[0]", 1), raw)
    m = re.fullmatch(r"(dependents\[\d+\])(?:\.(\w+))?", field)
    if m:
        base, sub = m[1], m[2]
        if sub is None:
            dep = parse_dependent(text)
            pairs = [(f"{base}.{k}", dep[k]) for k in ("name", "date_of_birth", "relationship") if k in dep]
            if "name" not in dep:
                return fail, "dependent not understood"
            return pairs, None
        if sub == "relationship":
            rel = parse_relationship(text)
            return ([(field, rel)], None) if rel else (fail, "unknown relationship")
        return [(field, text)], None
    return [(field, text)], None


def typed_value(path: str, raw: str) -> str:
    """A value a person typed (a clerk on the review page, a requester on the online form) in the
    model's form where the readers understand it ("03/01/2027" -> 2027-03-01, "Germany" -> DE,
    "yes" -> true); otherwise as typed, so that validation names what is wrong with it (an SSN
    starting 9)."""
    leaf = path.rsplit(".", 1)[-1]
    out: object = None
    if leaf == "ssn":
        out = parse_ssn(raw)
    elif leaf == "ein":
        out = parse_ein(raw)
    elif leaf.endswith("date") or leaf.endswith("date_of_birth"):
        parsed = parse_date(raw)
        out = parsed.isoformat() if parsed else None
    elif leaf in ("country", "citizenship", "residence_country"):
        out = parse_country(raw)
    elif leaf in ("hired_in_us", "remains_employee"):
        b = parse_bool(raw)
        out = None if b is None else ("true" if b else "false")
    elif path == "request_type":
        out = parse_request_type(raw)
    elif leaf == "state" and len(raw) > 2:
        out = parse_state(raw)
    return str(out) if out else raw
