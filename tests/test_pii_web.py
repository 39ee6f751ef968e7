"""Every string from a sender that a reviewer sees, or that is kept in clear, is masked (issue 11,
item 2): attachment names in the request page's headings and image alt texts, failure reasons in
the audit trail and on the submission page, values read into other fields; and an image part
whose text holds an SSN without a box is not shown to a reviewer, in whatever shape it is written."""

from __future__ import annotations

import io
import sqlite3
from email.message import EmailMessage

from PIL import Image

from intake.settings import Settings
from intake.store import Store
from tests.browser import seed_request, valid_request, web_store  # noqa: F401
from tests.pii_scan import fake_ssns, found
from tests.test_web import client_for, csrf_of, login


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (200, 260), 255).save(buf, format="PNG")
    return buf.getvalue()


def _mail(attachment_name: str, body: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "hr@acme.example.com"
    msg["To"] = "certificate@localhost"
    msg["Subject"] = "Certificate request"
    msg["Message-ID"] = "<pii-web@acme.example.com>"
    msg.set_content(body)
    msg.add_attachment(_png(), maintype="image", subtype="png", filename=attachment_name)
    return msg.as_bytes()


def test_a_reviewer_sees_no_ssn_in_attachment_names_alt_texts_reasons_or_values(
        web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    stored, in_name, in_body, in_scan, in_address = fake_ssns(5, seed=211)
    name = f"Jane Roe SSN {in_name[:3]}\u2013{in_name[3:5]}\u2013{in_name[5:]}.png"
    body = f"Please find the request. SSN {in_body[:3]} / {in_body[3:5]} / {in_body[5:]}\n"
    # The scan's text names an SSN with no box read for it (a covering letter quoting it).
    scan_text = f"Re: worker {in_scan[:3]}_{in_scan[3:5]}_{in_scan[5:]}"
    street = f"Suite {in_address[:3]} {in_address[3:5]} {in_address[5:]}, 1 Main Street"
    req = valid_request(seed=211, ssn=f"{stored[:3]}-{stored[3:5]}-{stored[5:]}",
                        changes={"employer.address.street": street})
    rid = seed_request(store, req, raw=_mail(name, body), state="needs_review", parts=[
        {"name": "body", "media_type": "text/plain", "pages": 0, "text": body},
        {"name": name, "media_type": "image/png", "pages": 1, "text": scan_text}])
    rec = store.get_request(rid)
    store.add_event(submission_id=rec.submission_id, request_id=rid, actor="pipeline", kind="reason",
                    field="reason", new=f"{name} could not be read")

    rita = login(client_for(settings, store), "rita")
    sam = login(client_for(settings, store), "sam")
    pages = {url: rita.get(url) for url in ("/", f"/requests/{rid}", f"/submissions/{rec.submission_id}")}
    for url, resp in pages.items():
        assert resp.status_code == 200, url
        for d in (stored, in_name, in_body, in_scan, in_address):
            assert not found(d, resp.text), (url, d)
    page = pages[f"/requests/{rid}"].text
    assert f"Jane Roe SSN ***-**-{in_name[5:]}.png" in page  # the heading, masked
    assert 'class="locked"' in page  # the scan's text holds an SSN with no box
    assert rita.get(f"/requests/{rid}/parts/1/pages/1.png").status_code == 403
    # A supervisor sees them all, so the page did show what the reviewer got masked.
    full = sam.get(f"/requests/{rid}").text
    assert all(found(d, full) for d in (in_name, in_body, in_address))  # a scan shows its image, not its text
    # Sending the form back as shown keeps the stored values (a masked value is not a correction).
    form = {"csrf_token": csrf_of(page), "f:employer.address.street": f"***-**-{in_address[5:]}".join(
        street.split(f"{in_address[:3]} {in_address[3:5]} {in_address[5:]}")),
        "f:worker.ssn": f"***-**-{stored[5:]}"}
    assert rita.post(f"/requests/{rid}/save", data=form).status_code == 303
    fields = store.get_request(rid).fields
    assert fields["employer"]["address"]["street"] == street
    assert fields["worker"]["ssn"] == req["worker"]["ssn"]


def test_clear_columns_keep_no_ssn_a_sender_wrote(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    in_reason, in_name, in_verdict = fake_ssns(3, seed=212)
    last_name = f"Roe {in_name[:3]}\u2014{in_name[3:5]}\u2014{in_name[5:]}"
    req = valid_request(seed=212, changes={"worker.last_name": last_name})
    rid = seed_request(store, req, state="needs_review")
    sid = store.get_request(rid).submission_id
    store.add_event(submission_id=sid, actor="pipeline", kind="reason", field="reason",
                    old=f"{in_reason[:3]} - {in_reason[3:5]} - {in_reason[5:]}.pdf", new=f"file {in_reason}.pdf")
    store.record_sender_auth(sid, {"verified": False, "reason": f"From {in_verdict[:3]}/{in_verdict[3:5]}/"
                                                                 f"{in_verdict[5:]}@acme.example.com not aligned"})
    store.mark_failed(sid, f"{in_reason[:3]}.{in_reason[3:5]}.{in_reason[5:]}.pdf could not be read")
    db = settings.store.url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as con:
        rows = [r for t in ("events", "submissions", "requests") for r in con.execute(f"SELECT * FROM {t}")]
    text = "\n".join(str(c) for row in rows for c in row if isinstance(c, str))
    for d in (in_reason, in_name, in_verdict):
        assert not found(d, text), d
    assert f"***-**-{in_reason[5:]}" in text and f"***-**-{in_name[5:]}" in text


def test_the_page_mask_keeps_tokens_and_markup_and_spares_supervisors() -> None:
    from dataclasses import dataclass

    from markupsafe import Markup

    from intake.web.masking import finalize, rendering_for

    @dataclass
    class Viewer:
        sees_full_ssn: bool

    [ssn] = fake_ssns(1, seed=213)
    token = f"Zq{ssn}xY"  # a random CSRF token may hold nine digits in a row
    with rendering_for(Viewer(False), keep=(token,)):
        assert finalize(token) == token
        assert finalize(f"name {ssn}.pdf") == f"name ***-**-{ssn[5:]}.pdf"
        escaped = finalize(Markup(f"&lt;b&gt; {ssn[:3]}\u2013{ssn[3:5]}\u2013{ssn[5:]} &amp;"))  # autoescaped text
        assert isinstance(escaped, Markup) and not found(ssn, escaped.unescape()), escaped
        assert finalize(42) == 42
    with rendering_for(Viewer(True)):
        assert finalize(f"name {ssn}.pdf") == f"name {ssn}.pdf"
    assert finalize(f"name {ssn}.pdf") == f"name ***-**-{ssn[5:]}.pdf"  # outside a page: masked
