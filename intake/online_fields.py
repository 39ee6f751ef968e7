"""The fields of the online request form, taken from the same layout the PDF form is drawn from.

`parsers.form_zones.layout` is the one field list of our form: the PDF (`intake.form`), its
AcroForm fields, the zone reader of faxed copies and this web page all come from it, so a field
added to the form appears on the page in the same section, with the same label and the help text of
`config/help.toml`. What the layout does not say, the web page needs as well: which requester type
a field is for, and what control fits it (a select of agreement countries, a date, yes/no, the SSN
masked); that is decided here from the model path and the layout's kind, not from a second list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Literal

import pycountry

from intake.form import Edition, editions
from intake.model import max_length
from intake.reference import agreements, help_for
from parsers import form_zones as fz

Control = Literal["text", "email", "tel", "date", "ssn", "ein", "yesno", "agreement_country", "country", "state"]
RequestType = Literal["employee", "self_employed"]
TYPES: dict[str, str] = {"employee": "Employee sent abroad by a U.S. employer",
                         "self_employed": "Self-employed person working abroad"}

# Fields of one requester type only (validate.py asks for them for that type alone).
_EMPLOYEE_ONLY = ("employer.", "assignment.host_name", "assignment.hired_in_us", "assignment.hire_date",
                  "assignment.hire_place", "assignment.remains_employee")
_SELF_EMPLOYED_ONLY = ("worker.email", "worker.phone", "worker.address.", "worker.business")
# Required for a type, as validate.py requires them (marked on the page; the rules stay in validate.py).
_REQUIRED = {"worker.first_name", "worker.last_name", "worker.ssn", "worker.date_of_birth", "worker.place_of_birth",
             "worker.citizenship", "assignment.country", "assignment.start_date", "assignment.end_date",
             "assignment.work_address.street", "assignment.work_address.city", "assignment.work_address.country"}
_REQUIRED_EMPLOYEE = {"employer.name", "employer.ein", "employer.address.street", "employer.address.city",
                      "employer.address.state", "employer.address.postal_code", "employer.contact_name",
                      "assignment.host_name", "assignment.hired_in_us", "assignment.remains_employee"}
_REQUIRED_SELF = {"worker.address.street", "worker.address.city", "worker.address.state",
                  "worker.address.postal_code", "worker.business"}


@dataclass(frozen=True)
class WebField:
    """One control of the page: the model path it fills and how it is shown."""

    path: str
    label: str
    control: Control
    help: str
    max_length: int | None
    required: bool
    autocomplete: str = ""

    @property
    def dom_id(self) -> str:
        """An HTML id for the path (`dependents[0].name` -> `f-dependents-0-name`)."""
        return "f-" + self.path.replace("[", "-").replace("]", "").replace(".", "-")


@dataclass(frozen=True)
class Section:
    title: str
    fields: tuple[WebField, ...]
    dependents: bool = False  # the family members' rows


def for_type(path: str, request_type: str) -> bool:
    """Whether the field at `path` belongs on the form of `request_type`."""
    if path.startswith(_EMPLOYEE_ONLY):
        return request_type == "employee"
    if path.startswith(_SELF_EMPLOYED_ONLY):
        return request_type == "self_employed"
    return True


def _control(spec: fz.FieldSpec) -> Control:  # noqa: PLR0911  (one return per kind of form control)
    leaf = spec.path.rsplit(".", 1)[-1]
    if spec.kind == "choice":
        return "yesno"
    if spec.kind == "date":
        return "date"
    if spec.path == "worker.ssn":
        return "ssn"
    if spec.path == "employer.ein":
        return "ein"
    if spec.path == "assignment.country":
        return "agreement_country"
    if leaf in ("country", "citizenship", "residence_country"):
        return "country"
    if leaf == "state" and not spec.path.startswith("assignment."):
        return "state"
    if "email" in leaf:
        return "email"
    if "phone" in leaf:
        return "tel"
    return "text"


_AUTOCOMPLETE = {"worker.first_name": "given-name", "worker.middle_name": "additional-name",
                 "worker.last_name": "family-name", "worker.date_of_birth": "bday", "worker.email": "email",
                 "worker.phone": "tel", "employer.name": "organization", "employer.contact_name": "name",
                 "employer.contact_phone": "tel", "employer.contact_email": "email",
                 "confirmation_email": "email"}
_ADDRESS_AUTOCOMPLETE = {"street": "street-address", "city": "address-level2", "state": "address-level1",
                         "postal_code": "postal-code", "country": "country"}


def _autocomplete(path: str) -> str:
    if path in _AUTOCOMPLETE:
        return _AUTOCOMPLETE[path]
    if path.startswith(("worker.address.", "employer.address.")):
        return _ADDRESS_AUTOCOMPLETE.get(path.rsplit(".", 1)[-1], "off")
    return "off"


def _label(spec: fz.FieldSpec) -> str:
    """The printed label without what only paper needs (the MM/DD/YYYY of comb boxes)."""
    label = spec.label.replace(" (MM/DD/YYYY)", "").replace(" (code, CA-QC for Quebec)", "")
    prefix = {"worker.address": "Address: ", "employer.address": "Employer's address: ",
              "assignment.work_address": "Place of work abroad: "}
    if spec.path.startswith("dependents["):
        return f"Family member {int(spec.path[11]) + 1}: {label[:1].lower() + label[1:]}"
    for head, text in prefix.items():
        if spec.path.startswith(head + "."):
            return text + label[:1].lower() + label[1:]
    return label


def _web_field(spec: fz.FieldSpec, request_type: str) -> WebField:
    required = spec.path in _REQUIRED or spec.path in (
        _REQUIRED_EMPLOYEE if request_type == "employee" else _REQUIRED_SELF)
    return WebField(path=spec.path, label=_label(spec), control=_control(spec), help=help_for(spec.path),
                    max_length=max_length(spec.path), required=required, autocomplete=_autocomplete(spec.path))


@cache
def sections(request_type: str, edition: Edition | None = None) -> tuple[Section, ...]:
    """The page's sections for one requester type, in the order and under the headings of the PDF
    form of `edition` (the current one), without the type choice itself (the page's first step)."""
    ed = edition or editions().current
    spec_layout = fz.layout(ed.layout)
    out: list[Section] = []
    for heading in spec_layout.headings:
        later = [h for h in spec_layout.headings if h.page == heading.page and h.y > heading.y]
        bottom = min((h.y for h in later), default=10_000.0)
        specs = [s for s in spec_layout.fields if s.page == heading.page and heading.y <= s.y < bottom
                 and s.path != "request_type" and for_type(s.path, request_type)]
        if not specs:
            continue
        title = heading.text.split(". ", 1)[-1].replace(" (employees only)", "").replace(" (tick one)", "")
        out.append(Section(title, tuple(_web_field(s, request_type) for s in specs),
                           dependents=specs[0].path.startswith("dependents")))
    return tuple(out)


def field_paths(request_type: str) -> list[str]:
    """Every path the page of `request_type` takes, the type first."""
    return ["request_type"] + [f.path for s in sections(request_type) for f in s.fields]


def batch_worker_paths(request_type: str = "employee") -> list[str]:
    """The per-worker columns of a batch: everything but the employer's own data, typed once."""
    return [p for p in field_paths(request_type) if p != "request_type" and not p.startswith("employer.")]


@cache
def agreement_countries() -> list[tuple[str, str]]:
    """(code, name) of every agreement in force, by name: the choices of the assignment country."""
    today = date.today()
    return sorted(((a.code, a.name) for a in agreements().agreements.values() if a.in_force <= today),
                  key=lambda c: c[1])


@cache
def countries() -> list[tuple[str, str]]:
    """(alpha-2, name) of every country, the United States first."""
    rows = sorted(((c.alpha_2, getattr(c, "common_name", None) or c.name) for c in pycountry.countries),
                  key=lambda c: c[1])
    return [("US", "United States")] + [r for r in rows if r[0] != "US"]


US_STATES = ("AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY "
             "NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI").split()


def edition_line(edition: Edition | None = None) -> str:
    """`Form COC-1 (2026-11), issued November 1, 2026`: what the page says of its edition."""
    ed = edition or editions().current
    return f"Form {ed.label}, issued {ed.issued:%B %-d, %Y}"
