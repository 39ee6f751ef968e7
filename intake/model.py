"""The one request model every channel ends in, and the problems found in it.

Every field is optional in the model itself: a half-read request is still a request, and what is
missing or wrong is reported by `intake.validate` as `Problem`s rather than raised, so that staff
can finish it. SSN and EIN are kept as strings for the same reason (an impossible SSN must still be
shown to the person correcting it).
"""

from __future__ import annotations

import copy
import re
from datetime import date
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

RequestType = Literal["employee", "self_employed"]


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


def _text(max_length: int, default: str | None = None) -> Any:
    """An optional string field of at most `max_length` characters: no field takes a value no form
    could hold (a 120 kB "employer name" once made the review queue 26,000 pixels tall)."""
    return Field(default=default, max_length=max_length)


NAME, LONG_NAME, PLACE, COUNTRY, EMAIL, PHONE, NUMBER = 150, 300, 200, 100, 254, 50, 40


class Address(_Base):
    street: str | None = _text(LONG_NAME)
    city: str | None = _text(PLACE)
    state: str | None = _text(COUNTRY)
    postal_code: str | None = _text(NUMBER)
    country: str | None = _text(COUNTRY)


class Worker(_Base):
    first_name: str | None = _text(NAME)
    middle_name: str | None = _text(NAME)
    last_name: str | None = _text(NAME)
    ssn: str | None = _text(NUMBER)
    date_of_birth: date | None = None
    place_of_birth: str | None = _text(PLACE)
    citizenship: str | None = _text(COUNTRY)
    email: str | None = _text(EMAIL)
    phone: str | None = _text(PHONE)
    address: Address | None = None
    foreign_id: str | None = _text(COUNTRY)
    residence_country: str | None = _text(COUNTRY, "US")
    business: str | None = _text(1000)


class Employer(_Base):
    name: str | None = _text(LONG_NAME)
    ein: str | None = _text(NUMBER)
    address: Address | None = None
    contact_name: str | None = _text(LONG_NAME)
    contact_phone: str | None = _text(PHONE)
    contact_email: str | None = _text(EMAIL)
    irs_3121l_date: date | None = None


class Assignment(_Base):
    country: str | None = _text(COUNTRY)
    start_date: date | None = None
    end_date: date | None = None
    host_name: str | None = _text(LONG_NAME)
    work_address: Address | None = None
    hired_in_us: bool | None = None
    hire_date: date | None = None
    hire_place: str | None = _text(PLACE)
    remains_employee: bool | None = None


class Dependent(_Base):
    name: str | None = _text(LONG_NAME)
    date_of_birth: date | None = None
    relationship: str | None = _text(COUNTRY)


class CertificateRequest(_Base):
    """A request for a U.S. Certificate of Coverage; field names are those of domain.md."""

    request_type: RequestType | None = None
    worker: Worker = Field(default_factory=Worker)
    employer: Employer | None = None
    assignment: Assignment = Field(default_factory=Assignment)
    dependents: list[Dependent] = Field(default_factory=list)
    confirmation_email: str | None = _text(EMAIL)

    @classmethod
    def from_stored(cls, fields: Any) -> CertificateRequest:
        """A request as the store keeps it. A value longer than the model allows (saved before there
        were limits) is cut to its limit, so that an old record still opens; anything else wrong raises."""
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            data = copy.deepcopy(fields)
            errors = exc.errors()
            if not all(e["type"] == "string_too_long" for e in errors):
                raise
            for e in errors:
                loc = [p for p in e["loc"] if not isinstance(p, str) or p not in _UNION_TAGS]
                node: Any = data
                for part in loc[:-1]:
                    node = node[part]
                node[loc[-1]] = str(node[loc[-1]])[: int(e["ctx"]["max_length"])]
            return cls.model_validate(data)

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


@lru_cache(maxsize=4096)
def _split(path: str) -> tuple[tuple[str, int | None], ...]:
    """A path's (key, list index) steps; cached (a tuple: no caller can change it), for a request's
    values are looked up by path tens of times a request (`get`, the plausibility checks)."""
    out: list[tuple[str, int | None]] = []
    for piece in path.split("."):
        m = _PATH_RE.match(piece)
        if not m:
            raise ValueError(f"not a field path: {path!r}")
        out.append((m.group(1), int(m.group(2)) if m.group(2) is not None else None))
    return tuple(out)


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


def max_length(path: str) -> int | None:
    """The most characters the field at `path` (`employer.name`, `dependents[0].name`) takes, or None."""
    model: type[BaseModel] | None = CertificateRequest
    info = None
    for key, _ in _split(path):
        if model is None or key not in model.model_fields:
            return None
        info = model.model_fields[key]
        model = _submodel(info.annotation)
    if info is None or model is not None:
        return None
    return next((int(m.max_length) for m in info.metadata if getattr(m, "max_length", None)), None)


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
                    if err["type"] == "string_too_long":
                        message = (f"{path}: the value is {len(str(err['input'])):,} characters long, over the "
                                   f"{int(err['ctx']['max_length']):,} allowed; it was left out.")
                    else:
                        message = f"{path}: the value could not be read as {_expected(err['type'])}."
                    problems.append(Problem(field=path, code="invalid", message=message))
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
