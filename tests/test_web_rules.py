"""Review page rules checked across the whole application rather than one page at a time: CSRF on
every form and every POST route, the approved mail only when asked for, the help page linked from
acknowledgements, the queue's filters as staff use them."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute

from intake.isolation import ExtractionPool
from intake.model import FIELD_PATHS
from intake.pipeline import Context, reply_stage
from intake.reference import help_for
from intake.settings import Settings
from intake.store import Incoming, Store
from intake.web.app import create_app
from intake.web.review import check, flat_values
from intake.web.users import Users
from tests.browser import add_staff, seed_request, valid_request, web_settings, web_store  # noqa: F401
from tests.results import submission_result
from tests.test_web import BAD_SSN, PROXY, body_of, client_for, csrf_of, login

HELP_URL = "https://coc.example.gov/help"


class _Forms(HTMLParser):
    """Every <form method="post"> of a page with the csrf_token it carries ("" when none)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, str]] = []
        self._open: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self._open = [a.get("action") or "", ""]
        elif tag == "input" and self._open is not None and a.get("name") == "csrf_token":
            self._open[1] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._open is not None:
            self.forms.append((self._open[0], self._open[1]))
            self._open = None


def post_forms(page: str) -> list[tuple[str, str]]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


def test_every_post_form_carries_the_csrf_token_and_every_post_route_refuses_without_it(
        web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    req = valid_request(ssn="123-45-6789")
    a = seed_request(store, {**req, "confirmation_email": None}, state="needs_review")
    b = seed_request(store, req, state="needs_review")
    accepted = seed_request(store, valid_request(seed=5))
    sid, _ = store.store_submission(Incoming(channel="fax", raw=b"II*\x00junk", sender="+12085550142",
                                             received_at=datetime.now(UTC)))
    store.mark_needs_review(sid, "the file cannot be read")
    app = create_app(settings, store)
    c = login(client_for(settings, store), "ada")  # an admin: every form is shown and allowed
    token = csrf_of(c.get("/").text)

    # Every form the pages render posts the session's token.
    seen: set[str] = set()
    for url in ("/", f"/requests/{a}", f"/requests/{accepted}", "/users", "/account/password",
                f"/submissions/{sid}", "/help"):
        forms = post_forms(c.get(url).text)
        assert forms, url
        for action, sent in forms:
            assert sent == token, (url, action)
            seen.add(re.sub(r"/\d+(/|$)", r"/N\1", action))
    assert {"/logout", "/requests/N/save", "/requests/N/accept", "/requests/N/approve", "/requests/N/reject",
            "/requests/N/not-a-request", "/requests/N/merge", "/users", "/account/password",
            "/submissions/N/request", "/submissions/N/close"} <= seen

    # Every POST route of the pages (not the login form, not the token API) refuses a post without
    # the token or with a wrong one, and changes nothing.
    routes = sorted(r.path for r in app.routes if isinstance(r, APIRoute) and "POST" in r.methods
                    and not r.path.startswith("/api/") and r.path != "/login")
    assert len(routes) >= 12, routes
    data = {"f:worker.ssn": "123-45-0001", "reason": "spam", "other": str(b), "action": "add", "name": "mallory",
            "role": "admin", "current_password": "admin-pass-123", "new_password": "x" * 12,
            "repeat_password": "x" * 12}
    events_before = len(store.events_of(request_id=a))
    for path in routes:
        url = path.replace("{rid}", str(a)).replace("{sid}", str(sid))
        for forged in ({}, {"csrf_token": "forged"}):
            r = c.post(url, data={**data, **forged})
            assert r.status_code == 403, (path, forged, r.status_code)
    assert len(store.events_of(request_id=a)) == events_before
    assert store.get_request(a).state == store.get_request(b).state == "needs_review"
    assert Users(store).get("mallory") is None and store.get_submission(sid).state == "needs_review"
    assert c.get("/").status_code == 200  # not even logged out
    # With the token the same posts go through to their own rules (none answers 403 for the token).
    for path in [p for p in routes if p != "/logout"] + ["/logout"]:
        url = path.replace("{rid}", str(a)).replace("{sid}", str(sid))
        r = c.post(url, data={**data, "csrf_token": token}, headers={"X-CSRF-Token": token})
        # ada accepted `a` just before: four eyes, not the token, refuses her approval.
        assert r.status_code != 403 or "four eyes" in r.text, (path, r.text[:300])
    assert Users(store).get("mallory") is not None


def test_approve_mails_only_when_a_confirmation_was_asked_for(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    rid = seed_request(store, {**valid_request(seed=41), "confirmation_email": None})
    assert store.get_request(rid).state == "accepted"
    c = login(client_for(settings, store), "sam")
    page = c.get(f"/requests/{rid}").text
    assert 'id="approve"' in page
    assert c.post(f"/requests/{rid}/approve", data={"csrf_token": csrf_of(page)}).status_code == 303
    assert store.get_request(rid).state == "approved"
    assert [o for o in store.replies_of_request(rid) if o.kind == "approved"] == []
    trail = c.get(f"/requests/{rid}").text.split("Audit trail", 1)[1]
    assert "sam" in trail and "approved" in trail
    # A supervisor does not manage users; only an admin does.
    assert c.get("/users").status_code == 403
    r = c.post("/users", data={"csrf_token": csrf_of(page), "action": "add", "name": "eve", "role": "admin"})
    assert r.status_code == 403 and Users(store).get("eve") is None


def test_acknowledgements_link_the_help_page_that_has_every_fields_help(tmp_path: Path) -> None:
    settings = web_settings(tmp_path, f'[replies]\nhelp_url = "{HELP_URL}"\n')
    assert settings.replies.help_url == HELP_URL
    store = Store.from_settings(settings)
    store.upgrade()
    add_staff(store)
    try:
        # The pipeline's "incomplete" acknowledgement.
        bad = seed_request(store, valid_request(seed=51, ssn=BAD_SSN), sender="hr@acme.example.com")
        sub_id = store.get_request(bad).submission_id
        ctx = Context(store, settings, ExtractionPool(1, timeout=60, memory_mb=0))
        assert reply_stage(ctx, sub_id)
        [incomplete] = [o for o in store.replies_of(sub_id) if o.kind == "incomplete"]
        assert f"Help for every field: {HELP_URL}" in body_of(incomplete.message)
        # The pipeline's "received" acknowledgement.
        good = seed_request(store, valid_request(seed=52), sender="hr@acme.example.com")
        good_sub = store.get_request(good).submission_id
        assert reply_stage(ctx, good_sub)
        [received] = [o for o in store.replies_of(good_sub) if o.kind == "received"]
        assert HELP_URL in body_of(received.message)
        # The updated "received" one staff's accept sends after the correction.
        c = login(client_for(settings, store), "rita")
        token = csrf_of(c.get(f"/requests/{bad}").text)
        assert c.post(f"/requests/{bad}/save", data={"csrf_token": token, "f:worker.ssn": "123-45-6789"}
                      ).status_code == 303
        assert c.post(f"/requests/{bad}/accept", data={"csrf_token": token}).status_code == 303
        [updated] = [o for o in store.replies_of_request(bad) if o.kind == "received"]
        assert HELP_URL in body_of(updated.message)
        # The page they link to: public, with the help text of every field of the request.
        page = html.unescape(client_for(settings, store).get("/help").text)
        for path in FIELD_PATHS:
            text = help_for(path)
            assert text and text in page, path
        assert 'href="/form.pdf"' in page
    finally:
        store.dispose()


def _imap_request(store: Store, req: dict[str, Any]) -> int:
    """A request read from a mail in the IMAP mailbox (the queue's "email" channel)."""
    raw = (b"From: hr@acme.example.com\r\nTo: certificate@localhost\r\nSubject: COC\r\n"
           b"Message-ID: <imap-63@acme.example.com>\r\n\r\nPlease find the request.\r\n")
    sid, _ = store.store_submission(Incoming(channel="imap", raw=raw, sender="hr@acme.example.com",
                                             received_at=datetime.now(UTC), imap_folder="INBOX",
                                             imap_uidvalidity=1, imap_uid=63))
    request, problems = check({k: v for k, v in flat_values(req).items() if v})
    [rec] = store.mark_extracted(sid, submission_result([{
        "request": request.model_dump(mode="json"), "problems": [p.model_dump(mode="json") for p in problems],
        "confidence": {}, "provenance": {}, "status": "needs_review" if problems else "valid"}]))
    return rec.id


def test_queue_page_filters_by_channel_date_and_searches_employer_name_and_ein(
        web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    mail = seed_request(store, valid_request(seed=61))
    fax = seed_request(store, valid_request(seed=62), channel="fax", sender="+12085550142", raw=b"II*\x00fax",
                       parts=[{"name": "fax", "media_type": "image/tiff", "pages": 0}])
    imap = _imap_request(store, valid_request(seed=63))
    refs = {rid: store.get_request(rid).reference for rid in (mail, fax, imap)}
    c = login(client_for(settings, store), "rita")

    def shown(**params: str) -> set[int]:
        page = c.get("/", params=params).text
        return {rid for rid, ref in refs.items() if ref in page}

    assert shown() == {mail, fax, imap}
    assert shown(channel="fax") == {fax}
    assert shown(channel="email") == {imap, mail}  # one name for mail, however it came (issue 16)
    assert shown(channel="smtp") == {mail}  # a link bookmarked before still works
    today = datetime.now(UTC).date()
    assert shown(date_from=today.isoformat(), date_to=today.isoformat()) == {mail, fax, imap}
    assert shown(date_from=(today + timedelta(days=1)).isoformat()) == set()
    assert shown(date_to=(today - timedelta(days=1)).isoformat()) == set()
    employer = store.get_request(fax).employer_name or ""
    assert employer and fax in shown(q=employer.upper())
    ein = store.get_request(imap).employer_ein or ""
    assert ein and shown(q=ein) == {imap} and shown(q=ein.replace("-", "")) == {imap}
    worker = store.get_request(mail).worker_name or ""
    assert worker and mail in shown(q=worker.split()[0].lower())
    assert shown(q=refs[fax]) == {fax}


def test_request_page_marks_low_confidence_and_invalid_fields_and_masks_the_source_for_reviewers(
        web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    req = valid_request(seed=71, ssn=BAD_SSN)
    body = f"Worker: {req['worker']['first_name']} {req['worker']['last_name']}, SSN {BAD_SSN}\n"
    request, problems = check({k: v for k, v in flat_values(req).items() if v})
    low = {"field": "worker.last_name", "code": "low_confidence", "message": "read with low confidence",
           "help": help_for("worker.last_name")}
    sid, _ = store.store_submission(Incoming(channel="smtp", raw=f"From: hr@acme.example.com\r\n\r\n{body}".encode(),
                                             sender="hr@acme.example.com", received_at=datetime.now(UTC)))
    [rec] = store.mark_extracted(sid, submission_result(parts=[{"name": "body", "media_type": "text/plain", "pages": 0,
                                                                     "text": body}], requests=[{
        "request": request.model_dump(mode="json"),
        "problems": [low, *[p.model_dump(mode="json") for p in problems]],
        "confidence": {"worker.first_name": 0.41, "worker.last_name": 0.62, "worker.ssn": 0.97},
        "provenance": {}, "status": "needs_review"}]))

    class _Fields(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.classes: dict[str, str] = {}
            self.invalid: set[str] = set()

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if tag == "div" and a.get("data-path"):
                self.classes[str(a["data-path"])] = str(a.get("class") or "")
            if tag == "input" and a.get("data-path") and a.get("aria-invalid") == "true":
                self.invalid.add(str(a["data-path"]))

    for who, sees in (("rita", False), ("sam", True)):
        page = login(client_for(settings, store), who).get(f"/requests/{rec.id}").text
        fields = _Fields()
        fields.feed(page)
        assert "low" in fields.classes["worker.first_name"].split()  # by its confidence
        assert "low" in fields.classes["worker.last_name"].split()  # by its problem
        assert "has-problem" in fields.classes["worker.ssn"].split() and "worker.ssn" in fields.invalid
        assert "low" not in fields.classes["worker.ssn"].split() and "worker.first_name" not in fields.invalid
        assert "confidence 41% (low)" in page and "confidence 97%" in page
        assert help_for("worker.ssn") in html.unescape(page)
        # The mail body beside the fields: the full SSN for supervisors only.
        source = page[page.index('id="source-h"'):page.index('id="fields-h"')]
        assert (BAD_SSN in source) is sees and (sees or "***-**-3456" in source)
        assert (BAD_SSN in page) is sees


def test_possible_duplicates_need_the_same_ssn_country_and_overlapping_dates(
        web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    base = {"assignment.start_date": "2027-03-01", "assignment.end_date": "2028-02-28"}
    me = seed_request(store, valid_request(seed=81, ssn="123-45-6789", changes=base), state="needs_review")
    overlapping = seed_request(store, valid_request(seed=82, ssn="123-45-6789", changes={
        "assignment.start_date": "2028-01-01", "assignment.end_date": "2028-12-31"}), state="needs_review")
    later = seed_request(store, valid_request(seed=83, ssn="123-45-6789", changes={
        "assignment.start_date": "2028-03-01", "assignment.end_date": "2029-02-28"}), state="needs_review")
    elsewhere = seed_request(store, valid_request(seed=84, ssn="123-45-6789", changes={
        **base, "assignment.country": "FR", "assignment.work_address.country": "FR"}), state="needs_review")
    other_ssn = seed_request(store, valid_request(seed=85, ssn="987-45-6789", changes=base), state="needs_review")
    assert store.get_request(other_ssn).ssn_last4 == store.get_request(me).ssn_last4  # same last four only
    assert [d.id for d in store.possible_duplicates(me)] == [overlapping]
    page = login(client_for(settings, store), "rita").get(f"/requests/{me}").text
    shown = page[page.index("Possible duplicates"):]
    assert store.get_request(overlapping).reference in shown
    for rid in (later, elsewhere, other_ssn):
        assert store.get_request(rid).reference not in shown


def test_users_add_asks_for_the_password_on_a_terminal(tmp_path: Path) -> None:
    import os
    import pty
    import subprocess
    import sys
    import time

    settings = web_settings(tmp_path)
    cfg = str(tmp_path / "web.toml")

    def add(name: str, answers: list[str]) -> tuple[int, str]:
        master, slave = pty.openpty()
        # A session of its own: no controlling terminal, so getpass reads the pty on stdin.
        proc = subprocess.Popen([sys.executable, "-m", "intake.cli", "--config", cfg, "users", "add", name,
                                 "--role", "supervisor"], stdin=slave, stdout=slave, stderr=slave,
                                start_new_session=True, cwd=tmp_path)
        os.close(slave)
        out = b""
        deadline = time.monotonic() + 60
        try:
            for prompt, answer in zip((b"password for", b"again:"), answers, strict=True):
                while prompt not in out and time.monotonic() < deadline:
                    out += os.read(master, 4096)
                assert prompt in out, out
                os.write(master, answer.encode() + b"\n")
            code = proc.wait(timeout=60)
            try:
                while chunk := os.read(master, 4096):
                    out += chunk
            except OSError:  # the child closed the terminal
                pass
        finally:
            os.close(master)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        return code, out.decode("utf-8", "replace")

    code, out = add("tina", ["typed-password-1", "typed-password-1"])
    assert code == 0 and "user tina added (supervisor)" in out and "one-time password" not in out
    assert "typed-password-1" not in out  # not echoed
    code, out = add("tom", ["typed-password-1", "another-password"])
    assert code == 2 and "the passwords differ" in out
    store = Store.from_settings(settings)
    users = Users(store)
    try:
        account = users.authenticate("tina", "typed-password-1")
        assert account is not None and account.role == "supervisor" and not account.must_change
        assert users.get("tom") is None
    finally:
        store.dispose()


def test_api_lists_by_state_and_exports_only_approved_requests(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    accepted = seed_request(store, valid_request(seed=91))
    review = seed_request(store, valid_request(seed=92, ssn=BAD_SSN))
    approved = seed_request(store, valid_request(seed=93))
    store.set_request_state(approved, "approved", actor="sam")
    refs = {rid: store.get_request(rid).reference for rid in (accepted, review, approved)}
    c = client_for(settings, store)
    h = {"Authorization": f"Bearer {Users(store).add_token('certificates')}"}

    def listed(**params: object) -> list[str]:
        r = c.get("/api/v1/requests", headers=h, params=params)  # type: ignore[arg-type]
        assert r.status_code == 200, r.text
        return [x["reference"] for x in r.json()]

    assert listed() == [refs[approved]]
    assert listed(state="accepted") == [refs[accepted]]
    assert sorted(listed(state=["accepted", "needs_review"])) == sorted([refs[accepted], refs[review]])
    assert c.get("/api/v1/requests", headers=h, params={"state": "bogus"}).status_code == 422
    fetched = c.get(f"/api/v1/requests/{refs[review]}", headers=h).json()
    assert fetched["state"] == "needs_review" and any(p["field"] == "worker.ssn" for p in fetched["problems"])
    r = c.post(f"/api/v1/requests/{refs[accepted]}/exported", headers=h)
    assert r.status_code == 409 and not any(e.kind == "exported" for e in store.events_of(request_id=accepted))
    assert c.post(f"/api/v1/requests/{refs[approved]}/exported", headers=h).status_code == 200
    assert c.post(f"/api/v1/requests/{refs[approved]}/exported", headers=h).status_code == 200  # idempotent
    exported = [e for e in store.events_of(request_id=approved) if e.kind == "exported"]
    assert [e.actor for e in exported] == ["api:certificates"]  # recorded once, with the token's name
    assert listed(exported="true") == [refs[approved]] and listed(exported="false") == []
    # The defaults: served on this machine only, port 8080.
    assert (Settings().web.host, Settings().web.port) == ("127.0.0.1", 8080)


def test_behind_a_trusted_proxy_its_user_header_wins_over_an_earlier_cookie(tmp_path: Path) -> None:
    settings = web_settings(tmp_path, 'trusted_proxy_user_header = "X-Remote-User"\ntrusted_proxies = ["127.0.0.1"]')
    store = Store.from_settings(settings)
    store.upgrade()
    add_staff(store)
    try:
        rid = seed_request(store, valid_request(seed=95))
        ssn = str(store.get_request(rid).fields["worker"]["ssn"])
        c = client_for(settings, store, PROXY)
        page = c.get(f"/requests/{rid}", headers={"X-Remote-User": "sam"})
        assert page.status_code == 200 and ssn in page.text and "sam (supervisor)" in page.text
        assert "coc_session" in c.cookies
        # The same browser, now a reviewer at the proxy: the supervisor's cookie does not carry over.
        page = c.get(f"/requests/{rid}", headers={"X-Remote-User": "rita"})
        assert page.status_code == 200 and ssn not in page.text and "rita (reviewer)" in page.text
        assert c.post(f"/requests/{rid}/approve", headers={"X-Remote-User": "rita"},
                      data={"csrf_token": csrf_of(page.text)}).status_code == 403
        # A user the proxy vouches for but who is unknown (or disabled) here gets nothing.
        assert c.get("/", headers={"X-Remote-User": "nobody"}).status_code == 303
        Users(store).set_disabled("sam")
        assert client_for(settings, store, PROXY).get("/", headers={"X-Remote-User": "sam"}).status_code == 303
        # Without the header (a direct login), the cookie is the session as usual.
        assert login(client_for(settings, store), "ada").get("/").status_code == 200
    finally:
        store.dispose()


def test_a_mail_with_a_filled_pdf_shows_the_body_as_text_and_the_pdf_pages_with_boxes(
        web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    from intake.extract import extract_submission
    from tests import formgen, mailgen

    settings, store = web_store
    req = valid_request(seed=97)
    raw = mailgen.thunderbird(sender="hr@acme.example.com", to="certificate@localhost", subject="COC request",
                              text="Please find the filled form attached.",
                              attachments=[("coc-request.pdf", formgen.filled_pdf(req), "application/pdf")])
    sid, _ = store.store_submission(Incoming(channel="smtp", raw=raw, sender="hr@acme.example.com",
                                             received_at=datetime.now(UTC)))
    result = extract_submission(raw, channel="email")
    [rec] = store.mark_extracted(sid, result)
    sup = login(client_for(settings, store), "sam")
    page = sup.get(f"/requests/{rec.id}").text
    source = page[page.index('id="source-h"'):page.index('id="fields-h"')]
    assert "Please find the filled form attached." in source and "<pre" in source  # the body as text
    images = re.findall(rf'src="(/requests/{rec.id}/parts/(\d+)/pages/(\d+)\.png)"', source)
    assert images, source[:2000]
    boxes = set(re.findall(r'id="box-([^"]+)"', source))
    assert {"worker.ssn", "worker.last_name", "employer.ein"} <= boxes, boxes
    for url, _, _ in images:
        assert sup.get(url).content.startswith(b"\x89PNG")
    rev = login(client_for(settings, store), "rita")
    # The page the SSN's box is drawn on: the reviewer's image of it differs (the SSN painted over).
    part, pageno = re.findall(r'data-part="(\d+)" data-page="(\d+)"', source[:source.index('id="box-worker.ssn"')])[-1]
    url = f"/requests/{rec.id}/parts/{part}/pages/{pageno}.png"
    assert rev.get(url).content != sup.get(url).content


PUBLIC = {"/login", "/help", "/form.pdf", "/static/review.js", "/static/review.css", "/healthz", "/readyz",
          "/metrics", "/api/openapi.json"}
# The online request form (`[online] enabled`, issue 17): public by design; its confirmation link page
# (`/request/confirm/{token}`) answers 404 for a token never sent (tests/test_online.py).
PUBLIC |= {"/request", "/request/batch", "/request/batch/template.csv", "/static/online.js", "/static/online.css"}
PUBLIC_LINKS = {"/request/confirm/{token}"}


def test_every_page_but_the_public_ones_needs_a_login(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    rid = seed_request(store, valid_request(seed=99))
    sid = store.get_request(rid).submission_id
    app = create_app(settings, store)
    c = client_for(settings, store)
    pages = sorted({r.path for r in app.routes if isinstance(r, APIRoute) and r.methods & {"GET"}}
                   - PUBLIC - PUBLIC_LINKS)
    assert "/" in pages and "/requests/{rid}" in pages and "/users" in pages
    for path in pages:
        url = (path.replace("{rid}", str(rid)).replace("{sid}", str(sid)).replace("{part}", "0")
               .replace("{pageno}", "1").replace("{reference}", store.get_request(rid).reference))
        r = c.get(url)
        if path.startswith("/api/"):
            assert r.status_code == 401, path
        else:
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), (path, r.status_code)
    for path in sorted(PUBLIC):
        assert c.get(path).status_code in (200, 503), path  # readyz: 503 is an answer too


def test_an_ssn_typed_into_a_reason_or_another_field_is_masked_in_the_stored_trail(
        web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    from sqlalchemy import text

    settings, store = web_store
    req = valid_request(seed=101)
    ssn = str(req["worker"]["ssn"])
    digits = re.sub(r"\D", "", ssn)
    rid = seed_request(store, req, state="needs_review")
    aside = seed_request(store, valid_request(seed=102), state="needs_review")
    sam = login(client_for(settings, store), "sam")
    token = csrf_of(sam.get(f"/requests/{rid}").text)
    assert sam.post(f"/requests/{rid}/save", data={"csrf_token": token, "f:worker.foreign_id": digits}
                    ).status_code == 303
    assert sam.post(f"/requests/{rid}/reject", data={"csrf_token": token,
                                                      "reason": f"SSN {ssn} belongs to someone else."}
                    ).status_code == 303
    assert sam.post(f"/requests/{aside}/not-a-request", data={"csrf_token": token, "reason": f"spam about {ssn}"}
                    ).status_code == 303
    with store.engine.connect() as conn:
        stored = " ".join(f"{o or ''} {n or ''}" for o, n in conn.execute(text("SELECT old, new FROM events")))
    assert ssn not in stored and digits not in stored
    assert f"SSN ***-**-{digits[-4:]} belongs to someone else." in stored
    assert f"***-**-{digits[-4:]}" in [e.new for e in store.events_of(request_id=rid) if e.field == "worker.foreign_id"]
    [rejected] = [o for o in store.replies_of_request(rid) if o.kind == "rejected"]
    assert ssn not in body_of(rejected.message) and "belongs to someone else" in body_of(rejected.message)


def test_passwords_are_argon2_hashes_and_sessions_and_tokens_are_stored_hashed(
        web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    from sqlalchemy import text

    from tests.browser import PASSWORDS

    settings, store = web_store
    c = login(client_for(settings, store), "sam")
    cookie = c.cookies["coc_session"]
    api = Users(store).add_token("certificates")
    with store.engine.connect() as conn:
        hashes = dict(conn.execute(text("SELECT name, password_hash FROM users")).all())
        sessions = [str(r[0]) for r in conn.execute(text("SELECT token_hash FROM web_sessions"))]
        tokens = [str(r[0]) for r in conn.execute(text("SELECT token_hash FROM api_tokens"))]
    assert set(hashes) == set(PASSWORDS)
    for name, stored in hashes.items():
        assert stored.startswith("$argon2id$") and PASSWORDS[name] not in stored
    assert sessions and cookie not in sessions and all(len(s) == 64 for s in sessions)
    assert tokens and api not in tokens


def test_the_trail_shows_a_zip_plus_4_as_it_is_and_reviewers_see_no_ssn_however_it_is_written(
        web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    from parsers.pii import mask_ssns

    settings, store = web_store
    rid = seed_request(store, valid_request(seed=103), state="needs_review")
    c = login(client_for(settings, store), "sam")
    token = csrf_of(c.get(f"/requests/{rid}").text)
    assert c.post(f"/requests/{rid}/save", data={"csrf_token": token, "f:employer.address.postal_code": "83702-1234"}
                  ).status_code == 303
    trail = c.get(f"/requests/{rid}").text.split("Audit trail", 1)[1]
    assert "83702-1234" in trail and "***-**-1234" not in trail  # a postal code, not an SSN
    # SSNs in a mail body written the ways the parsers read them: masked for a reviewer, whole for a supervisor.
    written = ["123.45.6789", "123-45 6789", "123 45-6789", "123456789", "123-45-6789"]
    body = "".join(f"SSN {w} ZIP 83702-1234\n" for w in written)
    raw = f"From: hr@acme.example.com\r\nSubject: x\r\n\r\n{body}".encode()
    other = seed_request(store, valid_request(seed=104), raw=raw,
                         parts=[{"name": "body", "media_type": "text/plain", "pages": 0, "text": body}])
    rita = login(client_for(settings, store), "rita").get(f"/requests/{other}").text
    sam = c.get(f"/requests/{other}").text
    for w in written:
        assert w not in rita and w in sam, w
    assert rita.count("***-**-6789") >= len(written) and "83702-1234" in rita
    assert mask_ssns("83702-1234 and 12345-6789") == "83702-1234 and 12345-6789"


def test_a_reviewer_sees_no_ssn_box_of_any_request_on_a_shared_fax_page(
        web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    import io
    import random as _random

    import numpy as np
    from PIL import Image

    from tests import faxgen

    settings, store = web_store
    tiff = faxgen.tiff_bytes(faxgen.fax_request(valid_request(seed=105), _random.Random(5), "fine"))
    sid, _ = store.store_submission(Incoming(channel="fax", raw=tiff, sender="+12085550142",
                                             received_at=datetime.now(UTC)))
    boxes = [{"x0": 0.1, "y0": 0.1, "x1": 0.5, "y1": 0.2}, {"x0": 0.1, "y0": 0.6, "x1": 0.5, "y1": 0.7}]
    items = []
    for seed, box in zip((105, 106), boxes, strict=True):
        request, problems = check({k: v for k, v in flat_values(valid_request(seed=seed)).items() if v})
        items.append({"request": request.model_dump(mode="json"),
                      "problems": [p.model_dump(mode="json") for p in problems], "confidence": {}, "status": "valid",
                      "provenance": {"worker.ssn": {"part": "fax", "page": 1, "box": box, "method": "ocr"}}})
    first, _second = store.mark_extracted(sid, submission_result(
        items, [{"name": "fax", "media_type": "image/tiff", "pages": 1}]))
    url = f"/requests/{first.id}/parts/0/pages/1.png"

    def mean(png: bytes, box: dict[str, float]) -> float:
        im = Image.open(io.BytesIO(png)).convert("L")
        w, h = im.size
        crop = im.crop((int((box["x0"] + 0.02) * w), int((box["y0"] + 0.02) * h),
                        int((box["x1"] - 0.02) * w), int((box["y1"] - 0.02) * h)))
        return float(np.asarray(crop).mean())

    sup = login(client_for(settings, store), "sam").get(url).content
    rev = login(client_for(settings, store), "rita").get(url).content
    for box in boxes:  # this request's SSN and the other worker's on the same page
        assert mean(rev, box) < 60 < mean(sup, box), box


def test_a_document_with_an_ssn_that_has_no_box_is_shown_to_supervisors_only(
        web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    import random as _random

    from intake.extract import extract_submission
    from tests import faxgen

    settings, store = web_store
    # A faxed form read by Tesseract for real: one SSN, read with its box: reviewers see the page.
    req = valid_request(seed=107)
    tiff = faxgen.tiff_bytes(faxgen.fax_request(req, _random.Random(7), "fine"))
    sid, _ = store.store_submission(Incoming(channel="fax", raw=tiff, sender="+12085550142",
                                             received_at=datetime.now(UTC), fax_filename="fax.tif"))
    result = extract_submission(tiff, channel="fax", filename="fax.tif")
    [rec] = store.mark_extracted(sid, result)
    assert (rec.provenance.get("worker.ssn") or {}).get("box"), rec.provenance.get("worker.ssn")
    rita = login(client_for(settings, store), "rita")
    assert rita.get(f"/requests/{rec.id}/parts/0/pages/1.png").content.startswith(b"\x89PNG")
    assert 'class="locked"' not in rita.get(f"/requests/{rec.id}").text
    # The same page whose text names a second SSN (a covering letter quoting it) with no box for it.
    text = str(result.parts[0].text if result.parts else "") + f"\nRe: SSN {req['worker']['ssn']}\n"
    sid2, _ = store.store_submission(Incoming(channel="fax", raw=tiff + b"\x00", sender="+12085550142",
                                              received_at=datetime.now(UTC), fax_filename="fax2.tif"))
    parts = [dict(p.model_dump(mode="json"), text=text) for p in result.parts]
    [rec2] = store.mark_extracted(sid2, submission_result(result.requests[:1], parts))
    url = f"/requests/{rec2.id}/parts/0/pages/1.png"
    assert rita.get(url).status_code == 403
    page = rita.get(f"/requests/{rec2.id}").text
    assert 'class="locked"' in page and url not in page
    sam = login(client_for(settings, store), "sam")
    assert sam.get(url).content.startswith(b"\x89PNG") and url in sam.get(f"/requests/{rec2.id}").text
