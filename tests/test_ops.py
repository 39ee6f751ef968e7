"""Operations: /metrics, /healthz, /readyz, `coc-intake doctor` and `coc-intake reprocess`.

Against the real things: the gateway as its own process with its SMTP listener, a private Dovecot,
an aiosmtpd relay sink, real Tesseract through the extraction pool.
"""

from __future__ import annotations

import json
import random
import re
import smtplib
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intake.cli import main
from intake.isolation import ExtractionPool
from intake.pipeline import Context, reply_stage
from intake.settings import load_settings
from intake.store import Store, migrate
from intake.store.store import Incoming
from tests import mailgen
from tests.dnsstub import loopback_dns
from tests.gateway import GatewayProcess, wait_for, write_config
from tests.results import submission_result
from tests.servers import DovecotServer, SmtpSink, dovecot, free_port, smtp_sink, wait_for_port  # noqa: F401
from tests.synth import labelled_lines, make_request


def _mail(req: dict, rng: random.Random, sender: str) -> bytes:
    body = "Hello,\n\nplease issue a certificate of coverage:\n\n" + "\n".join(labelled_lines(req, rng)) + "\n"
    return mailgen.thunderbird(
        sender=sender, to="certificate@localhost", subject="Certificate of coverage request", text=body
    )


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            return float(m.group(3))
    return 0.0


# -- /metrics, /healthz, /readyz ------------------------------------------------------------------


def test_metrics_and_health_of_the_running_gateway(tmp_path: Path, smtp_sink: SmtpSink) -> None:  # noqa: F811
    config = write_config(tmp_path, dovecot=None, sink=smtp_sink, workers=1)
    gw = GatewayProcess(tmp_path, config)
    gw.start()
    try:
        base = f"http://127.0.0.1:{gw.settings.web.port}"
        wait_for_port("127.0.0.1", gw.settings.web.port, timeout=30)
        assert _get(base + "/healthz") == (200, "ok")
        assert wait_for(lambda: _get(base + "/readyz")[0] == 200, timeout=20), _get(base + "/readyz")
        status, before = _get(base + "/metrics")
        assert status == 200  # no login needed
        assert _sample(before, "coc_intake_submissions", channel="smtp", state="done") == 0

        rng = random.Random(7)
        req = make_request(rng, kind="employee")
        ssn = req["worker"]["ssn"]
        with smtplib.SMTP("127.0.0.1", gw.smtp_port) as s:
            s.sendmail("hr@metrics.example.com", ["certificate@localhost"], _mail(req, rng, "hr@metrics.example.com"))
        assert smtp_sink.wait_for(1, timeout=60), gw.tail()

        def sent() -> str | None:
            text = _get(base + "/metrics")[1]
            # The counter goes up just before the store says `sent`: wait for both.
            done = (
                _sample(text, "coc_intake_replies_total", outcome="sent") >= 1
                and _sample(text, "coc_intake_replies", state="sent") >= 1
            )
            return text if done else None

        after = wait_for(sent, timeout=20)
        assert after, gw.tail()
        assert _sample(after, "coc_intake_submissions", channel="smtp", state="done") == 1
        assert _sample(after, "coc_intake_replies", state="sent") == 1
        assert _sample(after, "coc_intake_extractions_total", outcome="ok") == 1
        assert _sample(after, "coc_intake_extraction_seconds_count", parser="text/plain") == 1
        assert _sample(after, "coc_intake_submission_extraction_seconds_count") == 1
        assert _sample(after, "coc_intake_queue_depth", queue="extract") == 0
        assert _sample(after, "coc_intake_queue_depth", queue="outbox") == 0
        assert 'coc_intake_oldest_waiting_seconds{what="submission"}' in after
        digits = ssn.replace("-", "")
        assert ssn not in after and digits not in after
        assert req["worker"]["last_name"] not in after
    finally:
        gw.stop()


def test_ocr_pages_and_parser_seconds_come_from_the_result_the_child_hands_back() -> None:
    from intake import metrics
    from intake.extract import PartSummary, SubmissionResult

    def value(name: str, **labels: str) -> float:
        return metrics.REGISTRY.get_sample_value(name, labels) or 0.0

    pages, tiff_count = (
        value("coc_intake_ocr_pages_total"),
        value("coc_intake_extraction_seconds_count", parser="image/tiff"),
    )
    result = SubmissionResult(
        parts=[
            PartSummary(name="fax.tif", media_type="image/tiff", pages=3, seconds=4.2),
            PartSummary(name="body", media_type="text/plain", pages=0, seconds=0.01),
        ]
    )
    metrics.observe_extraction(result, 5.0)
    metrics.observe_extraction(None, 600.0)
    assert value("coc_intake_ocr_pages_total") == pages + 3
    assert value("coc_intake_extraction_seconds_count", parser="image/tiff") == tiff_count + 1
    assert value("coc_intake_extractions_total", outcome="failed") >= 1
    assert value("coc_intake_extraction_seconds_bucket", parser="image/tiff", le="5.0") >= 1
    other = value("coc_intake_extraction_seconds_count", parser="other")
    odd = SubmissionResult(parts=[PartSummary(name=f"x{i}", media_type=f"application/x-made-up-{i}") for i in range(5)])
    metrics.observe_extraction(odd, 1.0)
    assert value("coc_intake_extraction_seconds_count", parser="other") == other + 5  # one label, not five


def test_readyz_is_503_while_the_database_is_behind_the_head(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from intake.web.app import create_app

    config = tmp_path / "c.toml"
    config.write_text(f'[paths]\nvar = "{tmp_path}/var"\n', encoding="utf-8")
    (tmp_path / "var").mkdir()
    settings = load_settings(config)
    store = Store.from_settings(settings)
    try:
        migrate.upgrade(store.engine, "0001")
        client = TestClient(create_app(settings, store))
        assert client.get("/healthz").status_code == 200
        resp = client.get("/readyz")
        assert resp.status_code == 503
        assert "0001" in resp.text and "coc-intake db upgrade" in resp.text
        store.upgrade()
        assert client.get("/readyz").status_code == 200
        metrics = client.get("/metrics")
        assert metrics.status_code == 200 and "coc_intake_queue_depth" in metrics.text
    finally:
        store.dispose()


# -- doctor ----------------------------------------------------------------------------------------


def _doctor(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "intake.cli", "--config", str(config), "doctor"],
        capture_output=True, check=False,
        text=True,
        timeout=60,
    )


def test_doctor_ok_then_failing(tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink) -> None:  # noqa: F811
    config = write_config(tmp_path, dovecot=dovecot, sink=smtp_sink)
    settings = load_settings(config)
    store = Store.from_settings(settings)
    store.upgrade()
    store.dispose()

    good = _doctor(config)
    assert good.returncode == 0, good.stdout + good.stderr
    lines = good.stdout.splitlines()
    for name in (
        "tesseract",
        "database",
        "folder var",
        "folder fax inbox",
        "folder mail sent",
        "imap",
        "relay",
        "web port",
    ):
        assert any(line.startswith("ok") and f"  {name}:" in line for line in lines), (name, good.stdout)
    assert dovecot.password not in good.stdout + good.stderr

    # A wrong IMAP password, a relay port nobody listens on, the web port taken by someone else,
    # and a database that was never set up.
    wrong = "Wr0ng-Passw0rd-4711"
    text = config.read_text(encoding="utf-8")
    text = text.replace(f'password = "{dovecot.password}"', f'password = "{wrong}"')
    text = text.replace(f"port = {smtp_sink.port}", f"port = {free_port()}")
    text = text.replace(f"{tmp_path}/var/coc-intake.db", f"{tmp_path}/var/other.db")
    config.write_text(text, encoding="utf-8")
    bad_settings = load_settings(config)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", bad_settings.web.port))
        blocker.listen(1)
        bad = _doctor(config)
    out = bad.stdout + bad.stderr
    assert bad.returncode == 1, out
    for name, hint in (
        ("imap", "password"),
        ("relay", "[relay] host, port"),
        ("database", "coc-intake db upgrade"),
        ("web port", "[web] port"),
    ):
        line = next((x for x in bad.stdout.splitlines() if f"  {name}:" in x), "")
        assert line.startswith("FAIL") and hint in line, (name, out)
    assert wrong not in out and dovecot.password not in out
    assert any(x.startswith("ok") and "  tesseract:" in x for x in bad.stdout.splitlines())


def test_doctor_says_when_every_mailbox_sender_would_be_held(tmp_path: Path) -> None:
    from intake.doctor import check_sender_trust

    config = tmp_path / "c.toml"
    config.write_text('[imap]\nenabled = true\nhost = "127.0.0.1"\n[trust]\nflag_unverified = true\n',
                      encoding="utf-8")
    settings = load_settings(config)
    check = check_sender_trust(settings)
    assert check is not None and not check.ok and "[trust] authserv_id" in check.detail
    trusted = settings.model_copy(update={"trust": settings.trust.model_copy(update={"authserv_id": "mx.example"})})
    check = check_sender_trust(trusted)
    assert check is not None and check.ok and "mx.example" in check.detail
    assert check_sender_trust(settings.model_copy(update={"imap": settings.imap.model_copy(
        update={"enabled": False})})) is None


def test_doctor_and_worker_check_the_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from intake.crypto import ENV_KEY_FILE, ENV_KEYS, Keyring, new_key, new_key_id
    from intake.doctor import check_keys

    monkeypatch.delenv(ENV_KEYS, raising=False)
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)
    config = tmp_path / "c.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/var/db.sqlite"\n[paths]\nvar = "{tmp_path}/var"\n',
                      encoding="utf-8")
    settings = load_settings(config)
    first = check_keys(settings)
    assert first.ok and "no key file yet" in first.detail and not (tmp_path / "var" / "keys.json").exists()

    # A submission sealed with a key this machine does not have: doctor says so before any message fails.
    other = new_key_id()
    store = Store(settings.store.url, keyring=Keyring({other: new_key()}, other))
    store.upgrade()
    raw = b"From: hr@example.com\r\nSubject: COC\r\nMessage-ID: <k@example.com>\r\n\r\nEmployee SSN: 123-45-6789\r\n"
    store.store_submission(Incoming(channel="smtp", raw=raw, sender="hr@example.com",
                                    recipients=("certificate@localhost",), received_at=datetime.now(UTC)))
    store.dispose()
    (tmp_path / "var").mkdir(exist_ok=True)
    from intake.crypto import keyring_from_settings

    keyring_from_settings(settings)  # the embedded default makes its own (other) key file
    wrong = check_keys(settings)
    assert not wrong.ok and "same key file" in wrong.detail, wrong.detail

    # A worker on PostgreSQL without any key refuses to start and says what to configure.
    pg = tmp_path / "pg.toml"
    pg.write_text('[store]\nurl = "postgresql://127.0.0.1:5432/test"\n[workers]\ndispatch = "procrastinate"\n'
                  f'[paths]\nvar = "{tmp_path}/var2"\n', encoding="utf-8")
    assert main(["--config", str(pg), "worker"]) == 2
    assert "coc-intake keys new" in capsys.readouterr().err


# -- reprocess -------------------------------------------------------------------------------------


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "coc-intake.toml"
    config.write_text(f'[paths]\nvar = "{tmp_path}/var"\n\n[pipeline]\nworkers = 1\n' + loopback_dns(),
                      encoding="utf-8")
    (tmp_path / "var").mkdir(exist_ok=True)
    return config


def _stored_with_old_extraction(store: Store, ctx: Context, raw: bytes, sender: str, spoil: dict[str, str]) -> int:
    """A submission extracted and acknowledged by "yesterday's parser": today's with fields spoilt."""
    sid, _ = store.store_submission(
        Incoming(
            channel="smtp", raw=raw, sender=sender, received_at=datetime.now(UTC), recipients=("certificate@localhost",)
        )
    )
    store.begin_attempt(sid)
    outcome = ctx.pool.extract(raw, channel="email", filename=None, limits=ctx.limits)
    assert outcome.result is not None and outcome.result.requests
    old = json.loads(outcome.result.model_dump_json())
    for item in old["requests"]:
        item["request"]["worker"].update(spoil)
        item["status"] = "needs_review"
    store.mark_extracted(sid, submission_result(**old))
    assert reply_stage(ctx, sid)
    return sid


def test_reprocess_replaces_untouched_requests_and_keeps_the_old_in_the_trail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    settings = load_settings(config)
    store = Store.from_settings(settings)
    store.upgrade()
    ctx = Context(store, settings, ExtractionPool(1, timeout=120, memory_mb=2048))
    rng = random.Random(11)
    req_a, req_b = make_request(rng, kind="employee"), make_request(rng, kind="employee")
    a = _stored_with_old_extraction(
        store, ctx, _mail(req_a, rng, "a@one.example.com"), "a@one.example.com", {"last_name": "Wrongname"}
    )
    b = _stored_with_old_extraction(
        store, ctx, _mail(req_b, rng, "b@two.example.com"), "b@two.example.com", {"last_name": "Staffkept"}
    )
    (rb,) = store.requests_of(b)
    store.set_request_state(rb.id, "corrected", actor="alice", expected=("needs_review",))
    before_a = store.requests_of(a)
    assert [r.fields["worker"]["last_name"] for r in before_a] == ["Wrongname"]

    try:
        assert main(["--config", str(config), "reprocess", str(a), str(b), "--no-progress"]) == 0
        out = capsys.readouterr().out
        assert f"submission {a}: 1 replaced, 0 added, 0 kept" in out
        assert f"submission {b}: 0 replaced, 0 added, 1 kept" in out and str(rb.id) in out

        after_a = store.requests_of(a)
        assert [r.id for r in after_a] == [r.id for r in before_a]  # one request per request
        assert after_a[0].fields["worker"]["last_name"] == req_a["worker"]["last_name"]
        assert after_a[0].state == "accepted"
        assert after_a[0].reference == before_a[0].reference
        (kept_b,) = store.requests_of(b)
        assert kept_b.fields["worker"]["last_name"] == "Staffkept" and kept_b.state == "corrected"

        events = store.events_of(submission_id=a)
        trail = [e for e in events if e.kind == "reprocessed" and e.request_id == after_a[0].id]
        assert len(trail) == 1
        assert trail[0].old is not None and "Wrongname" in trail[0].old
        assert f"***-**-{req_a['worker']['ssn'][-4:]}" in trail[0].old
        for e in store.events_of(submission_id=a) + store.events_of(submission_id=b):
            for value in (e.old or "", e.new or ""):
                assert req_a["worker"]["ssn"] not in value and req_b["worker"]["ssn"] not in value
                assert req_a["worker"]["ssn"].replace("-", "") not in value

        assert len(store.replies_of(a)) == 1 and len(store.replies_of(b)) == 1  # no second acknowledgement

        assert main(["--config", str(config), "reprocess", str(a), "--send-replies", "--no-progress"]) == 0
        replies = store.replies_of(a)
        assert [r.generation for r in replies] == [0, 1]
        assert replies[1].kind == "received" and replies[1].recipient == "a@one.example.com"
        assert len(store.requests_of(a)) == 1

        # By state: both are done; by a date range that excludes today, none.
        assert main(["--config", str(config), "reprocess", "--until", "2000-01-01", "--no-progress"]) == 0
        assert "no submission matches" in capsys.readouterr().out
        assert main(["--config", str(config), "reprocess", "--no-progress"]) == 2
    finally:
        store.dispose()


def test_replace_extraction_pairs_by_ssn_then_order_and_adds_new_requests(tmp_path: Path) -> None:
    from intake.reprocess import summarize

    settings = load_settings(_config(tmp_path))
    store = Store.from_settings(settings)
    store.upgrade()
    try:
        rng = random.Random(5)
        one, two, three = (make_request(rng, kind="employee") for _ in range(3))
        sid, _ = store.store_submission(
            Incoming(
                channel="smtp",
                raw=b"Subject: x\r\n\r\nbody\r\n",
                sender="x@y.example.com",
                received_at=datetime.now(UTC),
            )
        )
        store.begin_attempt(sid)
        old = store.mark_extracted(
            sid, submission_result([{"request": one, "status": "needs_review"}, {"request": two, "status": "valid"}])
        )
        # Today's parser finds them in the other order, reads a better name for `two`, and a third.
        better_two = json.loads(json.dumps(two))
        better_two["worker"]["first_name"] = "Corrected"
        new_result = submission_result(
            [
                {"request": better_two, "status": "valid"},
                {"request": one, "status": "valid"},
                {"request": three, "status": "needs_review"},
            ],
            [{"name": "body", "media_type": "text/plain", "pages": 0}],
        )
        changes = store.replace_extraction(sid, new_result, summarize=summarize)
        assert sorted(changes.replaced) == sorted(r.id for r in old) and changes.kept == [] and len(changes.added) == 1
        after = {r.id: r for r in store.requests_of(sid)}
        assert len(after) == 3
        assert after[old[1].id].fields["worker"]["first_name"] == "Corrected"  # paired by SSN, not by order
        assert after[old[0].id].fields["worker"]["ssn"] == one["worker"]["ssn"] and after[old[0].id].state == "accepted"
        new = after[changes.added[0]]
        assert new.reference.startswith("COC-") and new.ssn_last4 == three["worker"]["ssn"][-4:]
        assert store.get_submission(sid).result == new_result.model_dump(mode="json")
        (sub_event,) = [
            e for e in store.events_of(submission_id=sid) if e.kind == "reprocessed" and e.request_id is None
        ]
        assert sub_event.old is not None and sub_event.old.startswith("2 request(s)")
        assert sub_event.new is not None and sub_event.new.startswith("3 request(s)")
        for e in store.events_of(submission_id=sid):
            for r in (one, two, three):
                assert r["worker"]["ssn"] not in (e.old or "") + (e.new or "")
    finally:
        store.dispose()


def test_doctor_checks_the_relay_login(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from intake.doctor import check_relay

    def authenticator(server: object, session: object, envelope: object, mechanism: str, data: object) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"coc", b"Right-Secret-1")
        return AuthResult(success=ok, handled=False)

    port = free_port()
    controller = Controller(
        object(), hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    try:
        for password, expect_ok in (("Right-Secret-1", True), ("Wrong-Secret-2", False)):
            config = tmp_path / "relay.toml"
            config.write_text(
                f'[paths]\nvar = "{tmp_path}/var"\n[relay]\nhost = "127.0.0.1"\nport = {port}\n'
                f'security = "none"\nusername = "coc"\npassword = "{password}"\n',
                encoding="utf-8",
            )
            check = check_relay(load_settings(config))
            assert check is not None and check.ok is expect_ok, check
            assert ("logged in as coc" if expect_ok else "AUTH refused") in check.detail
            assert password not in check.line()
    finally:
        controller.stop()
