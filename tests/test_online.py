"""The online request form (`/request`, issue 17) over HTTP: the real app, store and pipeline stages.

The browser tests (keyboard, JavaScript on and off, axe) are in tests/test_online_browser.py; here
every rule that needs no browser: the shared field list, the parser, storing before answering,
checks on the server, batches, confirmation links, and the abuse limits.
"""

from __future__ import annotations

import csv
import io
import logging
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from intake.form import editions, form_paths
from intake.online_fields import field_paths, sections
from intake.pipeline import Context, queue_acknowledgement
from intake.settings import Settings
from intake.store import Store
from intake.web.app import create_app
from intake.web.review import approve, flat_values
from intake.web.users import Users
from parsers.types import Part
from parsers.web_form import MEDIA_TYPE, encode, parse_web_form
from tests.browser import add_staff, web_settings
from tests.synth import flat, make_request

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
REFERENCE = re.compile(r'class="reference">([A-Z]+-\d{4}-\d{6,})<')


def good_values(seed: int = 7, kind: str = "employee") -> dict[str, str]:
    req = make_request(random.Random(seed), kind=kind, country="DE")
    values = flat(req)
    return {k: v for k, v in values.items() if k in field_paths(kind)}


@pytest.fixture
def online(tmp_path: Path) -> Iterator[tuple[Settings, Store, TestClient]]:
    settings = web_settings(tmp_path, "[online]\nsubmissions_per_hour = 5\nchecks_per_hour = 40\n"
                                      "max_upload_bytes = 200000\nmax_form_bytes = 20000\n")
    store = Store.from_settings(settings)
    store.upgrade()
    add_staff(store)
    client = TestClient(create_app(settings, store))
    try:
        yield settings, store, client
    finally:
        store.dispose()


def csrf_of(client: TestClient, path: str = "/request?type=employee") -> str:
    page = client.get(path)
    assert page.status_code == 200
    found = CSRF.search(page.text)
    assert found
    return found.group(1)


def post_form(client: TestClient, values: dict[str, str], **extra: str) -> Any:
    token = csrf_of(client)
    return client.post("/request", data={"csrf_token": token, "request_type": "employee", **values, **extra})


# -- one field list, one edition ------------------------------------------------------------------


def test_the_page_has_every_field_of_the_pdf_form_under_its_heading_and_names_the_edition(online: Any) -> None:
    _, _, client = online
    on_pages = set(field_paths("employee")) | set(field_paths("self_employed"))
    generic = {p if not p.startswith("dependents") else "dependents[]." + p.split(".", 1)[1] for p in on_pages}
    assert generic == form_paths(), "the page and the PDF form must share one field list"
    titles = [s.title for s in sections("employee")]
    assert titles[:3] == ["Worker (as on the Social Security card)", "Employer in the U.S.", "Assignment abroad"]
    assert not any(f.path.startswith("employer.") for s in sections("self_employed") for f in s.fields)
    page = client.get("/request?type=employee").text
    ed = editions().current
    assert f"Form {ed.label}, issued {ed.issued:%B %-d, %Y}" in page
    # Help beside each field, typed controls, the SSN masked.
    assert 'type="password" id="f-worker-ssn"' in page
    assert 'type="date" id="f-assignment-start_date"' in page
    assert '<select id="f-assignment-country"' in page and '<option value="DE">Germany</option>' in page
    assert 'id="f-assignment-hired_in_us-yes"' in page
    assert "It must be the number on their Social Security card" in page
    assert "worker.business" not in page  # only the chosen type's fields
    start = client.get("/request").text
    assert 'name="type" value="self_employed"' in start and "f-worker-ssn" not in start


def test_the_parser_reads_the_submitted_form_as_form_fields_of_confidence_1() -> None:
    values = good_values(3)
    raw = encode(values, edition=editions().current.label)
    ext = parse_web_form(Part(name="web form", media_type=MEDIA_TYPE, data=raw))
    assert len(ext.records) == 1 and ext.form_edition == editions().current.label
    got = {c.field: c for c in ext.records[0]}
    assert {k: got[k].value for k in values} == values
    assert all(c.confidence == 1.0 and c.provenance.method == "form" for c in got.values())
    batch = encode({"request_type": "employee", "employer.name": "Acme"},
                   [{"worker.last_name": "One"}, {"worker.last_name": "Two"}], edition="COC-1 (2026-11)")
    ext = parse_web_form(Part(name="web form", media_type=MEDIA_TYPE, data=batch))
    assert [sorted(c.field for c in r) for r in ext.records] == [["employer.name", "request_type",
                                                                 "worker.last_name"]] * 2


# -- submitting ---------------------------------------------------------------------------------


def test_a_valid_form_is_stored_sealed_before_the_answer_which_shows_its_reference(online: Any) -> None:
    settings, store, client = online
    values = good_values(11)
    answer = post_form(client, values)
    assert answer.status_code == 200, answer.text[:2000]
    refs = REFERENCE.findall(answer.text)
    assert len(refs) == 1
    rec = store.find_request(refs[0])
    assert rec is not None and rec.state == "accepted" and rec.problems == []
    sub = store.get_submission(rec.submission_id)
    assert sub.channel == "web" and sub.state == "extracted"
    stored = flat_values(rec.fields)
    assert all(stored[k] == v for k, v in values.items()), "the request holds what was typed"
    assert (rec.provenance["worker.ssn"]["method"], rec.confidence["worker.ssn"]) == ("form", 1.0)
    with store.engine.connect() as conn:  # sealed like every submission: no SSN in the raw column
        raw = conn.execute(text("SELECT raw FROM submissions WHERE id = :i"), {"i": sub.id}).scalar()
    assert values["worker.ssn"].encode() not in bytes(raw) and b"worker.ssn" not in bytes(raw)
    assert b"worker.ssn=" + values["worker.ssn"].encode() in sub.raw  # the raw content is the submitted form
    # The same form sent twice (a reload) is one submission, and shows the same reference.
    again = post_form(client, values)
    assert REFERENCE.findall(again.text) == refs
    # The pipeline's reply stage sends the acknowledgement to the contact address: references, no names.
    ctx = Context(store=store, settings=settings, pool=None)  # type: ignore[arg-type]
    assert queue_acknowledgement(ctx, sub)
    [ack] = [o for o in store.replies_of(sub.id) if o.kind == "received"]
    assert ack.recipient == values["employer.contact_email"]
    body = ack.message.decode()
    assert refs[0] in body and values["worker.last_name"] not in body and values["worker.ssn"][-4:] not in body


def test_server_side_check_returns_the_form_with_problems_beside_the_fields(online: Any) -> None:
    _, store, client = online
    values = good_values(12)
    bad = dict(values, **{"employer.ein": "12-345678", "worker.ssn": "912-34-5678",
                          "assignment.end_date": "2020-01-01"})
    answer = post_form(client, bad)
    assert answer.status_code == 422
    page = answer.text
    for path, words in (("employer.ein", "must be 9 digits"),
                        ("worker.ssn", "no Social Security number starts with 912"),
                        ("assignment.end_date", "end date must be after the start date")):
        block = re.search(rf'<ul class="problems" id="[^"]+" data-path="{re.escape(path)}">(.*?)</ul>', page, re.S)
        assert block and words in block.group(1), path
    assert 'value="912-34-5678"' in page  # typed back into the requester's own masked input
    assert 'value="' + values["worker.last_name"] + '"' in page
    assert store.queue() == [], "nothing is stored while problems remain"


def test_the_check_as_typed_is_the_review_check(online: Any) -> None:
    _, _, client = online
    token = csrf_of(client)
    values = dict(good_values(13), **{"employer.ein": "12-345678"})
    got = client.post("/request/check", data={"csrf_token": token, "request_type": "employee", **values}).json()
    assert [(p["field"], p["code"]) for p in got["problems"]] == [("employer.ein", "invalid")]
    assert got["blocking"] == 1


# -- batches ------------------------------------------------------------------------------------


def batch_csv(n: int, bad_row: int | None = None) -> bytes:
    out = io.StringIO()
    columns = [p for p in field_paths("employee") if not p.startswith(("employer.", "request_type"))]
    writer = csv.writer(out)
    writer.writerow(columns)
    for i in range(n):
        values = good_values(1000 + i)
        if i == bad_row:
            values["worker.ssn"] = "666" + values["worker.ssn"][3:]
        writer.writerow([values.get(c, "") for c in columns])
    return out.getvalue().encode()


def test_a_batch_of_50_workers_is_checked_row_by_row_and_gives_50_requests(online: Any) -> None:
    _, store, client = online
    employer = {k: v for k, v in good_values(1).items() if k.startswith("employer.")}
    token = csrf_of(client, "/request/batch")
    shown = client.post("/request/batch/check", data={"csrf_token": token, **employer},
                        files={"file": ("workers.csv", batch_csv(50, bad_row=7), "text/csv")})
    assert shown.status_code == 422
    assert 'data-line="9"' in shown.text and "starts with 666" in shown.text
    assert "submit-batch" not in shown.text and store.queue() == []
    shown = client.post("/request/batch/check", data={"csrf_token": token, **employer},
                        files={"file": ("workers.csv", batch_csv(50), "text/csv")})
    assert shown.status_code == 200, re.findall(r"<li>(.*?)</li>", shown.text)[:5]
    assert "50 row(s) read" in shown.text
    batch = re.search(r'name="batch" value="([^"]+)"', shown.text)
    assert batch
    done = client.post("/request/batch/submit", data={"csrf_token": token, "batch": batch.group(1)})
    assert done.status_code == 200
    refs = REFERENCE.findall(done.text)
    assert len(refs) == 50 and len(set(refs)) == 50
    recs = [store.find_request(r) for r in refs]
    assert all(r is not None and r.state == "accepted" for r in recs)
    assert {r.employer_name for r in recs if r} == {employer["employer.name"]}
    # The batch token is used up: sending it again stores nothing more.
    again = client.post("/request/batch/submit", data={"csrf_token": token, "batch": batch.group(1)})
    assert again.status_code == 410 and len(store.queue(limit=500)) == 50


# -- confirmation address -----------------------------------------------------------------------


def test_the_approval_confirmation_goes_only_to_an_address_that_followed_its_link(online: Any) -> None:
    settings, store, client = online
    users = Users(store)
    sam = users.get("sam")
    assert sam is not None
    values = dict(good_values(21), confirmation_email="boss@elsewhere.example.org")
    ref = REFERENCE.findall(post_form(client, values).text)[0]
    rec = store.find_request(ref)
    assert rec is not None
    [link_mail] = [o for o in store.replies_of(rec.submission_id) if o.kind == "confirm_address"]
    body = link_mail.message.decode()
    assert link_mail.recipient == "boss@elsewhere.example.org"
    assert values["worker.last_name"] not in body and values["worker.ssn"][-4:] not in body and ref not in body
    link = re.search(r"http://\S+/request/confirm/(\S+)", body)
    assert link
    # Not followed: approval sends nothing there.
    settings.review.four_eyes = False
    approve(store, settings, rec, sam)
    assert not [o for o in store.replies_of(rec.submission_id) if o.kind == "approved"]
    # A second request whose link is followed (GET shows a button; only the POST confirms).
    values2 = dict(good_values(22), confirmation_email="boss@elsewhere.example.org")
    rec2 = store.find_request(REFERENCE.findall(post_form(client, values2).text)[0])
    assert rec2 is not None
    mail2 = next(o for o in store.replies_of(rec2.submission_id) if o.kind == "confirm_address")
    token2 = re.search(r"/request/confirm/(\S+)", mail2.message.decode())
    assert token2
    page = client.get(f"/request/confirm/{token2.group(1)}")
    assert page.status_code == 200 and 'id="confirm"' in page.text
    approve(store, settings, rec2, sam)  # still not confirmed: a GET proves nothing
    assert not [o for o in store.replies_of(rec2.submission_id) if o.kind == "approved"]
    rec3 = store.find_request(REFERENCE.findall(post_form(client, dict(good_values(23),
                                                 confirmation_email="x@elsewhere.example.org")).text)[0])
    assert rec3 is not None
    mail3 = next(o for o in store.replies_of(rec3.submission_id) if o.kind == "confirm_address")
    token3 = re.search(r"/request/confirm/(\S+)", mail3.message.decode())
    assert token3
    form_token = CSRF.search(client.get(f"/request/confirm/{token3.group(1)}").text)
    assert form_token
    done = client.post(f"/request/confirm/{token3.group(1)}", data={"csrf_token": form_token.group(1)})
    assert done.status_code == 200 and "confirmed" in done.text
    approve(store, settings, rec3, sam)
    [approved] = [o for o in store.replies_of(rec3.submission_id) if o.kind == "approved"]
    assert approved.recipient == "x@elsewhere.example.org"
    assert client.get("/request/confirm/not-a-token").status_code == 404


# -- abuse --------------------------------------------------------------------------------------


def test_a_post_without_the_forms_csrf_token_is_refused(online: Any) -> None:
    _, store, client = online
    csrf_of(client)
    values = good_values(31)
    assert client.post("/request", data={"request_type": "employee", **values}).status_code == 403
    assert client.post("/request", data={"csrf_token": "forged", "request_type": "employee",
                                         **values}).status_code == 403
    other = TestClient(client.app)  # another browser: its cookie, not this one's
    assert other.post("/request", data={"csrf_token": csrf_of(client), "request_type": "employee",
                                        **values}).status_code == 403
    assert client.post("/request/check", data={"request_type": "employee"}).status_code == 403
    assert store.queue() == []


def test_the_honeypot_field_stores_nothing(online: Any) -> None:
    _, store, client = online
    answer = post_form(client, good_values(32), website="http://spam.example.com")
    assert answer.status_code == 400 and not REFERENCE.findall(answer.text)
    assert store.queue() == []


def test_submissions_and_checks_are_limited_per_address(online: Any) -> None:
    _, store, client = online
    for i in range(5):
        assert post_form(client, good_values(40 + i)).status_code == 200
    refused = post_form(client, good_values(50))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert len(store.queue()) == 5
    token = csrf_of(client)
    codes = [client.post("/request/check", data={"csrf_token": token, "request_type": "employee"}).status_code
             for _ in range(45)]
    assert codes.count(200) <= 40 and codes[-1] == 429


def test_size_limits_per_post_per_field_and_per_upload(online: Any) -> None:
    _, store, client = online
    values = good_values(60)
    assert post_form(client, values, **{"employer.name": "x" * 30_000}).status_code == 413
    long_name = post_form(client, dict(values, **{"employer.name": "A" * 400}))
    assert long_name.status_code == 422 and "over the" in long_name.text and "300 allowed" in long_name.text
    token = csrf_of(client, "/request/batch")
    big = client.post("/request/batch/check", data={"csrf_token": token},
                      files={"file": ("w.csv", b"a,b\n" * 60_000, "text/csv")})
    assert big.status_code == 413
    assert store.queue() == []
    assert 'maxlength="300"' in client.get("/request?type=employee").text


def test_security_headers_and_no_personal_data_in_urls_or_logs(online: Any, caplog: pytest.LogCaptureFixture) -> None:
    _, _, client = online
    caplog.set_level(logging.DEBUG)
    values = good_values(70)
    answer = post_form(client, values)
    assert answer.status_code == 200
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
        assert name in answer.headers
    assert answer.headers["Cache-Control"] == "no-store"
    assert "samesite=strict" in answer.headers["set-cookie"].lower()
    page = client.get("/request?type=employee").text
    assert 'method="post" action="/request"' in page and 'method="get"' not in page
    assert str(answer.url).endswith("/request")  # answered in place: nothing personal in an address
    logged = caplog.text
    for secret in (values["worker.ssn"], values["worker.last_name"], values["employer.contact_email"]):
        assert secret not in logged


def test_a_self_employed_request_and_an_xlsx_batch(online: Any) -> None:
    from openpyxl import Workbook

    settings, store, client = online
    own = good_values(80, kind="self_employed")
    token = csrf_of(client, "/request?type=self_employed")
    page = client.get("/request?type=self_employed").text
    assert "f-worker-business" in page and "f-employer-name" not in page
    answer = client.post("/request", data={"csrf_token": token, "request_type": "self_employed", **own})
    assert answer.status_code == 200, re.findall(r"<li>(.*?)</li>", answer.text)[:5]
    rec = store.find_request(REFERENCE.findall(answer.text)[0])
    assert rec is not None and rec.state == "accepted"
    ctx = Context(store=store, settings=settings, pool=None)  # type: ignore[arg-type]
    assert queue_acknowledgement(ctx, store.get_submission(rec.submission_id))
    [ack] = [o for o in store.replies_of(rec.submission_id) if o.kind == "received"]
    assert ack.recipient == own["worker.email"]
    # The same workers as an XLSX file.
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    columns = [p for p in field_paths("employee") if not p.startswith(("employer.", "request_type"))]
    sheet.append(columns)
    for i in range(3):
        row = good_values(2000 + i)
        sheet.append([row.get(c, "") for c in columns])
    data = io.BytesIO()
    book.save(data)
    employer = {k: v for k, v in good_values(2).items() if k.startswith("employer.")}
    token = csrf_of(client, "/request/batch")
    shown = client.post("/request/batch/check", data={"csrf_token": token, **employer},
                        files={"file": ("workers.xlsx", data.getvalue(), "application/octet-stream")})
    assert shown.status_code == 200 and "3 row(s) read" in shown.text
