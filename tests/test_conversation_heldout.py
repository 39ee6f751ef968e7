"""Held-out conversations on the real stages: an answer written in words this project never taught
its parsers joins the request it answers, and the reply names that request's reference alone.

Four conversations from `tests.heldconv` (two per half of `phrasings.toml`, each with its own layout,
client and reply style), through the same stages as `bench.conversation`: store on SQLite, extraction
pool, replies. Completion itself is the benchmark's figure (`--heldout`); what may never happen is
asserted here: an answer that becomes a request of its own, a reply that carries another reference.
"""

from __future__ import annotations

import random
import re
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

from tests import heldconv
from tests.store_fixtures import deliver, stage_context

REFERENCE = re.compile(r"[A-Z]+-\d{4}-\d{6}")




def test_heldout_answers_join_their_request(tmp_path: Path) -> None:
    ctx = stage_context(tmp_path, "[trust]\nflag_unverified = false\n")
    rng = random.Random(5)
    asked = 0
    try:
        for i in range(4):
            conv = heldconv.conversation(rng, i)
            sid = deliver(ctx, conv.raw, conv.sender)
            recs = ctx.store.requests_of(sid)
            assert len(recs) == 1, (i, conv.half, conv.layout)
            replies = ctx.store.replies_of(sid)
            if not replies or replies[0].kind != "incomplete":
                continue
            asked += 1
            rec = recs[0]
            answer_sid = deliver(ctx, conv.answer(replies[0].message), conv.sender)
            assert ctx.store.requests_of(answer_sid) == [], (i, conv.half, conv.style)
            reply = ctx.store.replies_of(answer_sid)
            assert len(reply) == 1, (i, conv.style)
            subject = str(message_from_bytes(reply[0].message, policy=default_policy)["Subject"])
            assert REFERENCE.findall(subject) == [rec.reference], (i, subject)
            after = ctx.store.get_request(rec.id)
            assert after.reference == rec.reference
    finally:
        ctx.store.dispose()
    # Every generated request lacks a required field: all four must have been asked.
    assert asked == 4
