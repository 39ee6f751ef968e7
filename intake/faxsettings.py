"""Settings of the fax channel's mail side: `[fax_mail]` (faxes that arrive by mail) and `[fax_out]`
(how fax replies are transmitted). Kept apart from `intake.settings` so that module stays small;
`intake.settings.Settings` holds both sections.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

FaxTransport = Literal["folder", "hylafax", "email"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


PLACES = ("body", "subject", "filename")


@cache
def presets() -> dict[str, dict[str, list[str]]]:
    """config/fax_mail.toml: {preset: {"body"|"subject"|"filename": [pattern, ...]}}."""
    text = resources.files("intake.config").joinpath("fax_mail.toml").read_text(encoding="utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    return {name: {place: list(table.get(place) or []) for place in PLACES} for name, table in data.items()}


def _patterns(values: list[str], what: str) -> list[str]:
    for v in values:
        try:
            rx = re.compile(v)
        except re.error as exc:
            raise ValueError(f"fax_mail.{what}: {v!r} is not a valid regular expression: {exc}") from None
        if "number" not in rx.groupindex:
            raise ValueError(f"fax_mail.{what}: {v!r} needs a named group (?P<number>...)")
    return values


class FaxMailSettings(_Section):
    """Mail from a fax server or a fax-to-email service is a fax: answered by fax, to the caller."""

    # Senders (From address, or a whole domain) whose mail is a received fax. Empty: none.
    gateways: list[str] = Field(default_factory=list)
    # Presets of config/fax_mail.toml whose patterns are tried after the ones below, in order.
    presets: list[str] = Field(default_factory=lambda: ["hylafax", "fax_service"])
    # Own regular expressions with a group (?P<number>...), tried first.
    subject_patterns: list[str] = Field(default_factory=list)
    body_patterns: list[str] = Field(default_factory=list)
    filename_patterns: list[str] = Field(default_factory=list)

    @field_validator("gateways")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [g.strip().lower().lstrip("@") for g in v if g.strip()]

    @field_validator("presets")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        table = presets()
        for name in v:
            if name not in table:
                raise ValueError(f"fax_mail.presets: no preset {name!r} in config/fax_mail.toml "
                                 f"(known: {', '.join(sorted(table))})")
        return v

    @field_validator("subject_patterns", "body_patterns", "filename_patterns")
    @classmethod
    def _caller_patterns(cls, v: list[str], info: ValidationInfo) -> list[str]:
        return _patterns(v, str(info.field_name))


class FaxOutSettings(_Section):
    """How a fax reply leaves: a folder, a HylaFAX+ server, or a fax service's email-to-fax gateway."""

    transport: FaxTransport = "folder"
    hylafax_host: str = "localhost"
    hylafax_port: int = Field(default=4559, ge=1, le=65535)
    hylafax_user: str = "coc-intake"
    hylafax_password: SecretStr | None = None
    hylafax_timeout_seconds: float = Field(default=30.0, gt=0)
    hylafax_max_dials: int = Field(default=12, ge=1)
    hylafax_max_tries: int = Field(default=3, ge=1)
    follow_seconds: float = Field(default=30.0, gt=0)
    retry_for_seconds: float = Field(default=24 * 3600.0, ge=0)
    first_retry_seconds: float = Field(default=300.0, ge=0)
    max_retry_seconds: float = Field(default=3600.0, ge=0)
    email_address: str = "{number}@fax.example.net"
    email_subject: str = ""
    email_cover_text: str = ""
    # Our own fax number, printed on fax replies as where to fax the return page back (else they
    # say "to the number this fax came from", which the sender's machine shows in our header line).
    our_number: str = Field(default="", max_length=40)

    @field_validator("hylafax_password", mode="before")
    @classmethod
    def _empty_is_none(cls, v: object) -> object:
        return None if v == "" else v

    @field_validator("email_address")
    @classmethod
    def _template(cls, v: str) -> str:
        if "{number}" not in v or "@" not in v:
            raise ValueError("fax_out.email_address must be an address template with {number}, "
                             "e.g. \"{number}@fax.example.net\"")
        return v
