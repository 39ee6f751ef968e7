"""The request model and every rule of domain.md."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import date
from typing import Any

import pytest

from intake.model import FIELD_PATHS, CertificateRequest, build_request
from intake.reference import agreements, help_for
from intake.validate import mask_ssn, validate
from tests.synth import flat, make_request

TODAY = date(2026, 11, 25)


def _req(seed: int = 1, **changes: str | None) -> dict[str, str]:
    values = flat(make_request(random.Random(seed), kind="employee", country="DE"))
    for name, value in changes.items():
        path = name.replace("__", ".")
        if value is None:
            values.pop(path, None)
        else:
            values[path] = value
    return values


def _codes(values: dict[str, str]) -> dict[str | None, set[str]]:
    req, problems = build_request(values)
    problems += validate(req, today=TODAY)
    out: dict[str | None, set[str]] = {}
    for p in problems:
        out.setdefault(p.field, set()).add(p.code)
    return out


def test_generated_requests_are_valid() -> None:
    for seed in range(100):
        req, problems = build_request(flat(make_request(random.Random(seed))))
        assert problems == []
        assert validate(req, today=TODAY) == [], seed


def test_field_names_are_those_of_the_domain() -> None:
    expected = {
        "request_type", "worker.first_name", "worker.middle_name", "worker.last_name", "worker.ssn",
        "worker.date_of_birth", "worker.place_of_birth", "worker.citizenship", "worker.email",
        "worker.phone", "worker.foreign_id", "worker.residence_country", "worker.business",
        "employer.name", "employer.ein", "employer.contact_name", "employer.contact_phone",
        "employer.contact_email", "employer.irs_3121l_date", "assignment.country",
        "assignment.start_date", "assignment.end_date", "assignment.host_name",
        "assignment.hired_in_us", "assignment.hire_date", "assignment.hire_place",
        "assignment.remains_employee", "confirmation_email", "dependents[].name",
        "dependents[].date_of_birth", "dependents[].relationship",
    }
    assert expected <= set(FIELD_PATHS)
    for prefix in ("worker.address", "employer.address", "assignment.work_address"):
        assert {f"{prefix}.{k}" for k in ("street", "city", "state", "postal_code", "country")} <= set(FIELD_PATHS)


def test_every_field_has_its_own_help_text() -> None:
    from intake.reference import help_texts

    texts = help_texts()
    for path in FIELD_PATHS:
        key = path.replace("[]", "")
        assert key in texts and len(texts[key]) > 20, path
    assert help_for("dependents[3].name") == texts["dependents.name"]


@pytest.mark.parametrize("ssn", ["000-12-3456", "666-12-3456", "900-12-3456", "999-99-9999",
                                 "123-00-4567", "123-45-0000", "078-05-1120", "219-09-9999", "12-345-6789"])
def test_impossible_ssns(ssn: str) -> None:
    assert "invalid" in _codes(_req(worker__ssn=ssn)).get("worker.ssn", set())


def test_invalid_ssn_message_never_repeats_the_number() -> None:
    req, _ = build_request(_req(worker__ssn="666-12-3456"))
    (problem,) = [p for p in validate(req, today=TODAY) if p.field == "worker.ssn"]
    assert "666-12-3456" not in problem.message and "3456" in problem.message
    assert "Social Security" in problem.help


def test_an_ssn_typed_into_the_ein_box_is_masked_in_its_problem() -> None:
    req, _ = build_request(_req(employer__ein="123-45-6789"))
    problems = [p for p in validate(req, today=TODAY) if p.field == "employer.ein"]
    assert problems and all("123-45-6789" not in p.message for p in problems)
    assert any("***-**-6789" in p.message for p in problems), [p.message for p in problems]


@pytest.mark.parametrize("ein,ok", [("12-3456789", True), ("00-1234567", False), ("07-1234567", False),
                                    ("89-1234567", False), ("97-1234567", False), ("123456789", False)])
def test_ein_prefixes(ein: str, ok: bool) -> None:
    codes = _codes(_req(employer__ein=ein)).get("employer.ein", set())
    assert ("invalid" not in codes) is ok


def test_missing_fields_by_request_type() -> None:
    codes = _codes(_req(employer__ein=None, assignment__host_name=None, worker__last_name=None))
    assert codes["employer.ein"] == {"missing"}
    assert codes["assignment.host_name"] == {"missing"}
    assert codes["worker.last_name"] == {"missing"}
    self_emp = flat(make_request(random.Random(4), kind="self_employed", country="FR"))
    del self_emp["worker.business"]
    assert _codes(self_emp)["worker.business"] == {"missing"}
    assert "employer.ein" not in _codes(self_emp)


def test_dates() -> None:
    assert "invalid" in _codes(_req(assignment__start_date="2027-05-01",
                                    assignment__end_date="2027-04-01"))["assignment.end_date"]
    assert "invalid" in _codes(_req(worker__date_of_birth="2027-01-01"))["worker.date_of_birth"]
    # 13 years old at the start
    assert "invalid" in _codes(_req(worker__date_of_birth="2014-01-01",
                                    assignment__start_date="2027-02-01"))["worker.date_of_birth"]
    assert "start_in_past" in _codes(_req(assignment__start_date="2025-06-01",
                                          assignment__end_date="2027-01-01"))["assignment.start_date"]
    codes = _codes(_req(assignment__start_date="2027-02-30"))
    assert "invalid" in codes["assignment.start_date"]


def test_country_must_have_an_agreement_in_force() -> None:
    assert _codes(_req(assignment__country="PH",
                       assignment__work_address__country="PH"))["assignment.country"] == {"not_agreement_country"}
    # Iceland's agreement came into force on 2019-03-01.
    codes = _codes(_req(assignment__country="IS", assignment__work_address__country="IS",
                        assignment__start_date="2019-01-01", assignment__end_date="2019-12-01"))
    assert "not_agreement_country" in codes["assignment.country"]
    assert "assignment.country" not in _codes(_req(assignment__country="CA-QC",
                                                   assignment__work_address__country="CA"))


@pytest.mark.parametrize("country,years,flagged", [("DE", 6, True), ("DE", 4, False), ("IT", 9, False),
                                                   ("NO", 6, True), ("PT", 6, True), ("JP", 5, False)])
def test_period_limits(country: str, years: int, flagged: bool) -> None:
    values = _req(assignment__country=country, assignment__work_address__country=country,
                  assignment__start_date="2027-01-10",
                  assignment__end_date=f"{2027 + years}-01-09")
    codes = _codes(values).get("assignment.end_date", set())
    assert ("period_too_long" in codes) is flagged
    if flagged:
        req, _ = build_request(values)
        (p,) = [p for p in validate(req, today=TODAY) if p.code == "period_too_long"]
        assert "5-year" in p.message


@pytest.mark.parametrize(("start", "end", "flagged"), [
    ("1995-06-01", "2003-06-01", False),  # Germany before 1996-05-01: "not expected to be permanent"
    ("1996-05-01", "2003-06-01", True),
    ("1996-05-01", "2001-05-01", False),
])
def test_germany_limit_only_for_transfers_from_may_1996(start: str, end: str, flagged: bool) -> None:
    codes = _codes(_req(assignment__start_date=start, assignment__end_date=end))
    assert ("period_too_long" in codes.get("assignment.end_date", set())) is flagged


@pytest.mark.parametrize("country", ["NO", "PT"])
def test_norway_and_portugal_over_five_years_are_flagged_for_staff_not_rejected(country: str) -> None:
    values = _req(assignment__country=country, assignment__work_address__country=country,
                  assignment__start_date="2027-01-10", assignment__end_date="2033-01-09")
    req, _ = build_request(values)
    (p,) = [p for p in validate(req, today=TODAY) if p.code == "period_too_long"]
    assert "not a rejection" in p.message and p.help


def test_five_years_count_from_the_later_of_start_and_entry_into_force() -> None:
    """Slovenia's agreement came into force on 2019-02-01: a start before it is no agreement at all."""
    codes = _codes(_req(assignment__country="SI", assignment__work_address__country="SI",
                        assignment__start_date="2019-01-15", assignment__end_date="2024-01-20"))
    assert "not_agreement_country" in codes["assignment.country"]
    assert "period_too_long" not in codes.get("assignment.end_date", set())  # 2019-02-01 + 5 y > end


def test_employer_contact_needs_a_name_and_one_way_to_reach() -> None:
    both_gone = _codes(_req(employer__contact_phone=None, employer__contact_email=None))
    assert both_gone["employer.contact_phone"] == {"missing"}
    assert "employer.contact_phone" not in _codes(_req(employer__contact_phone=None))
    assert "employer.contact_email" not in _codes(_req(employer__contact_email=None))
    assert _codes(_req(employer__contact_name=None))["employer.contact_name"] == {"missing"}


def test_italy_nationality_rule() -> None:
    codes = _codes(_req(assignment__country="IT", assignment__work_address__country="IT",
                        worker__citizenship="FR"))
    assert codes["worker.citizenship"] == {"nationality_rule"}


def test_us_state_and_zip() -> None:
    codes = _codes(_req(employer__address__state="XX", employer__address__postal_code="1234"))
    assert codes["employer.address.state"] == {"invalid"}
    assert codes["employer.address.postal_code"] == {"invalid"}
    assert "employer.address.postal_code" not in _codes(_req(employer__address__postal_code="83702-1234"))


def test_bad_values_do_not_lose_the_request() -> None:
    req, problems = build_request(_req(assignment__hired_in_us="perhaps", worker__date_of_birth="soon"))
    assert {p.field for p in problems} == {"assignment.hired_in_us", "worker.date_of_birth"}
    assert req.worker.ssn and req.employer and req.employer.name


def test_agreement_table() -> None:
    table = agreements()
    assert len(table.agreements) == 31  # 30 agreements and Quebec
    assert table.agreements["IT"].limit_years == 0
    assert table.agreements["DK"].extra_fields


def test_mask() -> None:
    assert mask_ssn("123-45-6789") == "***-**-6789"
    assert mask_ssn(None) == ""


def test_schema_command() -> None:
    out = subprocess.run([sys.executable, "-m", "intake.cli", "schema"], capture_output=True, text=True,
                         check=True).stdout
    schema: dict[str, Any] = json.loads(out)
    assert schema["title"] == "CertificateRequest"
    assert {"request_type", "worker", "employer", "assignment", "dependents",
            "confirmation_email"} <= set(schema["properties"])
    assert CertificateRequest().worker.residence_country == "US"


# --- plausibility: values of the right type that cannot be what was meant -----------------------


@pytest.mark.parametrize(("path", "value"), [
    ("worker.first_name", "of"),  # the end of a label ("Name of") read as the value
    ("worker.last_name", "first): Smith, John A."),
    ("worker.first_name", "J0hn"),
    ("worker.last_name", "[Harlow"),
    ("worker.last_name", "H"),
    ("worker.first_name", "Name"),
    ("worker.last_name", "Surname"),
    ("employer.contact_name", "the"),
    ("employer.contact_name", "HR contact"),
    ("employer.name", "Employer"),
    ("assignment.host_name", "Host company"),
    ("assignment.host_name", "| Nordlicht GmbH ["),
    ("worker.place_of_birth", "Boise, ID and he will work in Munich"),
    ("worker.middle_name", "Harlow, Jane Q."), ("worker.middle_name", "Jane Q. Harlow"),
    ("assignment.work_address.city", "3077609 Munich"), ("assignment.work_address.city", "Ltd"),
    ("assignment.work_address.city", "Cefun C3L"), ("employer.address.city", "Tairthien 1O15CX"),
    ("assignment.work_address.street", "Nordlicht Biotech Co"),
    ("assignment.work_address.street", "Office abroad ........ 90 Ring Road"),
    ("worker.foreign_id", "of the worker (9"), ("worker.foreign_id", "see attached"),
    ("worker.middle_name", "J.ee"), ("worker.first_name", "Ca.leb"),  # a stroke read as a stop
])
def test_implausible_values_are_flagged(path: str, value: str) -> None:
    assert "invalid" in _codes(_req(**{path.replace(".", "__"): value})).get(path, set()), value


@pytest.mark.parametrize(("path", "value"), [
    ("worker.last_name", "O'Neil"), ("worker.last_name", "van der Berg"), ("worker.last_name", "de la Cruz"),
    ("worker.first_name", "Mary-Ann"), ("worker.middle_name", "A"), ("worker.middle_name", "A."),
    ("worker.last_name", "St. John"), ("worker.first_name", "J.R."), ("worker.middle_name", "J. Lee"),
    ("worker.place_of_birth", "Port of Spain, Trinidad and Tobago"), ("worker.place_of_birth", "St. Louis, MO"),
    ("employer.name", "Acme Widget Corporation"), ("assignment.host_name", "Fenwick S.r.l."),
    ("worker.middle_name", "Anne Marie"), ("assignment.work_address.city", "Munich"),
    ("assignment.work_address.city", "Dublin 2"), ("assignment.work_address.city", "Lyon 3e"),
    ("assignment.work_address.street", "Hauptstrasse 5"), ("employer.address.street", "100 Corporate Park Dr"),
    ("worker.foreign_id", "010203-1234"), ("worker.foreign_id", "X1234567L"), ("worker.foreign_id", "123.456.789-09"),
])
def test_plausible_values_are_not_flagged(path: str, value: str) -> None:
    assert "invalid" not in _codes(_req(**{path.replace(".", "__"): value})).get(path, set()), value


@pytest.mark.parametrize(("path", "value"), [("worker.ssn", "123-45-67890"), ("worker.ssn", "9108-76-4638"),
                                             ("employer.ein", "12-34567890")])
def test_a_number_with_a_digit_too_many_is_flagged(path: str, value: str) -> None:
    assert _codes(_req(**{path.replace(".", "__"): value})).get(path), value


def test_an_email_domain_one_character_off_another_is_flagged() -> None:
    codes = _codes(_req(employer__contact_email="hr@northbridge.com", confirmation_email="hr@northbrige.com"))
    assert "invalid" in codes.get("confirmation_email", set())
    same = _codes(_req(employer__contact_email="hr@northbridge.com", confirmation_email="pay@northbridge.com"))
    assert "invalid" not in same.get("confirmation_email", set())
