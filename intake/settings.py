"""Gateway configuration: one TOML file over the packaged defaults, then `COC_INTAKE_...` variables.

Order of precedence, lowest first: `config/default.toml` (package data `intake.config`, so the
gateway runs from any directory with no file of its own), the `--config` file (merged table by
table over the default), then environment variables `COC_INTAKE_<SECTION>__<KEY>`.
Passwords and tokens are `SecretStr`, so `repr`, logs and `model_dump_json` show `**********`; they
come from the environment or from a `*_file` path (a container secret), never from a printed value.
Relative paths are resolved against the current directory once, when the settings are loaded, so
a later `chdir` cannot move the store.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from intake.faxsettings import FaxMailSettings, FaxOutSettings
from intake.sources.faxdir import DEFAULT_SENDER_PATTERN
from parsers.types import Limits

ENV_PREFIX = "COC_INTAKE_"
Security = Literal["tls", "starttls", "none"]


class _Section(BaseModel):
    # A misspelt key in a TOML file is an error, not a silently ignored setting; and the error never
    # echoes the value (it may be a password under a misspelt name).
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


def _read_secret(path: Path, what: str) -> SecretStr:
    """Read a secret file; the error names the file, never its content."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{what}: cannot read secret file {path}: {exc.strerror}") from None
    return SecretStr(text.rstrip("\r\n"))


class StoreSettings(_Section):
    # Empty means SQLite file `coc-intake.db` in `paths.var` (filled in by `Settings`).
    url: str = ""


class PathSettings(_Section):
    var: Path = Path("./var")
    # Empty means the conventional place under `var`; see `Settings._derive`.
    fax_inbox: Path | None = None
    fax_done: Path | None = None
    fax_outbox: Path | None = None
    mail_sent: Path | None = None

    @field_validator("fax_inbox", "fax_done", "fax_outbox", "mail_sent", mode="before")
    @classmethod
    def _empty_is_none(cls, v: Any) -> Any:
        return None if v == "" else v


class ImapSettings(_Section):
    enabled: bool = False
    host: str = ""
    port: int = 993
    security: Security = "tls"
    tls_verify: bool = True
    username: str = ""
    password: SecretStr | None = None
    password_file: Path | None = None
    oauth2_token: SecretStr | None = None
    oauth2_token_file: Path | None = None
    folder: str = "INBOX"
    processed_folder: str = ""
    processed_flag: str = "$CocIntake"
    poll_seconds: float = 60.0
    idle_renew_seconds: float = 25 * 60.0
    timeout_seconds: float = 60.0
    reconnect_max_seconds: float = 300.0

    @model_validator(mode="after")
    def _secrets_from_files(self) -> ImapSettings:
        if self.password is None and self.password_file is not None:
            self.password = _read_secret(self.password_file, "imap.password_file")
        if self.oauth2_token is None and self.oauth2_token_file is not None:
            self.oauth2_token = _read_secret(self.oauth2_token_file, "imap.oauth2_token_file")
        if self.enabled and not self.host:
            raise ValueError("imap.enabled is true but imap.host is empty")
        if self.idle_renew_seconds >= 29 * 60:
            raise ValueError("imap.idle_renew_seconds must stay under 29 minutes (RFC 2177)")
        return self


class SmtpListenerSettings(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 2525
    lmtp: bool = False
    accepted_recipients: list[str] = Field(default_factory=lambda: ["certificate@localhost"])
    max_message_bytes: int = 50 * 1024 * 1024

    @field_validator("accepted_recipients")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        # Compared case-insensitively by the listener; normalise once here.
        return [a.strip().lower() for a in v]


class FaxSettings(_Section):
    enabled: bool = True
    sender_pattern: str = DEFAULT_SENDER_PATTERN
    sidecar_extension: str = ".txt"
    stable_seconds: float = 5.0
    poll_seconds: float = 2.0
    ignore_suffixes: list[str] = Field(default_factory=lambda: [".tmp", ".part", ".partial"])
    extensions: list[str] = Field(default_factory=lambda: [".pdf", ".tif", ".tiff"])
    # What happens to a fax file once its submission is stored (encrypted): "remove" it, or "keep"
    # it in the done folder (in clear, with the full SSN: only where the folder is protected).
    done_files: Literal["remove", "keep"] = "remove"

    @field_validator("sender_pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            rx = re.compile(v)
        except re.error as exc:
            raise ValueError(f"fax.sender_pattern is not a valid regular expression: {exc}") from None
        if "number" not in rx.groupindex:
            raise ValueError("fax.sender_pattern needs a named group (?P<number>...)")
        return v


class RelaySettings(_Section):
    host: str = ""
    port: int = 587
    security: Security = "starttls"
    tls_verify: bool = True
    username: str = ""
    password: SecretStr | None = None
    password_file: Path | None = None
    from_address: str = "certificate@localhost"
    retry_for_seconds: float = 2 * 24 * 3600.0
    first_retry_seconds: float = 60.0
    max_retry_seconds: float = 3600.0
    timeout_seconds: float = 60.0

    @model_validator(mode="after")
    def _secrets_from_files(self) -> RelaySettings:
        if self.password is None and self.password_file is not None:
            self.password = _read_secret(self.password_file, "relay.password_file")
        return self


class ReplySettings(_Section):
    per_sender_per_hour: int = 60
    our_domain: str = "localhost"
    reference_prefix: str = "COC"
    form_url: str = ""
    help_url: str = ""

    @field_validator("reference_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Z][A-Z0-9]{0,9}", v):
            raise ValueError("replies.reference_prefix must be 1-10 capital letters or digits")
        return v


class LimitSettings(Limits):
    """`parsers.types.Limits` (so it can be handed to the parsers as is), strict about its keys."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class PipelineSettings(_Section):
    workers: int = Field(default=0, ge=0)
    submission_timeout_seconds: float = 600.0
    memory_mb: int = 2048
    max_attempts: int = 3

    def worker_count(self) -> int:
        """`workers = 0` means one per core, as Tesseract runs best single-threaded per process."""
        return self.workers or (os.cpu_count() or 1)


class WorkerSettings(_Section):
    """How work is dispatched (`intake.jobs`, `intake.worker`): in process, or through procrastinate."""

    dispatch: Literal["inprocess", "procrastinate"] = "inprocess"
    concurrency: int = Field(default=0, ge=0)
    extract_queue: str = "extract"
    send_queue: str = "send"
    lock_poll_seconds: float = Field(default=5.0, gt=0)
    sweep_seconds: int = Field(default=30, ge=1, le=3600)
    heartbeat_seconds: float = Field(default=10.0, gt=0)
    stalled_seconds: float = Field(default=60.0, gt=0)
    stale_sending_seconds: float = Field(default=900.0, gt=0)
    retry_attempts: int = Field(default=5, ge=0)
    retry_wait_seconds: int = Field(default=2, ge=0)
    shutdown_seconds: float = Field(default=60.0, ge=0)

    def worker_concurrency(self, pipeline: PipelineSettings) -> int:
        """`concurrency = 0` means as many jobs at once as the pipeline has extraction workers."""
        return self.concurrency or pipeline.worker_count()


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: Path | None = None
    format: Literal["text", "json"] = "text"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v

    @field_validator("file", mode="before")
    @classmethod
    def _empty_is_none(cls, v: Any) -> Any:
        return None if v == "" else v


class EncryptionSettings(_Section):
    """Encryption at rest (`intake.crypto`): where the keyring is; the keys are never in the database."""

    # Empty: COC_INTAKE_KEY_FILE, else (SQLite) `keys.json` in [paths] var, made on first start.
    key_file: Path | None = None
    # How often a running process looks whether the key file changed (a `keys rotate` elsewhere).
    reload_seconds: float = Field(default=2.0, gt=0)
    # Accept values in clear in a database marked sealed_only (see intake.store.sealing).
    allow_plaintext: bool = False

    @field_validator("key_file", mode="before")
    @classmethod
    def _empty_is_none(cls, v: Any) -> Any:
        return None if v == "" else v


def _ip_networks(values: list[str], setting: str) -> list[str]:
    """Addresses or networks (CIDR) of a setting, normalised; a bad one is an error naming the setting."""
    out = []
    for item in values:
        try:
            out.append(str(ipaddress.ip_network(item.strip(), strict=False)))
        except ValueError:
            raise ValueError(f"{setting}: {item!r} is not an IP address or network (CIDR)") from None
    return out


class WebSettings(_Section):
    """The staff review page and JSON API (`intake.web`)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8080
    session_idle_minutes: float = Field(default=30.0, gt=0)
    secure_cookies: bool = False
    trusted_proxy_user_header: str = ""
    # Addresses or networks (CIDR) of the reverse proxies whose headers are believed: the user
    # header above, X-Forwarded-For (the client of the login limit) and X-Forwarded-Proto.
    trusted_proxies: list[str] = Field(default_factory=list)
    login_max_failures: int = Field(default=5, ge=1)
    login_delay_seconds: float = Field(default=30.0, ge=0)
    login_window_minutes: float = Field(default=15.0, gt=0)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        return _ip_networks(v, "web.trusted_proxies")

    def proxy_problem(self) -> str:
        """Why the page must not be served with these settings ("" when it may): a user header
        believed from any client makes anyone who reaches the port any user."""
        if self.trusted_proxy_user_header.strip() and not self.trusted_proxies:
            return ("web.trusted_proxy_user_header is set but web.trusted_proxies is empty: name the "
                    "addresses of the proxy that sets the header (e.g. [\"127.0.0.1\"])")
        return ""


class OnlineSettings(_Section):
    """The public online request form (`intake.web.online`, `/request`)."""

    enabled: bool = True
    # Where requesters reach the gateway, for the link in a confirmation-address mail
    # ("https://coc.example.gov"). Empty: http://[web] host:port. Never taken from the Host header,
    # which a client chooses.
    public_url: str = ""
    # Per client address: at most this many submissions, and this many checks as typed, per hour.
    submissions_per_hour: int = Field(default=20, ge=1)
    checks_per_hour: int = Field(default=2000, ge=1)
    # A batch upload (CSV or XLSX) of at most this many bytes and rows.
    max_upload_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_batch_rows: int = Field(default=500, ge=1)
    # The whole form post (every field together), before it is read.
    max_form_bytes: int = Field(default=64 * 1024, ge=4096)


class ReviewSettings(_Section):
    """Rules of the review page's actions (`intake.web.review`)."""

    four_eyes: bool = True


class TrustSettings(_Section):
    """Sender trust (`intake.senderauth`): whose Authentication-Results count, DNS for SMTP checks."""

    authserv_id: str = ""
    dns_servers: list[str] = Field(default_factory=list)
    dns_port: int = Field(default=53, ge=1, le=65535)
    dns_timeout_seconds: float = Field(default=5.0, gt=0)
    dns_budget_seconds: float = Field(default=4.0, gt=0)
    flag_unverified: bool = True
    # Our MTA in front of the SMTP/LMTP listener (addresses or networks): its Authentication-Results
    # (of `authserv_id`) are believed on mail it hands over, as for IMAP; from anyone else, never.
    relays: list[str] = Field(default_factory=list)
    # Forwarders (ARC-Seal d= domains) whose ARC-Authentication-Results are believed when the
    # chain verifies: forwarded mail whose own DKIM/SPF no longer align.
    arc_trusted_signers: list[str] = Field(default_factory=list)

    @field_validator("relays")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        return _ip_networks(v, "[trust] relays")

    @field_validator("arc_trusted_signers")
    @classmethod
    def _domains(cls, v: list[str]) -> list[str]:
        return [d.strip().rstrip(".").lower() for d in v if d.strip()]


class Settings(BaseSettings):
    """All settings of the gateway; build it with `load_settings`, not directly."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        case_sensitive=False,
        extra="forbid",
        hide_input_in_errors=True,
    )

    store: StoreSettings = Field(default_factory=StoreSettings)
    paths: PathSettings = Field(default_factory=PathSettings)
    imap: ImapSettings = Field(default_factory=ImapSettings)
    smtp_listener: SmtpListenerSettings = Field(default_factory=SmtpListenerSettings)
    fax: FaxSettings = Field(default_factory=FaxSettings)
    fax_mail: FaxMailSettings = Field(default_factory=FaxMailSettings)
    fax_out: FaxOutSettings = Field(default_factory=FaxOutSettings)
    relay: RelaySettings = Field(default_factory=RelaySettings)
    replies: ReplySettings = Field(default_factory=ReplySettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    online: OnlineSettings = Field(default_factory=OnlineSettings)
    trust: TrustSettings = Field(default_factory=TrustSettings)
    encryption: EncryptionSettings = Field(default_factory=EncryptionSettings)
    workers: WorkerSettings = Field(default_factory=WorkerSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # `load_settings` passes the merged TOML as init arguments; the environment must win over
        # the files, so it comes first. No .env file: the environment is the deployment's business.
        return (env_settings, init_settings)

    @model_validator(mode="after")
    def _derive(self) -> Settings:
        p = self.paths
        p.var = p.var.expanduser().absolute()
        p.fax_inbox = (p.fax_inbox or p.var / "fax" / "inbox").expanduser().absolute()
        p.fax_done = (p.fax_done or p.var / "fax" / "done").expanduser().absolute()
        p.fax_outbox = (p.fax_outbox or p.var / "fax" / "outbox").expanduser().absolute()
        p.mail_sent = (p.mail_sent or p.var / "mail" / "sent").expanduser().absolute()
        if not self.store.url:
            self.store.url = f"sqlite:///{p.var / 'coc-intake.db'}"
        if self.logging.file is not None:
            self.logging.file = self.logging.file.expanduser().absolute()
        if self.encryption.key_file is not None:
            self.encryption.key_file = self.encryption.key_file.expanduser().absolute()
        if self.workers.dispatch == "procrastinate" and not self.store.url.startswith(("postgres", "postgresql")):
            raise ValueError("workers.dispatch = \"procrastinate\" needs a PostgreSQL store.url "
                             "(postgresql+psycopg://...); the SQLite store works with dispatch = \"inprocess\" only")
        return self

    # Typed accessors: after `_derive` these are never None.
    @property
    def fax_inbox(self) -> Path:
        assert self.paths.fax_inbox is not None
        return self.paths.fax_inbox

    @property
    def fax_done(self) -> Path:
        assert self.paths.fax_done is not None
        return self.paths.fax_done

    @property
    def fax_outbox(self) -> Path:
        assert self.paths.fax_outbox is not None
        return self.paths.fax_outbox

    @property
    def mail_sent(self) -> Path:
        assert self.paths.mail_sent is not None
        return self.paths.mail_sent


def default_toml() -> dict[str, Any]:
    """The embedded defaults, read from the installed package (works from any directory)."""
    text = resources.files("intake.config").joinpath("default.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Table-by-table merge: a file that sets only `[imap] host` keeps every other default."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _drop_empty_secrets(data: dict[str, Any]) -> dict[str, Any]:
    """`password = ""` in a TOML file means "not set here", so a `*_file` or the env can supply it."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out[key] = _drop_empty_secrets(value)
        elif value == "" and (key in {"password", "oauth2_token"} or key.endswith("_file")):
            continue
        else:
            out[key] = value
    return out


def load_settings(config_file: str | Path | None = None) -> Settings:
    """Read the packaged defaults, merge `config_file` over them, then apply the environment.

    Raises `FileNotFoundError` for a missing config file and `pydantic.ValidationError` for a
    wrong value (the message names the setting; secrets are never echoed).
    """
    data = default_toml()
    if config_file is not None:
        path = Path(config_file)
        with path.open("rb") as fh:
            data = _merge(data, tomllib.load(fh))
    return Settings(**_drop_empty_secrets(data))
