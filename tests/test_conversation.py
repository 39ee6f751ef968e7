"""The conversation on the real store and extraction pool: an answer completes the request it answers.

A request lacking three fields gets *information needed*; the answer, written as Thunderbird,
Outlook, Gmail and Apple Mail write replies (quoted below or above, plain or HTML-only), is read
for its new text only and merged into the same request, which ends `accepted` with one reference
and one *received* reply. Answers from elsewhere are held; a complete request is not changed.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from intake import conversation as conv
from intake.pipeline import Context, extract_stage, reply_stage
from intake.store import Incoming
from intake.store.store import RequestRecord
from parsers import reply as reply_text
from tests import convgen, docgen, mailgen
from tests.store_fixtures import stage_context
from tests.synth import make_request

SENDER = "hr@acme.example.com"
TRUST_OFF = "[trust]\nflag_unverified = false\n"


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Context:
    c = stage_context(tmp_path_factory.mktemp("conv"), TRUST_OFF)
    yield c
    c.store.dispose()


def _deliver(ctx: Context, raw: bytes, sender: str = SENDER, channel: str = "smtp") -> int:
    sid, created = ctx.store.store_submission(Incoming(channel=channel, raw=raw, sender=sender,  # type: ignore[arg-type]
                                                       received_at=datetime.now(UTC)))
    assert created
    assert extract_stage(ctx, sid)
    reply_stage(ctx, sid)
    return sid


def _asked(ctx: Context, seed: int, sender: str = SENDER) -> tuple[dict, RequestRecord, bytes, list[str]]:
    req, raw, answer_lines = convgen.incomplete_request(random.Random(seed), sender)
    sid = _deliver(ctx, raw, sender)
    (rec,) = ctx.store.requests_of(sid)
    assert rec.state == "needs_review"
    missing = {p.field for p in rec.problems if p.code == "missing"}
    assert set(convgen.DROPPED.values()) <= missing, rec.problems
    (ours,) = ctx.store.replies_of(sid)
    assert ours.kind == "incomplete" and ours.message_id and ours.message_id in ours.message.decode()
    return req, rec, ours.message, answer_lines


def _subject(message: bytes) -> str:
    return str(message_from_bytes(message, policy=default_policy)["Subject"])


def _check_completed(ctx: Context, req: dict, rec: RequestRecord, answer_sid: int) -> None:
    after = ctx.store.get_request(rec.id)
    assert after.fields["worker"]["date_of_birth"] == req["worker"]["date_of_birth"]
    assert after.fields["employer"]["ein"] == req["employer"]["ein"]
    assert after.fields["assignment"]["end_date"] == req["assignment"]["end_date"]
    assert after.state == "accepted", after.problems
    assert after.reference == rec.reference
    assert after.provenance["employer.ein"]["part"].startswith(f"answer {answer_sid}")
    assert ctx.store.requests_of(answer_sid) == []  # the answer is no request of its own
    (link,) = ctx.store.answered_by(answer_sid)
    assert link.request_id == rec.id and link.outcome == "merged"
    (reply,) = ctx.store.replies_of(answer_sid)
    assert reply.kind == "received"
    subject = _subject(reply.message)
    assert subject.count(rec.reference) == 1 and len(re.findall(r"COC-\d{4}-\d+", subject)) == 1, subject
    assert ctx.store.get_submission(answer_sid).state == "done"
    kinds = [e.kind for e in ctx.store.events_of(request_id=rec.id)]
    assert "answer_merged" in kinds and kinds.count("answer_value") == 3


@pytest.mark.parametrize("style", convgen.STYLES)
def test_an_answer_in_each_clients_format_completes_the_request(ctx: Context, style: str) -> None:
    req, rec, ours, lines = _asked(ctx, 100 + convgen.STYLES.index(style))
    sid = _deliver(ctx, convgen.answer(ours, lines, style=style, sender=SENDER))
    _check_completed(ctx, req, rec, sid)


def test_a_fresh_mail_naming_only_the_reference_completes_it(ctx: Context) -> None:
    req, rec, _ours, lines = _asked(ctx, 200)
    sid = _deliver(ctx, convgen.fresh_mail(rec.reference, lines, sender="payroll@acme.example.com"),
                   sender="payroll@acme.example.com")
    _check_completed(ctx, req, rec, sid)
    assert ctx.store.answered_by(sid)[0].matched_by == "body"


def test_the_completed_form_attached_to_the_answer_is_read_into_the_request(ctx: Context) -> None:
    req, rec, ours, _lines = _asked(ctx, 201)
    pdf = docgen.acroform_pdf(req, "model")
    raw = convgen.answer(ours, ["Our completed form is attached."], style="outlook", sender=SENDER,
                         attachments=[("form.pdf", pdf, "application/pdf")])
    sid = _deliver(ctx, raw)
    _check_completed_by_form(ctx, req, rec, sid)


def _check_completed_by_form(ctx: Context, req: dict, rec: RequestRecord, sid: int) -> None:
    after = ctx.store.get_request(rec.id)
    assert after.fields["employer"]["ein"] == req["employer"]["ein"]
    assert after.fields["worker"]["date_of_birth"] == req["worker"]["date_of_birth"]
    assert after.provenance["employer.ein"]["part"].startswith(f"answer {sid}: attachment")
    assert ctx.store.requests_of(sid) == [] and after.state == "accepted", after.problems


def test_an_answer_from_another_domain_is_held_and_changes_nothing(ctx: Context) -> None:
    _req, rec, ours, lines = _asked(ctx, 202)
    sid = _deliver(ctx, convgen.answer(ours, lines, style="gmail", sender="someone@other.example.org"),
                   sender="someone@other.example.org")
    after = ctx.store.get_request(rec.id)
    assert after.fields == rec.fields and after.state == "needs_review"
    assert any(p.code == conv.ANSWER_FROM_OTHER_SENDER for p in after.problems)
    sub = ctx.store.get_submission(sid)
    assert sub.state == "needs_review" and conv.ANSWER_FROM_OTHER_SENDER in (sub.reason or "")
    assert ctx.store.replies_of(sid) == [] and ctx.store.requests_of(sid) == []
    assert ctx.store.answered_by(sid)[0].outcome == "held"


def test_an_answer_to_a_complete_request_changes_nothing(ctx: Context) -> None:
    req, rec, ours, lines = _asked(ctx, 203)
    first = _deliver(ctx, convgen.answer(ours, lines, style="thunderbird", sender=SENDER))
    _check_completed(ctx, req, rec, first)
    done = ctx.store.get_request(rec.id)
    (reply,) = ctx.store.replies_of(first)
    second = _deliver(ctx, convgen.answer(reply.message, ["EIN: 99-1234567"], style="gmail", sender=SENDER))
    assert ctx.store.get_request(rec.id) == done
    sub = ctx.store.get_submission(second)
    assert sub.state == "needs_review" and conv.ANSWER_TO_CLOSED_REQUEST in (sub.reason or "")
    assert ctx.store.answered_by(second)[0].outcome == "unchanged"
    assert ctx.store.replies_of(second) == []


def test_a_contradicting_value_is_a_conflict_and_only_the_rest_is_asked_again(ctx: Context) -> None:
    req, rec, ours, lines = _asked(ctx, 204)
    other_country = "Worker name: Someone Else"  # contradicts the name read from the request
    dob = next(line for line in lines if line.startswith("Date of birth"))
    sid = _deliver(ctx, convgen.answer(ours, [dob, other_country], style="apple_mail", sender=SENDER))
    after = ctx.store.get_request(rec.id)
    assert after.fields["worker"]["date_of_birth"] == req["worker"]["date_of_birth"]
    assert after.fields["worker"]["last_name"] == req["worker"]["last_name"]  # never overwritten
    codes = {(p.field, p.code) for p in after.problems}
    assert ("worker.last_name", "conflict") in codes or ("worker.first_name", "conflict") in codes, codes
    assert ("employer.ein", "missing") in codes and ("worker.date_of_birth", "missing") not in codes
    (reply,) = ctx.store.replies_of(sid)
    assert reply.kind == "incomplete"
    text = message_from_bytes(reply.message, policy=default_policy).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "date of birth" not in text.split("still")[-1].lower()  # not asked again
    assert "Employer's EIN" in text


def test_our_own_reply_is_never_read_back() -> None:
    """Our reply's lines, even unquoted and unrecognised as a quote, are left out of the answer."""
    ours = "Hello,\n  * worker, date of birth: missing: The worker's date of birth is missing.\n" \
           "    How to fill it in: Date of birth, e.g. 1980-01-31.\n"
    text = "Date of birth: 1970-02-03\n\n" + ours
    kept = reply_text.without_our_lines(text, [ours])
    assert "1970-02-03" in kept and "missing" not in kept and "1980-01-31" not in kept
    assert reply_text.references_in("see COC-2026-000123 and coc-2026-000124") == ["COC-2026-000123",
                                                                                 "COC-2026-000124"]
    quoted = mailgen.thunderbird(sender=SENDER, to="certificate@localhost", subject="x", text="y")
    assert quoted  # the generators load


def _batch(rng: random.Random, n: int, drop: tuple[str, ...]) -> tuple[list[dict], bytes]:
    """A CSV batch of `n` workers of one employer, without the `drop` columns, as an HR export."""
    import csv
    import io

    from tests.corpus import SHEET_COLUMNS, _cell
    from tests.synth import flat

    reqs = [make_request(rng, kind="employee") for _ in range(n)]
    for r in reqs[1:]:
        r["employer"] = dict(reqs[0]["employer"])
    columns = [(h, p) for h, p in SHEET_COLUMNS if p not in drop]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([h for h, _ in columns])
    for r in reqs:
        values = flat(r)
        writer.writerow([_cell(values.get(p, "")) for _, p in columns])
    raw = mailgen.thunderbird(sender=SENDER, to="certificate@localhost", subject="Workers", text="Our batch.\n",
                              attachments=[("workers.csv", buf.getvalue().encode(), "text/csv")])
    return reqs, raw


def _ssn_of(rec: RequestRecord) -> str:
    return str(rec.fields["worker"]["ssn"])


def test_a_batch_answer_is_merged_per_named_request_and_common_values_go_to_all(ctx: Context) -> None:
    reqs, raw = _batch(random.Random(205), 2, ("employer.ein", "worker.date_of_birth"))
    sid = _deliver(ctx, raw)
    recs = ctx.store.requests_of(sid)
    assert len(recs) == 2
    (ours,) = ctx.store.replies_of(sid)
    dob = {r.reference: next(q["worker"]["date_of_birth"] for q in reqs if q["worker"]["ssn"] == _ssn_of(r))
           for r in recs}
    lines = [f"EIN: {reqs[0]['employer']['ein']}", ""]
    for ref, value in dob.items():
        lines += [f"Reference {ref}", f"Date of birth: {value}", ""]
    answer_sid = _deliver(ctx, convgen.answer(ours.message, lines, style="gmail", sender=SENDER))
    for rec in recs:
        after = ctx.store.get_request(rec.id)
        assert after.fields["employer"]["ein"] == reqs[0]["employer"]["ein"]
        assert after.fields["worker"]["date_of_birth"] == dob[rec.reference]
        assert after.state == "accepted", after.problems
    assert ctx.store.requests_of(answer_sid) == []
    (reply,) = ctx.store.replies_of(answer_sid)
    assert reply.kind == "received" and all(r.reference in _subject(reply.message) for r in recs)


def test_a_batch_answer_naming_no_request_gives_its_common_value_to_all(ctx: Context) -> None:
    reqs, raw = _batch(random.Random(206), 3, ("employer.ein",))
    sid = _deliver(ctx, raw)
    recs = ctx.store.requests_of(sid)
    (ours,) = ctx.store.replies_of(sid)
    _deliver(ctx, convgen.answer(ours.message, [f"EIN: {reqs[0]['employer']['ein']}"], style="outlook",
                                 sender=SENDER))
    for rec in recs:
        after = ctx.store.get_request(rec.id)
        assert after.fields["employer"]["ein"] == reqs[0]["employer"]["ein"] and after.state == "accepted"


def test_reprocess_leaves_an_answer_alone(ctx: Context) -> None:
    """Read again alone, an answer would become a request of its own: reprocess skips it."""
    from intake.reprocess import reprocess_one

    _req, _rec, ours, lines = _asked(ctx, 207)
    sid = _deliver(ctx, convgen.answer(ours, lines, style="gmail", sender=SENDER))
    outcome = reprocess_one(ctx, sid)
    assert outcome.skipped and "answer" in outcome.skipped
    assert ctx.store.requests_of(sid) == []


def _sub(sid: int, channel: str, sender: str, raw: bytes, verdict: dict | None) -> object:
    from intake.store.store import SubmissionRecord

    return SubmissionRecord(id=sid, channel=channel, sender=sender, recipients=(), received_at=datetime.now(UTC),
                            raw=raw, size=len(raw), sha256="", message_id=None, imap_folder=None,
                            imap_uidvalidity=None, imap_uid=None, fax_filename=None, state="received", reason=None,
                            attempts=0, result=None, sender_auth=verdict)


def test_who_may_answer() -> None:
    """Same address or organisational domain; verified when trust is checked; a fax: the same number."""
    from intake.senderauth import Verdict

    def mail(address: str) -> bytes:
        return mailgen.thunderbird(sender=address, to="certificate@localhost", subject="x", text="y\n")

    ok = Verdict(method="smtp", verified=True, reason="DKIM aligned", from_domain="mail.acme.example.com").as_json()
    forged = Verdict(method="smtp", verified=False, reason="no DKIM", from_domain="acme.example.com").as_json()
    asked = _sub(1, "smtp", SENDER, mail(SENDER), ok)
    colleague = _sub(2, "smtp", "payroll@mail.acme.example.com", mail("payroll@mail.acme.example.com"), ok)
    stranger = _sub(3, "smtp", "x@other.example.org", mail("x@other.example.org"), ok)
    spoofed = _sub(4, "smtp", SENDER, mail(SENDER), forged)
    check = conv.sender_check
    assert check(asked, colleague, require_verified=True) is None  # type: ignore[arg-type]
    assert "other.example.org" in (check(asked, stranger, require_verified=True) or "")  # type: ignore[arg-type]
    assert "not verified" in (check(asked, spoofed, require_verified=True) or "")  # type: ignore[arg-type]
    assert check(asked, spoofed, require_verified=False) is None  # type: ignore[arg-type]
    fax = _sub(5, "fax", "+1 (208) 555-0142", b"II*\x00", None)
    same = _sub(6, "fax", "12085550142", b"II*\x00", None)
    other = _sub(7, "fax", "+12085550199", b"II*\x00", None)
    assert check(fax, same, require_verified=True) is None  # type: ignore[arg-type]
    assert check(fax, other, require_verified=True) is not None  # type: ignore[arg-type]
    assert check(asked, same, require_verified=False) is not None  # type: ignore[arg-type]


def test_the_review_page_shows_the_whole_conversation_in_order(ctx: Context) -> None:
    from fastapi.testclient import TestClient

    from intake.web.app import create_app
    from tests.browser import add_staff
    from tests.test_web import login

    add_staff(ctx.store)
    req, rec, ours, lines = _asked(ctx, 208)
    stranger = _deliver(ctx, convgen.answer(ours, lines[:1], style="gmail", sender="x@other.example.org"),
                        sender="x@other.example.org")
    answer = _deliver(ctx, convgen.answer(ours, lines, style="outlook", sender=SENDER))
    client = login(TestClient(create_app(ctx.settings, ctx.store), follow_redirects=False), "rita")
    page = client.get(f"/requests/{rec.id}").text
    conversation = page.split('id="conv-h"')[1].split('id="trail-h"')[0]
    order = [conversation.index(s) for s in ("request received", "reply: incomplete",
                                             f'/submissions/{stranger}">answer: held',
                                             f'/submissions/{answer}">answer: merged', "reply: received")]
    assert order == sorted(order), conversation
    assert req["worker"]["ssn"] not in page
    # Where each value came from: the answer's part, in the field's provenance.
    assert f"answer {answer}: body" in page
    # The requester's reply never names the other sender (held for staff, said to staff alone).
    (reply,) = ctx.store.replies_of(answer)
    assert b"other.example.org" not in reply.message and reply.kind == "received"


def test_ask_once_ask_everything_and_say_what_was_read_when_doubtful() -> None:
    """The *information needed* reply says what was read but doubtful, never a part name, reading
    method or confidence; with no type and no employer it asks for an employee's fields at once."""
    from intake.model import CertificateRequest, Problem
    from intake.replies import RequestView, render_mail
    from intake.validate import validate

    request = CertificateRequest.model_validate({"worker": {"first_name": "Kevin A", "last_name": "Doe",
                                                            "ssn": "123-45-6789"}})
    problems = [Problem(field="worker.first_name", code="low_confidence",
                        message="attachment 1: scan.tif, page 1 (ocr): read with 41% confidence; please check."),
                Problem(field="worker.ssn", code="conflict",
                        message="Different values were read for worker.ssn: ***-**-6789 in body (text); "
                                "***-**-6788 in attachment 1: scan.tif (ocr)."),
                *validate(request)]
    view = RequestView.of("COC-2026-000042", request, problems)
    text = render_mail("incomplete", to="pat@acme.example.com", from_address="certificate@localhost",
                       our_domain="localhost", requests=[view]).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "We read 'Kevin A' as the worker's first name: please confirm" in " ".join(text.split())
    assert "***-**-6789 as the worker's Social Security number" in " ".join(text.split())
    for internal in ("scan.tif", "(ocr)", "41%", "body (text)", "worker.ssn", "low_confidence"):
        assert internal not in text, internal
    assert "123-45-6789" not in text
    # No type, no employer: the type is asked, and with it what an employee's request needs.
    assert "Type of request" in text and "If the worker is an employee: The employer's EIN is missing." in text


def test_an_out_of_office_note_to_our_reply_is_no_answer(ctx: Context) -> None:
    _req, rec, ours, _lines = _asked(ctx, 209)
    sid = _deliver(ctx, mailgen.auto_reply(ours, sender=SENDER, to="certificate@localhost"))
    assert ctx.store.answered_by(sid) == [] and ctx.store.get_request(rec.id) == rec
    assert ctx.store.replies_of(sid) == []
