"""The reply stage against the real store: the per-sender limit, RFC 3834, and running it twice."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from intake.extract import extract_submission
from intake.isolation import ExtractionPool
from intake.pipeline import Context, extract_stage, needs_reply, reply_stage, send_stage
from intake.settings import load_settings
from intake.store import Incoming
from tests import faxgen, mailgen
from tests.servers import SmtpSink, free_port, smtp_sink  # noqa: F401  (fixture)
from tests.store_fixtures import stage_context
from tests.synth import labelled_lines, make_request


def _context(tmp_path: Path, per_hour: int, extra: str = "") -> Context:
    return stage_context(tmp_path, f"[replies]\nper_sender_per_hour = {per_hour}\n" + extra)


def _stored(ctx: Context, raw: bytes) -> int:
    sid, created = ctx.store.store_submission(Incoming(channel="smtp", raw=raw, sender="hr@acme.example.com",
                                                       received_at=datetime.now(UTC)))
    assert created
    result = extract_submission(raw, channel="email")
    ctx.store.mark_extracted(sid, result)
    return sid


def _mail(rng: random.Random, **kw: object) -> bytes:
    text = "\n".join(labelled_lines(make_request(rng, kind="employee"), rng)) + "\n"
    return mailgen.thunderbird(sender="hr@acme.example.com", to="certificate@localhost", subject="COC",
                               text=text, **kw)  # type: ignore[arg-type]


def test_per_sender_limit_and_idempotence(tmp_path: Path) -> None:
    ctx = _context(tmp_path, per_hour=2)
    rng = random.Random(4)
    ids = [_stored(ctx, _mail(rng)) for _ in range(3)]
    assert [reply_stage(ctx, sid) for sid in ids] == [True, True, False]
    assert [len(ctx.store.replies_of(sid)) for sid in ids] == [1, 1, 0]
    limited = [e for e in ctx.store.events_of(submission_id=ids[2]) if e.kind == "no_reply"]
    assert limited and "more than 2 replies" in (limited[0].new or "")
    # The stage run again after a crash queues nothing new.
    assert reply_stage(ctx, ids[0]) is False and len(ctx.store.replies_of(ids[0])) == 1
    assert not needs_reply(ctx, ids[2])
    ctx.store.dispose()


def test_auto_replies_get_no_answer_but_are_recorded(tmp_path: Path) -> None:
    ctx = _context(tmp_path, per_hour=60)
    raw = mailgen.auto_reply(sender="hr@acme.example.com", to="certificate@localhost", text="Out of office")
    sid, _ = ctx.store.store_submission(Incoming(channel="smtp", raw=raw, sender="hr@acme.example.com",
                                                 received_at=datetime.now(UTC)))
    result = extract_submission(raw, channel="email")
    ctx.store.mark_extracted(sid, result)
    assert reply_stage(ctx, sid) is False
    assert ctx.store.replies_of(sid) == []
    assert any(e.kind == "no_reply" and "Auto-Submitted" in (e.new or "")
               for e in ctx.store.events_of(submission_id=sid))
    assert ctx.store.get_submission(sid).state == "needs_review"  # staff still see it
    ctx.store.dispose()


def test_null_sender_over_smtp_gets_no_reply(tmp_path: Path) -> None:
    """RFC 3834: a bounce (MAIL FROM:<>) is never answered, even when its From: looks like a person's.

    The SMTP listener stores a null sender as `sender=None` and a `Return-Path: <>` line on top.
    """
    ctx = _context(tmp_path, per_hour=60)
    raw = b"Return-Path: <>\r\n" + _mail(random.Random(8))
    sid, _ = ctx.store.store_submission(Incoming(channel="smtp", raw=raw, sender=None, received_at=datetime.now(UTC)))
    result = extract_submission(raw, channel="email")
    ctx.store.mark_extracted(sid, result)
    assert reply_stage(ctx, sid) is False and ctx.store.replies_of(sid) == []
    assert any(e.kind == "no_reply" and "null envelope sender" in (e.new or "")
               for e in ctx.store.events_of(submission_id=sid))
    ctx.store.dispose()


def test_outbox_retries_temporary_failures_and_keeps_permanent_ones_for_staff(
        tmp_path: Path, smtp_sink: SmtpSink) -> None:  # noqa: F811
    """4xx and a refused connection: tried again with doubling delays, sent once; 5xx, or retrying for
    longer than retry_for_seconds: `permanent_failure`, counted by `coc-intake status` for staff."""
    relay = (f'[relay]\nhost = "{smtp_sink.host}"\nport = {smtp_sink.port}\nsecurity = "none"\n'
             "first_retry_seconds = 60\nmax_retry_seconds = 150\nretry_for_seconds = 3600\ntimeout_seconds = 10\n")
    ctx = _context(tmp_path, per_hour=60, extra=relay)
    rng = random.Random(9)
    ids = [_stored(ctx, _mail(rng)) for _ in range(3)]
    now = datetime.now(UTC)
    for sid in ids:
        assert reply_stage(ctx, sid, now=now)
    first, second, third = (ctx.store.replies_of(sid)[0] for sid in ids)

    # A 451 three times: each retry waits twice as long as the one before, up to max_retry_seconds.
    smtp_sink.fail("451 4.3.0 try again later", times=3)
    t = now
    for delay in (60, 120, 150):
        assert send_stage(ctx, ctx.store.get_reply(first.id), now=t) is not None
        item = ctx.store.get_reply(first.id)
        assert item.state == "failed" and "451" in (item.last_error or "")
        assert item.next_attempt_at.replace(tzinfo=UTC) == t + timedelta(seconds=delay)
        assert first.id not in [d.id for d in ctx.store.due_replies(t + timedelta(seconds=delay - 1))]
        t += timedelta(seconds=delay)
    assert first.id in [d.id for d in ctx.store.due_replies(t)]
    assert send_stage(ctx, ctx.store.get_reply(first.id), now=t).ok  # type: ignore[union-attr]
    assert ctx.store.get_reply(first.id).state == "sent"
    assert send_stage(ctx, ctx.store.get_reply(first.id), now=t) is None  # never sent twice
    assert len(smtp_sink.received()) == 1

    # A 550: no retry, left for staff.
    smtp_sink.fail("550 5.1.1 no such user", stage="rcpt", times=1)
    send_stage(ctx, second, now=now)
    item = ctx.store.get_reply(second.id)
    assert item.state == "permanent_failure" and "550" in (item.last_error or "")
    assert second.id not in [d.id for d in ctx.store.due_replies(now + timedelta(days=3))]

    # The relay down (connection refused) past retry_for_seconds: given up, for staff too.
    down = load_settings(tmp_path / "c.toml").model_copy(deep=True)
    down.relay.port = free_port()
    send_stage(Context(ctx.store, down, ctx.pool), third, now=now + timedelta(seconds=3600))
    item = ctx.store.get_reply(third.id)
    assert item.state == "permanent_failure" and "gave up" in (item.last_error or "")
    assert len(smtp_sink.received()) == 1

    # The operator sees them: counts per state and the oldest waiting submission and request.
    proc = subprocess.run([sys.executable, "-m", "intake.cli", "--config", str(tmp_path / "c.toml"), "status"],
                          capture_output=True, check=False, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = {line.split()[0]: line for line in proc.stdout.splitlines() if line and not line.startswith("oldest")}
    assert "sent 1" in lines["replies"] and "permanent_failure 2" in lines["replies"], proc.stdout
    assert "done 3" in lines["submissions"], proc.stdout
    assert "oldest waiting reply" not in proc.stdout  # nothing queued or failed-for-retry is left
    ctx.store.dispose()


def test_a_document_that_times_out_goes_to_staff_with_the_reason(tmp_path: Path) -> None:
    """A fax whose extraction outlasts the pool's limit: `needs_review` with the reason, still answered."""
    ctx = _context(tmp_path, per_hour=60)
    ctx = Context(ctx.store, ctx.settings, ExtractionPool(1, timeout=0.5, memory_mb=0))
    rng = random.Random(12)
    tiff = faxgen.tiff_bytes(faxgen.fax_request(make_request(rng, kind="employee"), rng, "fine"))
    sid, _ = ctx.store.store_submission(Incoming(channel="fax", raw=tiff, sender="+12085550142",
                                                 received_at=datetime.now(UTC), fax_filename="fax_+12085550142.tif"))
    try:
        assert extract_stage(ctx, sid)
        sub = ctx.store.get_submission(sid)
        assert sub.state == "needs_review" and "longer than 0.5 seconds" in (sub.reason or ""), sub.reason
        assert ctx.store.requests_of(sid) == []
        assert reply_stage(ctx, sid)  # nothing is dropped: the sender hears that a person will look
        (reply,) = ctx.store.replies_of(sid)
        assert reply.channel == "fax" and reply.kind == "incomplete"
    finally:
        ctx.store.dispose()
