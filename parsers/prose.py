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

import re
from collections.abc import Callable

from parsers import prose_contact, prose_cues, values
from parsers.prose_numbers import (
    _DATE_RE,
    _dates,
    _nearest,
    _numbers,
)
from parsers.prose_text import (
    _EMAIL_RE,
    _NAME,
    _NOT_NAME,
    NO_LABEL,
    _cand,
    _Ctx,
    _flatten,
    _Found,
    _sentence_starts,
)
from parsers.types import Candidate, Method

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

_PERSON_CUE = re.compile(
    rf"\b(?P<cue>employee|worker|staff\s+member|colleague|named|for|my\s+name\s+is|I\s+am|I,)\s*,?\s+"
    rf"(?:(?:Mr|Ms|Mrs|Miss|Dr)\.?\s+)?(?P<name>{_NAME})(?P<poss>'s)?"
)


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
    for all_found in by_field.values():
        fs = all_found
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
