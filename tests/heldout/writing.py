"""How a writer puts a request into words: labelled items (label with its hint, value as written)
and sentences. Layout (separators, tables, pages) is the renderers' business.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from tests.heldout.people import Case
from tests.heldout.vocab import Half, label

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]


@dataclass(frozen=True)
class Item:
    field: str
    label: str  # the phrasing, with its hint if any: "Surname (as on SS card)"
    value: str


def _abbr(month: int) -> str:
    name = _MONTHS[month - 1]
    return name if len(name) <= 4 else name[:3] + "."  # "Mar.", but "May", "June"


def citizenship_prose(code: str) -> str:
    """A citizenship as it stands in a sentence ("a citizen of ...")."""
    return {"US": "the United States", "DE": "Germany", "CA": "Canada", "GB": "the United Kingdom"}[code]


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def date_styles() -> list[tuple[str, object]]:
    """(hint or "", writer) per date form; the hint, when there is one, says how it is written."""
    return [
        ("", lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}"),
        ("(mm/dd/yyyy)", lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}"),
        ("", lambda d: f"{d.month}/{d.day}/{d.year % 100:02d}"),
        ("", lambda d: d.isoformat()),
        ("", lambda d: f"{_MONTHS[d.month - 1]} {d.day}, {d.year}"),
        ("(month day, year)", lambda d: f"{_MONTHS[d.month - 1]} {d.day}, {d.year}"),
        ("", lambda d: f"{d.day} {_MONTHS[d.month - 1]} {d.year}"),
        ("(DD.MM.YYYY)", lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}"),
        ("", lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}"),
        ("", lambda d: f"{_abbr(d.month)} {_ordinal(d.day)}, {d.year}"),
        ("", lambda d: f"{d.day}-{_MONTHS[d.month - 1][:3]}-{d.year}"),
        ("(dd/mm/yyyy)", lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}"),
    ]


def write_date(d: date, rng: random.Random) -> tuple[str, str]:
    """(hint, text) of a date in one of the forms of phrasings.md; a day-first slashed date only
    with its hint, which the caller must then write beside the label."""
    hint, fn = rng.choice(date_styles())
    return hint, fn(d)  # type: ignore[operator]


def date_in_text(d: date, rng: random.Random) -> str:
    """A date in running text, where no hint can stand: never day-first with slashes (ambiguous)."""
    _hint, fn = rng.choice([s for s in date_styles() if s[0] != "(dd/mm/yyyy)"])
    return fn(d)  # type: ignore[operator]


def _name_items(case: Case, half: Half, rng: random.Random) -> list[Item]:
    middle = case.middle or ""
    mid_short = (middle[0] + ".") if middle else ""
    style = rng.randrange(6)
    if style == 0:  # separate boxes
        items = [Item("worker.first_name", label("worker.first_name", half, rng), case.first),
                 Item("worker.last_name", label("worker.last_name", half, rng), case.last)]
        if middle:
            items.insert(1, Item("worker.middle_name", label("worker.middle_name", half, rng), middle))
        return items
    whole = label("worker.name", half, rng)
    if style == 1:
        return [Item("worker.name", f"{whole} (last, first)", f"{case.last}, {case.first} {mid_short}".strip())]
    if style == 2:
        return [Item("worker.name", f"{whole} (surname, given name)", f"{case.last}, {case.first} {middle}".strip())]
    if style == 3:
        return [Item("worker.name", whole, f"{case.last.upper()}, {case.first} {mid_short}".strip())]
    if style == 4:
        return [Item("worker.name", whole, " ".join(x for x in (case.first, middle, case.last) if x))]
    return [Item("worker.name", whole, " ".join(x for x in (case.first, mid_short, case.last) if x))]


def _hinted(field: str, half: Half, rng: random.Random, hints: list[str], p: float = 0.3) -> str:
    text = label(field, half, rng)
    hint = rng.choice(hints) if hints else ""
    if hint and rng.random() < p and "(" not in text and hint.strip("()").casefold() not in text.casefold():
        text += " " + hint
    return text


def _dated(field: str, d: date, half: Half, rng: random.Random, extra: str = "") -> Item:
    hint, text = write_date(d, rng)
    lab = label(field, half, rng)
    if hint:
        lab += " " + hint
    elif extra:
        lab += " " + extra
    return Item(field, lab, text)


def _yes_no(value: bool, rng: random.Random) -> str:
    return rng.choice(["Yes", "yes", "Y", "YES"] if value else ["No", "no", "N", "NO"])


def items(case: Case, half: Half, rng: random.Random) -> list[Item]:
    """The request as labelled items, in a writer's order (worker, employer, assignment)."""
    ssn = rng.choice([case.ssn, case.ssn.replace("-", " "), case.ssn.replace("-", "")])
    ein = rng.choice([case.ein, case.ein, case.ein.replace("-", "")])
    out = _name_items(case, half, rng)
    out += [
        Item("worker.ssn", _hinted("worker.ssn", half, rng, ["(9 digits)"]), ssn),
        _dated("worker.date_of_birth", case.born, half, rng),
        Item("worker.place_of_birth", _hinted("worker.place_of_birth", half, rng, ["(city, state)"]), case.birthplace),
        Item("worker.citizenship", label("worker.citizenship", half, rng), case.citizenship_written),
        Item("employer.name", _hinted("employer.name", half, rng, ["(in the U.S.)"]), case.employer),
        Item("employer.ein", _hinted("employer.ein", half, rng, ["(NN-NNNNNNN)"]), ein),
        Item("employer.address", label("employer.address", half, rng), case.employer_address.line()),
        Item("assignment.country", label("assignment.country", half, rng), case.country_written),
        _dated("assignment.start_date", case.start, half, rng),
        _dated("assignment.end_date", case.end, half, rng),
        Item("assignment.host_name", _hinted("assignment.host_name", half, rng, ["(abroad)", "(host country)"]),
             case.host),
        Item("assignment.work_address", _hinted("assignment.work_address", half, rng, ["(abroad)"]),
             case.work_address.line()),
        Item("assignment.hired_in_us", label("assignment.hired_in_us", half, rng), _yes_no(case.hired_in_us, rng)),
        _dated("assignment.hire_date", case.hire_date, half, rng, extra=rng.choice(["", "(if known)"])),
        Item("assignment.remains_employee", label("assignment.remains_employee", half, rng),
             _yes_no(case.remains, rng)),
        Item("employer.contact_name", label("employer.contact_name", half, rng), case.contact),
        Item("employer.contact_email", label("employer.contact_email", half, rng), case.contact_email),
    ]
    if case.confirm_to:
        out.append(Item("confirmation_email", _hinted("confirmation_email", half, rng, ["(optional)", "(if any)"]),
                        case.confirm_to))
    return out


def sentences(case: Case, rng: random.Random) -> list[str]:
    """The request as a letter written in sentences, no labels at all (issue 12: letters as prose)."""
    name = " ".join(x for x in (case.first, case.middle, case.last) if x)
    born, start, end = date_in_text(case.born, rng), date_in_text(case.start, rng), date_in_text(case.end, rng)
    hired = date_in_text(case.hire_date, rng)
    he = rng.choice(["he", "she", "they"])
    verb = "are" if he == "they" else "is"
    out = [
        f"We are writing on behalf of {case.employer} (EIN {case.ein}), located at "
        f"{case.employer_address.line()}, to request a certificate of coverage for our employee {name}.",
        f"{name} was born on {born} in {case.birthplace} and {verb} a citizen of "
        f"{citizenship_prose(case.citizenship)}; "
        f"{'their' if he == 'they' else 'his' if he == 'he' else 'her'} Social Security number is {case.ssn}.",
        f"From {start} until {end} {he} will be working for {case.host} in {case.country_written}, at "
        f"{case.work_address.line()}.",
        f"{name.split()[0]} joined us on {hired}"
        + (" and was hired here in the United States." if case.hired_in_us else ", hired abroad.")
        + (f" {he.capitalize()} will remain on our U.S. payroll throughout." if case.remains
           else f" {he.capitalize()} will not remain our employee during the assignment."),
        f"Questions may be directed to {case.contact} at {case.contact_email}."
        + (f" Please send the confirmation of approval to {case.confirm_to}." if case.confirm_to else ""),
    ]
    return out
