"""The fields of a request grouped as our paper form groups them, with the kind of control each takes.

One list for every screen that shows a request as a form (the staff review page; the public online
form may use it too): the groups and their order follow `parsers.form_zones.layout` (request type,
worker, employer, assignment, family members, confirmation), the human labels come from
`config/help.toml` `[labels]`, and each field says which request types ask for it, whether the
rules require it, and which control it needs (a date, yes/no, a choice, a country of an agreement).

Which fields a request type asks for is what `intake.validate` checks: an employee's request has an
employer, a host and the two yes/no questions; a self-employed person's has their own contact,
U.S. address and business. A request whose type is not known yet shows every field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

from intake.model import Dependent, generic_path
from intake.reference import _load_toml

Kind = Literal["text", "date", "yesno", "request_type", "agreement_country", "ssn", "ein", "email", "phone"]
RequestKind = Literal["employee", "self_employed"]
BOTH: tuple[RequestKind, ...] = ("employee", "self_employed")
EMPLOYEE: tuple[RequestKind, ...] = ("employee",)
SELF_EMPLOYED: tuple[RequestKind, ...] = ("self_employed",)

REQUEST_TYPES: tuple[tuple[str, str], ...] = (
    ("employee", "Employee sent abroad by a U.S. employer"),
    ("self_employed", "Self-employed person"),
)


@dataclass(frozen=True)
class FieldDef:
    """One field: its model path, control, the request types that ask for it, and whether the
    rules require it (an empty optional field may be folded away; an empty required one never)."""

    path: str
    kind: Kind = "text"
    types: tuple[RequestKind, ...] = BOTH
    required: bool = True

    @property
    def label(self) -> str:
        return label_of(self.path)


@dataclass(frozen=True)
class Group:
    """A heading of the form and its fields; `key` is stable (`worker`, `employer.address`)."""

    key: str
    title: str
    fields: tuple[FieldDef, ...]
    types: tuple[RequestKind, ...] = BOTH


def _address(prefix: str, types: tuple[RequestKind, ...], *, us: bool) -> tuple[FieldDef, ...]:
    return (FieldDef(f"{prefix}.street", types=types), FieldDef(f"{prefix}.city", types=types),
            FieldDef(f"{prefix}.state", types=types, required=us),
            FieldDef(f"{prefix}.postal_code", types=types, required=us),
            FieldDef(f"{prefix}.country", types=types, required=not us))


GROUPS: tuple[Group, ...] = (
    Group("request", "Request", (FieldDef("request_type", "request_type"),)),
    Group("worker", "Worker (as on the Social Security card)", (
        FieldDef("worker.first_name"), FieldDef("worker.middle_name", required=False), FieldDef("worker.last_name"),
        FieldDef("worker.ssn", "ssn"), FieldDef("worker.date_of_birth", "date"), FieldDef("worker.place_of_birth"),
        FieldDef("worker.citizenship"), FieldDef("worker.residence_country", required=False),
        FieldDef("worker.foreign_id", required=False),
        FieldDef("worker.email", "email", SELF_EMPLOYED), FieldDef("worker.phone", "phone", SELF_EMPLOYED, False),
        FieldDef("worker.business", types=SELF_EMPLOYED),
    )),
    Group("worker.address", "Self-employed person's U.S. address", _address("worker.address", SELF_EMPLOYED, us=True),
          SELF_EMPLOYED),
    Group("employer", "Employer in the U.S.", (
        FieldDef("employer.name", types=EMPLOYEE), FieldDef("employer.ein", "ein", EMPLOYEE),
        FieldDef("employer.contact_name", types=EMPLOYEE), FieldDef("employer.contact_phone", "phone", EMPLOYEE),
        FieldDef("employer.contact_email", "email", EMPLOYEE, False),
        FieldDef("employer.irs_3121l_date", "date", EMPLOYEE, False),
    ), EMPLOYEE),
    Group("employer.address", "Employer's address", _address("employer.address", EMPLOYEE, us=True), EMPLOYEE),
    Group("assignment", "Assignment abroad", (
        FieldDef("assignment.country", "agreement_country"), FieldDef("assignment.start_date", "date"),
        FieldDef("assignment.end_date", "date"), FieldDef("assignment.host_name", required=False),
        FieldDef("assignment.hired_in_us", "yesno", EMPLOYEE),
        FieldDef("assignment.remains_employee", "yesno", EMPLOYEE),
        FieldDef("assignment.hire_date", "date", EMPLOYEE, False),
        FieldDef("assignment.hire_place", types=EMPLOYEE, required=False),
    )),
    Group("assignment.work_address", "Place of work abroad", _address("assignment.work_address", BOTH, us=False)),
    Group("confirmation", "Confirmation of approval", (FieldDef("confirmation_email", "email", required=False),)),
)

_DEPENDENT_KINDS: dict[str, Kind] = {"date_of_birth": "date"}


def dependent_group(index: int) -> Group:
    """The fields of the `index`th family member (0-based), titled as the form counts them."""
    return Group(f"dependents[{index}]", f"Family member {index + 1}",
                 tuple(FieldDef(f"dependents[{index}].{name}", _DEPENDENT_KINDS.get(name, "text"),
                                required=name == "name") for name in Dependent.model_fields))


def groups_for(request_type: str | None, dependents: int = 0) -> list[Group]:
    """The groups of a request of this type (every group for an unknown type), with one group per
    family member after the assignment and before the confirmation."""
    shown = [g for g in GROUPS if request_type not in BOTH or request_type in g.types]
    out = [g for g in shown if g.key != "confirmation"]
    out += [dependent_group(i) for i in range(dependents)]
    out += [g for g in shown if g.key == "confirmation"]
    return out


def asked_for(field: FieldDef, request_type: str | None) -> bool:
    """Whether a request of this type asks for the field (every field when the type is unknown)."""
    return request_type not in BOTH or request_type in field.types


def definition(path: str) -> FieldDef:
    """The definition of a path, also of a numbered dependent's field (`dependents[2].name`)."""
    if path.startswith("dependents["):
        index = int(path[len("dependents["):path.index("]")])
        return next(f for f in dependent_group(index).fields if f.path == path)
    found = _by_path().get(path)
    if found is None:
        raise KeyError(path)
    return found


@cache
def _by_path() -> dict[str, FieldDef]:
    return {f.path: f for g in GROUPS for f in g.fields}


@cache
def labels() -> dict[str, str]:
    """Every field's label by generic path (`dependents.name`), from config/help.toml `[labels]`."""
    return {str(k): str(v) for k, v in _load_toml("help.toml").get("labels", {}).items()}


def label_of(path: str) -> str:
    """A field's label (`Street and number`); the path in words for one without a label."""
    return labels().get(generic_path(path)) or path.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def group_of(path: str) -> str:
    """The title of the group a field is in (`Employer's address`), for a label without its heading."""
    if path.startswith("dependents["):
        return dependent_group(int(path[len("dependents["):path.index("]")])).title
    return next((g.title for g in GROUPS for f in g.fields if f.path == path), "")


def full_label(path: str) -> str:
    """A field's label with its group, where no heading stands above it: "Employer's address: City"."""
    group = group_of(path).split(" (")[0]
    label = label_of(path)
    if not group or label.lower().startswith(group.split()[0].lower().removesuffix("'s")):
        return label  # "Employer name" needs no "Employer in the U.S." before it
    return f"{group}: {label}"


def us_date(value: str) -> str:
    """An ISO date as U.S. staff write it (2027-03-01 -> 03/01/2027); anything else unchanged."""
    if re.fullmatch(r"\d{4}-\d\d-\d\d", value):
        return f"{value[5:7]}/{value[8:10]}/{value[:4]}"
    return value


def display(path: str, value: str) -> str:
    """A stored value as its control shows it: dates MM/DD/YYYY, everything else as stored."""
    try:
        kind = definition(path).kind
    except (KeyError, ValueError, StopIteration):
        return value
    return us_date(value) if kind == "date" else value
