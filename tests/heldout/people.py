"""Made-up requests and their ground truth: people, companies, places, numbers, dates.

Every name is built from syllables by code (never a real person's data), SSNs are valid-looking
but drawn away from the never-issued areas (000, 666, 900-999, group 00, serial 0000, the
advertising numbers), EINs take a prefix in use (`config/agreements.toml`). The truth is the
canonical flat form of domain.md: ISO dates, alpha-2 codes, `NNN-NN-NNNN`, `"true"`/`"false"`.
"""

from __future__ import annotations

import random
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path

_ONSETS = ["b", "br", "d", "dr", "f", "g", "h", "j", "k", "kl", "l", "m", "n", "p", "r", "s", "st",
           "t", "tr", "v", "w", "z", "sh", "th", "gr", "c", "ch"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "y", "ie"]
_CODAS = ["", "", "n", "r", "l", "s", "th", "nd", "rk", "m", "ck", "x", "lt", "ss", "ne"]

# Given names sound like names: two syllables and an ending.
_GIVEN_ENDS = ["a", "o", "en", "iel", "ette", "is", "an", "ine", "y", "on", "ard"]
_FAMILY_ENDS = ["son", "er", "ley", "ton", "ford", "man", "berg", "wick", "ell", "ridge", "stead"]
_FAMILY_PREFIXES = ["", "", "", "", "", "", "van der ", "de la ", "O'", "Mc"]
_TRADES = ["Analytics", "Logistics", "Engineering", "Biotech", "Foods", "Textiles", "Robotics",
           "Software", "Instruments", "Freight", "Energy", "Ceramics", "Optics", "Materials"]
_US_FORMS = ["Inc.", "LLC", "Corp.", "Inc", "L.L.C.", "Co."]
_US_STREETS = ["Ave", "Street", "Blvd", "Road", "Lane", "Drive", "Parkway", "Way"]
_US_STATES = ["AL", "AZ", "CA", "CO", "CT", "FL", "GA", "IL", "IN", "KS", "KY", "MA", "MD", "MI", "MN",
              "MO", "NC", "NJ", "NY", "OH", "OR", "PA", "TN", "TX", "UT", "VA", "WA", "WI"]


@dataclass(frozen=True)
class Country:
    code: str
    names: tuple[str, ...]  # how a writer names it (the first is the plain English name)
    forms: tuple[str, ...]  # legal forms of its companies
    street_word: str  # how its street names end
    postal: str  # the postal code pattern: 9 = digit, A = capital
    postal_first: bool = True  # "12345 City" (else "City 12345")


COUNTRIES: tuple[Country, ...] = (
    Country("DE", ("Germany", "Federal Republic of Germany"), ("GmbH", "AG", "GmbH & Co. KG"), "strasse", "99999"),
    Country("AT", ("Austria",), ("GmbH",), "gasse", "9999"),
    Country("CH", ("Switzerland",), ("AG", "GmbH", "SA"), "weg", "9999"),
    Country("IT", ("Italy",), ("S.p.A.", "S.r.l."), "via", "99999"),
    Country("FR", ("France",), ("S.A.S.", "SARL", "S.A."), "rue", "99999"),
    Country("ES", ("Spain",), ("S.L.", "S.A."), "calle", "99999"),
    Country("NL", ("the Netherlands", "Netherlands"), ("B.V.", "N.V."), "straat", "9999 AA"),
    Country("BE", ("Belgium",), ("NV", "BV", "SRL"), "laan", "9999"),
    Country("GB", ("United Kingdom", "the UK", "England"), ("Ltd", "Limited", "PLC"), "Road", "AA9 9AA", False),
    Country("IE", ("Ireland",), ("Ltd", "DAC"), "Street", "A99 A9A9", False),
    Country("SE", ("Sweden",), ("AB",), "gatan", "999 99"),
    Country("NO", ("Norway",), ("AS", "ASA"), "veien", "9999"),
    Country("FI", ("Finland",), ("Oy", "Oyj"), "katu", "99999"),
    Country("DK", ("Denmark",), ("A/S", "ApS"), "vej", "9999"),
    Country("PL", ("Poland",), ("Sp. z o.o.", "S.A."), "ulica", "99-999"),
    Country("CZ", ("Czech Republic", "Czechia"), ("s.r.o.", "a.s."), "ulice", "999 99"),
    Country("JP", ("Japan",), ("K.K.", "Co., Ltd."), "dori", "999-9999"),
    Country("KR", ("South Korea", "Korea"), ("Co., Ltd.",), "ro", "99999"),
    Country("AU", ("Australia",), ("Pty Ltd",), "Street", "9999", False),
    Country("CL", ("Chile",), ("S.A.", "SpA"), "avenida", "9999999"),
    Country("BR", ("Brazil",), ("Ltda.", "S.A."), "rua", "99999-999"),
    Country("HU", ("Hungary",), ("Kft.", "Zrt."), "utca", "9999"),
    Country("PT", ("Portugal",), ("Lda.", "S.A."), "rua", "9999-999"),
    Country("CA", ("Canada",), ("Ltd.", "Inc."), "Street", "A9A 9A9", False),
)
_BY_CODE = {c.code: c for c in COUNTRIES}
_CITIZENSHIP = [("US", "U.S."), ("US", "United States"), ("US", "USA"), ("US", "American"),
                ("US", "US citizen"), ("DE", "German"), ("CA", "Canadian"), ("GB", "British")]


def country(code: str) -> Country:
    return _BY_CODE[code]


@cache
def ein_prefixes() -> tuple[str, ...]:
    path = Path(__file__).resolve().parents[2] / "config" / "agreements.toml"
    return tuple(tomllib.loads(path.read_text("utf-8"))["ein_prefixes"])


def _syllable(rng: random.Random) -> str:
    return rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)


def _tidy(text: str) -> str:
    return re.sub(r"(.)\1\1+", r"\1\1", text)  # no "sss"


def word(rng: random.Random, syllables: int = 2) -> str:
    return _tidy("".join(_syllable(rng) for _ in range(syllables))).capitalize()


def given_name(rng: random.Random) -> str:
    name = _tidy(_syllable(rng) + rng.choice(_GIVEN_ENDS)).capitalize()
    return f"{name}-{_tidy(_syllable(rng) + rng.choice(_GIVEN_ENDS)).capitalize()}" if rng.random() < 0.08 else name


def family_name(rng: random.Random) -> str:
    prefix = rng.choice(_FAMILY_PREFIXES)
    core = _tidy(_syllable(rng) + rng.choice(_FAMILY_ENDS)).capitalize()
    return prefix + core


def ssn(rng: random.Random) -> str:
    while True:
        area = rng.choice([rng.randint(1, 665), rng.randint(667, 899)])
        value = f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
        if value not in ("078-05-1120", "219-09-9999"):
            return value


def ein(rng: random.Random) -> str:
    return f"{rng.choice(ein_prefixes())}-{rng.randint(0, 9999999):07d}"


def postal(pattern: str, rng: random.Random) -> str:
    return "".join(str(rng.randint(0, 9)) if ch == "9" else chr(rng.randint(65, 90)) if ch == "A" else ch
                   for ch in pattern)


@dataclass
class Address:
    street: str
    city: str
    postal_code: str
    country: str
    state: str | None = None

    def line(self) -> str:
        """The address on one line, the way it is written in its country."""
        if self.country == "US":
            return f"{self.street}, {self.city}, {self.state} {self.postal_code}"
        c = country(self.country)
        place = f"{self.postal_code} {self.city}" if c.postal_first else f"{self.city} {self.postal_code}"
        return f"{self.street}, {place}, {c.names[0]}"

    def truth(self, prefix: str) -> dict[str, str]:
        out = {f"{prefix}.street": self.street, f"{prefix}.city": self.city,
               f"{prefix}.postal_code": self.postal_code, f"{prefix}.country": self.country}
        if self.state:
            out[f"{prefix}.state"] = self.state
        return out


def us_address(rng: random.Random) -> Address:
    street = f"{rng.randint(10, 9899)} {word(rng)} {rng.choice(_US_STREETS)}"
    if rng.random() < 0.2:
        street += f", Suite {rng.randint(100, 950)}"
    return Address(street, word(rng), f"{rng.randint(1001, 99899):05d}", "US", rng.choice(_US_STATES))


def foreign_address(code: str, rng: random.Random) -> Address:
    c = country(code)
    name, number = word(rng), rng.randint(1, 180)
    if c.street_word in ("via", "rue", "calle", "rua", "avenida", "ulica", "ulice"):
        street = f"{c.street_word.capitalize()} {name} {number}"
    elif c.street_word[0].isupper():
        street = f"{number} {name} {c.street_word}"
    else:
        street = f"{name}{c.street_word} {number}"
    return Address(street, word(rng), postal(c.postal, rng), code)


@dataclass
class Case:
    """One request as its writer knows it; `truth()` is what the extractor should give."""

    first: str
    middle: str | None
    last: str
    ssn: str
    born: date
    birthplace: str
    citizenship: str  # alpha-2
    citizenship_written: str
    employer: str
    ein: str
    employer_address: Address
    contact: str
    contact_email: str
    country: str  # alpha-2 of the assignment
    start: date
    end: date
    host: str
    work_address: Address
    hired_in_us: bool
    hire_date: date
    remains: bool
    confirm_to: str | None
    country_written: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def truth(self) -> dict[str, str]:
        out = {
            "request_type": "employee",
            "worker.first_name": self.first, "worker.last_name": self.last, "worker.ssn": self.ssn,
            "worker.date_of_birth": self.born.isoformat(), "worker.place_of_birth": self.birthplace,
            "worker.citizenship": self.citizenship, "employer.name": self.employer, "employer.ein": self.ein,
            "employer.contact_name": self.contact, "employer.contact_email": self.contact_email,
            "assignment.country": self.country, "assignment.start_date": self.start.isoformat(),
            "assignment.end_date": self.end.isoformat(), "assignment.host_name": self.host,
            "assignment.hired_in_us": "true" if self.hired_in_us else "false",
            "assignment.hire_date": self.hire_date.isoformat(),
            "assignment.remains_employee": "true" if self.remains else "false",
        }
        if self.middle:
            out["worker.middle_name"] = self.middle
        if self.confirm_to:
            out["confirmation_email"] = self.confirm_to
        out.update(self.employer_address.truth("employer.address"))
        out.update(self.work_address.truth("assignment.work_address"))
        return out


def make_case(rng: random.Random, today: date = date(2026, 11, 25)) -> Case:
    first, last = given_name(rng), family_name(rng)
    middle = rng.choice([None, None, chr(rng.randint(65, 90)), given_name(rng)])
    born = date(rng.randint(1962, 2002), rng.randint(1, 12), rng.randint(1, 28))
    host_country = rng.choice(COUNTRIES)
    start = today + timedelta(days=rng.randint(20, 300))
    end = start + timedelta(days=rng.randint(120, 1700))
    trade = rng.choice(_TRADES)
    root = word(rng)
    employer = f"{root} {trade} {rng.choice(_US_FORMS)}"
    domain = f"{root.lower()}{trade.lower()[:4]}.com"
    contact_first, contact_last = given_name(rng), family_name(rng)
    contact_email = f"{contact_first[0].lower()}.{contact_last.lower().replace(' ', '').replace(chr(39), '')}@{domain}"
    host = f"{word(rng)} {rng.choice(_TRADES)} {rng.choice(host_country.forms)}"
    citizenship, written = rng.choice(_CITIZENSHIP[:5] * 3 + _CITIZENSHIP[5:])
    birth_state = rng.choice(_US_STATES)
    return Case(
        first=first, middle=middle, last=last, ssn=ssn(rng), born=born,
        birthplace=f"{word(rng)}, {birth_state}", citizenship=citizenship, citizenship_written=written,
        employer=employer, ein=ein(rng), employer_address=us_address(rng),
        contact=f"{contact_first} {contact_last}", contact_email=contact_email,
        country=host_country.code, country_written=rng.choice(host_country.names),
        start=start, end=end, host=host, work_address=foreign_address(host_country.code, rng),
        hired_in_us=rng.random() < 0.85,
        hire_date=date(rng.randint(max(2008, born.year + 19), 2025), rng.randint(1, 12), rng.randint(1, 28)),
        remains=rng.random() < 0.9,
        confirm_to=rng.choice([None, f"hr@{domain}", f"payroll@{domain}", contact_email]),
    )
