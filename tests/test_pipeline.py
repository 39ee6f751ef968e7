"""The reply stage against the real store: the per-sender limit, RFC 3834, and running it twice."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

from intake.extract import extract_submission
from intake.isolation import ExtractionPool
from intake.pipeline import Context, needs_reply, reply_stage
from intake.settings import load_settings
from intake.store import Incoming, Store
from tests import mailgen
from tests.synth import labelled_lines, make_request


def _context(tmp_path: Path, per_hour: int) -> Context:
    config = tmp_path / "c.toml"
    config.write_text(f'[paths]\nvar = "{tmp_path}/var"\n[replies]\nper_sender_per_hour = {per_hour}\n')
    settings = load_settings(config)
    store = Store.from_settings(settings)
    store.upgrade()
    return Context(store, settings, ExtractionPool(1, timeout=60, memory_mb=0))


def _stored(ctx: Context, raw: bytes) -> int:
    sid, created = ctx.store.store_submission(Incoming(channel="smtp", raw=raw, sender="hr@acme.example.com",
                                                       received_at=datetime.now(UTC)))
    assert created
    result = extract_submission(raw, channel="email")
    ctx.store.mark_extracted(sid, result, result.requests)
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
    ctx.store.mark_extracted(sid, result, result.requests)
    assert reply_stage(ctx, sid) is False
    assert ctx.store.replies_of(sid) == []
    assert any(e.kind == "no_reply" and "Auto-Submitted" in (e.new or "")
               for e in ctx.store.events_of(submission_id=sid))
    assert ctx.store.get_submission(sid).state == "needs_review"  # staff still see it
    ctx.store.dispose()
