"""The review page's guards against its own users and callers (issue 11): no SSN oracle for
reviewers, the proxy's headers believed from the proxy only, bounded page images, API tokens that
expire and can be revoked, and values no longer than the model allows."""

from __future__ import annotations

import hashlib
import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from intake.settings import Settings
from intake.store import Store
from intake.store.web_models import ApiToken, LoginAttempt
from intake.web.server import make_server
from intake.web.users import Users
from tests.browser import add_staff, seed_request, valid_request, web_settings, web_store  # noqa: F401
from tests.servers import free_port, wait_for_port
from tests.test_web import client_for, csrf_of, login

pytest_plugins = ["tests.store_fixtures"]

STORED_SSN = "123-45-6789"
OTHER_SSN = "212-34-5678"  # valid too, so validation says the same of either guess


def _with_ssn_conflict(store: Store, seed: int) -> int:
    """A request whose SSN two parts read differently: a kept `conflict` problem on worker.ssn."""
    rid = seed_request(store, valid_request(seed=seed, ssn=STORED_SSN), state="needs_review")
    rec = store.get_request(rid)
    conflict = {"field": "worker.ssn", "code": "conflict", "help": "",
                "message": "worker.ssn: the parts disagree (***-**-6789, ***-**-6780)."}
    store.update_request(rid, rec.fields, [*rec.problems, conflict], [], actor="test")
    return rid


def _answer(c: TestClient, rid: int, ssn: str) -> dict[str, Any]:
    token = csrf_of(c.get(f"/requests/{rid}").text)
    r = c.post(f"/requests/{rid}/check", data={"f:worker.ssn": ssn}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_the_check_and_save_tell_a_reviewer_nothing_about_a_guessed_ssn(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    rid = _with_ssn_conflict(store, 61)
    rita = login(client_for(settings, store), "rita")
    right, wrong = _answer(rita, rid, STORED_SSN), _answer(rita, rid, OTHER_SSN)
    assert right == wrong
    assert not [p for p in right["problems"] if p["field"] == "worker.ssn"]
    # The mask as shown is no guess: the stored number and its conflict stay.
    assert any(p["code"] == "conflict" for p in _answer(rita, rid, "***-**-6789")["problems"])
    # A supervisor sees the number anyway: an unchanged SSN keeps its conflict for them.
    sam = login(client_for(settings, store), "sam")
    assert any(p["code"] == "conflict" for p in _answer(sam, rid, STORED_SSN)["problems"])

    # Saving: the right guess is a change like any other (saved, in the trail, the conflict gone).
    outcomes = []
    for seed, guess in ((62, STORED_SSN), (63, OTHER_SSN)):
        other = _with_ssn_conflict(store, seed)
        token = csrf_of(rita.get(f"/requests/{other}").text)
        r = rita.post(f"/requests/{other}/save", data={"csrf_token": token, "f:worker.ssn": guess})
        assert r.status_code == 303
        rec = store.get_request(other)
        assert rec.fields["worker"]["ssn"] == guess
        trail = [(e.kind, e.field, e.old) for e in store.events_of(request_id=other) if e.actor == "rita"]
        outcomes.append((r.headers["location"].split("?")[1], rec.state, trail,
                         [p.code for p in rec.problems if p.field == "worker.ssn"]))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == "done=saved" and outcomes[0][3] == []


# -- the proxy's headers, from the proxy only ---------------------------------------------------------


def test_the_user_header_is_believed_from_a_trusted_proxy_only(tmp_path: Path) -> None:
    settings = web_settings(tmp_path, 'trusted_proxy_user_header = "X-Remote-User"\n'
                                      'trusted_proxies = ["10.0.0.0/24"]')
    store = Store.from_settings(settings)
    store.upgrade()
    add_staff(store)
    try:
        rid = seed_request(store, valid_request(seed=64))
        ssn = str(store.get_request(rid).fields["worker"]["ssn"])
        proxy = client_for(settings, store, ("10.0.0.7", 40000))
        page = proxy.get(f"/requests/{rid}", headers={"X-Remote-User": "sam"})
        assert page.status_code == 200 and ssn in page.text
        for elsewhere in ("10.0.1.7", "127.0.0.1", "testclient"):  # not a proxy: the header is nobody
            r = client_for(settings, store, (elsewhere, 40000)).get(f"/requests/{rid}",
                                                                     headers={"X-Remote-User": "sam"})
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), elsewhere
        # Through the proxy, X-Forwarded-For does not make a client a proxy.
        r = client_for(settings, store, ("10.0.1.7", 40000)).get(
            "/", headers={"X-Remote-User": "sam", "X-Forwarded-For": "10.0.0.7"})
        assert r.status_code == 303
    finally:
        store.dispose()


def test_the_user_header_without_proxies_is_refused_at_start(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from intake.cli import main
    from intake.web.app import create_app

    settings = web_settings(tmp_path, 'trusted_proxy_user_header = "X-Remote-User"')
    with pytest.raises(ValueError, match=r"web\.trusted_proxies is empty"):
        create_app(settings)
    cfg = str(tmp_path / "web.toml")
    for command in ("serve", "run"):
        assert main(["--config", cfg, command]) == 2
        err = capsys.readouterr().err
        assert f"coc-intake {command}: web.trusted_proxy_user_header is set but web.trusted_proxies is empty" in err
    with pytest.raises(ValidationError, match="trusted_proxies"):
        web_settings(tmp_path, 'trusted_proxies = ["proxy.example.com"]')


@contextmanager
def _serving(settings: Settings, store: Store) -> Iterator[str]:
    settings.web.port = free_port()
    server = make_server(settings, store)
    thread = threading.Thread(target=server.run, name="sec-web", daemon=True)
    thread.start()
    try:
        wait_for_port("127.0.0.1", settings.web.port, timeout=30)
        yield f"http://127.0.0.1:{settings.web.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def _wrong_logins(base: str, source: str, names: list[str], forwarded: bool) -> list[int]:
    """The status of a wrong-password login per name, from `source` (a loopback address), each with
    an X-Forwarded-For of its own when `forwarded`."""
    out = []
    with httpx.Client(base_url=base, transport=httpx.HTTPTransport(local_address=source),
                      follow_redirects=False) as c:
        token = csrf_of(c.get("/login").text)
        for i, name in enumerate(names):
            headers = {"X-Forwarded-For": f"198.51.100.{i + 1}"} if forwarded else {}
            r = c.post("/login", data={"username": name, "password": "wrong password", "csrf_token": token},
                       headers=headers)
            out.append(r.status_code)
    return out


def test_x_forwarded_for_is_believed_from_a_trusted_proxy_only_over_a_real_port(tmp_path: Path) -> None:
    """A local client writing a new X-Forwarded-For each time is still one client to the login limit;
    the proxy (127.0.0.1 here) names the clients, each limited on its own. Over uvicorn, as served."""
    settings = web_settings(tmp_path, 'trusted_proxies = ["127.0.0.1"]\nlogin_max_failures = 1')
    store = Store.from_settings(settings)
    store.upgrade()
    try:
        with _serving(settings, store) as base:
            # One client trying names: from 4 x login_max_failures failures on, it waits.
            statuses = _wrong_logins(base, "127.0.0.2", [f"u{i}" for i in range(5)], forwarded=True)
            assert statuses == [401, 401, 401, 401, 429]
            # The proxy's clients are told apart by the header it sets.
            assert _wrong_logins(base, "127.0.0.1", [f"v{i}" for i in range(5)], forwarded=True) == [401] * 5
            # X-Forwarded-Proto alike: only the proxy makes the cookie Secure.
            for source, secure in (("127.0.0.1", True), ("127.0.0.2", False)):
                with httpx.Client(base_url=base, transport=httpx.HTTPTransport(local_address=source)) as c:
                    cookie = c.get("/login", headers={"X-Forwarded-Proto": "https"}).headers["set-cookie"].lower()
                    assert ("; secure" in cookie) is secure, source
        with Session(store.engine) as s:
            clients = set(s.scalars(select(LoginAttempt.client)))
        assert clients == {"127.0.0.2"} | {f"198.51.100.{i}" for i in range(1, 6)}
    finally:
        store.dispose()


# -- API tokens: expiry, revocation, last use --------------------------------------------------------


def test_api_tokens_expire_are_listed_with_their_last_use_and_can_be_revoked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from intake.cli import main

    settings = web_settings(tmp_path)
    cfg = str(tmp_path / "web.toml")

    def cli(*argv: str) -> tuple[int, str, str]:
        code = main(["--config", cfg, "users", *argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, err = cli("token", "certificates", "--expires-days", "30")
    assert code == 0 and "valid for 30 days" in err
    token = out.strip()
    assert token.startswith("coc_") and len(out.strip().splitlines()) == 1  # stdout: the token alone
    _, out, _ = cli("token", "spare")
    spare = out.strip()
    assert cli("token", "x", "--expires-days", "0")[0] == 2
    store = Store.from_settings(settings)
    try:
        rid = seed_request(store, valid_request(seed=65))
        store.set_request_state(rid, "approved", actor="sam")
        api = client_for(settings, store)
        _, listing, _ = cli("list")
        [line] = [x for x in listing.splitlines() if "\tcertificates\t" in x]
        assert line.startswith("token\t#") and "\tactive\t" in line and line.endswith("last used never")
        assert token not in listing
        expires = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d")
        assert f"expires {expires}" in line
        r = api.get("/api/v1/requests", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()[0]["request"]["worker"]["ssn"]
        _, listing, _ = cli("token", "list")
        [line] = [x for x in listing.splitlines() if "\tcertificates\t" in x]
        assert f"last used {datetime.now(UTC):%Y-%m-%d}" in line
        tid = line.split("\t")[0].lstrip("#")
        # Past its expiry the token is refused, saying so.
        with Session(store.engine) as s, s.begin():
            s.execute(update(ApiToken).where(ApiToken.id == int(tid))
                      .values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
        r = api.get("/api/v1/requests", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and "expired on" in r.json()["detail"]
        assert Users(store).token_role(token) is None
        assert "\texpired\t" in next(x for x in cli("token", "list")[1].splitlines() if "\tcertificates\t" in x)
        # Revoked: refused at once, by id or by name.
        assert api.get("/api/v1/requests", headers={"Authorization": f"Bearer {spare}"}).status_code == 200
        code, out, _ = cli("token", "revoke", "spare")
        assert code == 0 and "revoked" in out
        r = api.get("/api/v1/requests", headers={"Authorization": f"Bearer {spare}"})
        assert r.status_code == 401 and r.json()["detail"] == "a valid API token is needed"
        assert cli("token", "revoke", "spare")[0] == 2  # nothing left to revoke
        assert cli("token", "revoke", tid)[0] == 0
        assert [t.state for t in Users(store).tokens()] == ["revoked", "revoked"]
    finally:
        store.dispose()


def test_tokens_from_before_expiry_get_one_at_the_upgrade(tmp_path: Path) -> None:
    from intake.store import migrate

    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        store.upgrade()
        migrate.downgrade(store.engine, "0003")
        with store.engine.begin() as conn:
            conn.execute(text("INSERT INTO api_tokens (name, token_hash, role, revoked, created_at) "
                              "VALUES ('old', :h, 'export', 0, '2026-01-01 00:00:00')"),
                         {"h": hashlib.sha256(b"coc_old").hexdigest()})
        store.upgrade()
        [old] = Users(store).tokens()
        assert old.expires_at is not None and old.state == "active"
        assert timedelta(days=89) < old.expires_at - datetime.now(UTC) <= timedelta(days=90)
        assert Users(store).token_role("coc_old") == ("old", "export")
    finally:
        store.dispose()


# -- page images within the limits -----------------------------------------------------------------


def _tall_pdf() -> bytes:
    """Two pages: a letter page, then one 20 x 14000 pt (a strip: 1275 x 892,500 pixels at our width)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.add_blank_page(width=20, height=14000)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _tall_tiff() -> bytes:
    """A bilevel TIFF of 40 x 1,000,000 pixels (5 MB decoded, some hundred kB as Group 4)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (40, 1_000_000), 1).save(out, format="TIFF", compression="group4")
    return out.getvalue()


def test_a_page_too_large_to_render_is_a_message_on_the_review_page(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    from intake.web.pages import PageTooLarge, RenderLimit, render_png

    settings, store = web_store
    pdf, tiff = _tall_pdf(), _tall_tiff()
    assert len(pdf) < 2000 and len(tiff) < 400_000
    pdf_rid = seed_request(store, valid_request(seed=66), channel="fax", sender="+12085550142", raw=pdf,
                           parts=[{"name": "fax", "media_type": "application/pdf", "pages": 2, "text": ""}])
    tiff_rid = seed_request(store, valid_request(seed=67), channel="fax", sender="+12085550143", raw=tiff,
                            parts=[{"name": "fax", "media_type": "image/tiff", "pages": 1, "text": ""}])
    for name in ("sam", "rita"):
        c = login(client_for(settings, store), name)
        page = c.get(f"/requests/{pdf_rid}")
        assert page.status_code == 200
        assert "Page 2 is too large to show as an image (1,275 x 892,500 pixels" in page.text
        assert "over the limit of 60,000,000 set by [limits] max_pixels" in page.text
        assert f"/requests/{pdf_rid}/parts/0/pages/1.png" in page.text  # the letter page is shown
        assert f"/requests/{pdf_rid}/parts/0/pages/2.png" not in page.text
        assert c.get(f"/requests/{pdf_rid}/parts/0/pages/1.png").content.startswith(b"\x89PNG")
        r = c.get(f"/requests/{pdf_rid}/parts/0/pages/2.png")
        assert r.status_code == 422 and "too large to show" in r.text
        page = c.get(f"/requests/{tiff_rid}")
        assert page.status_code == 200 and "Page 1 is too large to show as an image (1,275 x 31,875,000" in page.text
        r = c.get(f"/requests/{tiff_rid}/parts/0/pages/1.png")
        assert r.status_code == 422 and "too large to show" in r.text
    # The memory limit of [pipeline] bounds it too, and a page under both renders.
    small = RenderLimit.of(60_000_000, 32)
    assert small.setting == "[pipeline] memory_mb" and small.pixels == 2 * 1024 * 1024
    with pytest.raises(PageTooLarge, match=r"memory_mb"):
        render_png(pdf, "application/pdf", 1, render=small)  # 1275 x 1650
    assert render_png(pdf, "application/pdf", 1, render=RenderLimit.of(60_000_000, 64)).startswith(b"\x89PNG")


# -- no value longer than the model allows ------------------------------------------------------------

HUGE = ("Acme Holdings " * 8572).strip()  # 120,007 characters: the employer name that made the queue 26,000 px tall


def test_the_model_takes_no_value_over_its_field_limit() -> None:
    from intake.model import CertificateRequest, build_request, max_length

    assert max_length("employer.name") == 300 and max_length("dependents[2].name") == 300
    assert max_length("worker.email") == 254 and max_length("worker.date_of_birth") is None
    with pytest.raises(ValidationError, match="at most 300 characters"):
        CertificateRequest.model_validate({"employer": {"name": HUGE}})
    request, problems = build_request({"employer.name": HUGE, "employer.contact_name": "Ann Lee"})
    assert request.employer is not None and request.employer.name is None and request.employer.contact_name == "Ann Lee"
    assert [(p.field, p.code) for p in problems] == [("employer.name", "invalid")]
    assert "120,007 characters long, over the 300 allowed" in problems[0].message
    # A record saved before the limits existed still opens, its value cut to the limit.
    old = CertificateRequest.from_stored({"employer": {"name": HUGE}, "dependents": [{"name": HUGE}]})
    assert old.employer is not None and old.employer.name == HUGE[:300] and old.dependents[0].name == HUGE[:300]
    with pytest.raises(ValidationError):
        CertificateRequest.from_stored({"employer": {"name": HUGE, "nonsense": 1}})


def test_a_value_over_its_limit_is_refused_by_the_page_and_the_check_and_nothing_is_stored(
        web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    rid = seed_request(store, valid_request(seed=68), state="needs_review")
    before = store.get_request(rid)
    events = len(store.events_of(request_id=rid))
    for name in ("rita", "sam"):
        c = login(client_for(settings, store), name)
        page = c.get(f"/requests/{rid}").text
        assert 'name="f:employer.name" value="' in page
        assert re.search(r'name="f:employer\.name"[^>]* maxlength="300"', page)
        assert re.search(r'name="f:employer\.contact_email"[^>]* maxlength="254"', page)
        token = csrf_of(page)
        form = {"f:employer.name": HUGE, "f:employer.contact_name": "Someone Else"}
        r = c.post(f"/requests/{rid}/check", data=form, headers={"X-CSRF-Token": token})
        assert r.status_code == 422
        assert [(p["field"], p["code"]) for p in r.json()["problems"]] == [("employer.name", "too_long")]
        assert r.json()["detail"] == "Employer name: at most 300 characters, 120,007 were sent."
        r = c.post(f"/requests/{rid}/save", data={**form, "csrf_token": token})
        assert r.status_code == 400
        assert "Employer name: at most 300 characters, 120,007 were sent. Nothing was saved." in r.text
        assert HUGE not in r.text
        after = store.get_request(rid)
        assert after.fields == before.fields and after.state == "needs_review"
        assert after.employer_name == before.employer_name
        assert len(store.events_of(request_id=rid)) == events
        # At the limit it is a value like any other.
        ok = c.post(f"/requests/{rid}/check", data={"f:employer.name": "A" * 300}, headers={"X-CSRF-Token": token})
        assert ok.status_code == 200 and not [p for p in ok.json()["problems"] if p["field"] == "employer.name"]


def test_a_request_stored_with_an_overlong_value_before_the_limits_still_opens(
        web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    rid = seed_request(store, valid_request(seed=69))
    rec = store.get_request(rid)
    fields = dict(rec.fields, employer=dict(rec.fields["employer"], name=HUGE))
    store.update_request(rid, fields, rec.problems, [], actor="test")
    page = login(client_for(settings, store), "rita").get(f"/requests/{rid}")
    assert page.status_code == 200 and HUGE[:300] in page.text and HUGE[:301] not in page.text


def test_duplicates_found_by_an_ssn_a_reviewer_typed_are_for_supervisors(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    """Else a reviewer could type a guess and read the answer in the duplicates list or a merge."""
    settings, store = web_store
    a = seed_request(store, valid_request(seed=70, ssn=STORED_SSN), state="needs_review")
    b = seed_request(store, valid_request(seed=70, ssn=OTHER_SSN), state="needs_review")
    assert store.possible_duplicates(a) == []
    rita = login(client_for(settings, store), "rita")
    token = csrf_of(rita.get(f"/requests/{a}").text)
    assert rita.post(f"/requests/{a}/save", data={"csrf_token": token, "f:worker.ssn": OTHER_SSN}).status_code == 303
    assert [d.id for d in store.possible_duplicates(a)] == [b]  # the guess was right
    page_a, page_b = rita.get(f"/requests/{a}").text, rita.get(f"/requests/{b}").text
    assert "Possible duplicates" not in page_a and "a supervisor looks for its duplicates" in page_a
    assert "Possible duplicates" not in page_b
    for rid, other in ((a, b), (b, a)):
        r = rita.post(f"/requests/{rid}/merge", data={"csrf_token": token, "other": str(other)})
        assert r.status_code == 403 and "a supervisor merges them" in r.text
    assert store.get_request(b).state == "needs_review"
    sam = login(client_for(settings, store), "sam")
    assert f"Merge {store.get_request(b).reference}" in sam.get(f"/requests/{a}").text
