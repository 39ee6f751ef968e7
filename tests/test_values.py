"""Value normalisers: every written form of a value reaches one canonical string."""

from __future__ import annotations

from datetime import date

import pytest

from parsers.pii import mask_ssn
from parsers.values import (
    normalize,
    parse_address,
    parse_bool,
    parse_country,
    parse_date,
    parse_dependent,
    parse_ein,
    parse_email,
    parse_name,
    parse_phone,
    parse_request_type,
    parse_ssn,
    parse_state,
    parse_zip,
)


@pytest.mark.parametrize("raw", ["123-45-6789", "123 45 6789", "123456789", " 123.45.6789 ", "123 - 45 - 6789",
                                 "#123-45-6789", "l23-45-6789"])
def test_ssn_forms(raw: str) -> None:
    assert parse_ssn(raw) == "123-45-6789"


@pytest.mark.parametrize("raw", ["12-345-6789", "1234-56789", "12345678", "1234567890", "abc-de-fghi", "",
                                 "123-45-6789 and 987-65-4321"])
def test_ssn_rejects_wrong_shapes(raw: str) -> None:
    assert parse_ssn(raw) is None


@pytest.mark.parametrize("raw", ["12-3456789", "12 3456789", "123456789", "12.3456789"])
def test_ein_forms(raw: str) -> None:
    assert parse_ein(raw) == "12-3456789"


@pytest.mark.parametrize("raw", ["123-45-6789", "12-34567", "1-23456789"])
def test_ein_rejects_wrong_shapes(raw: str) -> None:
    assert parse_ein(raw) is None


TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("4/24/1985", date(1985, 4, 24)),
        ("04/24/85", date(1985, 4, 24)),
        ("04-24-1985", date(1985, 4, 24)),
        ("1985-04-24", date(1985, 4, 24)),
        ("1985/04/24", date(1985, 4, 24)),
        ("April 24, 1985", date(1985, 4, 24)),
        ("Apr 24 1985", date(1985, 4, 24)),
        ("Apr. 24, 1985", date(1985, 4, 24)),
        ("24 April 1985", date(1985, 4, 24)),
        ("24-Apr-1985", date(1985, 4, 24)),
        ("March 3rd, 2027", date(2027, 3, 3)),
        ("3rd of March 2027", date(2027, 3, 3)),
        ("3. März 2027", date(2027, 3, 3)),
        ("24/04/1985", date(1985, 4, 24)),  # day > 12: unambiguous
        ("03/04/2027", date(2027, 3, 4)),  # U.S. order
        ("24.04.1985", date(1985, 4, 24)),  # European dotted
        ("Wednesday, March 3, 2027", date(2027, 3, 3)),
        ("03/01/27", date(2027, 3, 1)),  # two-digit year ahead: this century
        ("12/31/99", date(1999, 12, 31)),
        ("19850424", date(1985, 4, 24)),
        ("4 / 24 / 1985", date(1985, 4, 24)),
        ("SEPTEMBER 9, 2027", date(2027, 9, 9)),
    ],
)
def test_date_forms(raw: str, expected: date) -> None:
    assert parse_date(raw, today=TODAY) == expected


@pytest.mark.parametrize("raw", ["2/30/2027", "13/13/2020", "next Monday", "April 2027", "", "123-45-6789"])
def test_date_rejects(raw: str) -> None:
    assert parse_date(raw, today=TODAY) is None


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("Deutschland", "DE"), ("German", "DE"), ("DE", "DE"), ("Germany", "DE"), ("U.K.", "GB"), ("UK", "GB"),
        ("Great Britain", "GB"), ("England", "GB"), ("Korea", "KR"), ("South Korea", "KR"),
        ("Republic of Korea", "KR"), ("Korea (South)", "KR"), ("Czechia", "CZ"), ("Czech Republic", "CZ"),
        ("Slovakia", "SK"), ("Slovak Republic", "SK"), ("Holland", "NL"), ("The Netherlands", "NL"),
        ("USA", "US"), ("U.S.", "US"), ("United States", "US"), ("American", "US"), ("Québec", "CA-QC"),
        ("Quebec", "CA-QC"), ("Philippines", "PH"), ("Mexico", "MX"), ("italia", "IT"), ("Schweiz", "CH"),
        ("Suisse", "CH"), ("Norge", "NO"), ("Belgique", "BE"), ("Canada", "CA"), ("Sverige", "SE"),
        ("España", "ES"), ("France", "FR"), ("Portuguese", "PT"), ("Österreich", "AT"), ("Suomi", "FI"),
        ("Éire", "IE"), ("Luxembourg", "LU"), ("Greece", "GR"), ("Hellas", "GR"), ("Chile", "CL"),
        ("Australian", "AU"), ("Japan", "JP"), ("Nippon", "JP"), ("Danmark", "DK"), ("Polska", "PL"),
        ("Magyarország", "HU"), ("Brasil", "BR"), ("Uruguay", "UY"), ("Slovenija", "SI"), ("Ísland", "IS"),
        ("Munich, Germany", "DE"), ("Germany (DE)", "DE"), ("US citizen", "US"), ("JPN", "JP"),
        ("Viet Nam", "VN"),
    ],
)
def test_country_aliases(raw: str, code: str) -> None:
    assert parse_country(raw) == code


@pytest.mark.parametrize("raw", ["Atlantis", "", "Planet Earth"])
def test_country_unknown(raw: str) -> None:
    assert parse_country(raw) is None


def test_state_and_zip() -> None:
    assert parse_state("ID") == "ID"
    assert parse_state("idaho") == "ID"
    assert parse_state("New York") == "NY"
    assert parse_state("Calif.") == "CA"
    assert parse_state("District of Columbia") == "DC"
    assert parse_state("Bavaria") is None
    assert parse_zip("83702") == "83702"
    assert parse_zip("83702-1234") == "83702-1234"
    assert parse_zip("837021234") == "83702-1234"
    assert parse_zip("8370") is None
    assert parse_zip("LS1 4AP") is None


@pytest.mark.parametrize("raw", ["yes", "Yes", "Y", "x", "X", "checked", "true", "[x]", "☒", "Yes, since 2019"])
def test_bool_true(raw: str) -> None:
    assert parse_bool(raw) is True


@pytest.mark.parametrize("raw", ["no", "No.", "N", "false", "unchecked", "☐", "No - hired abroad"])
def test_bool_false(raw: str) -> None:
    assert parse_bool(raw) is False


def test_bool_unknown() -> None:
    assert parse_bool("maybe") is None
    assert parse_bool("") is None


def test_email_and_phone() -> None:
    assert parse_email("Jane Doe <Jane.Doe@Example.ORG>") == "Jane.Doe@example.org"
    assert parse_email("mailto:hr@acme.example.com.") == "hr@acme.example.com"
    assert parse_email("not an address") is None
    assert parse_email("a@x.org, b@y.org") is None
    assert parse_phone(" (208) 555-0142 ") == "(208) 555-0142"
    assert parse_phone("+1 208 555 0142 ext. 12") == "+1 208 555 0142 ext. 12"
    assert parse_phone("555-01") is None
    assert parse_phone("call me at noon") is None


@pytest.mark.parametrize(
    ("raw", "kind"),
    [("Employee", "employee"), ("employee (transferred)", "employee"), ("Self-employed", "self_employed"),
     ("self employed person", "self_employed"), ("SELF-EMPLOYED", "self_employed"),
     ("Selfemployed", "self_employed"), ("Freelancer", "self_employed")],
)
def test_request_type(raw: str, kind: str) -> None:
    assert parse_request_type(raw) == kind


def test_request_type_unknown() -> None:
    assert parse_request_type("retired") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jane Q. Doe", {"first_name": "Jane", "middle_name": "Q", "last_name": "Doe"}),
        ("Doe, Jane Q.", {"first_name": "Jane", "middle_name": "Q", "last_name": "Doe"}),
        ("Mr. Marcus Harlow", {"first_name": "Marcus", "last_name": "Harlow"}),
        ("Dr. Elena Anne Marie Brennan", {"first_name": "Elena", "middle_name": "Anne Marie",
                                          "last_name": "Brennan"}),
        ("Ms. Doe, Jane", {"first_name": "Jane", "last_name": "Doe"}),
        ("Anna van der Berg", {"first_name": "Anna", "last_name": "van der Berg"}),
        ("John Smith Jr.", {"first_name": "John", "last_name": "Smith Jr."}),
        ("Doe", {"last_name": "Doe"}),
    ],
)
def test_names(raw: str, expected: dict[str, str]) -> None:
    assert parse_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123 Main St, Boise, ID 83702",
         {"street": "123 Main St", "city": "Boise", "state": "ID", "postal_code": "83702", "country": "US"}),
        ("123 Main St\nSuite 400\nBoise, Idaho 83702-1234, USA",
         {"street": "123 Main St, Suite 400", "city": "Boise", "state": "ID", "postal_code": "83702-1234",
          "country": "US"}),
        ("55 Oak Avenue, Austin TX 78701",
         {"street": "55 Oak Avenue", "city": "Austin", "state": "TX", "postal_code": "78701", "country": "US"}),
        ("Leopoldstrasse 12, 80802 Munich, Germany",
         {"street": "Leopoldstrasse 12", "city": "Munich", "postal_code": "80802", "country": "DE"}),
        ("12 Fenwick Road, Leeds LS1 4AP, United Kingdom",
         {"street": "12 Fenwick Road", "city": "Leeds", "postal_code": "LS1 4AP", "country": "GB"}),
        ("3 Kirin Road, 530-0001 Osaka, Japan",
         {"street": "3 Kirin Road", "city": "Osaka", "postal_code": "530-0001", "country": "JP"}),
        ("Tallis Road 4, 3511 AB Utrecht, The Netherlands",
         {"street": "Tallis Road 4", "city": "Utrecht", "postal_code": "3511 AB", "country": "NL"}),
        ("9 Aurora Road, 211 22 Malmo, Sweden",
         {"street": "9 Aurora Road", "city": "Malmo", "postal_code": "211 22", "country": "SE"}),
        ("ul. Solano 7, 31-001 Krakow, Poland",
         {"street": "ul. Solano 7", "city": "Krakow", "postal_code": "31-001", "country": "PL"}),
        ("1 Vektor Road, T12 X70A Cork, Ireland",
         {"street": "1 Vektor Road", "city": "Cork", "postal_code": "T12 X70A", "country": "IE"}),
        ("Rue de Lyon 5, 69002 Lyon",
         {"street": "Rue de Lyon 5", "city": "Lyon", "postal_code": "69002"}),
    ],
)
def test_addresses(raw: str, expected: dict[str, str]) -> None:
    assert parse_address(raw) == expected


def test_address_default_country() -> None:
    assert parse_address("Rue de Lyon 5, 69002 Lyon", default_country="FR")["country"] == "FR"
    assert parse_address("123 Main St, Boise, ID 83702", default_country="FR")["country"] == "US"


def test_dependents() -> None:
    assert parse_dependent("Anna Doe, spouse, born 2/3/1986") == {
        "name": "Anna Doe", "relationship": "spouse", "date_of_birth": "1986-02-03"}
    assert parse_dependent("Max Doe (son), DOB: March 3, 2012") == {
        "name": "Max Doe", "relationship": "child", "date_of_birth": "2012-03-03"}
    assert parse_dependent("02/03/1986 wife Anna Doe") == {
        "name": "Anna Doe", "relationship": "spouse", "date_of_birth": "1986-02-03"}


def test_normalize_simple_fields() -> None:
    assert normalize("worker.ssn", "123 45 6789") == ([("worker.ssn", "123-45-6789")], None)
    assert normalize("assignment.start_date", "March 3rd, 2027") == ([("assignment.start_date", "2027-03-03")],
                                                                      None)
    assert normalize("assignment.country", "Québec") == ([("assignment.country", "CA-QC")], None)
    assert normalize("assignment.hired_in_us", "X") == ([("assignment.hired_in_us", "true")], None)
    assert normalize("request_type", "Self-employed") == ([("request_type", "self_employed")], None)
    assert normalize("employer.name", "  Acme Widget Corporation ") == ([("employer.name",
                                                                          "Acme Widget Corporation")], None)


def test_normalize_full_name_and_address() -> None:
    pairs, reason = normalize("worker.name", "Doe, Jane Q.")
    assert reason is None
    assert pairs == [("worker.first_name", "Jane"), ("worker.middle_name", "Q"), ("worker.last_name", "Doe")]
    pairs, reason = normalize("employer.address", "123 Main St, Boise, ID 83702")
    assert reason is None
    assert dict(pairs) == {"employer.address.street": "123 Main St", "employer.address.city": "Boise",
                           "employer.address.state": "ID", "employer.address.postal_code": "83702",
                           "employer.address.country": "US"}
    pairs, reason = normalize("assignment.work_address", "Leopoldstrasse 12, 80802 Munich")
    assert reason is None
    assert "assignment.work_address.country" not in dict(pairs)


def test_normalize_failures_keep_the_raw_value_and_never_quote_an_ssn() -> None:
    pairs, reason = normalize("worker.ssn", " 123-45-67890 ")
    assert pairs == [("worker.ssn", "123-45-67890")]
    assert reason is not None and "6789" not in reason
    pairs, reason = normalize("worker.date_of_birth", "123-45-6789")
    assert pairs == [("worker.date_of_birth", "123-45-6789")]
    assert reason is not None and "6789" not in reason
    pairs, reason = normalize("assignment.country", "Atlantis")
    assert pairs == [("assignment.country", "Atlantis")] and reason
    assert normalize("worker.email", "") == ([], "empty value")


def test_normalize_dependent_line() -> None:
    pairs, reason = normalize("dependents[1]", "Anna Doe, spouse, born 2/3/1986")
    assert reason is None
    assert dict(pairs) == {"dependents[1].name": "Anna Doe", "dependents[1].relationship": "spouse",
                           "dependents[1].date_of_birth": "1986-02-03"}
    assert normalize("dependents[0].relationship", "Wife") == ([("dependents[0].relationship", "spouse")], None)


def test_mask_ssn() -> None:
    assert mask_ssn("123-45-6789") == "***-**-6789"


def test_ocr_slips_are_repaired_where_the_shape_tells() -> None:
    from parsers.values import fix_place

    assert parse_request_type("Sclf-employed") == "self_employed"
    assert parse_email("rafael. harlow@mail.example.org") == "rafael.harlow@mail.example.org"
    assert parse_email("hr@northwind.example,com") == "hr@northwind.example.com"
    assert fix_place("Boise, JD") == "Boise, ID"
    assert fix_place("Columbus, QH") == "Columbus, OH"
    assert fix_place("Lyon, France") == "Lyon, France"
    assert parse_address("14 Kirin Road, 31-@01 Krakow, Poland")["postal_code"] == "31-001"
    assert parse_address("Oak Road 12, 8O8O2 Munich")["postal_code"] == "80802"
    assert normalize("worker.place_of_birth", "Boise, JD") == ([("worker.place_of_birth", "Boise, ID")], None)


def test_ocr_spaces_in_email_domains_and_near_miss_countries() -> None:
    assert parse_email("hr@cedar.example. com") == "hr@cedar.example.com"
    assert parse_email("amara.fairbanks@mail .example.org") == "amara.fairbanks@mail.example.org"
    assert parse_email("jane@b.org. Thanks") == "jane@b.org"
    assert parse_email("hr@granite, example. com") == "hr@granite.example.com"
    assert parse_email("hr@acme,example.com") == "hr@acme.example.com"
    assert parse_email("hr@northwind.example,.com") == "hr@northwind.example.com"
    assert parse_email("jane@b.org, and more") == "jane@b.org"
    assert parse_email("a@b.org, c@d.org") is None
    assert parse_country("freland") == "IE"
    assert parse_country("Germanv") == "DE"
    assert parse_country("Japen") is None  # too short to guess


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("[X] Yes [ ] No", True), ("[ ] Yes [X] No", False), ("Yes ☐ No ☒", False), ("☒ Yes ☐ No", True),
     ("Yes [x] No [ ]", True), ("[ ] Yes [ ] No", None), ("Yes [ ] No [ ]", None)],
)
def test_bool_from_printed_check_boxes(raw: str, expected: bool | None) -> None:
    assert parse_bool(raw) is expected


def test_normalize_finds_the_one_value_in_extra_words() -> None:
    assert normalize("worker.ssn", "123-45-6789 (on file)") == ([("worker.ssn", "123-45-6789")], None)
    assert normalize("worker.date_of_birth", "04/24/1985 (age 41)") == (
        [("worker.date_of_birth", "1985-04-24")], None)
    assert normalize("employer.ein", "12-3456789 (IRS)") == ([("employer.ein", "12-3456789")], None)
    _pairs, reason = normalize("worker.ssn", "123-45-6789 or 987-65-4321")
    assert reason is not None and "6789" not in reason and "4321" not in reason


@pytest.mark.parametrize("raw", ["03/01/2027 to 06/30/2028", "from March 1, 2027 until June 30, 2028",
                                 "2027-03-01 - 2028-06-30", "3/1/2027–6/30/2028",
                                 "March 1, 2027 through June 30, 2028"])
def test_period_gives_start_and_end(raw: str) -> None:
    assert normalize("assignment.period", raw) == (
        [("assignment.start_date", "2027-03-01"), ("assignment.end_date", "2028-06-30")], None)


def test_period_without_two_dates_is_kept_for_staff() -> None:
    pairs, reason = normalize("assignment.period", "two years")
    assert pairs == [("assignment.period", "two years")] and reason


def test_unnumbered_dependent_fields_count_as_the_first() -> None:
    assert normalize("dependents.relationship", "wife") == ([("dependents[0].relationship", "spouse")], None)
    pairs, reason = normalize("dependents", "Anna Doe, spouse")
    assert reason is None and dict(pairs) == {"dependents[0].name": "Anna Doe", "dependents[0].relationship": "spouse"}
