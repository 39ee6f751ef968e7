"""Requests written as sentences, with no labels: read only what patterns and cue words make certain.

A letter such as "Acme Widget Corporation (EIN 12-3456789) requests a certificate of coverage for our
employee Jane Q. Doe, Social Security number 123-45-6789, born 4/24/1985 in Boise, ID, who will work
for Nordlicht GmbH in Munich, Germany, from March 3, 2027 through February 28, 2029" carries every
value beside a word that says what it is ("EIN", "born", "from", "through", "work for"). Each reader
here looks for such a cue right before the value. A value whose cue is missing or ambiguous (two bare
dates, an SSN-shaped number without "social security") is emitted with `uncertain` set, so staff see
it, or left out: never a silent guess. No prose value is as sure as a labelled one, so confidence is
capped at 0.9 and labelled values (`parsers.fields`) win over these in `parsers.body`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass

from parsers import prose_contact, values
from parsers.pii import mask_ssn
from parsers.ssn_grammar import find_ssns, plain_hyphens
from parsers.types import Candidate, Method, Provenance

MAX_CONF = 0.9
NO_LABEL = "read from prose; no label"

# ---------------------------------------------------------------------------------------------
# Text preparation and sentence windows
# ---------------------------------------------------------------------------------------------

_PUNCT = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ",
    "\u200b": "", "\u200c": "", "\u200d": "", "\ufeff": "", "\u00ad": "",
    # windows-1252 punctuation that was decoded as Latin-1 (C1 controls)
    "\x91": "'", "\x92": "'", "\x93": '"', "\x94": '"', "\x96": "-", "\x97": "-", "\x85": "...",
})


def clean_punctuation(text: str) -> str:
    """Plain ASCII quotes, dashes and spaces, so one set of patterns reads every mail client's text.

    Windows-1252 curly quotes and en dashes arrive as Unicode, or as C1 control characters when a
    sender's cp1252 bytes were labelled Latin-1; both become `'`, `"` and `-`.
    """
    return text.translate(_PUNCT)


def _flatten(text: str) -> str:
    """Plain punctuation, single spaces; line breaks stay (a short line is a block of its own)."""
    text = clean_punctuation(text).replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t\f\v]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# Words whose trailing period does not end a sentence.
_ABBREV = {
    "mr", "mrs", "ms", "dr", "st", "no", "nos", "inc", "co", "corp", "ltd", "jr", "sr", "u.s", "e.g",
    "i.e", "s.a", "s.l", "b.v", "n.v", "k.k", "s.r.l", "s.p.a", "sp", "o.o", "vs", "approx", "ave",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "ltda",
    "e.i.n", "soc", "sec", "tel", "dept",
}


def _sentence_starts(text: str) -> list[int]:
    """Offsets where sentences begin.

    After `.!?` + space + capital, unless the period ends an abbreviation or an initial
    ("Jane Q. Doe", "U.S.", "Nordlicht S.A."); after a blank line; and after a short line (an
    address line, the letter's date, a salutation), which a wrapped paragraph never has inside it.
    """
    starts = [0]
    for m in re.finditer(r"[.!?]\s+(?=[A-Z\"'(])|\n\n|\n", text):
        tok = m.group(0)
        if tok == "\n":
            line = text[text.rfind("\n", 0, m.start()) + 1 : m.start()]
            # a wrapped line is long, or ends in a small word that carries on ("... and ending")
            if len(line) >= 45 or re.search(r"\b[a-z]+$", line):
                continue
        elif tok.startswith("."):
            before = re.search(r"([A-Za-z.]+)$", text[max(0, m.start() - 40) : m.start()])
            word = before.group(1).lower() if before else ""
            if word in _ABBREV or len(word) == 1 or re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):
                continue
        starts.append(m.end())
    return starts


@dataclass
class _Ctx:
    text: str
    starts: list[int]

    def sentence_start(self, pos: int) -> int:
        return self.starts[bisect.bisect_right(self.starts, pos) - 1]

    def before(self, pos: int, width: int) -> str:
        """The text before `pos`, at most `width` characters, never reaching into the previous
        sentence: a cue must be in the value's own sentence."""
        return self.text[max(self.sentence_start(pos), pos - width) : pos]


# ---------------------------------------------------------------------------------------------
# Candidates
# ---------------------------------------------------------------------------------------------


_Found = prose_contact.Said  # one record of a value said in a sentence, for every prose reader


def _cand(f: _Found, part: str, method: Method) -> Candidate:
    return Candidate(
        field=f.field,
        value=" ".join(f.value.split()),  # a value wrapped over two lines is one value
        raw=f.raw,
        confidence=min(f.conf, MAX_CONF),
        provenance=Provenance(part=part, method=method, label=None),
        uncertain=f.uncertain,
    )


# ---------------------------------------------------------------------------------------------
# Numbers: SSN and EIN
# ---------------------------------------------------------------------------------------------

_SSN_CUE = re.compile(
    r"social\s+security|\bssn\b|\bss\s*#|\bss\s*no\b|\bsoc\.?\s*sec\b|\bs\.s\.n\b|\bssa\s+number", re.I
)
_EIN_CUE = re.compile(
    r"\bein\b|\be\.i\.n\b|\bfein\b|employer\s+identification|\btax\s*(?:payer\s*)?(?:id|identification)\b"
    r"|\btin\b|federal\s+(?:tax\s+)?id",
    re.I,
)
# Words that make a 9- or 10-digit number something other than an SSN.
_OTHER_NUMBER_CUE = re.compile(
    r"\b(?:phone|tel|telephone|fax|call|mobile|cell|account|acct|order|invoice|ref|reference|zip"
    r"|routing|case|ticket|policy|claim|passport|extension|ext)\b",
    re.I,
)
# A number near these is a family member's, not the worker's.
_FAMILY = re.compile(r"\b(?:spouse|wife|husband|son|daughter|child|children|dependent|dependant)'?s?\b", re.I)

_EIN_RE = re.compile(r"(?<![\d-])(\d{2})(-?)(\d{7})(?![\d-])")


def _nearest(cues: dict[str, re.Pattern[str]], window: str) -> str | None:
    """The cue that ends closest to the end of `window` (the one right before the value)."""
    best: tuple[int, str] | None = None
    for name, rx in cues.items():
        for m in rx.finditer(window):
            if best is None or m.end() > best[0]:
                best = (m.end(), name)
    return best[1] if best else None


def _numbers(ctx: _Ctx) -> list[_Found]:
    out: list[_Found] = []
    cues = {"ssn": _SSN_CUE, "ein": _EIN_CUE, "other": _OTHER_NUMBER_CUE}
    for m in find_ssns(ctx.text):
        if ctx.text[max(m.start() - 1, 0):m.start()] == "-" or ctx.text[m.end():m.end() + 1] == "-":
            continue  # part of a longer hyphenated number (1-800-..., an account number)
        raw = m.group(0)
        window = ctx.before(m.start(), 60)
        cue = _nearest(cues, window)
        if cue in ("ein", "other"):
            continue
        value = values.parse_ssn(raw)
        if _FAMILY.search(window):
            if value is not None and cue is not None:
                out.append(_Found("worker.ssn", value, raw, 0.4, m.start(),
                                  f"{NO_LABEL}; may be a family member's number"))
            continue
        if cue == "ssn":
            if value is None:
                out.append(_Found("worker.ssn", raw, raw, 0.5, m.start(),
                                  f"not a valid Social Security number ({mask_ssn(raw)})"))
            else:
                out.append(_Found("worker.ssn", value, raw, 0.9, m.start()))
        elif plain_hyphens(m) and value is not None:
            # NNN-NN-NNNN is the SSN's own shape (phones are NNN-NNN-NNNN), but with no cue a
            # person should confirm it.
            out.append(_Found("worker.ssn", value, raw, 0.6, m.start(),
                              f"{NO_LABEL}; SSN-shaped number with no 'social security' nearby"))
        # bare or spaced digits with no cue could be anything: left out
    for m in _EIN_RE.finditer(ctx.text):
        raw = m.group(0)
        cue = _nearest(cues, ctx.before(m.start(), 60))
        value = values.parse_ein(raw)
        if cue == "ein":
            if value is None:
                out.append(_Found("employer.ein", raw, raw, 0.5, m.start(),
                                  "not a valid Employer Identification Number"))
            else:
                out.append(_Found("employer.ein", value, raw, 0.9, m.start()))
        elif cue is None and m.group(2) == "-" and value is not None:
            out.append(_Found("employer.ein", value, raw, 0.5, m.start(),
                              f"{NO_LABEL}; EIN-shaped number with no 'EIN' nearby"))
    return out


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------

_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
          r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DATE_RE = re.compile(
    rf"\b(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+\d{{4}}|\d{{1,2}}-{_MONTH}-(?:\d{{4}}|\d{{2}}(?!\d))"
    r"|\d{1,2}/\d{1,2}/\d{4}|\d{1,2}/\d{1,2}/\d{2}(?![\d/])|\d{4}-\d{2}-\d{2}"
    r"|\d{1,2}\.\d{1,2}\.\d{4})(?![\d])",
    re.I,
)
_DATE_CUES: dict[str, re.Pattern[str]] = {
    "dob": re.compile(r"\b(?:born|birth|d\.?o\.?b\.?|birthday)\b", re.I),
    "start": re.compile(
        r"\b(?:from|beginning|begins|begin|starting|starts|start|commencing|commences|effective"
        r"|as\s+of|between|leaving|departing|departs|arriving)\b",
        re.I,
    ),
    "end": re.compile(
        r"\b(?:through|thru|until|till|ending|ends|end|returning|returns|concluding)\b",
        re.I,
    ),
    "hire": re.compile(r"\b(?:hired|hire|joined|employed\s+(?:by\s+us\s+)?since|with\s+us\s+since)\b",
                       re.I),
}
_PERIOD_CONTEXT = re.compile(
    r"\b(?:period|assign\w*|work\w*|transfer\w*|post(?:ed|ing)|second\w*|stay\w*|abroad|employ\w*|"
    r"coverage|certificate|detach\w*|relocat\w*|project|through|thru|until|ending|ends|dates?)\b",
    re.I,
)
_FIELD_FOR = {"dob": "worker.date_of_birth", "start": "assignment.start_date",
              "end": "assignment.end_date", "hire": "assignment.hire_date"}


def _dates(ctx: _Ctx) -> list[_Found]:
    """Each date takes the meaning of the nearest cue word before it in its sentence.

    Two dates joined by a dash, "to", "and", "through" or "until" form a period ("from X to Y",
    "between X and Y", "3/3/2027 - 2/28/2029"); "to" and "and" mean nothing elsewhere ("send the
    confirmation to ..."). Dates left with no cue are offered as a period only when exactly two
    remain, and then marked uncertain.
    """
    out: list[_Found] = []
    loose: list[tuple[re.Match[str], str]] = []
    prev: re.Match[str] | None = None
    prev_kind: str | None = None
    prev_value: str | None = None
    for m in _DATE_RE.finditer(ctx.text):
        raw = m.group(0)
        parsed = values.parse_date(raw)
        value = parsed.isoformat() if parsed else None
        sent = ctx.sentence_start(m.start())
        gap = ctx.text[prev.end() : m.start()] if prev is not None and prev.end() >= sent else None
        joined = gap is not None and re.fullmatch(r"\s*(?:-|to|and|through|thru|until|till)\s*", gap, re.I)
        if joined and prev is not None and prev_kind in (None, "start"):
            kind: str | None = "end"
            if prev_kind is None and prev_value is not None:
                # an uncued date joined to this one is the period's start
                loose = [x for x in loose if x[0] is not prev]
                sentence = ctx.text[max(sent, m.start() - 300) : m.end()]
                sure = re.search(r"\b(?:period|assignment|dates?|transfer\w*|work\w*|posted|stay|"
                                 r"secondment|employment|abroad)\b", sentence, re.I)
                why = None if sure else f"{NO_LABEL}; a date range with no word saying what it is"
                conf = 0.8 if sure else 0.5
                out.append(_Found("assignment.start_date", prev_value, prev.group(0), conf, prev.start(), why))
                if value is not None:
                    out.append(_Found("assignment.end_date", value, raw, conf, m.start(), why))
                prev, prev_kind, prev_value = m, "end", value
                continue
        else:
            lo = max(sent, prev.end() if prev is not None else 0, m.start() - 60)
            window = ctx.text[lo : m.start()]
            kind = _nearest(_DATE_CUES, window)
        prev, prev_kind, prev_value = m, kind, value
        if value is None:
            continue
        if kind in ("start", "end") and not _PERIOD_CONTEXT.search(ctx.text[max(sent, m.start() - 300) :
                                                                            m.end() + 200]):
            # "your letter from 3/3/2026": a start or end with nothing about work or a period
            out.append(_Found(_FIELD_FOR[kind], value, raw, 0.5, m.start(),
                              f"{NO_LABEL}; nothing says this date belongs to the assignment"))
        elif kind in _FIELD_FOR:
            out.append(_Found(_FIELD_FOR[kind], value, raw, 0.85, m.start()))
        else:
            loose.append((m, value))
    have = {f.field for f in out}
    # A date alone on its line (the letter's own date) is not a candidate for anything.
    loose = [(m, v) for m, v in loose if not _own_line(ctx.text, m)]
    if "assignment.start_date" not in have and "assignment.end_date" not in have and len(loose) == 2:
        (m1, v1), (m2, v2) = sorted(loose, key=lambda x: x[1])
        why = f"{NO_LABEL}; two dates with no from/through words"
        out.append(_Found("assignment.start_date", v1, m1.group(0), 0.4, m1.start(), why))
        out.append(_Found("assignment.end_date", v2, m2.group(0), 0.4, m2.start(), why))
    return out


def _own_line(text: str, m: re.Match[str]) -> bool:
    before = text[max(0, m.start() - 40) : m.start()].rstrip(" ")
    after = text[m.end() : m.end() + 40].lstrip(" ")
    if m.start() >= 40 and "\n" not in before:
        return False
    return (before == "" or before.endswith("\n")) and (after == "" or after.startswith("\n"))


# ---------------------------------------------------------------------------------------------
# Countries, places and companies
# ---------------------------------------------------------------------------------------------

# Names and adjectives to *find* a country in running text (longest first when matching). The
# agreement countries and the countries requests most often name by mistake.
_COUNTRY_WORDS: dict[str, str] = {
    "Italy": "IT", "Italian": "IT", "Germany": "DE", "German": "DE", "Switzerland": "CH", "Swiss": "CH",
    "Norway": "NO", "Norwegian": "NO", "Belgium": "BE", "Belgian": "BE", "Canada": "CA",
    "Canadian": "CA", "Quebec": "CA-QC", "Québec": "CA-QC", "United Kingdom": "GB", "UK": "GB",
    "U.K.": "GB", "Great Britain": "GB", "Britain": "GB", "British": "GB", "England": "GB",
    "English": "GB", "Scotland": "GB", "Scottish": "GB", "Wales": "GB", "Welsh": "GB",
    "Northern Ireland": "GB", "Sweden": "SE", "Swedish": "SE", "Spain": "ES", "Spanish": "ES",
    "France": "FR", "French": "FR", "Portugal": "PT", "Portuguese": "PT", "Netherlands": "NL",
    "the Netherlands": "NL", "Holland": "NL", "Dutch": "NL", "Austria": "AT", "Austrian": "AT",
    "Finland": "FI", "Finnish": "FI", "Ireland": "IE", "Irish": "IE", "Luxembourg": "LU",
    "Greece": "GR", "Greek": "GR", "Korea": "KR", "South Korea": "KR", "Republic of Korea": "KR",
    "Korean": "KR", "Chile": "CL", "Chilean": "CL", "Australia": "AU", "Australian": "AU",
    "Japan": "JP", "Japanese": "JP", "Denmark": "DK", "Danish": "DK", "Czech Republic": "CZ",
    "Czechia": "CZ", "Czech": "CZ", "Poland": "PL", "Polish": "PL", "Slovak Republic": "SK",
    "Slovakia": "SK", "Slovak": "SK", "Hungary": "HU", "Hungarian": "HU", "Brazil": "BR",
    "Brazilian": "BR", "Uruguay": "UY", "Uruguayan": "UY", "Slovenia": "SI", "Slovenian": "SI",
    "Iceland": "IS", "Icelandic": "IS",
    "Philippines": "PH", "the Philippines": "PH", "Philippine": "PH", "Mexico": "MX", "Mexican": "MX",
    "India": "IN", "Indian": "IN", "China": "CN", "Chinese": "CN", "Singapore": "SG", "Israel": "IL",
    "Israeli": "IL", "Argentina": "AR", "Colombia": "CO", "South Africa": "ZA", "New Zealand": "NZ",
    "United Arab Emirates": "AE", "UAE": "AE", "Thailand": "TH", "Vietnam": "VN", "Taiwan": "TW",
    "Hong Kong": "HK", "Russia": "RU", "Romania": "RO", "Turkey": "TR", "Estonia": "EE", "Latvia": "LV",
    "Lithuania": "LT", "Croatia": "HR", "Bulgaria": "BG", "Saudi Arabia": "SA", "Qatar": "QA",
    "Peru": "PE", "Malaysia": "MY", "Indonesia": "ID",
    "United States": "US", "the United States": "US", "USA": "US", "U.S.A.": "US", "U.S.": "US",
    "America": "US", "American": "US",
}
_COUNTRY_RE = re.compile(
    # a country of two words may wrap onto the next line of a paragraph ("the United\nKingdom")
    r"(?<![\w.])("
    + "|".join(re.escape(k).replace(r"\ ", r"\s+") for k in sorted(_COUNTRY_WORDS, key=len, reverse=True))
    + r")(?![\w])"
)
_ASSIGN_CUE = re.compile(
    r"\b(?:work|works|working|worked|employed|stationed|based|assign\w*|post(?:ed|ing)|second\w*|"
    r"transfer\w*|sen[dt]|sending|relocat\w*|move|moving|go|goes|going|travel\w*|deploy\w*|detach\w*|"
    r"affiliate|subsidiary|office|branch|client|site|project|abroad|coverage\s+in)\b",
    re.I,
)
_BIRTH_CUE = re.compile(r"\b(?:born|birth|native)\b", re.I)
_CITIZEN_CUE = re.compile(r"\b(?:citizen|citizenship|national|nationality|passport)\b", re.I)

_CITY = r"[A-Z][A-Za-z'.-]+(?:\s[A-Z][A-Za-z'.-]+){0,2}"
_CORP_SUFFIX = (
    r"GmbH\s*&\s*Co\.?\s*KG|GmbH|AG|KG|K\.K\.|KK|Kabushiki\s+Kaisha|Pty\.?\s+Ltd\.?|Co\.?,?\s+Ltd\.?|"
    r"Ltd\.?|Limited|PLC|plc|S\.A\.S\.|SAS|S\.A\.R\.L\.|SARL|S\.?A\.|S\.r\.l\.|Srl|S\.p\.A\.|SpA|"
    r"B\.V\.|BV|N\.V\.|NV|S\.L\.U?\.|SLU|S\.L\.|A/S|ASA|AS|AB|Oyj|Oy|Sp\.\s*z\s*o\.\s*o\.|Ltda\.?|"
    r"s\.r\.o\.|a\.s\.|Kft\.?|Zrt\.?|Nyrt\.?|d\.o\.o\.|ehf\.?|hf\.?|SE|SpA|SRL|Lda\.?|ApS|DAC|OÜ|UAB|SIA|"
    r"Pte\.?\s+Ltd\.?|Sdn\.?\s+Bhd\.?|Pvt\.?\s+Ltd\.?|S\.C\.A\.|Inc\.?|LLC|Corp\.?|Corporation"
)
_US_SUFFIX = r"Inc\.?|Incorporated|LLC|L\.L\.C\.|LLP|L\.P\.|Corporation|Corp\.?|Company|Co\.?|Ltd\.?|PLLC|PC"
# A word of a company name; the look-behind keeps a match from starting inside a word (a long run of
# letters would otherwise be tried once per letter), and the length cap bounds each try.
_CO_WORD = r"(?<![\w&'.-])[A-Z0-9][\w&'.-]{0,40}"


def _countries(ctx: _Ctx) -> list[_Found]:
    """A country counts as the assignment's only beside a word of working there; a country of
    birth or of citizenship is read as such or not at all."""
    out: list[_Found] = []
    for m in _COUNTRY_RE.finditer(ctx.text):
        word = " ".join(m.group(1).split())
        code = _COUNTRY_WORDS[word]
        window = ctx.before(m.start(), 90)
        after = ctx.text[m.end() : m.end() + 25]
        cues = {"assign": _ASSIGN_CUE, "birth": _BIRTH_CUE, "citizen": _CITIZEN_CUE}
        cue = _nearest(cues, window)
        if re.match(r"\s+(?:citizen|national)", after, re.I):
            cue = "citizen"
        elif re.match(r"\s+(?:affiliate|subsidiary|office|branch|client|company|entity|operations)",
                      after, re.I):
            cue = "assign"
        if cue == "citizen":
            out.append(_Found("worker.citizenship", code.split("-")[0], word, 0.8, m.start()))
            continue
        if cue != "assign" or code == "US":
            continue
        if code == "CA" and re.search(r"Qu[eé]bec\W{1,3}$", ctx.text[max(0, m.start() - 12) : m.start()]):
            continue  # "Montreal, Quebec, Canada": Quebec's own agreement, read from "Quebec"
        out.append(_Found("assignment.country", code, word, 0.85, m.start()))
        city = re.search(rf"\bin\s+({_CITY}),\s*$", ctx.text[max(0, m.start() - 60) : m.start()])
        if city and city.group(1) not in _COUNTRY_WORDS:
            out.append(_Found("assignment.work_address.city", city.group(1), city.group(1), 0.8,
                              m.start()))
            out.append(_Found("assignment.work_address.country", code.split("-")[0], word, 0.8, m.start()))
    return out


def _companies(ctx: _Ctx) -> list[_Found]:
    """The host after "work for"/"assigned to" and the U.S. employer that "requests", each only
    when its name ends in a company suffix: without one it could be a person or a city."""
    out: list[_Found] = []
    host_re = re.compile(
        r"\b(?:work(?:s|ing)?\s+(?:for|at|with)|employed\s+by|assigned\s+to|seconded\s+to|"
        r"transferred\s+to|posted\s+to|placed\s+with|sent\s+to|host(?:\s+company|\s+employer)?(?:\s+is)?|"
        r"assignment\s+(?:with|at))\s+(?:(?:our|the|its|their)\s+(?:\w+\s+){0,2}?"
        r"(?:affiliate|subsidiary|client|partner|company|entity|office|branch)\s*,?\s+)?"
        rf"((?:{_CO_WORD}\s+){{0,5}}?(?:{_CORP_SUFFIX}))(?![\w&])",
    )
    for m in host_re.finditer(ctx.text):
        name = m.group(1).strip().rstrip(",")
        out.append(_Found("assignment.host_name", name, name, 0.8, m.start(1)))
    emp_re = re.compile(
        rf"((?:{_CO_WORD}\s+){{1,5}}?(?:{_US_SUFFIX}))(?![\w&])\s*(?:\([^)]*\)\s*)?,?\s*"
        r"(?:hereby\s+)?(?:requests|is\s+requesting|would\s+like|asks|is\s+asking|respectfully\s+requests)"
        r"|\bon\s+behalf\s+of\s+"
        rf"((?:{_CO_WORD}\s+){{0,5}}?(?:{_US_SUFFIX}))(?![\w&])"
        r"|\b(?:employer|employed\s+by|[Ww]e\s+at|(?:[Oo]ur|[Mm]y)\s+(?:company|firm|employer))\s*(?:is\s+)?,?\s*"
        rf"((?:{_CO_WORD}\s+){{0,5}}?(?:{_US_SUFFIX}))(?![\w&])"
    )
    for m in emp_re.finditer(ctx.text):
        grp = 1 if m.group(1) else 2 if m.group(2) else 3
        name = m.group(grp).strip().rstrip(",")
        name = re.sub(r"^(?:The|A|Our)\s+", "", name)
        if any(h.value == name for h in out):
            continue
        out.append(_Found("employer.name", name, name, 0.8, m.start(grp)))
    return out


# ---------------------------------------------------------------------------------------------
# People, places of birth, emails, kind of request
# ---------------------------------------------------------------------------------------------

# "O'Brien", "McKay", "MacLeod" and the particles of a family name ("de la Cruz", "van der Berg")
_NAME_TOKEN = r"(?:[A-Z]'|Mc|Mac)?[A-Z][a-z]+(?:['-][A-Z]?[a-z]+)*(?![\w'-])"
_PARTICLES = r"(?:(?:van|von|de|der|den|del|della|la|le|da|di|du|dos|das|ter|ten|al|bin|ibn)(?: |\n(?!\n))){1,2}"
_NAME = rf"{_NAME_TOKEN}(?:(?: |\n(?!\n))(?:{_PARTICLES}{_NAME_TOKEN}|{_NAME_TOKEN}|[A-Z]\.|[A-Z](?![\w'-]))){{1,3}}"
_NOT_NAME = {
    "Social", "Security", "Certificate", "Coverage", "United", "States", "The", "This", "Our", "We",
    "Please", "Dear", "Sir", "Madam", "Administration", "Office", "International", "Programs",
    "Employee", "Employer", "Request", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December", "Street", "Avenue", "Road", "Drive", "Lane", "Human", "Resources",
    "Department", "Team", "Payroll", "Benefits", "Manager", "Director", "Self", "Employed", "Writing",
    "Happy", "Pleased", "Kind", "Regards", "Best", "Sincerely", "Thanks", "Thank", "Hello", "Hi", "Re",
    "Services", "Group", "Division", "Mobile", "Attached", "Enclosed", "Form", "Forms",
}
_PERSON_CUE = re.compile(
    rf"\b(?P<cue>employee|worker|staff\s+member|colleague|named|for|my\s+name\s+is|I\s+am|I,)\s*,?\s+"
    rf"(?:(?:Mr|Ms|Mrs|Miss|Dr)\.?\s+)?(?P<name>{_NAME})(?P<poss>'s)?"
)
# The look-behind makes a match start only where an address can start: without it a long run of
# letters is scanned once per letter (quadratic).
_EMAIL_RE = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}\b")


def _people(ctx: _Ctx) -> list[_Found]:
    out: list[_Found] = []
    for m in _PERSON_CUE.finditer(ctx.text):
        tokens = m.group("name").split()
        # "for Nordlicht GmbH", "for March 3", "for Acme Widget Corporation": not a person. A name
        # ends where such a word starts ("Clara Brennan\nThe assignment ...").
        cut = next((i for i, t in enumerate(tokens) if t.rstrip(".") in _NOT_NAME or t in _COUNTRY_WORDS),
                   len(tokens))
        if cut < 2:
            continue
        tokens = tokens[:cut]
        name = " ".join(tokens)
        name_end = m.start("name") + len(name) if cut == len(m.group("name").split()) else -1
        after = ctx.text[m.end("name") : m.end("name") + 30] if name_end >= 0 else ""
        if re.match(rf"\s*(?:{_CORP_SUFFIX}|{_US_SUFFIX})(?![\w])", after) or re.fullmatch(
            rf".*\b(?:{_CORP_SUFFIX}|{_US_SUFFIX})", name
        ):
            continue
        cue = m.group("cue").lower()
        if cue == "for" and re.search(r"\b(?:work|works|working|worked|employed|apply|applying|paid)\s*$",
                                      ctx.text[max(0, m.start() - 20) : m.start()], re.I):
            continue  # "work for Nordlicht Solano" names the host, not the worker
        parts = values.parse_name(name)
        conf, why = 0.8, None
        if cue == "for" and not re.search(r"\b(?:certificate|coverage|request\w*|application|form|coc)\W+"
                                          r"(?:\w+\W+){0,3}$", ctx.before(m.start(), 50), re.I):
            # "a certificate of coverage for Jane Doe" is the worker; a bare "for" may be anyone
            conf, why = 0.6, f"{NO_LABEL}; a name after 'for'"
        for key in ("first_name", "middle_name", "last_name"):
            if parts.get(key):
                out.append(_Found(f"worker.{key}", parts[key], name, conf, m.start("name"), why))
        if cue.startswith(("my", "i")):
            out.append(_Found("request_type", "self_employed", m.group(0), 0.5, m.start(),
                              f"{NO_LABEL}; the writer names themself as the worker"))
    return out


def _birthplace(ctx: _Ctx) -> list[_Found]:
    rx = re.compile(
        rf"\bborn\b(?:\s+on)?(?:\s+{_DATE_RE.pattern})?,?\s+in\s+({_CITY}(?:,\s*(?:[A-Z]{{2}}\b|{_CITY}))?)",
        re.I,
    )
    out: list[_Found] = []
    for m in rx.finditer(ctx.text):
        place = m.group(1)
        if not place[0].isupper():
            continue
        # keep "City, ST" or "City, Country"; drop words that carry on the sentence
        place = re.sub(r",\s*(?:who|and|on|in)\b.*$", "", place)
        out.append(_Found("worker.place_of_birth", place, place, 0.8, m.start(1)))
    return out


def _emails(ctx: _Ctx) -> list[_Found]:
    out: list[_Found] = []
    for m in _EMAIL_RE.finditer(ctx.text):
        raw = m.group(0).rstrip(".")
        window = ctx.before(m.start(), 80)
        value = values.parse_email(raw) or raw
        if re.search(r"\bconfirm", window, re.I):
            out.append(_Found("confirmation_email", value, raw, 0.85, m.start()))
        elif re.search(r"\bmy\s+e-?mail\b", window, re.I):
            out.append(_Found("worker.email", value, raw, 0.8, m.start()))
    return out


def _kind(ctx: _Ctx) -> list[_Found]:
    selfemp = re.search(r"\bself[- ]employed\b", ctx.text, re.I)
    employee = re.search(r"\b(?:our|my|an?)\s+employee\b|\bemployee\s+of\b|\bour\s+(?:staff|worker)",
                         ctx.text, re.I)
    if selfemp and not employee:
        return [_Found("request_type", "self_employed", selfemp.group(0), 0.8, selfemp.start())]
    if employee and not selfemp:
        return [_Found("request_type", "employee", employee.group(0), 0.8, employee.start())]
    return []


def _us_citizen(ctx: _Ctx) -> list[_Found]:
    m = re.search(r"\b(?:U\.?S\.?|American|United\s+States)\s+citizen\b|\bcitizen\s+of\s+the\s+United\s+States",
                  ctx.text)
    return [_Found("worker.citizenship", "US", m.group(0), 0.8, m.start())] if m else []


def _said(ctx: _Ctx) -> list[_Found]:
    """Addresses, phones, contacts, yes/no answers and a business (`parsers.prose_contact`)."""
    start = ctx.sentence_start
    found = [*prose_contact.addresses(ctx.text, start), *prose_contact.phones(ctx.text, start),
             *prose_contact.contacts(ctx.text, start), *prose_contact.answers(ctx.text),
             *prose_contact.business(ctx.text)]
    return found


_READERS: list[Callable[[_Ctx], list[_Found]]] = [
    _numbers, _dates, _countries, _companies, _people, _birthplace, _emails, _kind, _us_citizen, _said,
]


def _all_readers() -> list[Callable[[_Ctx], list[_Found]]]:
    """These readers and those of `parsers.prose_cues` (contacts, addresses, yes/no statements),
    which build on the patterns above and so are fetched when first needed, not at import."""
    from parsers import prose_cues  # noqa: PLC0415 - it builds on this module's patterns

    return [*_READERS, *prose_cues.READERS]


def find_in_prose(text: str, *, part: str, method: Method = "text") -> list[Candidate]:
    """Candidates read from sentences: at most one certain value per field.

    When readers find different values for one field (two SSNs, two countries of assignment), every
    one of them is returned with `uncertain` set, for a person to choose.
    """
    flat = _flatten(text)
    ctx = _Ctx(flat, _sentence_starts(flat))
    found: list[_Found] = []
    for reader in _all_readers():
        found.extend(reader(ctx))
    by_field: dict[str, list[_Found]] = {}
    for f in sorted(found, key=lambda f: f.pos):
        same = by_field.setdefault(f.field, [])
        dup = next((g for g in same if g.value == f.value), None)
        if dup is None:
            same.append(f)
        elif dup.uncertain and not f.uncertain:
            same[same.index(dup)] = f
    out: list[Candidate] = []
    for fs in by_field.values():
        if len(fs) > 1:
            sure = [f for f in fs if not f.uncertain]
            if len(sure) == 1:
                fs = sure  # one cued value beats uncued look-alikes
            else:
                for f in fs:
                    f.uncertain = f.uncertain or f"{NO_LABEL}; several different values in the text"
                    f.conf = min(f.conf, 0.5)
        out.extend(_cand(f, part, method) for f in fs)
    return _own_details(out)


_OWN_DETAIL = {"employer.contact_email": "worker.email", "employer.contact_phone": "worker.phone",
               "employer.address": "worker.address"}


def _own_details(out: list[Candidate]) -> list[Candidate]:
    """A self-employed person writing about themselves has no employer: an address, phone or e-mail
    one reader gave the employer (a U.S. address, "reach me at") is the writer's own, and the
    employer's other fields are dropped (their contact is the writer)."""
    if not any(c.field == "request_type" and c.value == "self_employed" for c in out):
        return out
    have = {c.field for c in out}
    kept: list[Candidate] = []
    for c in out:
        if not c.field.startswith("employer."):
            kept.append(c)
            continue
        head = next((k for k in _OWN_DETAIL if c.field == k or c.field.startswith(k + ".")), None)
        if head is None:
            continue
        own = _OWN_DETAIL[head] + c.field[len(head):]
        if own not in have:
            kept.append(c.model_copy(update={"field": own}))
            have.add(own)
    return kept
