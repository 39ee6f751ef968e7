"""The review page's rules a clerk meets (issue 16): four eyes, search, error pages, login form, trail times."""

from __future__ import annotations

import re
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


def _references(html: str) -> set[str]:
    return set(re.findall(r"COC-\d{4}-\d{6}", html))


def test_search_by_several_words_and_by_a_reference_or_its_number(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    names = {"worker.first_name": "Kevin", "worker.middle_name": "James", "worker.last_name": "Brooks"}
    kevin = store.get_request(seed_request(store, valid_request(seed=11, changes=names)))
    other = store.get_request(seed_request(store, valid_request(seed=12, changes={
        **names, "worker.last_name": "Smith"})))
    c = login(client_for(settings, store), "rita")
    # Every word in the name, in any order, with the middle name between them.
    for q in ("Kevin Brooks", "brooks, kevin", "KEVIN  BROOKS"):
        assert _references(c.get("/", params={"q": q}).text) == {kevin.reference}, q
    assert _references(c.get("/", params={"q": "Kevin"}).text) == {kevin.reference, other.reference}
    assert _references(c.get("/", params={"q": "Kevin Nobody"}).text) == set()
    # A full reference (any case) or its number alone, with or without the leading zeros.
    number = kevin.reference.rsplit("-", 1)[1]
    for q in (kevin.reference, kevin.reference.lower(), number, str(int(number))):
        assert _references(c.get("/", params={"q": q}).text) == {kevin.reference}, q


def test_unknown_paths_and_ids_get_html_pages_the_api_keeps_json(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    rid = seed_request(store, valid_request())
    c = login(client_for(settings, store), "rita")
    for url in ("/no-such-page", f"/requests/{rid + 100}", "/requests/abc", f"/requests/{rid}/parts/x/pages/1.png",
                "/submissions/999999", "/submissions/abc"):
        r = c.get(url)
        assert r.status_code == 404, url
        assert r.headers["content-type"].startswith("text/html"), url
        assert "<h1>Sorry</h1>" in r.text and 'href="/"' in r.text and "rita" in r.text, url
    assert "There is no such page." in c.get("/requests/abc").text
    assert "no such request" in c.get(f"/requests/{rid + 100}").text
    # The API answers JSON, as before.
    for url in ("/api/v1/nothing", "/api/v1/requests/COC-2026-999999"):
        r = c.get(url)
        assert r.status_code in (401, 404) and r.headers["content-type"] == "application/json", url
        assert "detail" in r.json()


def test_a_failed_login_keeps_the_user_name(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    c = client_for(settings, store)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": "rita<b>", "password": "wrong password", "csrf_token": token})
    assert r.status_code == 401
    field = re.search(r'<input id="username"[^>]*>', r.text)
    assert field and 'value="rita&lt;b&gt;"' in field.group(0) and "autofocus" not in field.group(0)
    assert re.search(r'<input id="password"[^>]*autofocus', r.text)  # the password is typed again


def test_the_audit_trail_shows_times_to_the_second(web_store: tuple[Settings, Store]) -> None:  # noqa: F811
    settings, store = web_store
    rid = seed_request(store, valid_request(ssn=BAD_SSN))
    c = login(client_for(settings, store), "sam")
    trail = c.get(f"/requests/{rid}").text.split("Audit trail", 1)[1]
    times = re.findall(r"<td>(\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)? UTC)</td>", trail)
    assert times and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", t) for t in times), times
    sid = store.get_request(rid).submission_id
    trail = c.get(f"/submissions/{sid}").text
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</td>", trail)
