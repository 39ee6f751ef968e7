"""Fax replies transmitted (`intake.faxout`): jobs on a real HylaFAX+ queue, followed with its own
protocol and checked with its own `faxstat`; the email transport against an aiosmtpd relay."""

from __future__ import annotations

import email
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.policy import default as default_policy
from pathlib import Path

import pytest
from pypdf import PdfReader

from intake.doctor import check_fax_out
from intake.faxout import follow_fax_jobs
from intake.faxreply import render_fax_pdf
from intake.pipeline import Context, send_stage
from intake.store import Incoming
from intake.web.app import fax_job_text
from tests import faxserver
from tests.faxserver import HylaFax, running_hylafax
from tests.servers import SmtpSink, free_port, running_smtp_sink
from tests.store_fixtures import stage_context

NUMBER = "+14105550199"
MakeCtx = Callable[[str], Context]


@pytest.fixture(scope="module")
def hylafax() -> Iterator[HylaFax]:
    with running_hylafax() as server:
        yield server


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with running_smtp_sink() as s:
        yield s


@pytest.fixture
def make_ctx(tmp_path: Path) -> Iterator[MakeCtx]:
    made: list[Context] = []

    def make(toml: str) -> Context:
        ctx = stage_context(tmp_path, toml)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.store.dispose()


def _queue_fax_reply(ctx: Context, number: str = NUMBER, *, now: datetime | None = None) -> tuple[int, bytes]:
    """A fax submission and its rendered reply in the outbox (two pages: letter and form)."""
    sid, _ = ctx.store.store_submission(Incoming(channel="fax", raw=f"fax from {number} {now}".encode(),
                                                 sender=number, received_at=datetime.now(UTC)))
    from intake.form import render_form

    pdf = render_fax_pdf("incomplete", fax_number=number, requests=[],
                         attachments=[("form.pdf", render_form(), "application/pdf")])
    assert ctx.store.queue_reply(sid, "incomplete", "fax", number, pdf, now=now)
    [item] = ctx.store.replies_of(sid)
    return item.id, pdf


def test_hylafax_reply_is_a_job_with_the_number_and_our_document(make_ctx: MakeCtx, hylafax: HylaFax) -> None:
    ctx = make_ctx(hylafax.toml())
    outbox_id, pdf = _queue_fax_reply(ctx)
    delivery = send_stage(ctx, ctx.store.get_reply(outbox_id))
    assert delivery is not None and delivery.ok, delivery
    item = ctx.store.get_reply(outbox_id)
    assert item.state == "sent" and item.fax_transport == "hylafax" and item.fax_job
    # The real queue, as its own faxstat shows it: the job, our number, waiting for a modem.
    job = faxserver.jobs("-s")[item.fax_job]
    assert job.number == NUMBER.lstrip("+") and job.state in "PWBSR"
    held = faxserver.document_of(item.fax_job)
    assert held == pdf  # the document HylaFAX will send is our reply, byte for byte
    assert len(PdfReader(io.BytesIO(held)).pages) == len(PdfReader(io.BytesIO(pdf)).pages) >= 2
    # Followed: the job's state is kept in the outbox and shown to staff.
    follow_fax_jobs(ctx.store, ctx.settings.fax_out, datetime.now(UTC))
    item = ctx.store.get_reply(outbox_id)
    assert item.fax_state in ("ready", "pending", "blocked", "sleeping", "active")
    assert fax_job_text(item) == f" (hylafax job {item.fax_job}, {item.fax_state})"
    assert check_fax_out(ctx.settings).ok


def test_failed_job_is_retried_then_kept_for_staff(make_ctx: MakeCtx, hylafax: HylaFax) -> None:
    ctx = make_ctx(hylafax.toml("first_retry_seconds = 0\nretry_for_seconds = 3600\n"))
    outbox_id, _ = _queue_fax_reply(ctx, "+12085550142")
    send_stage(ctx, ctx.store.get_reply(outbox_id))
    first = ctx.store.get_reply(outbox_id).fax_job
    assert first is not None
    faxserver.remove(first)  # the server gives the job up ("Job aborted by request")
    assert follow_fax_jobs(ctx.store, ctx.settings.fax_out, datetime.now(UTC)) == 1
    item = ctx.store.get_reply(outbox_id)
    assert item.state == "failed" and item.fax_state == "failed" and f"job {first}" in (item.last_error or "")
    assert "aborted" in (item.last_error or "").lower()
    [due] = [i for i in ctx.store.due_replies(datetime.now(UTC) + timedelta(seconds=1)) if i.id == outbox_id]
    send_stage(ctx, due)  # submitted again: a new job
    second = ctx.store.get_reply(outbox_id).fax_job
    assert second is not None and second != first and second in faxserver.jobs("-s")
    faxserver.remove(second)
    # Past retry_for_seconds the reply is given up and left for staff, like a bounce.
    later = datetime.now(UTC) + timedelta(hours=2)
    follow_fax_jobs(ctx.store, ctx.settings.fax_out, later)
    item = ctx.store.get_reply(outbox_id)
    assert item.state == "permanent_failure" and f"job {second}" in (item.last_error or "")
    assert "gave up" in (item.last_error or "")
    assert ctx.store.due_replies(later) == [] or all(i.id != outbox_id for i in ctx.store.due_replies(later))


def test_unreachable_fax_server_is_retried_then_kept_for_staff(make_ctx: MakeCtx) -> None:
    ctx = make_ctx(f'[fax_out]\ntransport = "hylafax"\nhylafax_host = "127.0.0.1"\nhylafax_port = {free_port()}\n'
                   "hylafax_timeout_seconds = 2\nretry_for_seconds = 600\n")
    assert not check_fax_out(ctx.settings).ok
    outbox_id, _ = _queue_fax_reply(ctx)
    delivery = send_stage(ctx, ctx.store.get_reply(outbox_id))
    assert delivery is not None and not delivery.ok and not delivery.permanent
    item = ctx.store.get_reply(outbox_id)
    assert item.state == "failed" and item.next_attempt_at > datetime.now(UTC)
    send_stage(ctx, item, now=datetime.now(UTC) + timedelta(hours=1))
    item = ctx.store.get_reply(outbox_id)
    assert item.state == "permanent_failure" and "gave up after 600 s" in (item.last_error or "")


def test_email_transport_mails_the_pdf_to_the_templated_address(make_ctx: MakeCtx, sink: SmtpSink) -> None:
    ctx = make_ctx(f'[relay]\nhost = "{sink.host}"\nport = {sink.port}\nsecurity = "none"\n'
                   '[fax_out]\ntransport = "email"\nemail_address = "{number}@fax.example.net"\n'
                   'email_cover_text = "Attn: Payroll. Certificate of Coverage office."\n')
    assert check_fax_out(ctx.settings).ok
    outbox_id, pdf = _queue_fax_reply(ctx)
    delivery = send_stage(ctx, ctx.store.get_reply(outbox_id))
    assert delivery is not None and delivery.ok, delivery
    [got] = sink.wait_for(1)
    assert got.rcpt_tos == ("14105550199@fax.example.net",)
    msg = email.message_from_bytes(got.content, policy=default_policy)
    [attachment] = list(msg.iter_attachments())  # type: ignore[attr-defined]
    assert attachment.get_content_type() == "application/pdf" and attachment.get_content() == pdf
    assert "Attn: Payroll" in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    item = ctx.store.get_reply(outbox_id)
    assert item.state == "sent" and item.fax_transport == "email"


def test_folder_transport_writes_the_pdf_as_before(make_ctx: MakeCtx) -> None:
    ctx = make_ctx("")
    outbox_id, pdf = _queue_fax_reply(ctx)
    send_stage(ctx, ctx.store.get_reply(outbox_id))
    [written] = list(ctx.settings.fax_outbox.glob("*.pdf"))
    assert written.read_bytes() == pdf and written.name.startswith(NUMBER)
    assert ctx.store.get_reply(outbox_id).fax_transport == "folder"


class _Killed(BaseException):
    """A sender killed in the instant after its transport took the fax, before it settled the row."""


def _killed_after_hand_over(ctx: Context, outbox_id: int, monkeypatch: pytest.MonkeyPatch) -> None:
    def killed(*_args: object, **_kwargs: object) -> bool:
        raise _Killed
    monkeypatch.setattr(ctx.store, "mark_fax_handed_over", killed)
    with pytest.raises(_Killed):
        send_stage(ctx, ctx.store.get_reply(outbox_id))
    monkeypatch.undo()
    item = ctx.store.get_reply(outbox_id)
    assert item.state == "sending" and item.sent_at is not None  # marked before the transport's last step
    # The survivors' sweep settles it as sent: nothing is due again, so no second fax goes out.
    later = datetime.now(UTC) + timedelta(hours=1)
    assert ctx.store.requeue_sending(later, later) == 0
    assert ctx.store.get_reply(outbox_id).state == "sent"
    assert all(i.id != outbox_id for i in ctx.store.due_replies(later + timedelta(days=1)))


def test_hylafax_job_submitted_before_a_crash_is_followed_not_sent_again(
        make_ctx: MakeCtx, hylafax: HylaFax, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = make_ctx(hylafax.toml())
    outbox_id, _ = _queue_fax_reply(ctx, "+13035550177")
    before = set(faxserver.jobs("-s"))
    _killed_after_hand_over(ctx, outbox_id, monkeypatch)
    item = ctx.store.get_reply(outbox_id)
    new_jobs = set(faxserver.jobs("-s")) - before
    # one job on the server, the one the outbox keeps
    assert item.fax_job is not None and new_jobs == {item.fax_job} and item.fax_transport == "hylafax"
    # Its job is followed like any other submitted one.
    assert [i.id for i in ctx.store.fax_jobs_to_follow()] == [outbox_id]
    follow_fax_jobs(ctx.store, ctx.settings.fax_out, datetime.now(UTC))
    assert ctx.store.get_reply(outbox_id).fax_state in ("ready", "pending", "blocked", "sleeping", "active")
    faxserver.remove(item.fax_job)


def test_folder_fax_written_before_a_crash_is_not_written_again(
        make_ctx: MakeCtx, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = make_ctx("")
    outbox_id, pdf = _queue_fax_reply(ctx)
    _killed_after_hand_over(ctx, outbox_id, monkeypatch)
    [written] = list(ctx.settings.fax_outbox.glob("*.pdf"))
    assert written.read_bytes() == pdf and ctx.store.get_reply(outbox_id).fax_transport == "folder"
