"""Requests written as sentences: what prose reading finds, and where it must flag or stay silent."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from parsers.prose import find_in_prose
from parsers.prose_text import clean_punctuation
from parsers.types import Candidate
from tests.synth import ABROAD, address_line, make_request, us_date

Phrasing = Callable[[dict[str, Any], random.Random], str]


def _name(w: dict[str, Any]) -> str:
    mid = w["middle_name"]
    if mid and len(mid) == 1:
        mid += "."
    return " ".join(p for p in (w["first_name"], mid, w["last_name"]) if p)


def _country(code: str) -> str:
    return next(a[1] for a in ABROAD if a[0] == code)


_ADJ = {"DE": "German", "FR": "French", "GB": "British", "JP": "Japanese", "IT": "Italian", "NL": "Dutch",
        "ES": "Spanish", "AU": "Australian", "CH": "Swiss", "KR": "Korean", "SE": "Swedish",
        "PL": "Polish", "BR": "Brazilian", "IE": "Irish"}


def p_spec(r: dict[str, Any], rng: random.Random) -> str:
    w, a, e = r["worker"], r["assignment"], r["employer"]
    conf = f" Please send the confirmation to {r['confirmation_email']}." if r["confirmation_email"] else ""
    return (f"{e['name']} (EIN {e['ein']}) requests a certificate of coverage for our employee "
            f"{_name(w)}, Social Security number {w['ssn']}, born {us_date(w['date_of_birth'], rng)} in "
            f"{w['place_of_birth']}, who will work for {a['host_name']} in {a['work_address']['city']}, "
            f"{_country(a['country'])}, from {us_date(a['start_date'], rng)} through "
            f"{us_date(a['end_date'], rng)}.{conf}")


def p_letter(r: dict[str, Any], rng: random.Random) -> str:
    w, a, e = r["worker"], r["assignment"], r["employer"]
    conf = f"\nPlease email the confirmation to {r['confirmation_email']}.\n" if r["confirmation_email"] else ""
    return (f"November 20, 2026\n\nSocial Security Administration\nOffice of International Programs\n"
            f"P.O. Box 17741\nBaltimore, MD 21235-7741\n\nDear Sir or Madam,\n\n"
            f"We are writing on behalf of {e['name']} to request a U.S. certificate of coverage.\n"
            f"Our employee, {_name(w)}, SSN {w['ssn']}, was born on {us_date(w['date_of_birth'], rng)}\n"
            f"in {w['place_of_birth']}. The employee will be assigned to {a['host_name']} in\n"
            f"{a['work_address']['city']}, {_country(a['country'])} beginning {us_date(a['start_date'], rng)}"
            f" and ending\n{us_date(a['end_date'], rng)}. Our EIN is {e['ein']}.\n{conf}\n"
            f"Sincerely,\n\n{e['contact_name']}\nHuman Resources\n")


def p_self(r: dict[str, Any], rng: random.Random) -> str:
    w, a = r["worker"], r["assignment"]
    conf = f" Please send the confirmation to {r['confirmation_email']}." if r["confirmation_email"] else ""
    return (f"Hello, my name is {_name(w)} and I am self-employed ({w['business']}). My Social Security "
            f"number is {w['ssn']}; I was born {us_date(w['date_of_birth'], rng)} in {w['place_of_birth']}. "
            f"I will be working in {a['work_address']['city']}, {_country(a['country'])} from "
            f"{us_date(a['start_date'], rng)} until {us_date(a['end_date'], rng)}.{conf}\nThanks!")


def p_between(r: dict[str, Any], rng: random.Random) -> str:
    w, a, e = r["worker"], r["assignment"], r["employer"]
    return (f"{e['name']} is requesting a certificate for {_name(w)} (social security no. {w['ssn']}, "
            f"date of birth {us_date(w['date_of_birth'], rng)}), who is being transferred to our "
            f"{_ADJ[a['country']]} affiliate {a['host_name']} between {us_date(a['start_date'], rng)} and "
            f"{us_date(a['end_date'], rng)}. Employer identification number {e['ein']}.")


def p_dash(r: dict[str, Any], rng: random.Random) -> str:
    w, a = r["worker"], r["assignment"]
    s, e = date.fromisoformat(a["start_date"]), date.fromisoformat(a["end_date"])
    return (f"Re: certificate of coverage for worker {_name(w)}\n\n"
            f"The assignment in {_country(a['country'])} runs {s.month}/{s.day}/{s.year} \u2013 "
            f"{e.month}/{e.day}/{e.year}. Soc. Sec. No. {w['ssn']}, DOB {us_date(w['date_of_birth'], rng)}.")


def p_posted(r: dict[str, Any], rng: random.Random) -> str:
    w, a = r["worker"], r["assignment"]
    return (f"Please issue a certificate of coverage for {_name(w)}. {w['first_name']} will be posted to "
            f"{_country(a['country'])} ({a['work_address']['city']}) starting {us_date(a['start_date'], rng)}"
            f" to {us_date(a['end_date'], rng)}. Date of birth: {us_date(w['date_of_birth'], rng)}; "
            f"Social Security # {w['ssn'].replace('-', '')}.")


def p_since(r: dict[str, Any], rng: random.Random) -> str:
    w, a = r["worker"], r["assignment"]
    return (f"We need a Certificate of Coverage for {_name(w)}. {w['first_name']}\u2019s SSN is {w['ssn']} "
            f"and the date of birth is {us_date(w['date_of_birth'], rng)}. {w['first_name']} has been with us"
            f" since {us_date(a['hire_date'], rng)} and will be seconded to {a['host_name']}, "
            f"{a['work_address']['city']}, {_country(a['country'])}, effective {us_date(a['start_date'], rng)}"
            f" through {us_date(a['end_date'], rng)}.")


def p_named(r: dict[str, Any], rng: random.Random) -> str:
    w, a, e = r["worker"], r["assignment"], r["employer"]
    return (f"Our company, {e['name']}, tax ID {e['ein']}, is sending an engineer named {_name(w)} to "
            f"work in {a['work_address']['city']}, {_country(a['country'])}. The work begins on "
            f"{us_date(a['start_date'], rng)} and ends on {us_date(a['end_date'], rng)}. "
            f"{w['first_name']} was born in {w['place_of_birth']} on {us_date(w['date_of_birth'], rng)} and "
            f"holds Social Security number {w['ssn'].replace('-', ' ')}.\n"
            f"Our office is at {address_line(e['address'])}.")


EMPLOYEE_PHRASINGS: list[Phrasing] = [p_spec, p_letter, p_between, p_dash, p_posted, p_since, p_named]
ALL = [(p, "employee") for p in EMPLOYEE_PHRASINGS] + [(p_self, "self_employed")]


def _by_field(cands: list[Candidate]) -> dict[str, list[Candidate]]:
    out: dict[str, list[Candidate]] = {}
    for c in cands:
        out.setdefault(c.field, []).append(c)
    return out


def _sure(cands: list[Candidate], field: str) -> str | None:
    """The one value read for `field` without doubt, or None."""
    found = [c for c in cands if c.field == field]
    if len(found) == 1 and found[0].uncertain is None:
        return found[0].value
    return None


# Fields every phrasing states with a cue word, and so must come out certain and right.
COMMON = ["worker.ssn", "worker.date_of_birth", "assignment.country", "assignment.start_date",
          "assignment.end_date", "worker.first_name", "worker.last_name"]
EXTRA: dict[str, list[str]] = {
    "p_spec": ["employer.ein", "employer.name", "worker.place_of_birth", "assignment.host_name",
               "assignment.work_address.city", "confirmation_email", "worker.middle_name"],
    "p_letter": ["employer.ein", "employer.name", "worker.place_of_birth", "assignment.host_name",
                 "assignment.work_address.city", "confirmation_email"],
    "p_self": ["worker.place_of_birth", "assignment.work_address.city", "confirmation_email",
               "request_type"],
    "p_between": ["employer.ein", "employer.name", "assignment.host_name"],
    "p_dash": [],
    "p_posted": [],
    "p_since": ["assignment.hire_date", "assignment.host_name"],
    "p_named": ["employer.ein", "employer.name", "worker.place_of_birth", "assignment.work_address.city"],
}


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize(("phrasing", "kind"), ALL, ids=[p.__name__ for p, _ in ALL])
def test_phrasings_read_right(phrasing: Phrasing, kind: str, seed: int) -> None:
    rng = random.Random(seed * 31 + len(phrasing.__name__))
    req = make_request(rng, kind=kind)
    if phrasing is p_self:
        req["confirmation_email"] = req["worker"]["email"]
    elif phrasing in (p_spec, p_letter):
        req["confirmation_email"] = req["employer"]["contact_email"]
    text = phrasing(req, rng)
    cands = find_in_prose(text, part="body")
    truth = {
        "worker.ssn": req["worker"]["ssn"], "worker.date_of_birth": req["worker"]["date_of_birth"],
        "worker.first_name": req["worker"]["first_name"], "worker.last_name": req["worker"]["last_name"],
        "worker.middle_name": req["worker"]["middle_name"],
        "worker.place_of_birth": req["worker"]["place_of_birth"],
        "assignment.country": req["assignment"]["country"],
        "assignment.start_date": req["assignment"]["start_date"],
        "assignment.end_date": req["assignment"]["end_date"],
        "assignment.host_name": req["assignment"]["host_name"],
        "assignment.hire_date": req["assignment"]["hire_date"],
        "assignment.work_address.city": req["assignment"]["work_address"]["city"],
        "confirmation_email": req["confirmation_email"], "request_type": kind,
    }
    if req["employer"]:
        truth["employer.ein"] = req["employer"]["ein"]
        truth["employer.name"] = req["employer"]["name"]
    expected = COMMON + EXTRA[phrasing.__name__]
    if phrasing is p_spec and not req["worker"]["middle_name"]:
        expected = [f for f in expected if f != "worker.middle_name"]
    for fname in expected:
        assert _sure(cands, fname) == truth[fname], (fname, text, _by_field(cands).get(fname))
    for c in cands:
        assert c.confidence <= 0.9
        assert c.provenance.label is None and c.provenance.method == "text"
        # nothing read confidently may contradict the truth
        if c.uncertain is None and c.field in truth and truth[c.field] is not None:
            assert c.value == truth[c.field], (c, text)


def test_method_is_passed_through() -> None:
    cands = find_in_prose("Our employee Jane Doe, SSN 123-45-6789.", part="fax page", method="ocr")
    assert cands and all(c.provenance.method == "ocr" and c.provenance.part == "fax page" for c in cands)


# --- where prose must flag or stay silent ---------------------------------------------------------


def test_two_bare_dates_are_flagged_not_guessed() -> None:
    text = "Our employee Jane Doe goes to work in Germany. Important: 3/3/2027; 2/28/2029."
    by = _by_field(find_in_prose(text, part="body"))
    assert [c.value for c in by["assignment.start_date"]] == ["2027-03-03"]
    assert [c.value for c in by["assignment.end_date"]] == ["2029-02-28"]
    assert all(c.uncertain for c in by["assignment.start_date"] + by["assignment.end_date"])


def test_one_bare_date_is_left_out() -> None:
    by = _by_field(find_in_prose("Our employee Jane Doe spoke to us on 3/3/2026.", part="body"))
    assert not any(f.startswith("assignment.") and f.endswith("date") for f in by)
    assert "worker.date_of_birth" not in by


def test_letter_date_on_its_own_line_is_not_a_period() -> None:
    text = "November 20, 2026\n\nDear Sir,\nThe transfer to Japan runs 3/3/2027 - 2/28/2029."
    by = _by_field(find_in_prose(text, part="body"))
    assert [(c.value, c.uncertain) for c in by["assignment.start_date"]] == [("2027-03-03", None)]
    assert [(c.value, c.uncertain) for c in by["assignment.end_date"]] == [("2029-02-28", None)]


def test_ssn_shape_without_cue_is_flagged() -> None:
    by = _by_field(find_in_prose("Please process Jane Doe (123-45-6789) quickly.", part="body"))
    (c,) = by["worker.ssn"]
    assert c.value == "123-45-6789" and c.uncertain and c.confidence < 0.9
    assert "6789" not in c.uncertain  # the reason never quotes the number


@pytest.mark.parametrize("text", [
    "You can reach me on 123 45 6789 or at the office.",
    "Our reference 123456789 applies.",
    "Call 123-45-6789 for questions.",
    "Invoice 123-45-6789 is attached.",
])
def test_numbers_that_may_not_be_ssns_are_left_out(text: str) -> None:
    assert not any(c.field == "worker.ssn" for c in find_in_prose(text, part="body"))


def test_bare_nine_digits_with_cue_are_read() -> None:
    by = _by_field(find_in_prose("His social security number is 123456789.", part="body"))
    assert [(c.value, c.uncertain) for c in by["worker.ssn"]] == [("123-45-6789", None)]


def test_two_different_ssns_are_both_flagged() -> None:
    text = ("Our employee Jane Doe, SSN 123-45-6789, goes to Germany. Correction: her Social Security "
            "number is 123-45-6788.")
    by = _by_field(find_in_prose(text, part="body"))
    assert sorted(c.value for c in by["worker.ssn"]) == ["123-45-6788", "123-45-6789"]
    assert all(c.uncertain for c in by["worker.ssn"])


def test_family_members_number_is_not_the_workers() -> None:
    text = ("Our employee Jane Doe, SSN 123-45-6789, will take her husband, whose Social Security number "
            "is 234-56-7890, along.")
    by = _by_field(find_in_prose(text, part="body"))
    sure = [c.value for c in by["worker.ssn"] if c.uncertain is None]
    assert sure == ["123-45-6789"]
    assert all(c.uncertain for c in by["worker.ssn"] if c.value == "234-56-7890")


def test_ein_shape_without_cue_is_flagged_and_ein_cue_beats_ssn() -> None:
    by = _by_field(find_in_prose("Acme Inc (12-3456789) writes.", part="body"))
    assert [c.uncertain is not None for c in by["employer.ein"]] == [True]
    by = _by_field(find_in_prose("Our EIN is 123456789.", part="body"))
    assert [(c.value, c.uncertain) for c in by["employer.ein"]] == [("12-3456789", None)]
    assert "worker.ssn" not in by


def test_country_of_birth_is_not_the_assignment_country() -> None:
    text = "Our employee Jane Doe was born in Munich, Germany, and will work in Lyon, France from 3/3/2027."
    by = _by_field(find_in_prose(text, part="body"))
    assert [c.value for c in by["assignment.country"]] == ["FR"]
    assert [c.value for c in by["worker.place_of_birth"]] == ["Munich, Germany"]


def test_country_without_work_context_is_left_out() -> None:
    by = _by_field(find_in_prose("Our employee Jane Doe enjoyed her holiday in Spain.", part="body"))
    assert "assignment.country" not in by


def test_two_assignment_countries_are_flagged() -> None:
    text = "Jane will work in Germany from 3/3/2027. She will then be posted to France."
    by = _by_field(find_in_prose(text, part="body"))
    assert sorted(c.value for c in by["assignment.country"]) == ["DE", "FR"]
    assert all(c.uncertain for c in by["assignment.country"])


def test_non_agreement_country_is_read_as_written() -> None:
    by = _by_field(find_in_prose("She will be assigned to our office in Manila, the Philippines.", part="b"))
    assert [c.value for c in by["assignment.country"]] == ["PH"]


def test_host_without_company_suffix_is_not_a_worker_name() -> None:
    by = _by_field(find_in_prose("Jane will work for Nordlicht Solano in Munich, Germany.", part="body"))
    assert "worker.first_name" not in by and "assignment.host_name" not in by


def test_names_need_capitals_and_are_not_months_or_countries() -> None:
    by = _by_field(find_in_prose("We ask for March 3, 2027 for United Kingdom coverage for you.", part="b"))
    assert "worker.first_name" not in by and "worker.last_name" not in by


def test_confirmation_email_only_with_cue() -> None:
    by = _by_field(find_in_prose("Questions? Write to jane@acme.example.com.", part="body"))
    assert "confirmation_email" not in by
    by = _by_field(find_in_prose("Kindly confirm approval by email to jane@acme.example.com.", part="b"))
    assert [c.value for c in by["confirmation_email"]] == ["jane@acme.example.com"]


def test_windows_1252_punctuation() -> None:
    # en dash range and curly apostrophe, both as Unicode and as cp1252 bytes decoded as Latin-1
    for dash, quote in (("\u2013", "\u2019"), ("\x96", "\x92")):
        text = f"Jane Doe{quote}s assignment in Poland: 3/3/2027 {dash} 2/28/2029."
        by = _by_field(find_in_prose(text, part="body"))
        assert [c.value for c in by["assignment.start_date"]] == ["2027-03-03"]
        assert [c.value for c in by["assignment.end_date"]] == ["2029-02-28"]
        assert [c.value for c in by["assignment.country"]] == ["PL"]
    assert clean_punctuation("\u201cHi\u201d \x93x\x94 a\u00a0b") == '"Hi" "x" a b'


def test_nothing_in_small_talk() -> None:
    assert find_in_prose("Thanks, see you Tuesday. Best regards, Tom", part="body") == []


@pytest.mark.parametrize("text", ["A" * 100_000, "a" * 100_000 + " x@y.example.com", "1-" * 50_000,
                                  "Acme Inc " * 10_000, "born in " * 12_000, "for Mr. " * 12_000])
def test_long_hostile_text_is_linear(text: str) -> None:
    """A quadratic pattern would take minutes here; every reader is bounded to its window."""
    import time

    t = time.monotonic()
    find_in_prose(text, part="body")
    assert time.monotonic() - t < 15


def test_bare_for_name_is_flagged_and_department_is_no_name() -> None:
    by = _by_field(find_in_prose("I booked a table for Tessa Marsh yesterday.", part="body"))
    assert all(c.uncertain for c in by["worker.last_name"])
    by = _by_field(find_in_prose("Please route this for Human Resources.", part="body"))
    assert "worker.last_name" not in by


def test_from_date_without_work_context_is_flagged() -> None:
    by = _by_field(find_in_prose("Thank you for your letter from 3/3/2026.", part="body"))
    assert [c.uncertain is not None for c in by["assignment.start_date"]] == [True]


def test_quebec_is_its_own_agreement() -> None:
    by = _by_field(find_in_prose("He will work in Montreal, Quebec, Canada from 3/3/2027.", part="body"))
    assert [(c.value, c.uncertain) for c in by["assignment.country"]] == [("CA-QC", None)]
