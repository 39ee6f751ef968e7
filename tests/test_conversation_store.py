"""The conversation's store methods on SQLite and PostgreSQL: replies by Message-ID, answers recorded
in one transaction with their events, a second recording refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from intake.model import CertificateRequest
from intake.store import Incoming, StateConflict, Store
from intake.store.conversation import AnswerLink, RequestUpdate
from tests import mailgen
from tests.results import submission_result

pytest_plugins = ["tests.store_fixtures"]


def _sub(store: Store, text: str) -> int:
    raw = mailgen.thunderbird(sender="hr@acme.example.com", to="certificate@localhost", subject="x", text=text)
    sid, _ = store.store_submission(Incoming(channel="smtp", raw=raw, sender="hr@acme.example.com",
                                             received_at=datetime.now(UTC)))
    return sid


def test_replies_are_found_by_message_id_and_answers_recorded(store: Store) -> None:
    origin = _sub(store, "request")
    item = {"fields": {"worker": {"last_name": "Doe"}}, "status": "needs_review", "problems": [{"code": "missing"}]}
    (rec,) = store.mark_extracted(origin, submission_result([item]))
    message = b"Message-ID: <r1.abc@localhost>\r\nSubject: x\r\n\r\nbody\r\n"
    assert store.queue_reply(origin, "incomplete", "email", "hr@acme.example.com", message)
    assert store.queue_reply(origin, "incomplete", "fax", "+12085550142", b"%PDF", generation=1)
    assert store.replies_with_message_ids(["<nothing@x>", "<r1.abc@localhost>"]) == [(origin, None)]
    assert [r.message_id for r in store.replies_of(origin)] == ["<r1.abc@localhost>", None]
    assert store.references_exist([rec.reference.lower(), "COC-1999-000001"]) == {rec.reference: rec.id}

    answer = _sub(store, "answer")
    fields = {"worker": {"last_name": "Doe", "date_of_birth": "1970-01-02"}}
    store.record_answer(answer, submission_result(parts=[{"name": "body", "media_type": "text/plain"}]),
                        [AnswerLink(rec.id, "message_id", "merged", "1 value added")],
                        [RequestUpdate(rec.id, fields, [], {"worker.date_of_birth": {"part": f"answer {answer}: body",
                                                                                     "method": "text"}},
                                       {}, "accepted", [("worker.date_of_birth", None, "'1970-01-02'")])],
                        state="extracted")
    after = store.get_request(rec.id)
    assert after.request == CertificateRequest.model_validate(fields)
    assert after.state == "accepted" and after.problems == []
    assert store.get_submission(answer).state == "extracted" and store.requests_of(answer) == []
    assert [(a.submission_id, a.outcome) for a in store.answers_to(rec.id)] == [(answer, "merged")]
    assert [a.request_id for a in store.answered_by(answer)] == [rec.id]
    kinds = [e.kind for e in store.events_of(request_id=rec.id)]
    assert kinds[-3:] == ["answer_merged", "answer_value", "state"]
    with pytest.raises(StateConflict):  # recorded once: a second worker finds it done
        store.record_answer(answer, submission_result(), [], [], state="extracted")
