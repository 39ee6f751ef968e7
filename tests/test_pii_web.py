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
        rows = [r for t in ("events", "submissions", "requests") for r in con.execute(f"SELECT * FROM {t}")]  # noqa: S608
    text = "\n".join(str(c) for row in rows for c in row if isinstance(c, str))
    for d in (in_reason, in_name, in_verdict):
        assert not found(d, text), d
    assert f"***-**-{in_reason[5:]}" in text and f"***-**-{in_name[5:]}" in text
