"""The store queries and accounts of the review page on both backends (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from intake.store import Incoming, Store
from intake.web.review import check
from intake.web.users import Users
from tests.browser import seed_request, valid_request

pytest_plugins = ["tests.store_fixtures"]


def test_queue_search_duplicates_export_on_both_backends(store: Store) -> None:
    a = seed_request(store, valid_request(seed=1, ssn="123-45-6789"), state="needs_review")
    b = seed_request(store, valid_request(seed=1, ssn="123-45-6789"), state="needs_review")
    c = seed_request(store, valid_request(seed=2))
    assert [r.request.id for r in store.queue()] == [a, b, c]
    assert [r.request.id for r in store.queue(search="6789")] == [a, b]
    name = store.get_request(c).worker_name or ""
    assert c in [r.request.id for r in store.queue(search=name.split()[-1].lower())]
    ein = store.get_request(c).employer_ein or ""
    assert [r.request.id for r in store.queue(search=ein)] == [c]
    assert [r.request.id for r in store.queue(search=ein.replace("-", ""))] == [c]
    now = datetime.now(UTC)
    assert len(store.queue(received_from=now - timedelta(hours=1), received_to=now + timedelta(hours=1))) == 3
    assert store.queue(received_from=now + timedelta(hours=1)) == []
    assert [d.id for d in store.possible_duplicates(a)] == [b]
    assert store.possible_duplicates(c) == []
    # Corrections: fields, search columns and events in one transaction.
    fields = dict(store.get_request(a).fields)
    fields["worker"] = dict(fields["worker"], ssn="123-45-0001")
    _request, problems = check({"worker.ssn": "123-45-0001"})
    rec = store.update_request(a, fields, [p.model_dump(mode="json") for p in problems],
                               [("worker.ssn", "***-**-6789", "***-**-0001")], actor="sam", new_state="corrected")
    assert rec.ssn_last4 == "0001" and rec.state == "corrected"
    assert [(e.kind, e.field, e.old, e.new) for e in store.events_of(request_id=a)][-2:] == [
        ("field", "worker.ssn", "***-**-6789", "***-**-0001"), ("state", "state", "needs_review", "corrected")]
    assert store.possible_duplicates(b) == []
    # Export bookkeeping.
    store.set_request_state(c, "approved", actor="sam")
    assert [r.id for r in store.requests_for_export(["approved"], exported=False)] == [c]
    store.add_event(request_id=c, actor="api:x", kind="exported")
    assert store.requests_for_export(["approved"], exported=False) == []
    assert [r.id for r in store.requests_for_export(["approved"], exported=True)] == [c]


def test_unread_submissions_and_manual_requests_on_both_backends(store: Store) -> None:
    sid, _ = store.store_submission(Incoming(channel="fax", raw=b"II*\x00junk", sender="+12085550142",
                                             received_at=datetime.now(UTC)))
    store.mark_needs_review(sid, "the file cannot be read")
    assert [s.id for s in store.submissions_without_requests()] == [sid]
    empty, problems = check({})
    rec = store.add_manual_request(sid, empty, problems, actor="rita")
    assert rec.state == "needs_review" and rec.reference.endswith(f"{rec.id:06d}")
    assert store.submissions_without_requests() == []


def test_accounts_sessions_and_rate_limit_on_both_backends(store: Store) -> None:
    users = Users(store)
    users.add("sam", "supervisor", "supervisor-pass-1")
    for _ in range(5):
        assert users.authenticate("sam", "wrong") is None
    assert users.wait_seconds("sam", max_failures=5, delay=30, window_minutes=15) > 25
    assert users.wait_seconds("other", max_failures=5, delay=30, window_minutes=15) == 0
    account = users.authenticate("sam", "supervisor-pass-1")
    assert account is not None and account.may_approve
    assert users.wait_seconds("sam", max_failures=5, delay=30, window_minutes=15) == 0  # a success resets
    token = users.open_session(account)
    info = users.session(token, idle_minutes=30)
    assert info is not None and info.account.name == "sam"
    users.close_session(token)
    assert users.session(token, idle_minutes=30) is None
    api = users.add_token("certificates")
    assert users.token_role(api) == ("certificates", "export") and users.token_role("coc_wrong") is None


def test_one_client_trying_many_names_is_slowed_down(store: Store) -> None:
    users = Users(store)
    for i in range(19):
        users.authenticate(f"name{i}", "guess", client="10.0.0.9")
    assert users.wait_seconds("name99", max_failures=5, delay=30, window_minutes=15, client="10.0.0.9") == 0
    users.authenticate("name19", "guess", client="10.0.0.9")
    assert users.wait_seconds("name99", max_failures=5, delay=30, window_minutes=15, client="10.0.0.9") > 25
    assert users.wait_seconds("name99", max_failures=5, delay=30, window_minutes=15, client="10.0.0.10") == 0
