"""Every rule of domain.md, checked the way a careful clerk would, returned as `Problem`s.

Nothing here raises or rejects: a request with problems goes to staff with each problem named,
its field's help text attached, so that the same text can go back to the requester.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache

from intake import plausible
from intake.model import Address, CertificateRequest, Problem
from intake.reference import Agreement, _load_toml, agreements, help_for
from parsers.pii import mask_ssn, mask_ssns
from parsers.ssn_grammar import SSN_CANONICAL

__all__ = ["ein_problem", "mask_ssn", "problem_help", "ssn_problem", "validate"]

SSN_RE = SSN_CANONICAL  # the one grammar's canonical form (parsers.ssn_grammar)
EIN_RE = re.compile(r"^(\d{2})-(\d{7})$")
ZIP_RE = re.compile(r"^\d{5}(-\d{4})?$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
ADVERTISED_SSNS = frozenset({"078-05-1120", "219-09-9999"})
USPS_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI UM FM MH PW AA AE "
    "AP".split()
)
MIN_AGE_YEARS = 14


@cache
def problem_help(code: str) -> str:
    """Help text of a problem that is about the request rather than one field (config/help.toml
    `[problems]`, e.g. `sender_not_verified`); "" for a code without one."""
    return str(_load_toml("help.toml").get("problems", {}).get(code, ""))


def ssn_problem(ssn: str) -> str | None:
    """Why an SSN can never be valid, or None. The message never repeats the number."""
    m = SSN_RE.match(ssn)
    if not m:
        return "must be 9 digits written NNN-NN-NNNN"
    area, group, serial = m.groups()
    if area in {"000", "666"} or area >= "900":
        return f"no Social Security number starts with {area}"
    if group == "00":
        return "the middle two digits of a Social Security number are never 00"
    if serial == "0000":
        return "the last four digits of a Social Security number are never 0000"
    if ssn in ADVERTISED_SSNS:
        return "this number was published in advertising and is not a real person's number"
    return None


def ein_problem(ein: str) -> str | None:
    m = EIN_RE.match(ein)
    if not m:
        return "must be 9 digits written NN-NNNNNNN"
    if m.group(1) not in agreements().ein_prefixes:
        return f"no Employer Identification Number starts with {m.group(1)} (not an IRS prefix in use)"
    return None


def add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


class _Checker:
    def __init__(self, req: CertificateRequest, today: date) -> None:
        self.req = req
        self.today = today
        self.problems: list[Problem] = []

    def add(self, path: str | None, code: str, message: str) -> None:
        # Messages quote values as read; an SSN typed into another box (the EIN's) is masked here too.
        self.problems.append(Problem(field=path, code=code, message=mask_ssns(message), help=help_for(path)))

    def require(self, path: str, what: str) -> bool:
        value = self.req.get(path)
        if value is None or (isinstance(value, str) and not value.strip()):
            self.add(path, "missing", f"{what} is missing.")
            return False
        return True

    def address(self, path: str, addr: Address | None, what: str, *, us: bool) -> None:
        if addr is None:
            self.add(path, "missing", f"{what} is missing.")
            return
        for key, label in (("street", "street"), ("city", "city")):
            if not getattr(addr, key):
                self.add(f"{path}.{key}", "missing", f"The {label} of {what.lower()} is missing.")
        country = addr.country or ("US" if us else None)
        if country is None:
            self.add(f"{path}.country", "missing", f"The country of {what.lower()} is missing.")
        if country == "US":
            self.us_state_zip(path, addr, what)

    def us_state_zip(self, path: str, addr: Address, what: str) -> None:
        if not addr.state:
            self.add(f"{path}.state", "missing", f"The state of {what.lower()} is missing.")
        elif addr.state not in USPS_STATES:
            self.add(f"{path}.state", "invalid",
                     f"The state of {what.lower()} must be a two-letter USPS code such as TX.")
        if not addr.postal_code:
            self.add(f"{path}.postal_code", "missing", f"The ZIP code of {what.lower()} is missing.")
        elif not ZIP_RE.match(addr.postal_code):
            self.add(f"{path}.postal_code", "invalid",
                     f"The ZIP code of {what.lower()} must be 5 digits or ZIP+4 (12345-6789).")

    def email(self, path: str) -> None:
        value = self.req.get(path)
        if value and not EMAIL_RE.match(value):
            self.add(path, "invalid", f"{value!r} is not an email address.")

    def run(self) -> list[Problem]:
        req = self.req
        if req.request_type is None:
            self.add("request_type", "missing",
                     "The request does not say whether it is for an employee or a self-employed person.")
        self.worker()
        if req.request_type == "employee" or (req.request_type is None and req.employer):
            self.employee()
        elif req.request_type == "self_employed":
            self.self_employed()
        self.assignment()
        self.dependents()
        self.email("confirmation_email")
        for path, message in plausible.problems(req):
            self.add(path, "invalid", message)
        return self.problems

    def worker(self) -> None:
        w = self.req.worker
        self.require("worker.first_name", "The worker's first name")
        self.require("worker.last_name", "The worker's last name")
        if self.require("worker.ssn", "The worker's Social Security number") and w.ssn:
            why = ssn_problem(w.ssn)
            if why:
                self.add("worker.ssn", "invalid",
                         f"The Social Security number ending {w.ssn[-4:]} is not valid: {why}.")
        if self.require("worker.date_of_birth", "The worker's date of birth") and w.date_of_birth:
            if w.date_of_birth >= self.today:
                self.add("worker.date_of_birth", "invalid", "The date of birth is not in the past.")
            start = self.req.assignment.start_date
            if start and add_years(w.date_of_birth, MIN_AGE_YEARS) > start:
                self.add("worker.date_of_birth", "invalid",
                         f"The worker would be younger than {MIN_AGE_YEARS} at the start of the assignment.")
        self.require("worker.place_of_birth", "The worker's place of birth")
        citizenship_read = self.require("worker.citizenship", "The worker's citizenship")
        if citizenship_read and w.citizenship and not re.fullmatch(r"[A-Z]{2}", w.citizenship):
            self.add("worker.citizenship", "invalid",
                         "The citizenship must be a country, for example United States.")

    def employee(self) -> None:
        e = self.req.employer
        self.require("employer.name", "The employer's name")
        if self.require("employer.ein", "The employer's EIN") and e and e.ein:
            why = ein_problem(e.ein)
            if why:
                self.add("employer.ein", "invalid", f"The EIN {e.ein} is not valid: {why}.")
        self.address("employer.address", e.address if e else None, "The employer's address", us=True)
        self.require("employer.contact_name", "The employer's contact person")
        if not (e and (e.contact_phone or e.contact_email)):
            self.add("employer.contact_phone", "missing",
                     "A phone number or email address for the employer's contact person is missing.")
        self.email("employer.contact_email")
        self.require("assignment.host_name", "The name of the company where the work is done abroad")
        self.require("assignment.hired_in_us", "Whether the employee was hired in the U.S.")
        self.require("assignment.remains_employee",
                     "Whether the worker stays an employee of the U.S. employer")

    def self_employed(self) -> None:
        w = self.req.worker
        if self.req.employer and self.req.employer.name:
            self.add("employer.name", "invalid",
                     "A self-employed request has no employer; staff should check the request type.")
        if not (w.email or w.phone):
            self.add("worker.email", "missing",
                     "An email address or phone number for the self-employed person is missing.")
        self.email("worker.email")
        self.address("worker.address", w.address, "The self-employed person's U.S. address", us=True)
        self.require("worker.business", "The nature of the self-employed person's business")

    def assignment(self) -> None:
        a = self.req.assignment
        agreement: Agreement | None = None
        if self.require("assignment.country", "The country of assignment") and a.country:
            agreement = agreements().agreements.get(a.country)
            if agreement is None:
                self.add("assignment.country", "not_agreement_country",
                         f"The United States has no Social Security agreement in force with "
                         f"{a.country}, so no certificate of coverage can be issued for it.")
            elif a.start_date and a.start_date < agreement.in_force:
                self.add("assignment.country", "not_agreement_country",
                         f"The agreement with {agreement.name} came into force on "
                         f"{agreement.in_force:%B %-d, %Y}, after the start date.")
        self.require("assignment.start_date", "The start date of the assignment")
        self.require("assignment.end_date", "The end date of the assignment")
        if a.start_date and a.end_date and a.end_date <= a.start_date:
            self.add("assignment.end_date", "invalid", "The end date must be after the start date.")
        if a.start_date and a.start_date < add_years(self.today, -1):
            self.add("assignment.start_date", "start_in_past",
                     "The assignment started more than a year ago; staff check whether a certificate "
                     "can still be issued for the past period.")
        if agreement and a.start_date and a.end_date and a.end_date > a.start_date:
            self.period(agreement, a.start_date, a.end_date)
        if agreement and agreement.nationality_rule and self.req.worker.citizenship not in (None, "US"):
            self.add("worker.citizenship", "nationality_rule",
                     f"Under the agreement with {agreement.name} coverage depends on nationality; "
                     f"a worker who is not a U.S. national is reviewed by staff.")
        if a.work_address is None:
            self.add("assignment.work_address", "missing", "The address where the work is done abroad is missing.")
        else:
            self.address("assignment.work_address", a.work_address, "The place of work abroad", us=False)
            if a.work_address.country and a.country and a.work_address.country != a.country[:2]:
                self.add("assignment.work_address.country", "invalid",
                         "The place of work is not in the country of assignment.")

    def period(self, agreement: Agreement, start: date, end: date) -> None:
        if agreement.limit_years == 0:
            return
        if agreement.limit_from and start < agreement.limit_from:
            return
        counted_from = max(start, agreement.in_force)
        limit_end = add_years(counted_from, agreement.limit_years)
        if end <= limit_end:
            return
        message = (f"The assignment runs past the {agreement.limit_years}-year limit of the agreement "
                   f"with {agreement.name} (the limit ends {limit_end:%B %-d, %Y}).")
        if agreement.flag_over_limit:
            message += f" {agreement.note} Staff decide; this is not a rejection."
        self.add("assignment.end_date", "period_too_long", message)

    def dependents(self) -> None:
        for i, dep in enumerate(self.req.dependents):
            if not dep.name:
                self.add(f"dependents[{i}].name", "missing", "A family member's name is missing.")
            if dep.date_of_birth and dep.date_of_birth >= self.today:
                self.add(f"dependents[{i}].date_of_birth", "invalid",
                         "A family member's date of birth is not in the past.")


def validate(req: CertificateRequest, *, today: date | None = None) -> list[Problem]:
    """Every problem in a request; an empty list means a clerk would accept it as it is."""
    return _Checker(req, today or date.today()).run()
