"""Countries, U.S. states, ZIP and postal codes and whole addresses, read to their canonical form.

Split from `parsers.values`: a country in any of its names or adjectives to its ISO code, a state
to its USPS code, an address line to street, city, state, postal code and country, and the OCR
slips a place suffers ("Boise, JD") put right only when exactly one repair gives a real place.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import lru_cache

import pycountry

from parsers.value_text import clean as _clean
from parsers.value_text import fold as _fold

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


def country_key(text: str) -> str:
    key = _fold(text)
    key = key.replace(".", "")
    key = re.sub(r"[^\w]+", " ", key).strip()
    if key.startswith("the "):
        key = key[4:]
    return key


@lru_cache(maxsize=1)
def country_table() -> dict[str, str]:
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
            table.setdefault(country_key(n), c.alpha_2)
    for alias, code in _COUNTRY_ALIASES.items():
        table[country_key(alias)] = code
    return table


def parse_country(raw: str) -> str | None:  # noqa: C901  (each way a country is written (code, name, demonym, OCR slip))
    """An ISO 3166-1 alpha-2 code (or `CA-QC` for Quebec) from a code, name, native name or adjective.

    "Munich, Germany" and "Germany (DE)" work too: the whole text is tried first, then its last
    comma-separated part and the text in or outside parentheses.
    """
    text = _clean(raw)
    if not text:
        return None
    table = country_table()
    key = country_key(text)
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
        k = country_key(t)
        if k and k in table:
            return table[k]
    for suffix in (" citizen", " national", " nationality", " citizenship"):
        if key.endswith(suffix) and key[: -len(suffix)] in table:
            return table[key[: -len(suffix)]]
    return _close_country(key)


CUT_MIN = 6  # letters a cut name must keep: `Ger` could begin several names, `German` only Germany's


def country_cut(raw: str) -> str | None:
    """The code of the one country whose name begins with `raw`, a name cut at its box's end
    (`Federal Republic of G`, `Switzerl`); None when it is whole, too short, or several begin so."""
    key = country_key(_clean(raw))
    if len(key.replace(" ", "")) < CUT_MIN or key in country_table():
        return None
    codes = {code for name, code in country_table().items() if name.startswith(key)}
    return codes.pop() if len(codes) == 1 else None


@lru_cache(maxsize=4096)
def _close_country(key: str) -> str | None:
    """ "freland" -> IE, "germanv" -> DE: one OCR slip in a name of six letters or more.

    Cached by the key: difflib over the country names of about its length took a millisecond a
    key, and a mail's place of birth, city and company lines come here again and again."""
    if len(key) < 6:
        return None
    names = [k for k in country_table() if len(k) >= 6 and abs(len(k) - len(key)) <= 1]
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.8)
    codes = {country_table()[c] for c in close}
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
    table = {country_key(name): code for code, name in US_STATES.items()}
    table.update({code.lower(): code for code in US_STATES})
    table.update({country_key(k): v for k, v in _STATE_ABBREVIATIONS.items()})
    table["virgin islands"] = "VI"
    return table


def parse_state(raw: str) -> str | None:
    """A USPS two-letter state code from "ID", "Idaho", "Calif." or "New York"."""
    text = _clean(raw).strip(".")
    if not text:
        return None
    return _state_table().get(country_key(text))


def parse_zip(raw: str) -> str | None:
    """A ZIP code as `NNNNN` or `NNNNN-NNNN` (also from "NNNNNNNNN" and "NNNNN NNNN")."""
    text = _clean(raw).strip(".")
    m = re.fullmatch(r"(\d{5})(?:\s?[-–]\s?|\s)?(\d{4})?", text)
    if not m:
        return None
    return f"{m[1]}-{m[2]}" if m[2] else m[1]


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


def _zip_alone(segments: list[str]) -> list[str]:
    """`..., Boise, ID, 83702` (or the ZIP on a line of its own): the ZIP joined to its state."""
    for i in range(len(segments) - 1, 0, -1):
        if re.fullmatch(r"\d{5}(?:-\d{4})?", segments[i]) and \
                (m := _US_STATE_ZIP.match(f"{segments[i - 1]} {segments[i]}")) and parse_state(m["state"]):
            return [*segments[:i - 1], f"{segments[i - 1]} {segments[i]}", *segments[i + 1:]]
    return segments


def _postal_alone(segments: list[str]) -> list[str]:
    """`..., Leeds, LS1 4AP` or `..., 80802, Munich`: a postal code standing as a part of its own
    joined to its city beside it (the part before it, or after it when the street is before)."""
    for i in range(len(segments) - 1, 0, -1):
        if not re.fullmatch(_POSTAL, segments[i]):
            continue
        if i >= 2 and not re.search(r"\d", segments[i - 1]):
            return [*segments[:i - 1], f"{segments[i - 1]} {segments[i]}", *segments[i + 1:]]
        if i + 1 < len(segments) and not re.search(r"\d", segments[i + 1]):
            return [*segments[:i], f"{segments[i]} {segments[i + 1]}", *segments[i + 2:]]
    return segments


_OCR_ADDRESS_DIGITS = str.maketrans("Oo@Il|", "000111")


def _fix_digits(m: re.Match[str]) -> str:
    """ "31-@01" -> "31-001": letters OCR reads for digits, inside a token that is mostly digits."""
    token = m[0]
    digits = sum(c.isdigit() for c in token)
    if digits < 2 or digits < 0.6 * sum(c != "-" for c in token):
        return token
    return token.translate(_OCR_ADDRESS_DIGITS)


def parse_address(raw: str, default_country: str | None = None) -> dict[str, str]:  # noqa: C901, PLR0912  (the parts of an address in the order they are written)
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
    segments = _zip_alone(segments)
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
    segments = _postal_alone(segments)
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


_STATE_BEFORE_ZIP = re.compile(r"(?<=,)\s*([A-Za-z0-9|]{2})(?=\.?\s+\d{5}(?:-\d{4})?\s*$)")


def state_slip(address: str) -> str | None:
    """ "12 Main St, Boise, W1 83702" -> "..., WI 83702": a U.S. address whose state before its ZIP
    code is no state but one OCR slip from exactly one (`fix_place`); else None. A guess."""
    text = _clean(address)
    m = _STATE_BEFORE_ZIP.search(text)
    if m is None or m[1].upper() in US_STATES:
        return None
    fixed = fix_place("x, " + m[1])[3:]
    return text[:m.start(1)] + fixed + text[m.end(1):] if fixed in US_STATES else None


_CODE_DIGITS = {"0": "O", "1": "I", "3": "S", "5": "S", "8": "B"}


def country_slip(raw: str) -> str | None:
    """A country written as its short code OCR misread ("U3A", "USS."): a digit for the letter it
    looks like, or a letter read twice; the code put right when that gives exactly one country
    and the text as read gives none; else None. A guess."""
    text = _clean(raw)
    bare = re.sub(r"[.\s]", "", text).upper()
    if parse_country(text) is not None or not (2 <= len(bare) <= 4) or not bare.isalnum():
        return None
    lettered = "".join(_CODE_DIGITS.get(c, c) for c in bare)
    tries = {lettered} if lettered != bare else set()
    tries |= {lettered[:k] + lettered[k + 1:] for k in range(1, len(lettered)) if lettered[k] == lettered[k - 1]}
    found = {code: t for t in tries if (code := parse_country(t)) is not None}
    return next(iter(found.values())) if len(found) == 1 else None
