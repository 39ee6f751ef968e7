"""The conversation end to end: the daemon (`coc-intake run`) between a real Dovecot and an aiosmtpd relay.

Requests lacking three fields arrive over IMAP and get *information needed* at the relay; the
answers, written as Thunderbird, Outlook, Gmail and Apple Mail reply (each client quoted below or
top-posted, plain and HTML-only: every style of `tests.convgen.STYLES`), a fresh mail naming only
the reference, and a reply with the completed form attached,
come back over IMAP and the SMTP listener. Each completes its own request (one reference, one
*received* reply, no new request); an answer from another domain is held; an answer to a
complete request changes nothing.
"""

from __future__ import annotations

import random
import re
import smtplib
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

from tests import convgen, docgen
from tests.gateway import GatewayProcess, wait_for, write_config
from tests.servers import DovecotServer, SmtpSink, dovecot, imap_append, smtp_sink  # noqa: F401

ANSWERS = {  # sender -> how the answer is written (every style of `convgen.STYLES`, and the rest)
    "tb@acme1.example.com": "thunderbird",
    "ol@acme2.example.com": "outlook_html",
    "gm@acme3.example.com": "gmail",
    "ap@acme4.example.com": "apple_html",
    "fresh@acme5.example.com": "fresh",
    "form@acme6.example.com": "form",
    "held@acme7.example.com": "stranger",
    "tbtop@acme9.example.com": "thunderbird_top",
    "olplain@acme10.example.com": "outlook",
    "gmhtml@acme11.example.com": "gmail_html",
    "applain@acme12.example.com": "apple_mail",
}


def _to(sink: SmtpSink, address: str) -> list[bytes]:
    return [m.content for m in sink.received() if address in m.rcpt_tos]


def _subject(raw: bytes) -> str:
    return str(message_from_bytes(raw, policy=default_policy)["Subject"])


def _text(raw: bytes) -> str:
    body = message_from_bytes(raw, policy=default_policy).get_body(("plain",))  # type: ignore[attr-defined]
    return str(body.get_content()) if body is not None else ""


def test_answers_complete_their_requests_end_to_end(tmp_path: Path, dovecot: DovecotServer,  # noqa: PLR0915, F811  (one end-to-end scenario: its steps in the order the user takes them)
                                                    smtp_sink: SmtpSink) -> None:  # noqa: F811
    gw = GatewayProcess(tmp_path, write_config(tmp_path, dovecot=dovecot, sink=smtp_sink))
    gw.start()
    try:
        rng = random.Random(14)
        asked: dict[str, tuple[dict, list[str]]] = {}
        for sender in ANSWERS:
            req, raw, lines = convgen.incomplete_request(rng, sender)
            asked[sender] = (req, lines)
            imap_append(dovecot, "INBOX", raw)
        done_sender = "done@acme8.example.com"
        complete, raw, lines = convgen.incomplete_request(rng, done_sender, drop={})
        imap_append(dovecot, "INBOX", raw)
        assert wait_for(lambda: all(_to(smtp_sink, s) for s in [*ANSWERS, done_sender]), timeout=480), gw.tail()
        refs: dict[str, str] = {}
        for sender in ANSWERS:
            (ours,) = _to(smtp_sink, sender)
            assert _subject(ours).startswith("Re: ")
            assert "information is missing" in " ".join(_text(ours).split())
            refs[sender] = re.findall(r"COC-\d{4}-\d{6}", _subject(ours))[0]
        (done_reply,) = _to(smtp_sink, done_sender)

        for i, (sender, style) in enumerate(ANSWERS.items()):
            (ours,) = _to(smtp_sink, sender)
            req, lines = asked[sender]
            if style == "fresh":
                raw = convgen.fresh_mail(refs[sender], lines, sender=sender)
            elif style == "form":
                pdf = docgen.acroform_pdf(req, "model")
                raw = convgen.answer(ours, ["The completed form is attached."], style="gmail", sender=sender,
                                     attachments=[("coc-form.pdf", pdf, "application/pdf")])
            elif style == "stranger":
                raw = convgen.answer(ours, lines, style="outlook", sender="someone@elsewhere.example.org")
            else:
                raw = convgen.answer(ours, lines, style=style, sender=sender)
            if i % 2:
                imap_append(dovecot, "INBOX", raw)
            else:
                with smtplib.SMTP("127.0.0.1", gw.smtp_port) as s:
                    s.sendmail("someone@elsewhere.example.org" if style == "stranger" else sender,
                               ["certificate@localhost"], raw)
        imap_append(dovecot, "INBOX", convgen.answer(done_reply, ["EIN: 12-3456789"], style="gmail",
                                                     sender=done_sender))
        merged = [s for s, style in ANSWERS.items() if style != "stranger"]
        assert wait_for(lambda: all(len(_to(smtp_sink, s)) == 2 for s in merged), timeout=480), gw.tail()
        wait_for(lambda: False, timeout=3)  # anything extra (a reply to the held answers) would come now
    finally:
        gw.stop()

    store = gw.store()
    try:
        for sender in merged:
            req, _lines = asked[sender]
            rec = store.find_request(refs[sender])
            assert rec is not None and rec.state == "accepted", (sender, rec and rec.problems)
            assert rec.fields["worker"]["date_of_birth"] == req["worker"]["date_of_birth"]
            assert rec.fields["employer"]["ein"] == req["employer"]["ein"]
            assert rec.fields["assignment"]["end_date"] == req["assignment"]["end_date"]
            answer = _to(smtp_sink, sender)[1]
            subject = _subject(answer)
            assert re.findall(r"COC-\d{4}-\d{6}", subject) == [refs[sender]], subject
            assert "now complete" in _text(answer)
        held = store.find_request(refs["held@acme7.example.com"])
        assert held is not None and held.state == "needs_review"
        assert held.fields["worker"].get("date_of_birth") is None
        assert any(p.code == "answer_from_other_sender" for p in held.problems)
        assert not _to(smtp_sink, "someone@elsewhere.example.org")
        assert len(_to(smtp_sink, done_sender)) == 1  # no reply to the answer of a complete request
        done = store.find_request(re.findall(r"COC-\d{4}-\d{6}", _subject(done_reply))[0])
        assert done is not None and done.state == "accepted" and done.fields["employer"]["ein"] == \
            complete["employer"]["ein"]
        counts = store.counts_by_state()
        # One request per original mail, none for any of the 8 answers.
        assert sum(counts["requests"].values()) == len(ANSWERS) + 1, counts
        assert sum(counts["submissions"].values()) == 2 * (len(ANSWERS) + 1), counts
    finally:
        store.dispose()
