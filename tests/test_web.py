"""The review page over HTTP (FastAPI TestClient, a real SQLite store): security, actions, audit, API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from intake.extract import extract_submission
from intake.settings import Settings
from intake.store import Incoming, Store
from intake.store.web_models import WebSession
from intake.web.app import create_app
from intake.web.users import Users
from tests import formgen
from tests.browser import PASSWORDS, seed_request, valid_request, web_settings, web_store  # noqa: F401

pytest_plugins = ["tests.store_fixtures"]

BAD_SSN = "666-12-3456"  # area 666 is never valid


PROXY = ("127.0.0.1", 50000)  # a client at the address of the test's trusted proxy


def client_for(settings: Settings, store: Store, client: tuple[str, int] = ("testclient", 50000)) -> TestClient:
    return TestClient(create_app(settings, store), follow_redirects=False, client=client)


def login(client: TestClient, name: str, password: str | None = None) -> TestClient:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    r = client.post("/login", data={"username": name, "password": password or PASSWORDS[name],
                                    "csrf_token": token.group(1), "next": "/"})
    assert r.status_code == 303, r.text
    return client


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m
    return m.group(1)


def body_of(message: bytes) -> str:
    msg = message_from_bytes(message, policy=default_policy)
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


# -- security ------------------------------------------------------------------------------------------


def test_no_page_without_login(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    rid = seed_request(store, valid_request(ssn=BAD_SSN))
    c = client_for(settings, store)
    for url in ("/", f"/requests/{rid}", f"/requests/{rid}/parts/0/pages/1.png", "/users", f"/requests/{rid}/next"):
        r = c.get(url)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), url
    for action in ("save", "accept", "approve", "reject", "not-a-request", "merge", "check"):
        r = c.post(f"/requests/{rid}/{action}", data={"reason": "x", "f:worker.ssn": "123-45-6789"})
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), action
    assert store.get_request(rid).state == "needs_review"
    assert c.get("/api/v1/requests").status_code == 401
    # Public on purpose: acknowledgements link to them.
    assert c.get("/help").status_code == 200
    assert c.get("/form.pdf").content.startswith(b"%PDF")


def test_reviewer_cannot_approve_or_see_a_full_ssn(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    req = valid_request()
    ssn = req["worker"]["ssn"]
    rid = seed_request(store, req)
    assert store.get_request(rid).state == "accepted"
    c = login(client_for(settings, store), "rita")
    page = c.get(f"/requests/{rid}")
    assert page.status_code == 200
    assert ssn not in page.text and f"***-**-{ssn[-4:]}" in page.text
    assert 'id="approve"' not in page.text
    r = c.post(f"/requests/{rid}/approve", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 403
    assert store.get_request(rid).state == "accepted"
    r = c.post(f"/requests/{rid}/reject", data={"csrf_token": csrf_of(page.text), "reason": "no"})
    assert r.status_code == 403 and store.get_request(rid).state == "accepted"
    # Saving the form as shown (SSN masked) keeps the stored number.
    r = c.post(f"/requests/{rid}/save", data={"csrf_token": csrf_of(page.text), "f:worker.ssn": f"***-**-{ssn[-4:]}"})
    assert r.status_code == 303
    assert store.get_request(rid).fields["worker"]["ssn"] == ssn
    # A supervisor sees it.
    s = login(client_for(settings, store), "sam")
    assert ssn in s.get(f"/requests/{rid}").text


def test_a_form_post_without_the_csrf_token_is_refused(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    rid = seed_request(store, valid_request(ssn=BAD_SSN))
    c = login(client_for(settings, store), "sam")
    for data in ({"f:worker.ssn": "123-45-6789"}, {"f:worker.ssn": "123-45-6789", "csrf_token": "forged"}):
        r = c.post(f"/requests/{rid}/save", data=data)
        assert r.status_code == 403
        r = c.post(f"/requests/{rid}/accept", data={k: v for k, v in data.items() if k == "csrf_token"})
        assert r.status_code == 403
    rec = store.get_request(rid)
    assert rec.fields["worker"]["ssn"] == BAD_SSN and rec.state == "needs_review"
    # The login form has its own token too.
    r = client_for(settings, store).post("/login", data={"username": "sam", "password": PASSWORDS["sam"]})
    assert r.status_code == 403


def test_five_wrong_passwords_slow_the_next_attempts_down(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    c = client_for(settings, store)
    token = csrf_of(c.get("/login").text)
    for _ in range(5):
        r = c.post("/login", data={"username": "rita", "password": "wrong password", "csrf_token": token})
        assert r.status_code == 401
    # The right password is not even checked now.
    r = c.post("/login", data={"username": "rita", "password": PASSWORDS["rita"], "csrf_token": token})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 30
    assert "coc_session" not in r.cookies
    # Another user is not slowed down.
    login(client_for(settings, store), "sam")
    # Once the wait is over (the attempts are older), the right password works again.
    from intake.store.web_models import LoginAttempt

    with Session(store.engine) as s, s.begin():
        s.execute(update(LoginAttempt).values(at=datetime.now(UTC) - timedelta(minutes=5)))
    assert Users(store).wait_seconds("rita", max_failures=5, delay=60, window_minutes=15) == 0
    login(client_for(settings, store), "rita")


def test_session_cookie_flags_and_idle_timeout(tmp_path: Path) -> None:
    settings = web_settings(tmp_path, "session_idle_minutes = 5\nsecure_cookies = true")
    store = Store.from_settings(settings)
    store.upgrade()
    Users(store).add("sam", "supervisor", PASSWORDS["sam"])
    c = TestClient(create_app(settings, store), follow_redirects=False, base_url="https://testserver")
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": "sam", "password": PASSWORDS["sam"], "csrf_token": token})
    cookie = r.headers["set-cookie"].lower()
    assert "coc_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
    c.cookies.set("coc_session", r.cookies["coc_session"])
    assert c.get("/").status_code == 200
    with Session(store.engine) as s, s.begin():
        s.execute(update(WebSession).values(last_seen_at=datetime.now(UTC) - timedelta(minutes=6)))
    r = c.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    store.dispose()


def test_trusted_proxy_header_is_off_by_default_and_works_when_set(tmp_path: Path) -> None:
    settings = web_settings(tmp_path)
    store = Store.from_settings(settings)
    store.upgrade()
    Users(store).add("sam", "supervisor", PASSWORDS["sam"])
    r = client_for(settings, store).get("/", headers={"X-Remote-User": "sam"})
    assert r.status_code == 303
    settings.web.trusted_proxy_user_header = "X-Remote-User"
    settings.web.trusted_proxies = ["127.0.0.1/32"]
    c = client_for(settings, store, PROXY)
    assert c.get("/", headers={"X-Remote-User": "sam"}).status_code == 200
    assert c.get("/", headers={"X-Remote-User": "nobody"}).status_code in (200, 303)  # cookie from before
    assert client_for(settings, store, PROXY).get("/", headers={"X-Remote-User": "nobody"}).status_code == 303
    store.dispose()


# -- correcting and deciding -----------------------------------------------------------------------------


def test_correction_revalidates_and_the_trail_records_the_editor(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    rid = seed_request(store, valid_request(ssn=BAD_SSN))
    rec = store.get_request(rid)
    assert rec.state == "needs_review" and any(p.field == "worker.ssn" for p in rec.problems)
    c = login(client_for(settings, store), "sam")
    page = c.get(f"/requests/{rid}").text
    token = csrf_of(page)
    # The check endpoint re-validates without saving.
    r = c.post(f"/requests/{rid}/check", data={"f:worker.ssn": "123-45-6789"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200
    assert not [p for p in r.json()["problems"] if p["field"] == "worker.ssn"]
    r = c.post(f"/requests/{rid}/check", data={"f:assignment.end_date": "2020-01-01"}, headers={"X-CSRF-Token": token})
    assert any(p["field"] == "assignment.end_date" for p in r.json()["problems"])
    assert store.get_request(rid).fields["worker"]["ssn"] == BAD_SSN
    # Saving.
    r = c.post(f"/requests/{rid}/save", data={"csrf_token": token, "f:worker.ssn": "123 45 6789"})
    assert r.status_code == 303
    rec = store.get_request(rid)
    assert rec.fields["worker"]["ssn"] == "123-45-6789" and rec.state == "corrected"
    assert not any(p.field == "worker.ssn" for p in rec.problems)
    assert rec.ssn_last4 == "6789"
    ev = [e for e in store.events_of(request_id=rid) if e.kind == "field"]
    assert [(e.actor, e.field, e.old, e.new) for e in ev] == [("sam", "worker.ssn", "***-**-3456", "***-**-6789")]
    page = c.get(f"/requests/{rid}").text
    assert "Audit trail" in page and "***-**-3456" in page
    trail = page[page.index("Audit trail"):]
    assert BAD_SSN not in trail and "123-45-6789" not in trail


def test_accept_after_incomplete_sends_an_updated_received_reply(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    rid = seed_request(store, valid_request(ssn=BAD_SSN), sender="hr@acme.example.com")
    rec = store.get_request(rid)
    store.queue_reply(rec.submission_id, "incomplete", "email", "hr@acme.example.com", b"...")
    c = login(client_for(settings, store), "rita")
    token = csrf_of(c.get(f"/requests/{rid}").text)
    r = c.post(f"/requests/{rid}/accept", data={"csrf_token": token})
    assert r.status_code == 409 and "worker.ssn" in r.text  # a blocking problem is left
    c.post(f"/requests/{rid}/save", data={"csrf_token": token, "f:worker.ssn": "123-45-6789"})
    r = c.post(f"/requests/{rid}/accept", data={"csrf_token": token})
    assert r.status_code == 303
    assert store.get_request(rid).state == "accepted"
    replies = [o for o in store.replies_of(rec.submission_id) if o.kind == "received"]
    assert len(replies) == 1 and replies[0].request_id == rid and replies[0].recipient == "hr@acme.example.com"
    text = body_of(replies[0].message)
    assert "replaces our earlier one" in text and "123-45-6789" not in text and "***-**-6789" in text
    # The trail shows when the outbox sent it.
    assert store.mark_sending(replies[0].id) and store.mark_sent(replies[0].id)
    trail = c.get(f"/requests/{rid}").text.split("Audit trail", 1)[1]
    assert "reply sent" in trail and "email to hr@acme.example.com" in trail
    # Accepting twice is refused and queues nothing more.
    assert c.post(f"/requests/{rid}/accept", data={"csrf_token": token}).status_code == 409
    assert len([o for o in store.replies_of(rec.submission_id) if o.kind == "received"]) == 1


def test_a_request_on_an_older_form_edition_can_be_accepted(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    """`outdated_edition` (a filled PDF of an older edition, read for real) tells staff, never blocks accepting."""
    settings, store = web_store
    result = extract_submission(formgen.filled_pdf(valid_request(seed=31), "2025-06"), channel="file",
                                filename="old.pdf")
    [item] = result.requests
    assert [p.code for p in item.problems] == ["outdated_edition"] and item.status == "needs_review"
    sid, _ = store.store_submission(Incoming(channel="smtp", raw=b"From: hr@acme.example.com\r\n\r\nForm.\r\n",
                                             sender="hr@acme.example.com", received_at=datetime.now(UTC)))
    [rec] = store.mark_extracted(sid, result)
    c = login(client_for(settings, store), "rita")
    page = c.get(f"/requests/{rec.id}").text
    assert "COC-1 (2026-11)" in page and 'href="/form.pdf"' in page  # the page names and offers the new form
    assert store.get_request(rec.id).reference in c.get("/", params={"problem": "outdated_edition"}).text
    token = csrf_of(page)
    r = c.post(f"/requests/{rec.id}/check", data={"csrf_token": token, "f:employer.contact_name": "Ann Lee"})
    assert r.json()["blocking"] == 0
    assert any(p["code"] == "outdated_edition" for p in r.json()["problems"])
    c.post(f"/requests/{rec.id}/save", data={"csrf_token": token, "f:employer.contact_name": "Ann Lee"})
    assert [p.code for p in store.get_request(rec.id).problems] == ["outdated_edition"]  # kept by a correction
    assert c.post(f"/requests/{rec.id}/accept", data={"csrf_token": token}).status_code == 303
    assert store.get_request(rec.id).state == "accepted"


def test_approve_mails_the_confirmation_address_and_reject_mails_the_sender(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    req = valid_request()
    rid = seed_request(store, req)
    c = login(client_for(settings, store), "sam")
    token = csrf_of(c.get(f"/requests/{rid}").text)
    assert c.post(f"/requests/{rid}/approve", data={"csrf_token": token}).status_code == 303
    rec = store.get_request(rid)
    assert rec.state == "approved"
    approved = [o for o in store.replies_of_request(rid) if o.kind == "approved"]
    assert [o.recipient for o in approved] == ["confirm@acme.example.com"]
    text = body_of(approved[0].message)
    assert req["worker"]["ssn"] not in text and f"***-**-{req['worker']['ssn'][-4:]}" in text
    # Reject another one with a reason.
    rid2 = seed_request(store, valid_request(seed=8, ssn=BAD_SSN), sender="boss@northwind.example.com")
    r = c.post(f"/requests/{rid2}/reject", data={"csrf_token": token, "reason": ""})
    assert r.status_code == 400 and store.get_request(rid2).state == "needs_review"
    r = c.post(f"/requests/{rid2}/reject", data={"csrf_token": token, "reason": "The worker is not employed by you."})
    assert r.status_code == 303 and store.get_request(rid2).state == "rejected"
    rejected = [o for o in store.replies_of_request(rid2) if o.kind == "rejected"]
    assert [o.recipient for o in rejected] == ["boss@northwind.example.com"]
    assert "The worker is not employed by you." in body_of(rejected[0].message)
    kinds = [(e.actor, e.kind, e.new) for e in store.events_of(request_id=rid2)]
    assert ("sam", "state", "rejected") in kinds and ("sam", "reason", "The worker is not employed by you.") in kinds


def test_not_a_request_and_possible_duplicates_with_merge(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    req = valid_request(ssn="123-45-6789")
    a = seed_request(store, {**req, "confirmation_email": None}, state="needs_review")
    b = seed_request(store, req, state="needs_review")
    other = seed_request(store, valid_request(seed=9), state="needs_review")
    assert [d.id for d in store.possible_duplicates(a)] == [b]
    c = login(client_for(settings, store), "rita")
    page = c.get(f"/requests/{a}").text
    assert "Possible duplicates" in page and f"Merge {store.get_request(b).reference}" in page
    token = csrf_of(page)
    assert c.post(f"/requests/{a}/merge", data={"csrf_token": token, "other": str(other)}).status_code == 400
    assert c.post(f"/requests/{a}/merge", data={"csrf_token": token, "other": str(b)}).status_code == 303
    assert store.get_request(b).state == "not_a_request"
    assert store.get_request(a).fields["confirmation_email"] == "confirm@acme.example.com"
    assert any(e.kind == "merged" and e.actor == "rita" for e in store.events_of(request_id=a))
    assert c.post(f"/requests/{other}/not-a-request", data={"csrf_token": token}).status_code == 303
    assert store.get_request(other).state == "not_a_request"


def test_queue_orders_filters_and_searches(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    ok = seed_request(store, valid_request(seed=1))
    bad = seed_request(store, valid_request(seed=2, ssn=BAD_SSN))
    fr = seed_request(store, valid_request(seed=3, changes={"assignment.country": "FR",
                                                             "assignment.work_address.country": "FR"}))
    assert [r.request.id for r in store.queue()][:1] == [bad]  # needs review first
    assert [r.request.id for r in store.queue(states=["accepted"])] == [ok, fr]
    assert [r.request.id for r in store.queue(search="3456")] == [bad]
    assert [r.request.id for r in store.queue(search=store.get_request(fr).reference)] == [fr]
    assert [r.request.id for r in store.queue(country="fr")] == [fr]
    assert [r.request.id for r in store.queue(problem_code="invalid")] == [bad]
    assert store.queue(channels=["fax"]) == []
    c = login(client_for(settings, store), "rita")
    html = c.get("/", params={"q": "3456"}).text
    assert store.get_request(bad).reference in html and store.get_request(ok).reference not in html
    assert "needs review: <strong>1</strong>" in html
    html = c.get("/", params={"state": "accepted", "channel": "smtp"}).text
    assert store.get_request(ok).reference in html and store.get_request(bad).reference not in html


# -- API -----------------------------------------------------------------------------------------------


def test_api_lists_fetches_and_marks_exported_with_a_token(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    req = valid_request()
    rid = seed_request(store, req)
    store.set_request_state(rid, "approved", actor="sam")
    ref = store.get_request(rid).reference
    token = Users(store).add_token("certificates")
    c = client_for(settings, store)
    assert c.get("/api/v1/requests", headers={"Authorization": "Bearer wrong"}).status_code == 401
    h = {"Authorization": f"Bearer {token}"}
    listed = c.get("/api/v1/requests", headers=h).json()
    assert [r["reference"] for r in listed] == [ref] and listed[0]["request"]["worker"]["ssn"] == req["worker"]["ssn"]
    assert c.get(f"/api/v1/requests/{ref}", headers=h).json()["exported"] is False
    assert c.post(f"/api/v1/requests/{ref}/exported", headers=h).json() == {"reference": ref, "exported": True}
    assert c.get("/api/v1/requests", headers=h, params={"exported": "false"}).json() == []
    assert c.get("/api/v1/requests/COC-2026-999999", headers=h).status_code == 404
    # A staff session is no API token.
    s = login(client_for(settings, store), "sam")
    assert s.get("/api/v1/requests").status_code == 401
    schema = c.get("/api/openapi.json").json()
    assert "/api/v1/requests" in schema["paths"] and "/requests/{rid}" not in schema["paths"]


def test_admin_manages_users_reviewer_does_not(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    r = login(client_for(settings, store), "rita")
    assert r.get("/users").status_code == 403
    a = login(client_for(settings, store), "ada")
    token = csrf_of(a.get("/users").text)
    html = a.post("/users", data={"csrf_token": token, "action": "add", "name": "newbie", "role": "reviewer"}).text
    assert "One-time password:" in html
    password = re.search(r"One-time password: (\S+)</p>", html)
    assert password
    n = login(client_for(settings, store), "newbie", password.group(1))
    # A one-time password: every page leads to the password change until it is done.
    assert n.get("/").headers["location"] == "/account/password"
    form = n.get("/account/password").text
    ntoken = csrf_of(form)
    r = n.post("/account/password", data={"csrf_token": ntoken, "current_password": "wrong",
                                           "new_password": "my-own-password", "repeat_password": "my-own-password"})
    assert r.status_code == 400 and "current password is wrong" in r.text
    r = n.post("/account/password", data={"csrf_token": ntoken, "current_password": password.group(1),
                                           "new_password": "my-own-password", "repeat_password": "my-own-password"})
    assert r.status_code == 303
    assert n.get("/").status_code == 200
    assert Users(store).authenticate("newbie", "my-own-password") is not None
    html = a.post("/users", data={"csrf_token": token, "action": "reset", "name": "newbie"}).text
    again = re.search(r"New one-time password for newbie: (\S+)</p>", html)
    assert again and Users(store).authenticate("newbie", "my-own-password") is None
    n = login(client_for(settings, store), "newbie", again.group(1))
    assert n.get("/").headers["location"] == "/account/password"
    a.post("/users", data={"csrf_token": token, "action": "disable", "name": "newbie"})
    assert n.get("/").status_code == 303  # a disabled user's session ends
    assert n.get("/").headers["location"].startswith("/login")
    assert Users(store).get("newbie").disabled  # type: ignore[union-attr]


# -- source pages ---------------------------------------------------------------------------------------


def test_page_images_render_and_hide_the_ssn_box_from_reviewers(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    import io
    import random as _random

    import numpy as np
    from PIL import Image

    from tests import faxgen

    settings, store = web_store
    req = valid_request(seed=11)
    tiff = faxgen.tiff_bytes(faxgen.fax_request(req, _random.Random(3), "fine"))
    box = {"x0": 0.1, "y0": 0.1, "x1": 0.5, "y1": 0.2}
    rid = seed_request(store, req, channel="fax", sender="+12085550142", raw=tiff,
                       provenance={"worker.ssn": {"part": "fax", "page": 1, "box": box, "method": "ocr"}},
                       parts=[{"name": "fax", "media_type": "image/tiff", "pages": 1, "text": ""}])
    url = f"/requests/{rid}/parts/0/pages/1.png"

    def region_mean(png: bytes) -> float:
        im = Image.open(io.BytesIO(png)).convert("L")
        w, h = im.size
        crop = im.crop((int(0.12 * w), int(0.12 * h), int(0.48 * w), int(0.18 * h)))
        return float(np.asarray(crop).mean())

    sup = login(client_for(settings, store), "sam").get(url)
    rev = login(client_for(settings, store), "rita").get(url)
    assert sup.status_code == rev.status_code == 200
    assert sup.content.startswith(b"\x89PNG") and rev.content.startswith(b"\x89PNG")
    assert region_mean(sup.content) > 150  # mostly white paper
    assert region_mean(rev.content) < 60  # painted over
    page = login(client_for(settings, store), "rita").get(f"/requests/{rid}").text
    assert 'id="box-worker.ssn"' in page and 'class="show-box"' in page
    assert login(client_for(settings, store), "rita").get(f"/requests/{rid}/parts/0/pages/9.png").status_code == 404
    assert login(client_for(settings, store), "rita").get(f"/requests/{rid}/parts/5/pages/1.png").status_code == 404
    # Rendered pages (full SSN on them) are cached in memory only, never written to disk in clear.
    assert not list(settings.paths.var.rglob("*.png"))
    from intake.web.pages import PAGES

    assert len(PAGES) >= 2  # the supervisor's page and the reviewer's painted-over one


def test_render_png_reads_pdf_pages() -> None:
    from intake.web.pages import render_png
    from tests.docgen import simple_pdf

    pdf = simple_pdf(["Worker name: Jane Doe"], pages=2)
    png = render_png(pdf, "application/pdf", 2)
    assert png.startswith(b"\x89PNG")
    with pytest.raises(ValueError):
        render_png(pdf, "application/pdf", 3)
    with pytest.raises(ValueError):
        render_png(b"not a pdf", "application/pdf", 1)


def test_next_request_goes_through_the_open_queue(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    a = seed_request(store, valid_request(seed=1, ssn=BAD_SSN))
    b = seed_request(store, valid_request(seed=2, ssn=BAD_SSN))
    seed_request(store, valid_request(seed=3))  # accepted: not in the open queue
    c = login(client_for(settings, store), "rita")
    assert c.get(f"/requests/{a}/next").headers["location"] == f"/requests/{b}"
    assert c.get(f"/requests/{b}/next").headers["location"] == "/"


# -- command line and schema --------------------------------------------------------------------------


def test_users_command_adds_lists_disables_and_makes_tokens(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from intake.cli import main

    settings = web_settings(tmp_path)
    cfg = str(tmp_path / "web.toml")
    assert main(["--config", cfg, "users", "add", "bob", "--role", "supervisor", "--generate"]) == 0
    out = capsys.readouterr().out
    password = re.search(r"one-time password: (\S+)", out)
    assert password and "user bob added (supervisor)" in out
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert main(["--config", cfg, "users", "add", "carol", "--password-stdin"]) == 0
    assert main(["--config", cfg, "users", "add", "carol", "--generate"]) == 2  # exists
    with pytest.raises(SystemExit):
        main(["--config", cfg, "users", "add", "dan", "--role", "boss", "--generate"])
    capsys.readouterr()
    assert main(["--config", cfg, "users", "list"]) == 0
    listing = capsys.readouterr().out
    assert "bob\tsupervisor\tactive" in listing and "carol\treviewer\tactive" in listing
    assert main(["--config", cfg, "users", "disable", "carol"]) == 0
    assert main(["--config", cfg, "users", "token", "certificates"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    store = Store.from_settings(settings)
    users = Users(store)
    assert users.authenticate("bob", password.group(1)) is not None
    assert users.authenticate("carol", "a-long-password") is None  # disabled
    assert users.token_role(token) == ("certificates", "export")
    store.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0002_matches_the_web_models(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from intake.store.models import Base

    url = f"sqlite:///{tmp_path / 'db.sqlite'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    store = Store(url)
    store.upgrade()
    assert {"users", "web_sessions", "api_tokens", "login_attempts"} <= set(store.table_names())
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    mine = {"users", "web_sessions", "api_tokens", "login_attempts"}

    def table_of(d: object) -> str:
        item = d[0] if isinstance(d, list) else d
        for x in item[1:] if isinstance(item, tuple) else ():
            name = getattr(x, "name", None) if not isinstance(x, str) else None
            table = getattr(x, "table", None)
            if table is not None:
                return str(table.name)
            if name in mine:
                return str(name)
            if isinstance(x, str) and x in mine:
                return x
        return ""

    assert [d for d in diff if table_of(d) in mine] == []
    from intake.store import migrate

    migrate.downgrade(store.engine, "0001")
    assert not mine & set(store.table_names())
    store.upgrade()
    assert mine <= set(store.table_names())
    store.dispose()


def test_serve_command_serves_the_page_on_its_own(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    import httpx

    from tests.servers import free_port, wait_for_port

    web_settings(tmp_path)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "intake.cli", "--config", str(tmp_path / "web.toml"), "serve",
                             "--port", str(port)], cwd=tmp_path, env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/login").status_code == 200
        r = httpx.get(f"{base}/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert httpx.get(f"{base}/api/openapi.json").json()["info"]["title"] == "coc-intake API"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_corrections_are_read_like_documents_and_bad_values_are_named(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    rid = seed_request(store, valid_request(ssn=BAD_SSN))
    c = login(client_for(settings, store), "sam")
    token = csrf_of(c.get(f"/requests/{rid}").text)
    r = c.post(f"/requests/{rid}/save", data={"csrf_token": token, "f:assignment.start_date": "03/01/2027",
                                               "f:assignment.end_date": "June 30, 2028",
                                               "f:assignment.country": "Germany", "f:assignment.hired_in_us": "yes"})
    assert r.status_code == 303
    fields = store.get_request(rid).fields
    assert fields["assignment"]["start_date"] == "2027-03-01" and fields["assignment"]["end_date"] == "2028-06-30"
    assert fields["assignment"]["country"] == "DE" and fields["assignment"]["hired_in_us"] is True
    c.post(f"/requests/{rid}/save", data={"csrf_token": token, "f:worker.date_of_birth": "someday"})
    rec = store.get_request(rid)
    assert any(p.field == "worker.date_of_birth" and p.code in ("invalid", "missing") for p in rec.problems)
    ev = [e for e in store.events_of(request_id=rid) if e.field == "worker.date_of_birth"]
    assert ev and ev[-1].new == "someday" and ev[-1].actor == "sam"


def test_unread_submissions_are_listed_entered_by_hand_or_closed(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    import random as _random

    from intake.store import Incoming
    from tests import faxgen

    settings, store = web_store
    tiff = faxgen.tiff_bytes(faxgen.fax_request(valid_request(seed=12), _random.Random(5), "fine"))
    ids = []
    for i in range(2):
        sid, _ = store.store_submission(Incoming(channel="fax", raw=tiff + bytes([i]), sender="+12085550142",
                                                 received_at=datetime.now(UTC)))
        store.mark_needs_review(sid, "extraction took longer than 600 s")
        ids.append(sid)
    rev = login(client_for(settings, store), "rita")
    html = rev.get("/").text
    assert f'href="/submissions/{ids[0]}"' in html and "longer than 600 s" in html
    assert rev.get(f"/submissions/{ids[0]}/parts/0/pages/1.png").status_code == 403
    sup = login(client_for(settings, store), "sam")
    assert sup.get(f"/submissions/{ids[0]}/parts/0/pages/1.png").content.startswith(b"\x89PNG")
    page = rev.get(f"/submissions/{ids[0]}").text
    token = csrf_of(page)
    r = rev.post(f"/submissions/{ids[0]}/request", data={"csrf_token": token})
    assert r.status_code == 303
    rid = int(r.headers["location"].rsplit("/", 1)[1])
    rec = store.get_request(rid)
    assert rec.state == "needs_review" and any(p.code == "missing" for p in rec.problems)
    assert rec.reference.startswith("COC-")
    r = rev.post(f"/submissions/{ids[1]}/close", data={"csrf_token": token, "reason": "blank fax"})
    assert r.status_code == 303
    assert store.get_submission(ids[1]).state == "done"
    assert [s.id for s in store.submissions_without_requests()] == []
    assert rev.post(f"/submissions/{ids[1]}/close", data={"csrf_token": token}).status_code == 409


def test_accept_sends_the_first_received_reply_and_fax_senders_get_faxes(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    # Nobody was told anything yet: accepting sends the (first) received reply, not an "updated" one.
    rid = seed_request(store, valid_request(seed=21), state="needs_review")
    c = login(client_for(settings, store), "sam")
    token = csrf_of(c.get(f"/requests/{rid}").text)
    assert c.post(f"/requests/{rid}/accept", data={"csrf_token": token}).status_code == 303
    [received] = [o for o in store.replies_of_request(rid) if o.kind == "received"]
    assert "replaces our earlier one" not in body_of(received.message)
    # A fax request with no email address anywhere: the rejection goes back by fax (a PDF).
    req = valid_request(seed=22)
    req["employer"]["contact_email"] = None
    req["confirmation_email"] = None
    fid = seed_request(store, req, channel="fax", sender="+12085550199", raw=b"II*\x00fax bytes",
                       state="needs_review", parts=[{"name": "fax", "media_type": "image/tiff", "pages": 0}])
    r = c.post(f"/requests/{fid}/reject", data={"csrf_token": token, "reason": "Unsigned request."})
    assert r.status_code == 303
    [reply] = store.replies_of_request(fid)
    assert reply.channel == "fax" and reply.recipient == "+12085550199" and reply.message.startswith(b"%PDF")


def test_a_stale_form_does_not_overwrite_someone_elses_correction(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    rid = seed_request(store, valid_request(ssn=BAD_SSN))
    sam = login(client_for(settings, store), "sam")
    rita = login(client_for(settings, store), "rita")
    page_sam = sam.get(f"/requests/{rid}").text
    page_rita = rita.get(f"/requests/{rid}").text
    version = re.search(r'name="version" value="(\d+)"', page_rita)
    assert version
    r = sam.post(f"/requests/{rid}/save", data={"csrf_token": csrf_of(page_sam), "f:worker.ssn": "123-45-6789",
                                                 "version": version.group(1)})
    assert r.status_code == 303
    r = rita.post(f"/requests/{rid}/save", data={"csrf_token": csrf_of(page_rita), "f:worker.ssn": "123-45-0001",
                                                  "version": version.group(1)})
    assert r.status_code == 409 and "Someone else changed this request" in r.text
    assert store.get_request(rid).fields["worker"]["ssn"] == "123-45-6789"
