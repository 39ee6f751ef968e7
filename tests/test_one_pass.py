"""One submission, one pass: the stages of a fresh mail hand each other what they made, so the store
is asked as little as the durability design needs. Counted on the engine itself (SQLAlchemy's
`begin` event), with the real extraction pool, sender check and SQLite store."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from intake import crypto
from intake.pipeline import Context, process_submission, send_stage
from intake.store import Incoming
from tests import mailgen
from tests.store_fixtures import stage_context
from tests.synth import labelled_lines, make_request


class Transactions:
    """Transactions begun on the store's engine while counting, and the raw-message decryptions."""

    def __init__(self, ctx: Context) -> None:
        self.count = 0
        self.on = False
        event.listen(ctx.store.engine, "begin", self._begin)

    def _begin(self, _conn: Any) -> None:
        if self.on:
            self.count += 1


def _mail(rng: random.Random, *, complete: bool) -> bytes:
    req = make_request(rng, kind="employee")
    lines = labelled_lines(req, rng)
    if not complete:
        lines = [line for line in lines if "birth" not in line.lower() and "dob" not in line.lower()]
    return mailgen.thunderbird(sender="hr@acme.example.com", to="certificate@localhost", subject="COC request",
                               text="Please issue a certificate:\n\n" + "\n".join(lines) + "\n")


def _pass(ctx: Context, raw: bytes, counted: Transactions) -> tuple[int, int, int]:
    """Store one mail, then count the transactions of its pass and of sending its reply."""
    sid, _ = ctx.store.store_submission(Incoming(channel="smtp", raw=raw, sender="hr@acme.example.com",
                                                 received_at=datetime.now(UTC)))
    counted.count, counted.on = 0, True
    assert process_submission(ctx, sid)
    in_pass = counted.count
    (item,) = ctx.store.replies_of(sid)
    counted.count = 0
    assert send_stage(ctx, item) is not None
    counted.on = False
    return sid, in_pass, counted.count


def test_a_mail_answered_received_takes_at_most_six_transactions(tmp_path: Path, monkeypatch: Any) -> None:
    ctx = stage_context(tmp_path, "[trust]\nflag_unverified = false\n")
    decrypted: Counter[str] = Counter()
    real = crypto.Keyring.decrypt

    def counting(self: crypto.Keyring, data: bytes, aad: str) -> bytes:
        decrypted[aad.split(":", maxsplit=1)[0]] += 1
        return real(self, data, aad)

    monkeypatch.setattr(crypto.Keyring, "decrypt", counting)
    counted = Transactions(ctx)
    try:
        ctx.store.keyring  # noqa: B018  (the key is loaded outside the count)
        sid, in_pass, sending = _pass(ctx, _mail(random.Random(3), complete=True), counted)
        assert [r.state for r in ctx.store.requests_of(sid)] == ["accepted"]
        (reply,) = ctx.store.replies_of(sid)
        assert reply.kind == "received" and reply.state == "sent"
        assert ctx.store.get_submission(sid).state == "done"
        # Extraction and reply: count the attempt and load the submission (1), the requests with the
        # sender verdict (2), the per-sender limit (3), the reply queued with the submission done
        # (4); sending it to the `.eml` folder: taken (5) and sent (6). 19 before the one pass.
        assert in_pass <= 4, in_pass
        assert sending <= 2, sending
        assert in_pass + sending <= 6
        # The raw message decrypted once in the pass (and the store's own read above once more).
        decrypted.clear()
        _sid2, _, _ = _pass(ctx, _mail(random.Random(4), complete=True), counted)
        assert decrypted["submissions.raw"] == 1, decrypted
    finally:
        ctx.store.dispose()


def test_an_incomplete_mail_is_answered_in_the_same_pass(tmp_path: Path) -> None:
    ctx = stage_context(tmp_path, "[trust]\nflag_unverified = false\n")
    counted = Transactions(ctx)
    try:
        sid, in_pass, _ = _pass(ctx, _mail(random.Random(5), complete=False), counted)
        (reply,) = ctx.store.replies_of(sid)
        assert reply.kind == "incomplete"
        assert [r.state for r in ctx.store.requests_of(sid)] == ["needs_review"]
        assert in_pass <= 6, in_pass
    finally:
        ctx.store.dispose()


def test_a_request_row_built_from_the_results_dump_is_the_row_built_from_the_result() -> None:
    """`mark_extracted` dumps the result once and builds each request row from that dump
    (`NewRequest.of(..., dumped=)`): the row must be what dumping each request anew gives."""
    from intake.extract import extract_submission
    from intake.store.records import NewRequest

    rng = random.Random(23)
    for complete in (True, False):
        result = extract_submission(_mail(rng, complete=complete), channel="email")
        dumped = result.model_dump(mode="json")
        assert result.requests
        for item, part in zip(result.requests, dumped["requests"], strict=True):
            assert NewRequest.of(item, dumped=part) == NewRequest.of(item)


def test_the_records_mark_extracted_returns_are_the_records_read_back(tmp_path: Path) -> None:
    """The extract stage hands the reply stage the records `mark_extracted` made from the typed
    result (not validated again from the dump): they must equal what the store reads back."""
    from intake.extract import extract_submission

    ctx = stage_context(tmp_path)
    rng = random.Random(29)
    for complete in (True, False):
        raw = _mail(rng, complete=complete)
        sid, _ = ctx.store.store_submission(Incoming(channel="smtp", raw=raw, sender="hr@acme.example.com",
                                                     received_at=datetime.now(UTC)))
        ctx.store.begin_attempt_loaded(sid)
        made = ctx.store.mark_extracted(sid, extract_submission(raw, channel="email"))
        assert made and made == ctx.store.requests_of(sid)
