"""Reference data kept in `config/`: the agreement table and the help text of every field.

Read once per process from the package's own files, so the gateway behaves the same from any
directory; a new agreement or a better help text is an edit to a TOML file, not to code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from intake.model import generic_path


@dataclass(frozen=True)
class Agreement:
    code: str
    name: str
    in_force: date
    limit_years: int  # 0 = no time limit
    limit_from: date | None = None  # the limit applies to transfers that began on or after this
    flag_over_limit: bool = False
    extension_years: int = 0
    nationality_rule: bool = False
    extra_fields: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class AgreementTable:
    checked: date
    agreements: dict[str, Agreement] = field(default_factory=dict)
    ein_prefixes: frozenset[str] = frozenset()


def _load_toml(name: str) -> dict[str, Any]:
    return tomllib.loads(resources.files("intake.config").joinpath(name).read_text("utf-8"))


@cache
def agreements() -> AgreementTable:
    raw = _load_toml("agreements.toml")
    default_limit = int(raw.get("default_limit_years", 5))
    table = {}
    for entry in raw["agreement"]:
        table[entry["code"]] = Agreement(
            code=entry["code"],
            name=entry["name"],
            in_force=entry["in_force"],
            limit_years=int(entry.get("limit_years", default_limit)),
            limit_from=entry.get("limit_from"),
            flag_over_limit=bool(entry.get("flag_over_limit", False)),
            extension_years=int(entry.get("extension_years", 0)),
            nationality_rule=bool(entry.get("nationality_rule", False)),
            extra_fields=tuple(entry.get("extra_fields", ())),
            note=entry.get("note", ""),
        )
    return AgreementTable(checked=raw["checked"], agreements=table,
                          ein_prefixes=frozenset(raw["ein_prefixes"]))


@cache
def help_texts() -> dict[str, str]:
    return dict(_load_toml("help.toml")["fields"])


def help_for(path: str | None) -> str:
    """The help text for a field path; an address line falls back to its address's text."""
    if not path:
        return ""
    texts = help_texts()
    key = generic_path(path)
    while key:
        if key in texts:
            return texts[key]
        key = key.rpartition(".")[0]
    return ""
