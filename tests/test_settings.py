"""Settings: packaged defaults, an override file, environment overrides, secrets from files, masking."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from pydantic import ValidationError

from intake.settings import Settings, default_toml, load_settings
from parsers.types import Limits

SECRET = "hunter2-Xq9!synthetic"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No COC_INTAKE_ variable from the caller's shell, and a fresh current directory."""
    for key in list(os.environ):
        if key.upper().startswith("COC_INTAKE_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_embedded_defaults(clean_env: Path) -> None:
    s = load_settings()
    var = clean_env / "var"
    assert s.store.url == f"sqlite:///{var / 'coc-intake.db'}"
    assert s.paths.var == var
    assert (s.fax_inbox, s.fax_done, s.fax_outbox, s.mail_sent) == (
        var / "fax" / "inbox",
        var / "fax" / "done",
        var / "fax" / "outbox",
        var / "mail" / "sent",
    )
    assert s.imap.enabled is False and s.imap.folder == "INBOX" and s.imap.idle_renew_seconds == 25 * 60
    sl = s.smtp_listener
    assert (sl.enabled, sl.host, sl.port, sl.lmtp) == (True, "127.0.0.1", 2525, False)
    assert sl.accepted_recipients == ["certificate@localhost"]
    assert s.fax.enabled and re.search(s.fax.sender_pattern, "fax_+12025550123.pdf")
    assert s.relay.host == "" and s.relay.password is None
    assert s.replies.per_sender_per_hour == 60 and s.replies.reference_prefix == "COC"
    assert s.limits.max_pages == 50 and isinstance(s.limits, Limits)
    assert s.pipeline.workers == 0 and s.pipeline.worker_count() == (os.cpu_count() or 1)


def test_default_file_and_model_defaults_agree() -> None:
    """The documented file and the code's defaults never drift apart."""
    assert load_settings().model_dump() == Settings().model_dump()


def test_every_setting_in_default_toml_is_documented() -> None:
    text = resources.files("intake.config").joinpath("default.toml").read_text(encoding="utf-8")
    lines = text.splitlines()
    undocumented = []
    for i, line in enumerate(lines):
        if not re.match(r"^[a-z0-9_]+\s*=", line):
            continue
        j = i - 1  # walk up over the keys of the same group to its comment
        while j >= 0 and re.match(r"^[a-z0-9_]+\s*=", lines[j]):
            j -= 1
        if j < 0 or not lines[j].startswith("#"):
            undocumented.append(line)
    assert undocumented == []
    # And every field of every section is in the file.
    data = default_toml()
    defaults = Settings()
    for section in Settings.model_fields:
        assert section in data, section
        assert set(type(getattr(defaults, section)).model_fields) == set(data[section]), section


def test_readme_documents_every_setting() -> None:
    """The README's settings table names every key of every section of the embedded default, and no other."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| setting | default | what it does |"):readme.index("## Keys")]
    documented: dict[str, set[str]] = {}
    section = ""
    for row in table.splitlines()[2:]:
        if not row.startswith("|"):
            break
        first = row.split("|")[1]
        if m := re.match(r"\s*\*\*`\[(\w+)\]`\*\*", first):
            section = m.group(1)
            documented[section] = set()
        else:
            documented[section].update(re.findall(r"`(\w+)`", first))
    assert documented == {name: set(keys) for name, keys in default_toml().items()}


def test_override_file_merges_over_defaults(clean_env: Path) -> None:
    cfg = write(
        clean_env / "site.toml",
        """
[imap]
enabled = true
host = "imap.example.org"
processed_folder = "Processed"

[smtp_listener]
port = 2626

[paths]
var = "/srv/coc"
fax_done = "/srv/archive/fax"

[limits]
max_pages = 10
""",
    )
    s = load_settings(cfg)
    assert s.imap.enabled and s.imap.host == "imap.example.org" and s.imap.processed_folder == "Processed"
    assert s.imap.folder == "INBOX" and s.imap.port == 993  # untouched keys keep their defaults
    assert s.smtp_listener.port == 2626 and s.smtp_listener.host == "127.0.0.1"
    assert s.paths.var == Path("/srv/coc")
    assert s.fax_inbox == Path("/srv/coc/fax/inbox")  # derived from the new var
    assert s.fax_done == Path("/srv/archive/fax")
    assert s.store.url == "sqlite:////srv/coc/coc-intake.db"
    assert s.limits.max_pages == 10 and s.limits.max_rows == 5000


def test_override_file_errors(clean_env: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_settings(clean_env / "missing.toml")
    with pytest.raises(ValidationError, match="hots"):
        load_settings(write(clean_env / "typo.toml", '[imap]\nhots = "x"\n'))
    with pytest.raises(ValidationError, match="max_pagez"):
        load_settings(write(clean_env / "lim.toml", "[limits]\nmax_pagez = 3\n"))
    with pytest.raises(ValidationError, match="security"):
        load_settings(write(clean_env / "bad.toml", '[relay]\nsecurity = "ssl"\n'))
    with pytest.raises(ValidationError, match="29 minutes"):
        load_settings(write(clean_env / "idle.toml", "[imap]\nidle_renew_seconds = 1800\n"))
    with pytest.raises(ValidationError, match="number"):
        load_settings(write(clean_env / "rx.toml", "[fax]\nsender_pattern = '\\d+'\n"))
    with pytest.raises(ValidationError, match="host is empty"):
        load_settings(write(clean_env / "imap.toml", "[imap]\nenabled = true\n"))


def test_environment_wins_over_files(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write(clean_env / "site.toml", '[smtp_listener]\nport = 2626\n[imap]\nhost = "file.example.org"\n')
    monkeypatch.setenv("COC_INTAKE_SMTP_LISTENER__PORT", "2727")
    monkeypatch.setenv("COC_INTAKE_IMAP__HOST", "env.example.org")
    monkeypatch.setenv("COC_INTAKE_IMAP__ENABLED", "true")
    monkeypatch.setenv("COC_INTAKE_SMTP_LISTENER__ACCEPTED_RECIPIENTS", '["Certificate@Example.org", "coc@x.org"]')
    monkeypatch.setenv("COC_INTAKE_STORE__URL", "postgresql+psycopg://coc@db.example.org/coc")
    monkeypatch.setenv("COC_INTAKE_LIMITS__MAX_PAGES", "7")
    s = load_settings(cfg)
    assert s.smtp_listener.port == 2727
    assert s.imap.host == "env.example.org" and s.imap.enabled
    assert s.imap.folder == "INBOX"  # a nested env variable changes one key, not the section
    assert s.smtp_listener.accepted_recipients == ["certificate@example.org", "coc@x.org"]
    assert s.store.url == "postgresql+psycopg://coc@db.example.org/coc"
    assert s.limits.max_pages == 7


def test_secret_from_file_and_env(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pw = write(clean_env / "imap.pw", SECRET + "\n")
    token = write(clean_env / "token", "ya29.synthetic-token")
    cfg = write(
        clean_env / "site.toml",
        f'[imap]\npassword_file = "{pw}"\noauth2_token_file = "{token}"\n',
    )
    s = load_settings(cfg)
    assert s.imap.password is not None and s.imap.password.get_secret_value() == SECRET  # newline dropped
    assert s.imap.oauth2_token is not None and s.imap.oauth2_token.get_secret_value() == "ya29.synthetic-token"

    relay_pw = write(clean_env / "relay.pw", "relay-secret")
    monkeypatch.setenv("COC_INTAKE_RELAY__PASSWORD_FILE", str(relay_pw))
    assert load_settings().relay.password.get_secret_value() == "relay-secret"  # type: ignore[union-attr]

    # A password given directly in the environment wins over the file.
    monkeypatch.setenv("COC_INTAKE_IMAP__PASSWORD", "from-env")
    assert load_settings(cfg).imap.password.get_secret_value() == "from-env"  # type: ignore[union-attr]

    monkeypatch.setenv("COC_INTAKE_RELAY__PASSWORD_FILE", str(clean_env / "nope"))
    with pytest.raises(ValidationError, match="cannot read secret file"):
        load_settings()


def test_secrets_never_printed(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COC_INTAKE_IMAP__PASSWORD", SECRET)
    monkeypatch.setenv("COC_INTAKE_RELAY__PASSWORD", SECRET)
    monkeypatch.setenv("COC_INTAKE_IMAP__OAUTH2_TOKEN", SECRET)
    s = load_settings()
    assert s.imap.password is not None and s.imap.password.get_secret_value() == SECRET
    for shown in (repr(s), str(s), repr(s.imap), str(s.relay), s.model_dump_json(), str(s.model_dump())):
        assert SECRET not in shown
    assert "**********" in repr(s.imap)


def test_errors_do_not_echo_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """A secret under a misspelt variable name must not end up in a start-up error in the logs."""
    monkeypatch.setenv("COC_INTAKE_IMAP__PASSWROD", SECRET)
    with pytest.raises(ValidationError) as err:
        load_settings()
    assert "imap.passwrod" in str(err.value) and SECRET not in str(err.value)
    monkeypatch.delenv("COC_INTAKE_IMAP__PASSWROD")
    monkeypatch.setenv("COC_INTAKE_RELAY__PORT", SECRET)
    with pytest.raises(ValidationError) as err:
        load_settings()
    assert "relay.port" in str(err.value) and SECRET not in str(err.value)


def test_relative_paths_are_fixed_at_load(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings()
    (clean_env / "elsewhere").mkdir()
    monkeypatch.chdir(clean_env / "elsewhere")
    assert s.paths.var == clean_env / "var"  # a later chdir does not move the state
    assert load_settings().paths.var == clean_env / "elsewhere" / "var"
