"""The one request model every channel ends in, and the problems found in it.

Every field is optional in the model itself: a half-read request is still a request, and what is
missing or wrong is reported by `intake.validate` as `Problem`s rather than raised, so that staff
can finish it. SSN and EIN are kept as strings for the same reason (an impossible SSN must still be
shown to the person correcting it).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

RequestType = Literal["employee", "self_employed"]


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class Address(_Base):
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


class Worker(_Base):
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    ssn: str | None = None
    date_of_birth: date | None = None
    place_of_birth: str | None = None
    citizenship: str | None = None
    email: str | None = None
    phone: str | None = None
    address: Address | None = None
    foreign_id: str | None = None
    residence_country: str | None = "US"
    business: str | None = None


class Employer(_Base):
    name: str | None = None
    ein: str | None = None
    address: Address | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    irs_3121l_date: date | None = None


class Assignment(_Base):
    country: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    host_name: str | None = None
    work_address: Address | None = None
    hired_in_us: bool | None = None
    hire_date: date | None = None
    hire_place: str | None = None
    remains_employee: bool | None = None


class Dependent(_Base):
    name: str | None = None
    date_of_birth: date | None = None
    relationship: str | None = None


class CertificateRequest(_Base):
    """A request for a U.S. Certificate of Coverage; field names are those of domain.md."""

    request_type: RequestType | None = None
    worker: Worker = Field(default_factory=Worker)
    employer: Employer | None = None
    assignment: Assignment = Field(default_factory=Assignment)
    dependents: list[Dependent] = Field(default_factory=list)
    confirmation_email: str | None = None

    def get(self, path: str) -> Any:
        """The value at a canonical path (`worker.ssn`, `dependents[0].name`), or None."""
        node: Any = self
        for key, index in _split(path):
            node = getattr(node, key, None) if node is not None else None
            if index is not None:
                node = node[index] if isinstance(node, list) and index < len(node) else None
        return node


class Problem(BaseModel):
    """Something a person must look at: which field, why, and the help text for that field."""

    field: str | None  # None for a problem with the whole request
    code: str
    message: str
    help: str = ""


_PATH_RE = re.compile(r"^([a-z_0-9]+)(?:\[(\d+)\])?$")


def _split(path: str) -> list[tuple[str, int | None]]:
    out: list[tuple[str, int | None]] = []
    for piece in path.split("."):
        m = _PATH_RE.match(piece)
        if not m:
            raise ValueError(f"not a field path: {path!r}")
        out.append((m.group(1), int(m.group(2)) if m.group(2) is not None else None))
    return out


def _leaf_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    paths: list[str] = []
    for name, info in model.model_fields.items():
        sub = _submodel(info.annotation)
        if sub is not None:
            paths.extend(_leaf_paths(sub, f"{prefix}{name}."))
        else:
            paths.append(prefix + name)
    return paths


def _submodel(annotation: Any) -> type[BaseModel] | None:
    for arg in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


# Every scalar field path of the model (dependents as `dependents[].name`), in model order.
FIELD_PATHS: list[str] = [
    p for p in _leaf_paths(CertificateRequest) if not p.startswith("dependents")
] + [f"dependents[].{n}" for n in Dependent.model_fields]


def generic_path(path: str) -> str:
    """`dependents[2].name` -> `dependents.name`: the key under which help texts are kept."""
    return re.sub(r"\[\d*\]", "", path)


def build_request(values: dict[str, str]) -> tuple[CertificateRequest, list[Problem]]:
    """Make a request from normalised string values by path.

    A value the model cannot take (an unreadable date, a yes/no that is neither) is left out and
    reported as `invalid` on its field, so one bad value never loses the rest of the request.
    """
    data: dict[str, Any] = {}
    problems: list[Problem] = []
    for path, value in values.items():
        _set(data, path, value)
    while True:
        try:
            return CertificateRequest.model_validate(data), problems
        except ValidationError as exc:
            removed = False
            for err in exc.errors():
                loc = [p for p in err["loc"] if not isinstance(p, str) or p not in _UNION_TAGS]
                path = _loc_to_path(loc)
                if _unset(data, loc):
                    removed = True
                    problems.append(Problem(field=path, code="invalid",
                                            message=f"{path}: the value could not be read as "
                                                    f"{_expected(err['type'])}."))
            if not removed:
                raise


_UNION_TAGS = {"function-after", "function-before", "literal", "date", "bool", "str"}


def _expected(kind: str) -> str:
    if kind.startswith("date"):
        return "a date"
    if kind.startswith("bool"):
        return "yes or no"
    if kind == "literal_error":
        return "one of the allowed choices"
    return "the expected kind of value"


def _loc_to_path(loc: list[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    node: Any = data
    parts = _split(path)
    for i, (key, index) in enumerate(parts):
        last = i == len(parts) - 1
        if index is None:
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, {})
        else:
            items = node.setdefault(key, [])
            while len(items) <= index:
                items.append({})
            if last:
                items[index] = value
            else:
                node = items[index]


def _unset(data: dict[str, Any], loc: list[Any]) -> bool:
    node: Any = data
    for part in loc[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    try:
        del node[loc[-1]]
        return True
    except (KeyError, IndexError, TypeError):
        return False
