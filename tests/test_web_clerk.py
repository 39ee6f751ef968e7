"""The review page's rules a clerk meets (issue 16): four eyes."""

from __future__ import annotations

from pathlib import Path

from intake.settings import Settings
from intake.store import Store
from intake.web.users import Users
from tests.browser import PASSWORDS, add_staff, seed_request, valid_request, web_settings, web_store  # noqa: F401
from tests.test_web import BAD_SSN, client_for, csrf_of, login

pytest_plugins = ["tests.store_fixtures"]


def _correct_and_accept(settings: Settings, store: Store, name: str) -> int:
    """A request with a wrong SSN that `name` corrects and accepts on the page; returns its id."""
    rid = seed_request(store, valid_request(ssn=BAD_SSN))
    c = login(client_for(settings, store), name)
    token = csrf_of(c.get(f"/requests/{rid}").text)
    assert c.post(f"/requests/{rid}/save", data={"csrf_token": token, "f:worker.ssn": "123-45-6789"}).status_code == 303
    assert c.post(f"/requests/{rid}/accept", data={"csrf_token": token}).status_code == 303
    assert store.get_request(rid).state == "accepted"
    return rid


def test_four_eyes_the_supervisor_who_corrected_cannot_approve_another_can(
        web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    assert settings.review.four_eyes  # the default
    rid = _correct_and_accept(settings, store, "sam")
    sam = login(client_for(settings, store), "sam")
    page = sam.get(f"/requests/{rid}").text
    assert 'id="approve"' not in page and 'id="four-eyes"' in page
    assert 'id="reject"' in page  # rejecting is still his to do
    r = sam.post(f"/requests/{rid}/approve", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 403 and "another supervisor must approve it" in r.text
    assert store.get_request(rid).state == "accepted"
    # A reviewer is offered neither approve nor reject.
    rita = login(client_for(settings, store), "rita").get(f"/requests/{rid}").text
    assert 'id="approve"' not in rita and 'id="reject"' not in rita and 'id="four-eyes"' not in rita
    # Another supervisor approves.
    Users(store).add("sue", "supervisor", "supervisor-pass-2")
    sue = client_for(settings, store)
    login(sue, "sue", "supervisor-pass-2")
    page = sue.get(f"/requests/{rid}").text
    assert 'id="approve"' in page and 'id="four-eyes"' not in page
    assert sue.post(f"/requests/{rid}/approve", data={"csrf_token": csrf_of(page)}).status_code == 303
    assert store.get_request(rid).state == "approved"


def test_without_four_eyes_the_same_supervisor_approves(tmp_path: Path) -> None:
    settings = web_settings(tmp_path, "[review]\nfour_eyes = false")
    assert not settings.review.four_eyes
    store = Store.from_settings(settings)
    store.upgrade()
    add_staff(store)
    try:
        rid = _correct_and_accept(settings, store, "sam")
        sam = login(client_for(settings, store), "sam")
        page = sam.get(f"/requests/{rid}").text
        assert 'id="approve"' in page and 'id="four-eyes"' not in page
        assert sam.post(f"/requests/{rid}/approve", data={"csrf_token": csrf_of(page)}).status_code == 303
        assert store.get_request(rid).state == "approved"
    finally:
        store.dispose()

