"""The durable store on SQLite and on the real PostgreSQL: migrations, idempotence, races, states."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text

from intake.store import (
    Incoming,
    StateConflict,
    Store,
    web_models,  # noqa: F401  (the web tables belong to the same metadata)
)
from intake.store.migrate import downgrade, head_revision
from intake.store.models import Base, Event, Outbox, Request, Submission
from tests.results import submission_result

# Fixtures `db_url` (SQLite and PostgreSQL), `store` (migrated), `pg_url`.
pytest_plugins = ["tests.store_fixtures"]

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def mail(n: int = 1, *, body: str = "Please issue a certificate.", received: str = "mx1", crlf: bool = True) -> bytes:
    """A synthetic message; `received` changes only a trace header, as a second delivery path would."""
    lines = [
        f"Received: from {received}.example.org by gw.example.org",
        "From: HR Dept <hr@employer.example>",
        "To: certificate@localhost",
        f"Message-ID: <req-{n}@employer.example>",
        "Subject: Certificate of coverage request",
        "",
        body,
        "Worker SSN: 123-45-6789",
        "",
    ]
    return ("\r\n" if crlf else "\n").join(lines).encode()


def inc(raw: bytes, channel: Any = "smtp", **kw: Any) -> Incoming:
    return Incoming(channel=channel, raw=raw, sender="hr@employer.example", received_at=NOW, **kw)


def imap(raw: bytes, uid: int, uidvalidity: int = 7, folder: str = "INBOX") -> Incoming:
    return inc(raw, "imap", imap_folder=folder, imap_uidvalidity=uidvalidity, imap_uid=uid)


def fax(data: bytes, name: str = "fax_+12025550123_0001.pdf") -> Incoming:
    return Incoming(channel="fax", raw=data, sender="+12025550123", received_at=NOW, fax_filename=name)


def n_rows(st: Store, model: Any) -> int:
    with st.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(model)).scalar_one())


def request_dict(ssn: str = "123-45-6789", status: str = "valid", last: str = "Testperson") -> dict[str, Any]:
    return {
        "request": {
            "request_type": "employee",
            "worker": {"first_name": "Alex", "last_name": last, "ssn": ssn},
            "employer": {"name": "Example Widgets Inc", "ein": "12-3456789"},
            "assignment": {"country": "DE", "start_date": "2026-05-01", "end_date": "2027-04-30"},
        },
        "status": status,
        "problems": [] if status == "valid" else [{"field": "worker.date_of_birth", "code": "missing"}],
        "confidence": {"worker.ssn": 0.98},
        "provenance": {"worker.ssn": {"part": "body", "method": "text"}},
    }


RESULT = {"requests": [], "problems": [], "parts": [{"name": "body", "media_type": "text/plain", "pages": 0}]}


# -- migrations --------------------------------------------------------------------------------


def test_upgrade_creates_schema_matching_models(db_url: str) -> None:
    st = Store(db_url)
    try:
        assert st.current_revision() is None
        assert st.needs_upgrade()
        assert st.ensure_schema() is True
        assert st.current_revision() == head_revision() is not None
        assert {"submissions", "parts", "requests", "events", "outbox", "source_state", "imap_seen"} <= set(
            st.table_names()
        )
        assert st.ensure_schema() is False  # idempotent
        # The hand-checked migration and the models describe the same schema.
        with st.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == []
        # Down to nothing and up again: the downgrade is complete.
        downgrade(st.engine, "base")
        assert set(st.table_names()) <= {"alembic_version"}
        st.upgrade()
        assert st.current_revision() == head_revision()
    finally:
        st.dispose()


def test_sqlite_pragmas(tmp_path: Any) -> None:
    st = Store(f"sqlite:///{tmp_path / 'sub' / 'dir' / 'x.db'}")  # the directory is created
    st.upgrade()
    with st.engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert int(c.execute(text("PRAGMA busy_timeout")).scalar() or 0) >= 10_000
    st.dispose()


def test_repr_hides_password() -> None:
    st = Store("postgresql://coc:s3cretpw@127.0.0.1:1/nothing")
    assert "s3cretpw" not in repr(st)
    assert st.engine.dialect.driver == "psycopg"


# -- idempotent intake ---------------------------------------------------------------------------


def test_same_imap_uid_twice_is_one_row(store: Store) -> None:
    a = store.store_submission(imap(mail(1), uid=41))
    b = store.store_submission(imap(mail(1), uid=41))
    assert a[1] is True and b == (a[0], False)
    assert n_rows(store, Submission) == 1
    assert store.imap_known("INBOX", 7, [40, 41, 42]) == {41}
    assert store.imap_known("INBOX", 8, [41]) == set()
    assert store.imap_known("Other", 7, [41]) == set()


def test_same_message_id_and_body_is_one_row_across_channels_and_paths(store: Store) -> None:
    sid, created = store.store_submission(inc(mail(2, received="mx1")))
    assert created
    # Same message relayed another way: other Received header, LF line ends, another channel.
    assert store.store_submission(inc(mail(2, received="mx2", crlf=False), "lmtp")) == (sid, False)
    assert store.store_submission(inc(mail(2), message_id="<req-2@employer.example>")) == (sid, False)
    # IMAP redelivery of that message under a new UID (e.g. after UIDVALIDITY changed): no new row,
    # and the UID is remembered so it is not fetched again.
    assert store.store_submission(imap(mail(2), uid=5, uidvalidity=99)) == (sid, False)
    assert store.imap_known("INBOX", 99, [5]) == {5}
    assert n_rows(store, Submission) == 1


def test_same_message_id_with_other_body_is_two_rows(store: Store) -> None:
    a, _ = store.store_submission(inc(mail(3, body="First request.")))
    b, created = store.store_submission(inc(mail(3, body="A different request.")))
    assert created and b != a
    assert n_rows(store, Submission) == 2
    assert store.get_submission(a).message_id == store.get_submission(b).message_id == "<req-3@employer.example>"


def test_mail_without_message_id_dedups_on_exact_bytes(store: Store) -> None:
    raw = b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
    a, _ = store.store_submission(inc(raw))
    assert store.store_submission(inc(raw)) == (a, False)
    _, created = store.store_submission(inc(raw.replace(b"hi", b"ho")))
    assert created
    assert store.get_submission(a).message_id is None


def test_same_fax_hash_twice_is_one_row(store: Store) -> None:
    data = b"%PDF-1.4 synthetic fax page\n%%EOF\n"
    a, created = store.store_submission(fax(data))
    assert created
    assert store.store_submission(fax(data, name="fax_+12025550123_0001-copy.pdf")) == (a, False)
    _, other = store.store_submission(fax(data + b" "))
    assert other
    assert n_rows(store, Submission) == 2
    rec = store.get_submission(a)
    assert rec.raw == data and rec.size == len(data) and rec.fax_filename == "fax_+12025550123_0001.pdf"
    assert rec.received_at == NOW and rec.received_at.tzinfo is not None


def test_submission_round_trip(store: Store) -> None:
    raw = mail(4)
    sid, _ = store.store_submission(
        Incoming(
            channel="smtp",
            raw=raw,
            sender="hr@employer.example",
            received_at=datetime(2026, 3, 2, 10, 30, tzinfo=UTC).astimezone(),  # any zone in, UTC out
            recipients=("certificate@localhost", "copy@localhost"),
        )
    )
    rec = store.get_submission(sid)
    assert rec.raw == raw  # byte for byte
    assert rec.recipients == ("certificate@localhost", "copy@localhost")
    assert rec.received_at == datetime(2026, 3, 2, 10, 30, tzinfo=UTC) and rec.received_at.utcoffset() == timedelta(0)
    assert rec.state == "received" and rec.attempts == 0
    with pytest.raises(ValueError, match="naive"):
        store.store_submission(Incoming("smtp", mail(5), None, datetime(2026, 1, 1)))
    with pytest.raises(ValueError):
        store.store_submission(Incoming("imap", mail(6), None, NOW))  # IMAP without its UID


# -- concurrent writers --------------------------------------------------------------------------


def run_threads(n: int, fn: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(i)
        except BaseException as exc:  # noqa: BLE001  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return results


def test_concurrent_writers_store_one_row(db_url: str) -> None:
    # One Store (engine, pool) per thread, as separate processes would have.
    stores = [Store(db_url) for _ in range(6)]
    stores[0].upgrade()
    try:
        same = mail(10)
        res = run_threads(6, lambda i: stores[i].store_submission(imap(same, uid=100 + i)))
        assert len({sid for sid, _ in res}) == 1
        assert sum(created for _, created in res) == 1
        assert stores[0].imap_known("INBOX", 7, [100 + i for i in range(6)]) == {100 + i for i in range(6)}
        res = run_threads(6, lambda i: stores[i].store_submission(fax(b"%PDF same fax")))
        assert sum(created for _, created in res) == 1
        # Distinct messages from every thread at once: all stored, none lost.
        res = run_threads(6, lambda i: [stores[i].store_submission(inc(mail(1000 + 10 * i + k)))[1] for k in range(5)])
        assert all(all(r) for r in res)
        assert n_rows(stores[0], Submission) == 2 + 30
    finally:
        for st in stores:
            st.dispose()


# -- state moves ---------------------------------------------------------------------------------


def test_extraction_state_moves(store: Store) -> None:
    a, _ = store.store_submission(inc(mail(20)))
    b, _ = store.store_submission(inc(mail(21)))
    c, _ = store.store_submission(inc(mail(22)))
    assert store.pending_submissions() == [a, b, c]
    assert store.begin_attempt(a) == 1
    assert store.begin_attempt(a) == 2

    two = submission_result([request_dict(), request_dict("987-65-4321", "needs_review", "Other")], RESULT["parts"])
    made = store.mark_extracted(a, two)
    assert [r.state for r in made] == ["accepted", "needs_review"]
    refs = [r.reference for r in made]
    assert all(re.fullmatch(r"COC-2026-\d{6}", ref) for ref in refs) and len(set(refs)) == 2
    assert made[0].ssn_last4 == "6789" and made[0].worker_name == "Alex Testperson"
    assert made[0].employer_ein == "12-3456789" and made[0].country == "DE"
    assert made[0].fields["worker"]["ssn"] == "123-45-6789"  # the full value is in the store only
    assert store.find_request(refs[1].lower()) == made[1]
    assert store.requests_of(a) == made
    sub = store.get_submission(a)
    assert sub.state == "extracted" and sub.result == two.model_dump(mode="json")  # the result kept as read
    assert store.pending_submissions() == [b, c]

    # The same extraction committed twice (a second worker, a retry) is refused, not duplicated.
    with pytest.raises(StateConflict):
        store.mark_extracted(a, submission_result([request_dict()], RESULT["parts"]))
    with pytest.raises(StateConflict):
        store.begin_attempt(a)
    assert n_rows(store, Request) == 2

    # No request found: straight to staff with a reason.
    assert store.mark_extracted(b, submission_result([], RESULT["parts"])) == []
    assert store.get_submission(b).state == "needs_review"
    assert "no request" in (store.get_submission(b).reason or "")

    store.mark_failed(c, "worker process crashed")
    assert store.get_submission(c).state == "failed"
    assert store.pending_submissions() == []
    # A failed submission can be extracted again (reprocess).
    assert len(store.mark_extracted(c, submission_result([request_dict()], RESULT["parts"]))) == 1

    store.mark_done(a)
    assert store.get_submission(a).state == "done"
    with pytest.raises(StateConflict):
        store.mark_done(a)
    with pytest.raises(StateConflict):
        store.mark_needs_review(a, "too late")

    old = store.set_request_state(made[1].id, "corrected", actor="staff:jdoe", expected=("needs_review",))
    assert old == "needs_review"
    with pytest.raises(StateConflict):
        store.set_request_state(made[1].id, "corrected", actor="staff:jdoe", expected=("needs_review",))

    kinds = [(e.kind, e.old, e.new) for e in store.events_of(submission_id=a)]
    assert ("state", "received", "extracted") in kinds and ("state", "extracted", "done") in kinds
    assert [(e.kind, e.actor) for e in store.events_of(request_id=made[1].id)] == [
        ("created", "pipeline"),
        ("state", "staff:jdoe"),
    ]
    # No full SSN in any event row: the audit trail is shown to more people than the SSN is.
    with store.engine.connect() as conn:
        texts = [" ".join(str(v) for v in row) for row in conn.execute(select(Event))]
    assert not any("123-45-6789" in t or "987-65-4321" in t for t in texts)


def test_concurrent_extraction_commits_once(db_url: str) -> None:
    stores = [Store(db_url) for _ in range(4)]
    stores[0].upgrade()
    try:
        sid, _ = stores[0].store_submission(inc(mail(30)))

        def extract(i: int) -> str:
            try:
                stores[i].mark_extracted(sid, submission_result([request_dict(), request_dict()], RESULT["parts"]))
                return "won"
            except StateConflict:
                return "lost"

        assert sorted(run_threads(4, extract)) == ["lost", "lost", "lost", "won"]
        assert len(stores[0].requests_of(sid)) == 2
    finally:
        for st in stores:
            st.dispose()


def test_source_state(store: Store) -> None:
    assert store.get_source_state("imap:INBOX") is None
    store.set_source_state("imap:INBOX", 7, 41)
    store.set_source_state("imap:INBOX", 8, 3)
    assert store.get_source_state("imap:INBOX") == (8, 3)


# -- outbox --------------------------------------------------------------------------------------


def test_outbox_never_queues_twice_and_moves(store: Store) -> None:
    sid, _ = store.store_submission(inc(mail(40)))
    (req,) = store.mark_extracted(sid, submission_result([request_dict()], RESULT["parts"]))
    assert store.queue_reply(sid, "received", "email", "hr@employer.example", b"msg", request_id=req.id, now=NOW)
    assert not store.queue_reply(sid, "received", "email", "hr@employer.example", b"other", request_id=req.id)
    # Another kind, or a later generation (after a correction), is a different reply.
    assert store.queue_reply(sid, "incomplete", "email", "hr@employer.example", b"m2", request_id=req.id, now=NOW)
    assert store.queue_reply(
        sid,
        "received",
        "email",
        "hr@employer.example",
        b"m3",
        request_id=req.id,
        generation=1,
        now=NOW + timedelta(minutes=30),
    )
    # A submission-level reply (no request) is unique too, although request_id is NULL.
    assert store.queue_reply(sid, "received", "fax", "+12025550123", b"%PDF", now=NOW)
    assert not store.queue_reply(sid, "received", "fax", "+12025550123", b"%PDF", now=NOW)
    assert n_rows(store, Outbox) == 4
    assert store.replies_since("HR@Employer.Example", NOW - timedelta(hours=1)) == 3

    due = store.due_replies(NOW)
    assert [d.message for d in due] == [b"msg", b"m2", b"%PDF"]  # generation 1 is due later
    first, second, third = due
    assert store.mark_retry(first.id, "451 try later", NOW + timedelta(minutes=5))
    assert store.get_reply(first.id).state == "failed"
    assert first.id not in [d.id for d in store.due_replies(NOW + timedelta(minutes=1))]
    assert first.id in [d.id for d in store.due_replies(NOW + timedelta(minutes=5))]
    assert store.mark_sent(first.id, NOW + timedelta(minutes=6))
    assert not store.mark_sent(first.id)  # never sent twice
    sent = store.get_reply(first.id)
    assert sent.state == "sent" and sent.attempts == 2 and sent.sent_at == NOW + timedelta(minutes=6)
    assert store.mark_permanent(second.id, "550 no such user")
    assert not store.mark_retry(second.id, "451", NOW)
    assert [d.id for d in store.due_replies(NOW + timedelta(days=1))] == [third.id, store.replies_of(sid)[2].id]


def test_concurrent_queue_reply_one_row(db_url: str) -> None:
    stores = [Store(db_url) for _ in range(6)]
    stores[0].upgrade()
    try:
        sid, _ = stores[0].store_submission(inc(mail(50)))
        res = run_threads(6, lambda i: stores[i].queue_reply(sid, "received", "email", "a@example.org", b"x"))
        assert sorted(res) == [False] * 5 + [True]
        assert n_rows(stores[0], Outbox) == 1
    finally:
        for st in stores:
            st.dispose()


# -- operator view -------------------------------------------------------------------------------


def test_counts_by_state_and_oldest_waiting(store: Store) -> None:
    empty = store.counts_by_state()
    assert empty["submissions"] == dict.fromkeys(("received", "extracted", "needs_review", "failed", "done"), 0)
    assert store.oldest_waiting() == []

    a, _ = store.store_submission(inc(mail(60)))
    b, _ = store.store_submission(
        Incoming("smtp", mail(61), "x@example.org", NOW - timedelta(days=2))  # arrived earlier
    )
    store.store_submission(inc(mail(62)))
    store.mark_extracted(a, submission_result([request_dict(), request_dict(status="needs_review")], RESULT["parts"]))
    store.queue_reply(a, "received", "email", "hr@employer.example", b"m")
    counts = store.counts_by_state()
    assert counts["submissions"]["received"] == 2 and counts["submissions"]["extracted"] == 1
    assert counts["requests"]["accepted"] == 1 and counts["requests"]["needs_review"] == 1
    assert counts["replies"]["queued"] == 1 and sum(counts["replies"].values()) == 1

    waiting = {w.what: w for w in store.oldest_waiting()}
    assert waiting["submission"].id == b and waiting["submission"].since == NOW - timedelta(days=2)
    assert waiting["request"].state == "needs_review"
    assert waiting["reply"].state == "queued"


def test_lost_insert_race_returns_the_winner(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The path a writer takes when another committed the same message between its check and insert."""
    winner, _ = store.store_submission(imap(mail(70), uid=9))
    real = Store._find_duplicate
    calls: list[int] = []

    def blind_first(self: Store, key: str, imap_id: Any) -> int | None:
        calls.append(1)
        return None if len(calls) == 1 else real(self, key, imap_id)

    monkeypatch.setattr(Store, "_find_duplicate", blind_first)
    assert store.store_submission(imap(mail(70), uid=9)) == (winner, False)  # unique IMAP key
    calls.clear()
    assert store.store_submission(inc(mail(70), "smtp")) == (winner, False)  # unique content key
    assert n_rows(store, Submission) == 1


def test_a_batch_is_stored_as_each_message_alone(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """`store_submissions` (an IMAP batch, one commit): new ones made, a stored one and a message
    twice in the batch (another UID) give the existing id, every UID is remembered; a batch meeting
    a concurrent writer falls back to one message at a time."""
    before, _ = store.store_submission(imap(mail(80), uid=1))
    got = store.store_submissions([imap(mail(81), uid=2), imap(mail(80), uid=1), imap(mail(82), uid=3),
                                   imap(mail(81), uid=4)])
    assert got[1] == (before, False) and got[0][1] is True and got[2][1] is True
    assert got[3] == (got[0][0], False)  # the same message twice in one batch: one row
    assert len({sid for sid, _ in got}) == 3
    assert n_rows(store, Submission) == 3
    assert store.imap_known("INBOX", 7, [1, 2, 3, 4, 5]) == {1, 2, 3, 4}
    assert store.get_submission(got[2][0]).state == "received"
    real = Store._find_duplicate
    blind: list[int] = []

    def blind_once(self: Store, key: str, imap_id: Any) -> int | None:
        blind.append(1)
        return None if len(blind) == 1 else real(self, key, imap_id)

    monkeypatch.setattr(Store, "_find_duplicate", blind_once)  # as if another writer won the race
    again = store.store_submissions([imap(mail(82), uid=3), imap(mail(83), uid=6)])
    assert again[0] == (got[2][0], False) and again[1][1] is True
    assert n_rows(store, Submission) == 4


def test_db_command_from_any_directory(
    db_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`coc-intake db upgrade` needs no alembic.ini in the current directory: the migrations ship inside."""
    from intake.store.__main__ import db_command

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COC_INTAKE_STORE__URL", db_url)
    assert db_command("current") == 1  # empty database: behind head
    assert db_command("upgrade") == 0
    assert db_command("current") == 0
    out = capsys.readouterr().out
    head = head_revision()
    assert f"upgraded to {head}" in out and f"current {head}, head {head}" in out


def test_mark_extracted_takes_the_pipeline_models(store: Store) -> None:
    """`SubmissionResult` and its `RequestResult`s go in as they are (dates become ISO text)."""
    from datetime import date

    from intake.extract import PartSummary, RequestResult, SubmissionResult
    from intake.model import CertificateRequest

    req = CertificateRequest.model_validate(
        {
            "worker": {"first_name": "Sam", "last_name": "Example", "ssn": "123-45-6789"},
            "assignment": {"country": "FR", "start_date": date(2026, 6, 1)},
        }
    )
    rr = RequestResult(request=req, status="needs_review", confidence={"worker.ssn": 0.5})
    result = SubmissionResult(requests=[rr], parts=[PartSummary(name="body", media_type="text/plain", pages=1)])
    sid, _ = store.store_submission(inc(mail(80)))
    (made,) = store.mark_extracted(sid, result)
    assert made.state == "needs_review" and made.country == "FR" and made.ssn_last4 == "6789"
    assert made.fields["assignment"]["start_date"] == "2026-06-01"
    assert store.get_submission(sid).result == result.model_dump(mode="json")
    assert CertificateRequest.model_validate(store.get_request(made.id).fields) == req


def test_sending_is_taken_once_and_recovered_after_a_crash(db_url: str) -> None:
    stores = [Store(db_url) for _ in range(5)]
    st = stores[0]
    st.upgrade()
    try:
        sid, _ = st.store_submission(inc(mail(90)))
        st.queue_reply(sid, "received", "email", "hr@employer.example", b"m", now=NOW)
        (item,) = st.due_replies(NOW)
        # Five outbox workers see the same due reply; exactly one may send it.
        assert sorted(run_threads(5, lambda i: stores[i].mark_sending(item.id, NOW))) == [False] * 4 + [True]
        assert st.get_reply(item.id).state == "sending" and st.due_replies(NOW + timedelta(days=1)) == []
        assert st.counts_by_state()["replies"]["sending"] == 1
        # The sender died: a young `sending` row is left alone, an old one is due again.
        assert st.requeue_sending(older_than=NOW - timedelta(minutes=1)) == 0
        assert st.requeue_sending(older_than=NOW + timedelta(minutes=10), now=NOW + timedelta(minutes=10)) == 1
        assert [d.id for d in st.due_replies(NOW + timedelta(minutes=10))] == [item.id]
        assert st.mark_sending(item.id, NOW + timedelta(minutes=10))
        assert st.mark_sent(item.id, NOW + timedelta(minutes=11))
        done = st.get_reply(item.id)
        assert done.state == "sent" and done.attempts == 2  # two takings, the sent mark adds none
        assert not st.mark_sending(item.id) and not st.mark_sent(item.id)
    finally:
        for s in stores:
            s.dispose()


def test_a_reply_handed_over_before_a_crash_is_never_sent_again(db_url: str) -> None:
    st = Store(db_url)
    st.upgrade()
    try:
        sid, _ = st.store_submission(inc(mail(91)))
        st.queue_reply(sid, "received", "email", "a@employer.example", b"m", now=NOW)
        st.queue_reply(sid, "incomplete", "email", "a@employer.example", b"m", now=NOW)
        handed, unsent = st.due_replies(NOW)
        assert st.mark_sending(handed.id, NOW) and st.mark_sending(unsent.id, NOW)
        assert st.mark_handed_over(handed.id, NOW)  # everything but the final dot is with the relay
        # The sender is killed here. On restart the handed-over reply counts as sent; the other is due.
        assert st.requeue_sending(older_than=NOW + timedelta(minutes=1), now=NOW + timedelta(minutes=1)) == 1
        assert st.get_reply(handed.id).state == "sent"
        assert [d.id for d in st.due_replies(NOW + timedelta(minutes=1))] == [unsent.id]
        # A relay that refuses after the dot: the mark is cleared and the reply retried.
        assert st.mark_sending(unsent.id, NOW) and st.mark_handed_over(unsent.id, NOW)
        assert st.mark_retry(unsent.id, "451 later", NOW + timedelta(minutes=2))
        assert st.get_reply(unsent.id).sent_at is None
        assert not st.mark_handed_over(unsent.id, NOW)  # only a reply being sent can be handed over
    finally:
        st.dispose()


def test_concurrent_upgrades_of_an_empty_database(db_url: str) -> None:
    """Several daemons started at once on an empty database: one creates the schema, none fails."""
    stores = [Store(db_url) for _ in range(4)]
    try:
        run_threads(4, lambda i: stores[i].ensure_schema())
        assert stores[0].current_revision() == head_revision()
        assert stores[0].store_submission(inc(mail(95)))[1]
    finally:
        for s in stores:
            s.dispose()


def test_the_rate_limit_count_uses_its_index_and_counts_case_insensitively(tmp_path: Any) -> None:
    """`replies_since` runs once per reply: it must find a recipient's replies by the index of
    migration 0011, not by reading every reply of the hour."""
    st = Store(f"sqlite:///{tmp_path}/rate.db")
    try:
        st.ensure_schema()
        with st.engine.connect() as conn:
            plan = " ".join(str(row) for row in conn.execute(text(
                "EXPLAIN QUERY PLAN SELECT count(id) FROM outbox WHERE lower(recipient) = 'a@b.example' "
                "AND created_at >= '2026-01-01'")))
        assert "ix_outbox_recipient_lower" in plan
        now = datetime.now(UTC)
        sid, _ = st.store_submission(Incoming(channel="smtp", raw=b"Subject: x\r\n\r\nbody\r\n",
                                              sender="Pat@Acme.example", received_at=now))
        assert st.queue_reply(sid, "received", "email", "Pat@Acme.example", b"Subject: r\r\n\r\nok\r\n", now=now)
        assert st.replies_since("pat@acme.EXAMPLE", now - timedelta(minutes=1)) == 1
        assert st.replies_since("pat@acme.example", now + timedelta(minutes=1)) == 0
        assert st.replies_since("other@acme.example", now - timedelta(minutes=1)) == 0
    finally:
        st.dispose()
