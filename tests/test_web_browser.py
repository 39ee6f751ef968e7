"""The review page in Debian's Chromium (Playwright) against the real `coc-intake run`.

A faxed request with an impossible SSN arrives in the fax folder, the pipeline sends it to review,
a supervisor logs in, corrects the SSN and accepts, another approves (four eyes); the *approved* mail reaches the SMTP
sink with the SSN masked. axe-core checks the queue and the request page; screenshots are saved
under artifacts/.
"""

from __future__ import annotations

import random
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest

from intake.settings import load_settings
from intake.store import Store
from intake.web.review import blocking
from intake.web.users import Users
from tests import faxgen
from tests.browser import ARTIFACTS, AXE, CHROMIUM, launch_chromium, run_axe
from tests.gateway import GatewayProcess, wait_for, write_config
from tests.servers import SmtpSink, free_port, smtp_sink, wait_for_port  # noqa: F401
from tests.synth import flat, make_request

PASSWORD = "supervisor-pass-1"
SECOND_PASSWORD = "supervisor-pass-2"


@pytest.fixture
def gateway(tmp_path: Path, smtp_sink: SmtpSink) -> Any:  # noqa: F811
    config = write_config(tmp_path, dovecot=None, sink=smtp_sink, workers=1)
    port = load_settings(config).web.port
    store = Store.from_settings(load_settings(config))
    store.upgrade()
    Users(store).add("sam", "supervisor", PASSWORD)
    Users(store).add("sue", "supervisor", SECOND_PASSWORD)
    store.dispose()
    gw = GatewayProcess(tmp_path, config)
    gw.start()
    wait_for_port("127.0.0.1", port, timeout=30)
    try:
        yield gw, f"http://127.0.0.1:{port}"
    finally:
        gw.stop()


def tab_to(page: Any, selector: str, limit: int = 400) -> None:
    """Press Tab until `selector` has the focus; every control passed on the way shows a focus ring."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        here = page.evaluate("""(sel) => {
            const el = document.activeElement, st = getComputedStyle(el);
            return {hit: el.matches(sel), ring: st.outlineStyle !== "none" && parseFloat(st.outlineWidth) > 0,
                    what: el.outerHTML.slice(0, 80)};
        }""", selector)
        if here["what"].startswith("<body"):
            continue  # past the last control Tab leaves the page once, then starts again at the top
        assert here["ring"], f"no visible focus on {here['what']}"
        if here["hit"]:
            return
    raise AssertionError(f"{selector} is not reachable with Tab")


def _subject(content: bytes) -> str:
    return str(message_from_bytes(content, policy=default_policy)["Subject"] or "")


def test_fax_review_correct_accept_approve_in_chromium(gateway: Any, smtp_sink: SmtpSink) -> None:  # noqa: PLR0915, F811  (one end-to-end scenario: its steps in the order the user takes them)
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run scripts/setup"
    assert AXE.exists(), "axe-core is missing: run scripts/setup"

    gw, base = gateway
    rng = random.Random(4711)
    req = make_request(rng, kind="employee", country="DE")
    truth = dict(flat(req))
    good_ssn = truth["worker.ssn"]
    bad = dict(req, worker=dict(req["worker"], ssn="666" + good_ssn[3:]))
    req["confirmation_email"] = truth["confirmation_email"] = "confirm@acme.example.com"
    bad["confirmation_email"] = "confirm@acme.example.com"
    inbox = gw.settings.fax_inbox
    tmp = inbox / "fax_+12085550142_20261125T101400.tif.part"
    tmp.write_bytes(faxgen.tiff_bytes(faxgen.fax_request(bad, rng, "fine")))
    tmp.rename(inbox / "fax_+12085550142_20261125T101400.tif")

    store = gw.store()
    rows = wait_for(lambda: store.queue(channels=["fax"]), timeout=180)
    assert rows, gw.tail()
    rec = rows[0].request
    assert rec.state == "needs_review" and any(p.field == "worker.ssn" for p in rec.problems)
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(f"{base}/")
        assert "/login" in page.url
        assert run_axe(page) == []
        # Keyboard alone from here: log in, reach the request, find every control of its page.
        tab_to(page, "#username")
        page.keyboard.type("sam")
        tab_to(page, "#password")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/")
        assert rec.reference in page.content()
        page.screenshot(path=str(ARTIFACTS / "web-queue.png"), full_page=True)
        # Keyboard alone: the first Tab reaches the skip link, and it is visible when focused.
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.className") == "skip"
        assert page.evaluate("() => document.activeElement.getBoundingClientRect().left") >= 0
        assert run_axe(page) == []

        tab_to(page, f'a[href="/requests/{rec.id}"]')
        page.keyboard.press("Enter")
        page.wait_for_selector("#fields-form")
        page.wait_for_function("() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        for control in ("#save", "#accept", "#reason", "#reject", "#not-a-request", "#next-request",
                        'input[name="f:worker.ssn"]', "button.show-box"):
            tab_to(page, control)
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / "web-request.png"), full_page=True)
        assert run_axe(page) == []

        # Keyboard: Alt+N moves to the next field, focus is visible, Alt+P goes to a field with a problem.
        page.focus('select[name="f:request_type"]')
        page.keyboard.press("Alt+n")
        focused = page.evaluate("() => document.activeElement.name")
        assert focused and focused != "f:request_type"
        outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("", "none")
        page.keyboard.press("Alt+p")
        assert page.evaluate("() => document.activeElement.getAttribute('aria-invalid')") == "true"

        # Clicking a field outlines its box on the page image and scrolls the source to it, while the
        # field clicked stays in view (the last field read is far below the page image).
        boxed = page.locator("button.show-box")
        assert boxed.count() >= 5, "the fax's OCR gave (almost) no boxes to show"
        last = boxed.last.get_attribute("data-path")
        field = page.locator(f'#fields-form :is(input, select)[data-path="{last}"]').first
        field.scroll_into_view_if_needed()
        field.click()
        active = "() => Array.from(document.querySelectorAll('.box.active')).map(b => b.dataset.path)"
        assert page.evaluate(active) == [last]
        assert field.evaluate("e => { const r = e.getBoundingClientRect(); "
                              "return r.top >= 0 && r.bottom <= window.innerHeight; }")
        assert page.locator(".box.active").evaluate(
            "b => { const r = b.getBoundingClientRect(), s = b.closest('.source').getBoundingClientRect(); "
            "return r.top >= Math.max(s.top, 0) && r.bottom <= Math.min(s.bottom, window.innerHeight); }")
        # "Show" beside a field does the same from the keyboard or mouse.
        boxed.first.click()
        assert page.evaluate(active) == [boxed.first.get_attribute("data-path")]

        # A new problem shows at once too: an end date before the start, put back afterwards.
        end = page.locator('input[name="f:assignment.end_date"]')
        listed = "() => Array.from(document.querySelectorAll('ul.problems[data-path=\"assignment.end_date\"] li'))" \
                 ".map(li => li.textContent).join('|')"
        was, problems_before = end.input_value(), page.evaluate(listed)
        end.fill("2020-01-01")
        end.dispatch_event("change")
        page.wait_for_function(f"() => ({listed})().includes('invalid')")
        assert end.get_attribute("aria-invalid") == "true"
        end.fill(was)
        end.dispatch_event("change")
        page.wait_for_function(f"() => ({listed})() === {problems_before!r}")

        # Correct the SSN: the page re-validates on the server at once, before saving.
        ssn_input = page.locator('input[name="f:worker.ssn"]')
        ssn_input.fill(good_ssn)
        ssn_input.dispatch_event("change")
        page.wait_for_function(
            "() => document.querySelectorAll('ul.problems[data-path=\"worker.ssn\"] li').length === 0")
        # Anything else OCR got wrong enough to block is set to what was written.
        fix = {"f:confirmation_email": truth["confirmation_email"]}
        current = store.get_request(rec.id)
        for problem in blocking(current.problems_json()):
            path = str(problem.get("field") or "")
            if path and path != "worker.ssn" and path in truth:
                fix[f"f:{path}"] = truth[path]
        for name, value in fix.items():  # typed controls: a select, yes/no radios, a text box (dates MM/DD/YYYY)
            if page.locator(f'select[name="{name}"]').count():
                page.select_option(f'select[name="{name}"]', value)
            elif page.locator(f'input[type="radio"][name="{name}"]').count():
                page.check(f'input[type="radio"][name="{name}"][value="{value}"]')
            elif page.locator(f'input[name="{name}"]').count():
                page.fill(f'input[name="{name}"]', value)
        page.focus('input[name="f:worker.ssn"]')
        page.keyboard.press("Control+s")
        page.wait_for_selector("text=Corrections saved.")
        saved = store.get_request(rec.id)
        assert saved.fields["worker"]["ssn"] == good_ssn, saved.problems
        assert blocking(saved.problems_json()) == [], saved.problems

        page.click("#accept")
        page.wait_for_selector("text=Accepted")
        # Four eyes: sam corrected and accepted, so another supervisor approves.
        assert page.locator("#approve").count() == 0 and page.locator("#four-eyes").is_visible()
        request_url = page.url.split("?", 1)[0]
        page.click(".logout button")
        page.wait_for_url(f"{base}/login")
        page.fill("#username", "sue")
        page.fill("#password", SECOND_PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/")
        page.goto(request_url)
        page.click("#approve")
        page.wait_for_selector("text=Approved.")
        page.screenshot(path=str(ARTIFACTS / "web-request-approved.png"), full_page=True)
        trail = page.inner_text("table.trail")
        assert "sam" in trail and "worker.ssn" in trail and good_ssn not in trail
        # Who did what, from the fax's arrival to the approval, with the fax reply the outbox sent.
        rows = [r.split("\t") for r in trail.splitlines()[2:]]
        did = {(r[1], r[2], r[-1]) for r in rows if len(r) >= 4}
        assert {("fax", "received", "received"), ("pipeline", "state", "extracted"), ("sam", "state", "corrected"),
                ("sam", "state", "accepted"), ("sue", "state", "approved")} <= did, rows
        assert any(r[1] == "outbox" and r[2] == "reply sent" for r in rows), rows
        # Alt+R: the next request waiting for review; none is left, so back to the queue.
        page.keyboard.press("Alt+r")
        page.wait_for_url(f"{base}/")
        # The help page acknowledgements link to is for requesters too: the same checks.
        page.goto(f"{base}/help")
        assert page.locator("dl.help dt").count() > 40
        assert run_axe(page) == []
        browser.close()

    def approved() -> list[Any]:
        return [m for m in smtp_sink.received() if _subject(m.content).startswith(("Approved", "Re:"))
                and "approved" in m.content.decode("utf-8", "replace").lower()
                and "confirm@acme.example.com" in m.rcpt_tos]

    mails = wait_for(approved, timeout=60)
    assert mails, [(_subject(m.content), m.rcpt_tos) for m in smtp_sink.received()]
    text = mails[0].content.decode("utf-8", "replace")
    assert good_ssn not in text and f"***-**-{good_ssn[-4:]}" in text
    final = store.get_request(rec.id)
    assert final.state == "approved"
    edits = [e for e in store.events_of(request_id=rec.id) if e.kind == "field" and e.field == "worker.ssn"]
    assert edits and edits[0].actor == "sam" and edits[0].new == f"***-**-{good_ssn[-4:]}"
    store.dispose()
