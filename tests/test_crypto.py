"""Encryption at rest: the keyring, the store's sealed columns on SQLite and PostgreSQL, rotation while
another process keeps using the store, rows from before encryption, the fax folder and the key file rules.

The database is read directly (sqlite3 on the file, psycopg on the table), never through the store,
to prove what an attacker with a copy of the database would see.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import random
import re
import sqlite3
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import update

from intake.crypto import (
    ENV_KEY_FILE,
    ENV_KEYS,
    DecryptError,
    Keyring,
    KeyringError,
    add_key,
    key_id_of,
    keyring_from_settings,
    new_key,
    read_key_file,
)
from intake.extract import extract_submission
from intake.model import CertificateRequest
from intake.settings import Settings, load_settings
from intake.sources.faxdir import FaxDirSource
from intake.store import Incoming, Store, migrate
from intake.store.models import Request, Submission
from intake.store.sealing import PlaintextRefused
from parsers.pii import mask_ssns
from tests import faxgen, mailgen
from tests.dnsstub import loopback_dns
from tests.results import submission_result
from tests.synth import labelled_lines, make_request

pytest_plugins = ["tests.store_fixtures"]

ROOT = Path(__file__).resolve().parents[1]
MARKER = "Internal routing note: quokka-lantern-5531"  # in the raw message body only


@pytest.fixture(autouse=True)
def _no_env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_KEYS, raising=False)
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)


def _config(tmp_path: Path, db_url: str, *, reload_seconds: float = 0.5, name: str = "c.toml") -> Path:
    """A config over `db_url` with a key file made beforehand (as an operator does for PostgreSQL)."""
    key_file = tmp_path / "keys.json"
    if not key_file.exists():
        add_key(key_file)
    config = tmp_path / name
    config.write_text(f'[store]\nurl = "{db_url}"\n[paths]\nvar = "{tmp_path}/var"\n'
                      f'[encryption]\nkey_file = "{key_file}"\nreload_seconds = {reload_seconds}\n' + loopback_dns(),
                      encoding="utf-8")
    return config


# -- the keyring ---------------------------------------------------------------------------------------


def test_keyring_seals_binds_and_names_its_key() -> None:
    old, new = new_key(), new_key()
    ring = Keyring({"k-new": new, "k-old": old}, "k-new")
    blob = ring.encrypt(b"123-45-6789", "requests.fields:1:0")
    assert key_id_of(blob) == "k-new" and b"123-45-6789" not in blob
    assert ring.encrypt(b"123-45-6789", "requests.fields:1:0") != blob  # a fresh nonce each time
    assert ring.decrypt(blob, "requests.fields:1:0") == b"123-45-6789"
    with pytest.raises(DecryptError, match=r"requests\.fields"):
        ring.decrypt(blob, "requests.fields:2:0")  # copied into another row: does not open
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(DecryptError):
        ring.decrypt(tampered, "requests.fields:1:0")
    # Values under an older key still open; clear values (from before encryption) pass through.
    older = Keyring({"k-old": old}, "k-old").encrypt(b"x", "a")
    assert ring.decrypt(older, "a") == b"x"
    assert ring.decrypt(b"From: someone\r\n", "a") == b"From: someone\r\n"
    assert ring.decrypt_json({"worker": {"ssn": "1"}}, "a") == {"worker": {"ssn": "1"}}
    sealed = ring.encrypt_json({"worker": {"ssn": "123-45-6789"}}, "j")
    assert "123" not in json.dumps(sealed) and ring.decrypt_json(sealed, "j") == {"worker": {"ssn": "123-45-6789"}}
    text = ring.encrypt_text("ssn_123456789.pdf", "t")
    assert text is not None and "123456789" not in text and ring.decrypt_text(text, "t") == "ssn_123456789.pdf"
    with pytest.raises(KeyringError, match="'k-gone' is not in the keyring"):
        Keyring({"k-new": new}, "k-new").decrypt(Keyring({"k-gone": old}, "k-gone").encrypt(b"x", "a"), "a")


def test_key_file_open_to_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    add_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    with pytest.raises(KeyringError, match=rf"key file {re.escape(str(path))} is open to group or others "
                                           r"\(mode 0644\): run `chmod 600"):
        Keyring.from_file(path)
    path.chmod(0o600)
    path.write_text("not json", encoding="utf-8")
    with pytest.raises(KeyringError, match="is not a keyring"):
        Keyring.from_file(path)


def test_a_running_keyring_follows_the_file_and_survives_a_broken_one(tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "keys.json"
    first = add_key(path)
    ring = Keyring.from_file(path, check_seconds=0)
    sealed = ring.encrypt(b"x", "a")
    second = add_key(path)  # another process rotates
    assert ring.current == second and key_id_of(ring.encrypt(b"x", "a")) == second
    path.chmod(0o644)
    with caplog.at_level(logging.ERROR, logger="intake.crypto"):
        assert ring.current == second and ring.decrypt(sealed, "a") == b"x"  # keeps what it had
    assert any("open to group or others" in r.getMessage() for r in caplog.records)
    path.chmod(0o600)
    assert first in ring.key_ids


def test_embedded_default_generates_a_key_file_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[paths]\nvar = "{tmp_path}/var"\n', encoding="utf-8")
    settings = load_settings(config)
    with caplog.at_level(logging.WARNING, logger="intake.crypto"):
        ring = keyring_from_settings(settings)
    path = tmp_path / "var" / "keys.json"
    assert ring.path == path and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert any("generated a new encryption key file" in r.getMessage() and str(path) in r.getMessage()
               for r in caplog.records)
    caplog.clear()
    again = keyring_from_settings(settings)
    assert again.current == ring.current and not caplog.records  # the same key, no second file


def test_postgresql_without_a_key_is_an_error_that_says_what_to_do(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from intake.cli import main

    config = tmp_path / "c.toml"
    pg = "postgresql+psycopg://coc@127.0.0.1:1/nothing"
    config.write_text(f'[store]\nurl = "{pg}"\n[paths]\nvar = "{tmp_path}/var"\n', encoding="utf-8")
    with pytest.raises(KeyringError, match="every machine needs the same keyring"):
        keyring_from_settings(load_settings(config))
    assert main(["--config", str(config), "run"]) == 2
    err = capsys.readouterr().err
    assert "coc-intake run: no encryption key configured" in err and "key_file" in err
    assert not (tmp_path / "var" / "keys.json").exists()  # never generated for a shared database
    # A configured but missing file: same error, naming the file.
    config.write_text(config.read_text() + f'[encryption]\nkey_file = "{tmp_path}/k.json"\n', encoding="utf-8")
    with pytest.raises(KeyringError, match=rf"key file {re.escape(str(tmp_path))}/k.json does not exist"):
        keyring_from_settings(load_settings(config))


def test_keys_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    from intake.cli import main

    assert main(["keys", "new", "--print"]) == 0
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(r"k\d{8}-[0-9a-f]{6}:[A-Za-z0-9_-]{43}=", line)
    other = main(["keys", "new", "--print"]) == 0 and capsys.readouterr().out.strip()
    monkeypatch.setenv(ENV_KEYS, f"{line},{other}")
    settings = load_settings()
    ring = keyring_from_settings(settings)
    assert ring.current == line.split(":")[0] and len(ring.key_ids) == 2 and ring.path is None
    monkeypatch.setenv(ENV_KEYS, "nocolon")
    with pytest.raises(KeyringError, match="ID:BASE64"):
        keyring_from_settings(settings)
    monkeypatch.delenv(ENV_KEYS)
    add_key(tmp_path / "env.json")
    monkeypatch.setenv(ENV_KEY_FILE, str(tmp_path / "env.json"))
    assert keyring_from_settings(settings).path == tmp_path / "env.json"


# -- what is in the database ---------------------------------------------------------------------------


def _dump(db_url: str) -> list[tuple[str, str, bytes]]:
    """(table, column, value as bytes) of every value of every table, read without the store."""
    out: list[tuple[str, str, bytes]] = []

    def as_bytes(v: Any) -> bytes:
        if isinstance(v, bytes | memoryview):
            return bytes(v)
        return (v if isinstance(v, str) else json.dumps(v, default=str)).encode()

    if db_url.startswith("sqlite"):
        path = db_url.split("///", 1)[1]
        lite = sqlite3.connect(path)
        try:
            tables = [r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for t in tables:
                cur = lite.execute(f'SELECT * FROM "{t}"')
                cols = [d[0] for d in cur.description]
                out += [(t, c, as_bytes(v)) for row in cur for c, v in zip(cols, row, strict=True) if v is not None]
        finally:
            lite.close()
        return out
    url = db_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        for t in tables:
            pcur = conn.execute(f'SELECT * FROM "{t}"')
            pcols = [d.name for d in pcur.description or []]
            out += [(t, c, as_bytes(v)) for row in pcur for c, v in zip(pcols, row, strict=True) if v is not None]
    return out


def _leaks(db_url: str, ssns: list[str], extra: list[bytes]) -> list[str]:
    """Where a full SSN (any punctuation) or a piece of a raw message is found in the database."""
    found = []
    for table, column, value in _dump(db_url):
        flat = re.sub(rb"[\s.-]", b"", value)
        for ssn in ssns:
            if re.sub(r"\D", "", ssn).encode() in flat:
                found.append(f"SSN {ssn} in {table}.{column}")
        for needle in extra:
            if needle in value:
                found.append(f"{needle[:30]!r} in {table}.{column}")
    if db_url.startswith("sqlite"):  # the files themselves too, WAL included (freed pages, journal)
        base = Path(db_url.split("///", 1)[1])
        for f in (base, base.with_name(base.name + "-wal")):
            if f.exists():
                data = re.sub(rb"[\s.-]", b"", f.read_bytes())
                found += [f"SSN {s} in file {f.name}" for s in ssns if re.sub(r"\D", "", s).encode() in data]
    return found


def _mail(rng: random.Random, req: dict[str, Any], attachments: list[tuple[str, bytes, str]] | None = None) -> bytes:
    text = "\n".join(labelled_lines(req, rng)) + f"\n\n{MARKER}\n"
    return mailgen.thunderbird(sender="hr@acme.example.com", to="certificate@localhost", subject="COC request",
                               text=text, attachments=attachments or [])


def _ingest(store: Store, raw: bytes, channel: str = "smtp", **kw: Any) -> int:
    sender = kw.pop("sender", "hr@acme.example.com")
    sid, created = store.store_submission(Incoming(channel=channel, raw=raw, sender=sender,  # type: ignore[arg-type]
                                                   received_at=datetime.now(UTC), **kw))
    assert created
    result = extract_submission(raw, channel="email" if channel != "fax" else "fax",
                                filename=kw.get("fax_filename"))
    store.mark_extracted(sid, result)
    return sid


def _reply_text(message: bytes) -> str:
    """Everything a reply says: each MIME part decoded, PDF attachments (and fax replies) as text."""
    import email
    import io

    from pypdf import PdfReader

    def pdf_text(data: bytes) -> str:
        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)

    if message.startswith(b"%PDF"):
        return pdf_text(message)
    out = []
    for part in email.message_from_bytes(message).walk():
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            out.append(pdf_text(data) if data.startswith(b"%PDF") else data.decode("utf-8", "replace"))
    return "\n".join(out)


def _summarize(fields: Any) -> str:
    return mask_ssns(json.dumps(fields))


def test_no_full_ssn_nor_raw_message_in_the_database(db_url: str, tmp_path: Path) -> None:
    """A real extraction of generated requests (mail text, an attachment named with the SSN, a
    faxed scan), a reply queued, a staff correction, a reprocess and a manual request: then the
    database file / table is read directly and holds no full SSN and no part of a raw message."""
    from intake.isolation import ExtractionPool
    from intake.pipeline import Context, reply_stage

    settings = load_settings(_config(tmp_path, db_url))
    store = Store.from_settings(settings)
    store.upgrade()
    rng = random.Random(61)
    reqs = [make_request(rng, kind="employee") for _ in range(3)]
    ssns = [r["worker"]["ssn"] for r in reqs]
    csv = ("first_name,last_name,ssn\n" + f"Ann,Example,{ssns[1]}\n").encode()
    raws = [_mail(rng, reqs[0]), _mail(rng, reqs[0]),
            _mail(rng, reqs[1], [(f"request-{re.sub(r'[^0-9]', '', ssns[1])}.csv", csv, "text/csv")])]
    sids = [_ingest(store, raw) for raw in raws]
    tiff = faxgen.tiff_bytes(faxgen.fax_request(reqs[2], random.Random(3), "fine"))
    sids.append(_ingest(store, tiff, channel="fax", sender="+12085550142", fax_filename="fax_+12085550142.tif"))
    records = [r for sid in sids for r in store.requests_of(sid)]
    found = {re.sub(r"\D", "", str(r.fields["worker"].get("ssn") or "")) for r in records}
    assert {re.sub(r"\D", "", s) for s in ssns[:2]} <= found, "the store gives the SSNs back in clear"
    # Duplicate detection still compares full SSNs (decrypted), found through the clear last four.
    first, second = store.requests_of(sids[0])[0], store.requests_of(sids[1])[0]
    assert [r.id for r in store.possible_duplicates(first.id)] == [second.id]
    ctx = Context(store, settings, ExtractionPool(1, timeout=60, memory_mb=0))
    for sid in sids:
        reply_stage(ctx, sid)
    assert store.replies_of(sids[0]), "a reply was queued (and is checked below: masked SSN only)"
    fields = json.loads(json.dumps(first.fields))
    fields["worker"]["ssn"] = ssns[2]
    store.update_request(first.id, fields, first.problems, [("worker.ssn", mask_ssns(ssns[0]), mask_ssns(ssns[2]))],
                         actor="sam")
    assert store.get_request(first.id).fields["worker"]["ssn"] == ssns[2]
    result = extract_submission(raws[1], channel="email")
    store.replace_extraction(sids[1], result, summarize=_summarize)
    manual = store.add_manual_request(sids[3], CertificateRequest.model_validate({"worker": {"ssn": ssns[2]}}), [],
                                      actor="sam")
    assert store.get_request(manual.id).fields["worker"]["ssn"] == ssns[2]
    assert store.get_submission(sids[3]).raw == tiff and store.get_submission(sids[0]).raw == raws[0]
    assert len(store.queue(search=re.sub(r"\D", "", ssns[0])[-4:])) >= 1
    # A reason quotes file names and problem messages: stored (and shown to reviewers) masked.
    bad, _ = store.store_submission(Incoming(channel="smtp", raw=b"From: x@example.org\r\n\r\n-\r\n",
                                             sender="x@example.org", received_at=datetime.now(UTC)))
    store.mark_needs_review(bad, f"request-{ssns[1]}.csv could not be read")
    assert store.get_submission(bad).reason == f"request-{mask_ssns(ssns[1])}.csv could not be read"

    replies = [r for sid in sids for r in store.replies_of(sid)]
    store.dispose()

    leaks = _leaks(db_url, ssns, [MARKER.encode(), tiff[:64], raws[0][-300:-200], raws[2][-300:-200]])
    assert leaks == []
    # Replies are kept in clear: decoded (base64 bodies, PDF text), they show masked SSNs only.
    assert replies and any("***-**-" in _reply_text(r.message) for r in replies)
    for reply in replies:
        text = _reply_text(reply.message)
        assert text.strip() and not any(re.sub(r"\D", "", ssn) in re.sub(r"[\s.-]", "", text) for ssn in ssns)
    # The search columns are still there in clear.
    dump = _dump(db_url)
    assert any(c == "ssn_last4" and v == re.sub(r"\D", "", ssns[1])[-4:].encode() for _, c, v in dump)


def test_rows_from_before_encryption_are_read_and_then_sealed(db_url: str, tmp_path: Path) -> None:
    rng = random.Random(7)
    req = make_request(rng, kind="employee")
    clear = Store(db_url)  # a store as it was before encryption: values in clear
    migrate.upgrade(clear.engine, "0003")  # and a schema from before strict sealing (0007)
    sid = _ingest(clear, _mail(rng, req))
    clear.upgrade()  # an old database with submissions: not marked sealed_only
    assert clear.sealed_only() is None
    clear.dispose()
    assert _leaks(db_url, [req["worker"]["ssn"]], []) != []

    settings = load_settings(_config(tmp_path, db_url))
    store = Store.from_settings(settings)
    assert store.get_submission(sid).raw.find(MARKER.encode()) > 0
    assert store.requests_of(sid)[0].fields["worker"]["ssn"] == req["worker"]["ssn"]
    assert store.key_usage().by_key.get(None, 0) >= 5
    out = subprocess.run([sys.executable, "-m", "intake.cli", "--config", str(tmp_path / "c.toml"), "keys",
                          "reencrypt"], capture_output=True, check=False, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "submissions.raw: 1 value(s) re-encrypted" in out.stdout
    assert "sealed values only" in out.stdout
    usage = store.key_usage()
    assert None not in usage.by_key and list(usage.by_key) == [store.keyring.current]  # type: ignore[union-attr]
    assert store.requests_of(sid)[0].fields["worker"]["ssn"] == req["worker"]["ssn"]
    store.dispose()
    assert _leaks(db_url, [req["worker"]["ssn"]], [MARKER.encode()]) == []
    # Everything is sealed now: a value in clear written past the store is refused from here on.
    store = Store.from_settings(settings)
    assert store.sealed_only() is not None and store.sealed_only().startswith("after keys reencrypt")  # type: ignore[union-attr]
    _forge_fields(store, sid)
    with pytest.raises(PlaintextRefused, match=r"table requests, column fields, row id \d+"):
        store.requests_of(sid)
    store.dispose()


def _forge_fields(store: Store, sid: int) -> None:
    """Write a request's fields in clear straight into the database, as someone with write access could."""
    forged = {"worker": {"first_name": "Eve", "last_name": "Forger", "ssn": "219-09-9999"}}
    with store.engine.begin() as conn:
        conn.execute(update(Request).where(Request.submission_id == sid).values(fields=forged))


def test_new_database_refuses_a_value_in_clear_written_past_the_store(db_url: str, tmp_path: Path) -> None:
    """A database made new holds sealed values only: a clear field or raw message written behind the
    store's back is refused with the table, column and row; `allow_plaintext` opts out."""
    rng = random.Random(8)
    config = _config(tmp_path, db_url)
    store = Store.from_settings(load_settings(config))
    store.upgrade()
    assert store.sealed_only() is not None and store.sealed_only().startswith("created")  # type: ignore[union-attr]
    sid = _ingest(store, _mail(rng, make_request(rng, kind="employee")))
    [rec] = store.requests_of(sid)  # sealed rows open as ever
    _forge_fields(store, sid)
    with pytest.raises(PlaintextRefused, match=f"table requests, column fields, row id {rec.id}:") as err:
        store.get_request(rec.id)
    assert "219-09-9999" not in str(err.value) and "allow_plaintext" in str(err.value)
    with store.engine.begin() as conn:
        conn.execute(update(Submission).where(Submission.id == sid)
                     .values(raw=b"From: eve@forger.example\r\n\r\nforged"))
    with pytest.raises(PlaintextRefused, match=f"table submissions, column raw, row id {sid}:"):
        store.get_submission(sid)
    store.dispose()
    # The opt-out reads them (an old database on its way to `keys reencrypt`).
    config.write_text(config.read_text().replace("[encryption]\n", "[encryption]\nallow_plaintext = true\n"),
                      encoding="utf-8")
    lenient = Store.from_settings(load_settings(config))
    assert lenient.get_submission(sid).raw.endswith(b"forged")
    assert lenient.get_request(rec.id).fields["worker"]["last_name"] == "Forger"
    lenient.dispose()


# -- rotation while the store is in use ----------------------------------------------------------------


def _busy_store(config: str, stop_file: str, report_file: str) -> None:
    """Another process: store, extract-like write and read back, again and again, until told to stop.

    Its keyring looks at the key file only every hour on its own, so it meets the new key through
    rows re-encrypted by the rotation (reload on an unknown key id), as a daemon between looks does.
    """
    settings = load_settings(config)
    store = Store.from_settings(settings)
    rng = random.Random(os.getpid())
    ops, errors, ids = 0, [], []
    while not os.path.exists(stop_file):
        try:
            ssn = f"{rng.randint(100, 665):03d}-{rng.randint(10, 99):02d}-{rng.randint(1000, 9999):04d}"
            raw = f"From: a@example.org\r\nMessage-ID: <{rng.random()}@x>\r\n\r\nSSN {ssn}\r\n".encode()
            sid, _ = store.store_submission(Incoming(channel="smtp", raw=raw, sender="a@example.org",
                                                     received_at=datetime.now(UTC)))
            item = {"request": {"worker": {"ssn": ssn}}, "status": "needs_review"}
            store.mark_extracted(sid, submission_result([item], [{"name": "body", "media_type": "text/plain"}]))
            ids.append((sid, raw, ssn))
            for old_sid, old_raw, old_ssn in [ids[-1], rng.choice(ids)]:
                if store.get_submission(old_sid).raw != old_raw:
                    errors.append(f"raw of {old_sid} changed")
                if store.requests_of(old_sid)[0].fields["worker"]["ssn"] != old_ssn:
                    errors.append(f"ssn of {old_sid} changed")
            ops += 1
        except Exception as exc:  # noqa: BLE001  (reported to the test, which fails on any)
            errors.append(f"{type(exc).__name__}: {exc}")
        time.sleep(0.01)
    keyring = store.keyring
    Path(report_file).write_text(json.dumps({"ops": ops, "errors": errors[:20],
                                             "current": keyring.current if keyring else None}))
    store.dispose()


def _keys(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "intake.cli", "--config", str(config), "keys", *args],
                          capture_output=True, check=False, text=True, timeout=300, cwd=ROOT)


def test_rotate_while_another_process_reads_and_writes(db_url: str, tmp_path: Path) -> None:
    config = _config(tmp_path, db_url, reload_seconds=0.5)
    busy_config = _config(tmp_path, db_url, reload_seconds=3600, name="busy.toml")
    settings = load_settings(config)
    store = Store.from_settings(settings)
    store.upgrade()
    old = read_key_file(tmp_path / "keys.json").current
    for i in range(40):  # rows under the old key before the rotation starts
        raw = f"From: b@example.org\r\nMessage-ID: <seed{i}@x>\r\n\r\nSSN 123-45-{6000 + i}\r\n".encode()
        sid, _ = store.store_submission(Incoming(channel="smtp", raw=raw, sender="b@example.org",
                                                 received_at=datetime.now(UTC)))
        store.mark_extracted(sid, submission_result([{"request": {"worker": {"ssn": f"123-45-{6000 + i}"}}}]))

    assert _keys(config, "retire", old).returncode == 2  # the current key can never be retired
    stop, report = tmp_path / "stop", tmp_path / "report.json"
    proc = multiprocessing.get_context("spawn").Process(target=_busy_store,
                                                        args=(str(busy_config), str(stop), str(report)))
    proc.start()
    try:
        deadline = time.monotonic() + 60
        while store.counts_by_state()["submissions"]["extracted"] < 50 and time.monotonic() < deadline:
            time.sleep(0.1)
        rotate = _keys(config, "rotate", "--batch", "10")
        assert rotate.returncode == 0, rotate.stdout + rotate.stderr
        new = read_key_file(tmp_path / "keys.json").current
        assert new != old and f"added key {new}" in rotate.stdout
        time.sleep(1.0)  # the other process keeps going under the new key
    finally:
        stop.touch()
        proc.join(60)
    result = json.loads(report.read_text())
    assert result["errors"] == [] and result["ops"] > 10
    assert result["current"] == new, "the busy process followed the rotation without a restart"

    # Anything it sealed with the old key before it noticed is caught by a further pass; then the
    # old key is retired, and only when no value uses it.
    if store.key_usage().by_key.get(old):
        assert _keys(config, "retire", old).returncode == 1
        assert _keys(config, "reencrypt").returncode == 0
    retire = _keys(config, "retire", old)
    assert retire.returncode == 0, retire.stdout + retire.stderr
    assert read_key_file(tmp_path / "keys.json").keys.keys() == {new}
    store.dispose()

    # Every row opens with the new key alone.
    alone = Store(db_url, keyring=Keyring.from_file(tmp_path / "keys.json"))
    usage = alone.key_usage()
    assert set(usage.by_key) == {new}
    for sid in alone.submission_ids():
        assert b"SSN " in alone.get_submission(sid).raw
        for r in alone.requests_of(sid):
            assert re.fullmatch(r"\d{3}-\d{2}-\d{4}", r.fields["worker"]["ssn"])
    listing = _keys(config, "list")
    assert listing.returncode == 0 and f"* {new}" in listing.stdout and old not in listing.stdout
    alone.dispose()


def test_a_key_added_but_not_yet_applied_is_not_retired(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'var' / 'coc-intake.db'}"
    config = _config(tmp_path, db_url)
    store = Store.from_settings(load_settings(config))
    store.upgrade()
    store.store_submission(Incoming(channel="smtp", raw=b"From: a@b\r\n\r\nhello\r\n", sender="a@b",
                                    received_at=datetime.now(UTC)))
    old = read_key_file(tmp_path / "keys.json").current
    new_run = _keys(config, "new")
    assert new_run.returncode == 0 and "now the current key" in new_run.stdout
    refused = _keys(config, "retire", old)
    assert refused.returncode == 1 and "still seals 1 stored value(s)" in refused.stdout
    assert old in read_key_file(tmp_path / "keys.json").keys
    # Several machines with copies of the file: a standby key first, made current later.
    standby = _keys(config, "new", "--standby")
    kid = re.search(r"added key (\S+)", standby.stdout)
    assert standby.returncode == 0 and kid and read_key_file(tmp_path / "keys.json").current != kid.group(1)
    assert _keys(config, "use", kid.group(1)).returncode == 0
    assert read_key_file(tmp_path / "keys.json").current == kid.group(1)
    assert _keys(config, "use", "k-nonesuch").returncode == 2
    store.dispose()


# -- files outside the database ------------------------------------------------------------------------


def test_fax_file_is_removed_once_stored(tmp_path: Path) -> None:
    """`[fax] done_files = "remove"` (the default): the clear file goes, the store keeps it encrypted."""
    config = _config(tmp_path, f"sqlite:///{tmp_path / 'var' / 'coc-intake.db'}")
    settings: Settings = load_settings(config)
    assert settings.fax.done_files == "remove"
    store = Store.from_settings(settings)
    store.upgrade()
    src = FaxDirSource.from_settings(settings.fax, settings, store)
    src.stable_seconds = 0.2
    settings.fax_inbox.mkdir(parents=True)
    tiff = faxgen.tiff_bytes(faxgen.fax_request(make_request(random.Random(5), kind="employee"),
                                                random.Random(5), "fine"))
    path = settings.fax_inbox / "fax_+12085550142_20261125T101400.tif"
    path.write_bytes(tiff)
    (settings.fax_inbox / (path.name + ".txt")).write_text("sender=+12085550142\n")
    ids: list[int] = []
    deadline = time.monotonic() + 10
    while not ids and time.monotonic() < deadline:
        ids = src.scan_once()
        time.sleep(0.1)
    assert len(ids) == 1
    assert not path.exists() and not list(settings.fax_done.glob("*.tif"))
    assert (settings.fax_done / (path.name + ".txt")).exists()  # the sidecar (no SSN) still goes to done
    assert store.get_submission(ids[0]).raw == tiff
    store.dispose()
    assert tiff[:64] not in (tmp_path / "var" / "coc-intake.db").read_bytes()


# -- the real daemon through a rotation ----------------------------------------------------------------


def test_daemon_keeps_taking_mail_while_keys_rotate(tmp_path: Path) -> None:  # noqa: PLR0915  (one end-to-end scenario: its steps in the order the user takes them)
    """`coc-intake run` takes mail over SMTP before, during and after `coc-intake keys rotate` run
    from another process; every message is stored, read and answered, and afterwards the database
    holds no full SSN and every value opens with the new key alone."""
    import smtplib
    import threading

    from tests.gateway import GatewayProcess, wait_for, write_config

    config = write_config(tmp_path, dovecot=None, sink=None, extra="[encryption]\nreload_seconds = 1\n")
    gateway = GatewayProcess(tmp_path, config)
    rng = random.Random(23)
    reqs = [make_request(rng, kind="employee") for _ in range(12)]
    mails = [_mail(rng, r) for r in reqs]
    sent: list[int] = []
    errors: list[str] = []

    def send(indexes: range, pause: float) -> None:
        for i in indexes:
            try:
                with smtplib.SMTP("127.0.0.1", gateway.smtp_port, timeout=60) as s:
                    s.sendmail("hr@acme.example.com", ["certificate@localhost"], mails[i])
                sent.append(i)
            except Exception as exc:  # noqa: BLE001  (a refused mail is a failure the test reports)
                errors.append(f"mail {i}: {exc}")
            time.sleep(pause)

    gateway.start()
    try:
        send(range(0, 4), 0)
        old = read_key_file(tmp_path / "var" / "keys.json").current
        during = threading.Thread(target=send, args=(range(4, 10), 0.4))
        during.start()
        rotate = _keys(config, "rotate", "--batch", "5")
        during.join(120)
        send(range(10, 12), 0)
        assert rotate.returncode == 0, rotate.stdout + rotate.stderr + gateway.tail()
        assert errors == [] and sorted(sent) == list(range(12))
        store = gateway.store()
        done = wait_for(lambda: store.counts_by_state()["submissions"]["done"] == 12, timeout=240)
        assert done, gateway.tail()
        new = read_key_file(tmp_path / "var" / "keys.json").current
        assert new != old
        fields = [r.fields for sid in store.submission_ids() for r in store.requests_of(sid)]
        assert sorted(re.sub(r"\D", "", f["worker"]["ssn"]) for f in fields) == \
            sorted(re.sub(r"\D", "", r["worker"]["ssn"]) for r in reqs)
        if store.key_usage().by_key.get(old):  # sealed by the daemon just before it saw the new key
            assert _keys(config, "reencrypt").returncode == 0
        assert _keys(config, "retire", old).returncode == 0
        store.dispose()
    finally:
        gateway.stop()
    url = load_settings(config).store.url
    assert _leaks(url, [r["worker"]["ssn"] for r in reqs], [MARKER.encode()]) == []
    alone = Store(url, keyring=Keyring.from_file(tmp_path / "var" / "keys.json"))
    assert set(alone.key_usage().by_key) == {new}
    assert all(MARKER.encode() in alone.get_submission(sid).raw for sid in alone.submission_ids())
    alone.dispose()
    # Replies written as .eml (no relay configured): decoded, masked SSNs only.
    sent_mail = "".join(_reply_text(p.read_bytes()) for p in load_settings(config).mail_sent.rglob("*.eml"))
    assert "***-**-" in sent_mail
    assert not any(re.sub(r"\D", "", r["worker"]["ssn"]) in re.sub(r"[\s.-]", "", sent_mail) for r in reqs)
