"""Fax answers: our *information needed* fax carries a return page; faxed back, it completes the request.

The return page is drawn from the form's own box specs and read by the form's zone reader, at
204x98 and 204x196 (`tests.faxgen.fax` degrades it like a fax machine); the fax letter is written
for fax (no mail wording, 9 point or more, one paragraph a line). End to end: the daemon's fax
inbox folder takes an incomplete faxed request, its fax reply (folder transport) is filled in and
faxed back into the inbox from the same number, and completes the same request; a return page
from another number is held for staff. Over HylaFAX+: the reply is a job on the real server, and
the return page comes back as HylaFAX's own `faxrcvd` mail.
"""

from __future__ import annotations

import copy
import difflib
import io
import itertools
import random
import re
import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pdfplumber
import pytesseract
import pytest

from intake.extract import extract_submission
from intake.faxreply import fax_text, render_fax_pdf
from intake.model import CertificateRequest
from intake.pipeline import extract_stage, reply_stage, send_stage
from intake.reference import help_for
from intake.replies import RequestView
from intake.returnpage import ReturnRequest, render_return_pages
from intake.store import Incoming
from tests import formgen, returngen
from tests.faxgen import Resolution, fax, render_page, tiff_bytes
from tests.faxserver import HylaFax, document_of, jobs, received_fax_mail, running_hylafax
from tests.gateway import GatewayProcess, wait_for, write_config
from tests.servers import DovecotServer, SmtpSink, dovecot, imap_append, smtp_sink  # noqa: F401
from tests.store_fixtures import stage_context
from tests.synth import make_request

NUMBER = "+12085551009"
STRANGER = "+13125550100"
DROP = ("worker.date_of_birth", "employer.ein", "assignment.end_date")
REF = re.compile(r"COC-\d{4}-\d{6}")


def _incomplete(seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the whole request, the same without the DROP fields) for a faxed form."""
    req = make_request(random.Random(seed), kind="employee")
    part = copy.deepcopy(req)
    part["worker"]["date_of_birth"] = None
    part["employer"]["ein"] = None
    part["assignment"]["end_date"] = None
    return req, part


def _pdf_text(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return [" ".join((p.extract_text() or "").split()) for p in doc.pages]


def _sizes(pdf: bytes) -> list[float]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return [round(float(c["size"]), 2) for p in doc.pages for c in p.chars if c["text"].strip()]


def _return_request(req: dict[str, Any]) -> ReturnRequest:
    fields = CertificateRequest.model_validate(req).model_dump(mode="json")
    for path in DROP:
        head, tail = path.split(".")
        fields[head][tail] = None
    problems = [{"field": p, "code": "missing", "message": "missing"} for p in DROP]
    problems.append({"field": "assignment.country", "code": "low_confidence", "message": "doubtful"})
    return ReturnRequest("COC-2026-000123", fields, problems)


@pytest.mark.parametrize("resolution", ["normal", "fine"])
def test_return_page_is_drawn_for_what_is_missing_and_read_back(resolution: Resolution) -> None:
    req = make_request(random.Random(21), kind="employee")
    pdf = render_return_pages([_return_request(req)])
    assert pdf is not None
    [text] = _pdf_text(pdf)
    ssn = req["worker"]["ssn"]
    assert "COC-2026-000123" in text and "fax this page back" in text
    assert f"***-**-{ssn[-4:]}" in text and ssn not in text and ssn.replace("-", "") not in text
    assert req["worker"]["last_name"] in text  # what we read is printed
    [(_page, payload)] = returngen.return_pages(pdf)
    assert payload[0] == "COC-2026-000123"
    assert payload[4] == ["worker.date_of_birth", "employer.ein", "assignment.country", "assignment.end_date"]
    back = returngen.faxed_back(pdf, req, random.Random(3), resolution)
    result = extract_submission(tiff_bytes(back), channel="fax", filename="back.tif")
    assert result.meta == {"return_references": ["COC-2026-000123"]}
    [item] = result.requests
    read = item.request
    assert read.worker.date_of_birth is not None and read.worker.date_of_birth.isoformat() == \
        req["worker"]["date_of_birth"]
    assert read.employer is not None and read.employer.ein == req["employer"]["ein"]
    assert read.assignment.end_date is not None and read.assignment.end_date.isoformat() == \
        req["assignment"]["end_date"]
    assert read.worker.last_name is None  # printed values are not boxes: never read back
    assert {p.label for p in item.provenance.values()} == {"return page COC-2026-000123"}
    assert not result.problems


@pytest.mark.parametrize("resolution", ["normal", "fine"])
def test_return_page_whose_qr_code_is_lost_is_known_by_its_printed_page_code(resolution: Resolution) -> None:
    """A QR code torn off or blacked out by the fax: the printed page code (with its check number)
    still names the request and its boxes; without either, the page is no return page."""
    req = make_request(random.Random(22), kind="employee")
    pdf = render_return_pages([_return_request(req)])
    assert pdf is not None
    [page] = returngen.filled(pdf, req)
    page.paste(255, (1290, 140, 1540, 390))  # the QR code (470-550 pt across, 56-136 pt down, at 200 dpi)
    result = extract_submission(tiff_bytes([fax(page, resolution=resolution, skew_deg=1.0)]), channel="fax",
                                filename="x.tif")
    assert (result.meta or {}).get("return_references") == ["COC-2026-000123"]
    [item] = result.requests
    assert item.request.employer is not None and item.request.employer.ein == req["employer"]["ein"]
    page.paste(255, (300, 2060, 1560, 2130))  # the page code as well
    result = extract_submission(tiff_bytes([fax(page, resolution=resolution)]), channel="fax", filename="y.tif")
    assert not (result.meta or {}).get("return_references")


def _views(req: dict[str, Any]) -> list[RequestView]:
    from intake.model import Problem

    rr = _return_request(req)
    return [RequestView.of(rr.reference, CertificateRequest.from_stored(rr.fields),
                           [Problem.model_validate({**p, "help": help_for(p["field"])}) for p in rr.problems])]


def test_fax_reply_is_written_for_fax() -> None:
    """No mail wording, no line broken inside a sentence, nothing under 9 point, and the help text
    still readable after a 204x98 fax."""
    req = make_request(random.Random(23), kind="employee")
    pages = render_return_pages([_return_request(req)])
    assert pages is not None
    for kind, extra in (("incomplete", {"return_pages": True}), ("incomplete", {"answered": True}),
                        ("received", {"updated": True}), ("received", {})):
        context: dict[str, Any] = {"r": None, "received_at": "December 1, 2026 at 10:00", "updated": False,
                                   "answered": False, "form_url": "", "help_url": "", "file_problems": [],
                                   "return_pages": False, "back_to": "", **extra}
        text = fax_text(kind, requests=_views(req), **context)
        low = text.lower()
        for mail_words in ("reply to this", "this message", "e-mail", "subject", "attached", "mailbox"):
            assert mail_words not in low, (kind, mail_words)
        lines = text.split("\n")
        for a, b in itertools.pairwise(lines):
            if a.strip() and b.strip() and not b.startswith(("# ", "* ", "  ")):
                assert a.rstrip().endswith((".", ":", "?", "!", ")")), (a, b)  # b continues a's sentence
    pdf = render_fax_pdf("incomplete", fax_number=NUMBER, requests=_views(req), return_pages=True,
                         attachments=[("r.pdf", pages, "application/pdf")])
    assert min(_sizes(pdf)) >= 9.0
    letter = " ".join(_pdf_text(pdf)[0].split())
    assert "fax that page back" in letter and "How to fill it in" in letter
    # The letter faxed at 204x98 and read by Tesseract: each help text comes out nearly whole.
    [image] = returngen.printed(pdf)[:1]
    faxed = fax(image, resolution="normal", noise=0.001)
    ocr = " ".join(pytesseract.image_to_string(faxed.convert("L").resize((1728, 2200))).split())
    for path in DROP:
        want = help_for(path)
        best = max(difflib.SequenceMatcher(None, want, ocr[i:i + len(want)]).ratio()
                   for i in range(0, max(1, len(ocr) - len(want)), 3))
        assert best >= 0.9, (want, best)


# -- end to end -----------------------------------------------------------------------------------


def _outbox(gw: GatewayProcess, number: str) -> list[Path]:
    return sorted(gw.settings.fax_outbox.glob(f"{number}_*.pdf"))


def _drop_fax(gw: GatewayProcess, number: str, tiff: bytes, n: int) -> None:
    inbox = gw.settings.fax_inbox
    name = f"fax_{number}_20261201T10{n:02d}00.tif"
    (inbox / (name + ".part")).write_bytes(tiff)
    (inbox / (name + ".part")).rename(inbox / name)


def test_faxed_return_page_completes_its_request_end_to_end(tmp_path: Path) -> None:
    gw = GatewayProcess(tmp_path, write_config(tmp_path, dovecot=None, sink=None,
                                               extra='[fax_out]\nour_number = "+1 410 555 0100"\n'))
    gw.start()
    try:
        req, part = _incomplete(31)
        _drop_fax(gw, NUMBER, tiff_bytes(formgen.faxed_form(part, random.Random(5), "normal")), 1)
        assert wait_for(lambda: _outbox(gw, NUMBER), timeout=180), gw.tail()
        [first] = _outbox(gw, NUMBER)
        reply = first.read_bytes()
        texts = _pdf_text(reply)
        [ref] = set(REF.findall(texts[0]))
        assert "Information needed" in texts[0] and "fax that page back to +1 410 555 0100" in texts[0]
        payloads = [payload for _page, payload in returngen.return_pages(reply)]
        assert payloads and {p[0] for p in payloads} == {ref}
        assert set(DROP) <= {path for p in payloads for path in p[4]}, payloads
        # A stranger's copy of the page first: attached to the request, held, nobody answered.
        _drop_fax(gw, STRANGER, tiff_bytes(returngen.faxed_back(reply, req, random.Random(6), "fine")), 2)
        store = gw.store()
        try:
            def held() -> bool:
                rec = store.find_request(ref)
                return rec is not None and any(p.code == "answer_from_other_sender" for p in rec.problems)

            assert wait_for(held, timeout=180), gw.tail()
        finally:
            store.dispose()
        # The employer's own return page, faxed back at 204x98.
        _drop_fax(gw, NUMBER, tiff_bytes(returngen.faxed_back(reply, req, random.Random(7), "normal")), 3)
        assert wait_for(lambda: len(_outbox(gw, NUMBER)) == 2, timeout=180), gw.tail()
        wait_for(lambda: False, timeout=3)  # a reply to the stranger would come now
    finally:
        gw.stop()
    answer = next(p for p in _outbox(gw, NUMBER) if p != first).read_bytes()
    answer_text = " ".join(_pdf_text(answer))
    assert "now complete" in answer_text and REF.findall(answer_text) == [ref]
    assert not returngen.return_pages(answer)
    assert not _outbox(gw, STRANGER)
    store = gw.store()
    try:
        rec = store.find_request(ref)
        assert rec is not None
        for path in DROP:
            head, tail = path.split(".")
            assert rec.fields[head][tail] == req[head][tail], path
            assert rec.provenance[path]["label"] == f"return page {ref}"
        assert rec.state == "needs_review"  # the stranger's page waits for staff, nothing of it merged
        assert [p.code for p in rec.problems] == ["answer_from_other_sender"]
        counts = store.counts_by_state()
        assert sum(counts["requests"].values()) == 1, counts  # no request of its own for either page
        outcomes = sorted(a.outcome for a in store.answers_to(rec.id))
        assert outcomes == ["held", "merged"]
    finally:
        store.dispose()


def test_batch_fax_return_pages_each_complete_their_own_request(tmp_path: Path) -> None:
    """Two forms in one fax: one return page each in one reply; faxed back together, each page's
    values go to the request its code names, and one reply says both are complete."""
    (a, a_part), (b, b_part) = _incomplete(33), _incomplete(34)
    b["worker"]["last_name"] = b_part["worker"]["last_name"] = "Okafor" if a["worker"]["last_name"] != "Okafor" \
        else "Marsh"
    ctx = stage_context(tmp_path, "[trust]\nflag_unverified = false\n", timeout=120)
    try:
        pages = formgen.faxed_form(a_part, random.Random(10), "fine", font="DejaVuSans.ttf") + \
            formgen.faxed_form(b_part, random.Random(11), "fine", font="DejaVuSans.ttf")
        sid, _ = ctx.store.store_submission(Incoming(channel="fax", raw=tiff_bytes(pages), sender=NUMBER,
                                                     received_at=datetime.now(UTC), fax_filename="two.tif"))
        extract_stage(ctx, sid)
        assert reply_stage(ctx, sid)
        recs = ctx.store.requests_of(sid)
        truth = {r.reference: (a if r.fields["worker"]["ssn"] == a["worker"]["ssn"] else b) for r in recs}
        assert len(truth) == 2 and {t["worker"]["ssn"] for t in truth.values()} == {a["worker"]["ssn"],
                                                                                    b["worker"]["ssn"]}
        [reply] = ctx.store.replies_of(sid)
        assert {p[0] for _page, p in returngen.return_pages(reply.message)} == set(truth)
        back = returngen.faxed_back(reply.message, truth, random.Random(12), "normal")
        answer, _ = ctx.store.store_submission(Incoming(channel="fax", raw=tiff_bytes(back), sender=NUMBER,
                                                        received_at=datetime.now(UTC), fax_filename="back.tif"))
        extract_stage(ctx, answer)
        assert reply_stage(ctx, answer)
        for ref, req in truth.items():
            rec = ctx.store.find_request(ref)
            assert rec is not None and rec.state == "accepted", (ref, rec and rec.problems)
            for path in DROP:
                head, tail = path.split(".")
                assert rec.fields[head][tail] == req[head][tail], (ref, path)
                assert rec.provenance[path]["label"] == f"return page {ref}"
        assert ctx.store.requests_of(answer) == []
        [done] = ctx.store.replies_of(answer)
        text = " ".join(_pdf_text(done.message))
        assert done.kind == "received" and "now complete" in text and set(REF.findall(text)) == set(truth)
    finally:
        ctx.store.dispose()


@pytest.fixture(scope="module")
def hylafax() -> Iterator[HylaFax]:
    with running_hylafax() as server:
        yield server


def test_return_page_over_hylafax_job_and_faxrcvd_mail(tmp_path: Path, hylafax: HylaFax) -> None:
    """The reply is a job on the real HylaFAX+ (its document read from the spool), and the filled
    return page comes back as HylaFAX's own `faxrcvd` mail from the fax gateway."""
    ctx = stage_context(tmp_path, '[fax_mail]\ngateways = ["faxserver@fax.example.org"]\n'
                        "[trust]\nflag_unverified = false\n" + hylafax.toml(), timeout=120)
    try:
        req, part = _incomplete(32)
        sid, _ = ctx.store.store_submission(Incoming(
            channel="fax", raw=tiff_bytes(formgen.faxed_form(part, random.Random(8), "fine")), sender=NUMBER,
            received_at=datetime.now(UTC), fax_filename="fax1.tif"))
        extract_stage(ctx, sid)
        assert reply_stage(ctx, sid)
        [item] = ctx.store.replies_of(sid)
        delivery = send_stage(ctx, item)
        assert delivery is not None and delivery.ok, delivery
        sent = ctx.store.get_reply(item.id)
        assert sent.fax_job and sent.fax_job in jobs("-s")
        document = document_of(sent.fax_job)  # what HylaFAX will send, byte for byte
        [ref] = [r.reference for r in ctx.store.requests_of(sid)]
        back = tiff_bytes(returngen.faxed_back(document, req, random.Random(9), "normal"))
        mail = received_fax_mail(back, tmp_path, caller_id=NUMBER.lstrip("+"), filetype="tif")
        mid, _ = ctx.store.store_submission(Incoming(channel="smtp", raw=mail, sender="faxserver@fax.example.org",
                                                     received_at=datetime.now(UTC)))
        assert extract_stage(ctx, mid)
        rec = ctx.store.find_request(ref)
        assert rec is not None and rec.state == "accepted", rec and rec.problems
        for path in DROP:
            head, tail = path.split(".")
            assert rec.fields[head][tail] == req[head][tail], path
        assert sum(ctx.store.counts_by_state()["requests"].values()) == 1
        [link] = ctx.store.answers_to(rec.id)
        assert link.matched_by == "return_page" and link.outcome == "merged"
        replies = ctx.store.replies_of(link.submission_id)
        assert [(r.kind, r.channel, r.recipient) for r in replies] == [("received", "fax", NUMBER)]
        assert "now complete" in " ".join(_pdf_text(replies[0].message))
    finally:
        ctx.store.dispose()


def _us(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"{m}/{d}/{y}"


def test_faxed_letter_naming_the_reference_in_its_text_joins_its_request(tmp_path: Path) -> None:
    """No return page at all: the employer types a letter with our reference and the missing values
    and faxes it. The reference read from the page's OCR text names the request (issue 14, items 1
    and 5); from another number it is held for staff, from the number that asked it completes it."""
    req, part = _incomplete(41)
    ctx = stage_context(tmp_path, "[trust]\nflag_unverified = false\n", timeout=120)
    try:
        pages = formgen.faxed_form(part, random.Random(13), "fine", font="DejaVuSans.ttf")
        sid, _ = ctx.store.store_submission(Incoming(channel="fax", raw=tiff_bytes(pages), sender=NUMBER,
                                                     received_at=datetime.now(UTC), fax_filename="req.tif"))
        extract_stage(ctx, sid)
        assert reply_stage(ctx, sid)
        [rec] = ctx.store.requests_of(sid)
        assert rec.state == "needs_review"
        lines = [f"Re: certificate of coverage request {rec.reference}", "",
                 "Here is the information you asked for:", "",
                 f"Date of birth: {_us(req['worker']['date_of_birth'])}",
                 f"EIN: {req['employer']['ein']}",
                 f"End date: {_us(req['assignment']['end_date'])}"]
        def send(number: str, name: str) -> int:
            # Each fax its own scan (a resent page is another image, never the same bytes).
            skew = 0.6 if number == NUMBER else -0.4
            letter = tiff_bytes([fax(render_page(lines, font_size=12), resolution="normal", skew_deg=skew)])
            answer, _ = ctx.store.store_submission(Incoming(channel="fax", raw=letter, sender=number,
                                                            received_at=datetime.now(UTC), fax_filename=name))
            extract_stage(ctx, answer)
            reply_stage(ctx, answer)
            return answer

        stranger = send(STRANGER, "other.tif")
        assert ctx.store.requests_of(stranger) == []
        held = ctx.store.get_request(rec.id)
        assert held.state == "needs_review" and held.fields["employer"]["ein"] is None
        assert [a.outcome for a in ctx.store.answers_to(rec.id)] == ["held"]
        answer = send(NUMBER, "letter.tif")
        assert ctx.store.requests_of(answer) == []
        done = ctx.store.get_request(rec.id)
        for path in DROP:
            head, tail = path.split(".")
            assert done.fields[head][tail] == req[head][tail], path
        # Nothing missing now; the stranger's held answer keeps the request before staff (besides any
        # doubt the first fax left, which this letter does not speak to, and any doubt OCR had on the
        # letter's own digits: where the value was written does not settle how it was read).
        before = {(p.field, p.code) for p in rec.problems if p.code != "missing"}
        after = {(p.field, p.code) for p in done.problems
                 if not (p.code == "low_confidence" and p.field in DROP and "letter.tif" in p.message)}
        assert after - before == {(None, "answer_from_other_sender")}
        assert [a.outcome for a in ctx.store.answers_to(rec.id)] == ["held", "merged"]
    finally:
        ctx.store.dispose()


def test_return_page_mailed_by_the_fax_server_over_smtp_and_imap(tmp_path: Path, hylafax: HylaFax,
                                                                   dovecot: DovecotServer,  # noqa: F811
                                                                   smtp_sink: SmtpSink) -> None:  # noqa: F811
    """The fax-to-email way, through the daemon's own listeners: the incomplete fax arrives as
    HylaFAX's `faxrcvd` mail over SMTP at the aiosmtpd listener, our fax reply goes out, and the
    filled return page comes back as another `faxrcvd` mail delivered into the Dovecot mailbox the
    daemon watches. It completes the same request; no request of its own, one reference."""
    gw = GatewayProcess(tmp_path, write_config(
        tmp_path, dovecot=dovecot, sink=smtp_sink,
        extra='[fax_mail]\ngateways = ["faxserver@fax.example.org"]\n[fax_out]\nour_number = "+1 410 555 0100"\n'))
    gw.start()
    try:
        req, part = _incomplete(33)
        first_fax = tiff_bytes(formgen.faxed_form(part, random.Random(10), "fine"))
        mail = received_fax_mail(first_fax, tmp_path, caller_id=NUMBER.lstrip("+"), filetype="tif")
        with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=60) as s:  # sendmail's CRLF on the wire
            s.sendmail("faxserver@fax.example.org", ["certificate@localhost"], mail.replace(b"\n", b"\r\n"))
        assert wait_for(lambda: _outbox(gw, NUMBER), timeout=180), gw.tail()
        [first] = _outbox(gw, NUMBER)
        reply = first.read_bytes()
        [ref] = set(REF.findall(_pdf_text(reply)[0]))
        back = tiff_bytes(returngen.faxed_back(reply, req, random.Random(11), "normal"))
        imap_append(dovecot, "INBOX", received_fax_mail(back, tmp_path, caller_id=NUMBER.lstrip("+"),
                                                        filetype="tif"))
        assert wait_for(lambda: len(_outbox(gw, NUMBER)) == 2, timeout=180), gw.tail()
    finally:
        gw.stop()
    answer = next(p for p in _outbox(gw, NUMBER) if p != first).read_bytes()
    answer_text = " ".join(_pdf_text(answer))
    assert "now complete" in answer_text and REF.findall(answer_text) == [ref]
    store = gw.store()
    try:
        rec = store.find_request(ref)
        assert rec is not None and rec.state == "accepted", rec and rec.problems
        for path in DROP:
            head, tail = path.split(".")
            assert rec.fields[head][tail] == req[head][tail], path
        assert sum(store.counts_by_state()["requests"].values()) == 1
        [link] = store.answers_to(rec.id)
        assert link.matched_by == "return_page" and link.outcome == "merged"
        answer_sub = store.get_submission(link.submission_id)  # the mailed fax is a fax from its caller
        assert (answer_sub.channel, answer_sub.sender) == ("fax", NUMBER)
    finally:
        store.dispose()
