"""The online request form in Debian's Chromium (Playwright) against the real `coc-intake run`.

A person fills `/request` by keyboard alone, sees problems appear beside a field as it is typed (an
EIN of 8 digits, an SSN starting 9, an end date before the start) and go when corrected, sends it
and gets a reference; the same with JavaScript off, where the server sends the form back with its
problems. Both requests are in the review queue, complete, with the fields the API shows; the
acknowledgement reaches the SMTP sink; axe-core finds no serious or critical violation.
"""

from __future__ import annotations

import random
import re
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import httpx
import pytest

from intake.online_fields import sections
from intake.settings import load_settings
from intake.store import Store
from intake.web.review import flat_values
from intake.web.users import Users
from tests.browser import ARTIFACTS, AXE, CHROMIUM, launch_chromium, run_axe
from tests.gateway import GatewayProcess, wait_for, write_config
from tests.servers import SmtpSink, smtp_sink, wait_for_port  # noqa: F401
from tests.synth import flat, make_request
from tests.test_web_browser import tab_to

PASSWORD = "supervisor-pass-1"


@pytest.fixture
def gateway(tmp_path: Path, smtp_sink: SmtpSink) -> Any:  # noqa: F811
    config = write_config(tmp_path, dovecot=None, sink=smtp_sink, workers=1)
    port = load_settings(config).web.port
    store = Store.from_settings(load_settings(config))
    store.upgrade()
    Users(store).add("sam", "supervisor", PASSWORD)
    token = Users(store).add_token("certificates")
    store.dispose()
    gw = GatewayProcess(tmp_path, config)
    gw.start()
    wait_for_port("127.0.0.1", port, timeout=30)
    try:
        yield gw, f"http://127.0.0.1:{port}", token
    finally:
        gw.stop()


def person(seed: int) -> dict[str, str]:
    req = make_request(random.Random(seed), kind="employee", country="DE")
    values = flat(req)
    values.pop("worker.residence_country", None)  # left blank: the model's default (US)
    values.pop("employer.address.country", None)
    return values


def us_date(iso: str) -> str:
    """What a person types into a date field of an en-US browser: MMDDYYYY."""
    y, m, d = iso.split("-")
    return f"{m}{d}{y}"


def choose(page: Any, selector: str, value: str) -> None:
    """Pick an option of the focused select with the keyboard (Home, then ArrowDown)."""
    index = page.evaluate("([sel, v]) => Array.from(document.querySelector(sel).options).findIndex(o => o.value === v)",
                          [selector, value])
    assert index > 0, (selector, value)
    page.keyboard.press("Home")
    for _ in range(index):
        page.keyboard.press("ArrowDown")
    assert page.eval_on_selector(selector, "el => el.value") == value


def dom_id(path: str) -> str:
    return "#f-" + path.replace("[", "-").replace("]", "").replace(".", "-")


def fill_by_keyboard(page: Any, values: dict[str, str], *, typed: dict[str, str] | None = None) -> None:
    """Tab through the form in its order, typing each value (or `typed[path]` instead)."""
    typed = typed or {}
    for section in sections("employee"):
        for f in section.fields:
            value = typed.get(f.path, values.get(f.path, ""))
            if not value:
                continue
            if f.control == "yesno":
                target = f"{dom_id(f.path)}-{'yes' if value == 'true' else 'no'}"
                tab_to(page, f"{dom_id(f.path)}-yes")
                if value != "true":
                    page.keyboard.press("ArrowDown")
                page.keyboard.press("Space")
                assert page.eval_on_selector(target, "el => el.checked")
                continue
            tab_to(page, dom_id(f.path))
            if f.control in ("agreement_country", "country", "state"):
                choose(page, dom_id(f.path), value)
            elif f.control == "date":
                page.keyboard.type(us_date(value))
            else:
                page.keyboard.type(value)


def problems_of(page: Any, path: str) -> str:
    return str(page.inner_text(f'ul.problems[data-path="{path}"]'))


def wait_problem(page: Any, path: str, words: str, present: bool = True) -> None:
    page.wait_for_function("([p, w, on]) => { const ul = document.querySelector(`ul.problems[data-path=\"${p}\"]`);"
                           " return ul && ul.textContent.includes(w) === on; }", arg=[path, words, present],
                           timeout=15000)


def retype(page: Any, path: str, value: str) -> None:
    """Focus the field by keyboard and type over what it holds."""
    tab_to(page, dom_id(path))
    page.keyboard.press("Control+a")
    page.keyboard.type(value)


def start_employee_form(page: Any, base: str, *, axe: bool = True) -> None:
    page.goto(f"{base}/request")
    if axe:  # axe-core is a script: not on a page without JavaScript
        assert run_axe(page) == []
    tab_to(page, "#type-employee")
    tab_to(page, "#continue")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/request\?type=employee$"))


def test_online_request_by_keyboard_with_and_without_javascript(gateway: Any, smtp_sink: SmtpSink) -> None:  # noqa: PLR0915, F811  (one end-to-end scenario: its steps in the order the user takes them)
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run scripts/setup"
    assert AXE.exists(), "axe-core is missing: run scripts/setup"
    gw, base, token = gateway
    ARTIFACTS.mkdir(exist_ok=True)
    first, second = person(101), person(102)
    refs: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        # -- with JavaScript: problems as typed ---------------------------------------------------
        context = browser.new_context(viewport={"width": 1300, "height": 1000}, locale="en-US")
        page = context.new_page()
        start_employee_form(page, base)
        page.wait_for_selector("body[data-ready='1']")
        assert "COC-1 (2026-11)" in page.inner_text("p.edition")
        fill_by_keyboard(page, first, typed={"employer.ein": first["employer.ein"].replace("-", "")[:8],
                                             "worker.ssn": "9" + first["worker.ssn"][1:],
                                             "assignment.end_date": "2020-01-01"})
        wait_problem(page, "employer.ein", "must be 9 digits")
        wait_problem(page, "worker.ssn", "no Social Security number starts with 9")
        wait_problem(page, "assignment.end_date", "end date must be after the start date")
        assert page.get_attribute(dom_id("employer.ein"), "aria-invalid") == "true"
        assert page.get_attribute(dom_id("worker.ssn"), "type") == "password"  # masked as typed
        page.screenshot(path=str(ARTIFACTS / "online-problems.png"), full_page=True)
        assert run_axe(page) == []
        # Corrected in the form's order (Tab goes on from the last field, round to the first).
        retype(page, "worker.ssn", first["worker.ssn"])
        wait_problem(page, "worker.ssn", "starts with", present=False)
        retype(page, "employer.ein", first["employer.ein"])
        wait_problem(page, "employer.ein", "must be 9 digits", present=False)
        tab_to(page, dom_id("assignment.end_date"))
        page.keyboard.type(us_date(first["assignment.end_date"]))
        wait_problem(page, "assignment.end_date", "end date must be after", present=False)
        assert page.eval_on_selector_all("ul.problems li", "els => els.map(e => e.textContent)") == []
        tab_to(page, "#send")
        page.keyboard.press("Enter")
        page.wait_for_selector(".reference")
        refs.append(page.inner_text(".reference"))
        assert run_axe(page) == []
        page.screenshot(path=str(ARTIFACTS / "online-done.png"), full_page=True)
        page.goto(f"{base}/request/batch")
        assert run_axe(page) == []
        context.close()

        # -- without JavaScript: the server returns the form with its problems ----------------------
        context = browser.new_context(viewport={"width": 1300, "height": 1000}, locale="en-US",
                                      java_script_enabled=False)
        page = context.new_page()
        start_employee_form(page, base, axe=False)
        fill_by_keyboard(page, second, typed={"employer.ein": second["employer.ein"].replace("-", "")[:8]})
        tab_to(page, "#send")
        page.keyboard.press("Enter")
        page.wait_for_selector('ul.problems[data-path="employer.ein"] li')
        assert "must be 9 digits" in problems_of(page, "employer.ein")
        assert problems_of(page, "worker.ssn") == ""
        assert page.get_attribute(dom_id("worker.ssn"), "value") == second["worker.ssn"]  # kept, masked
        retype(page, "employer.ein", second["employer.ein"])
        tab_to(page, "#send")
        page.keyboard.press("Enter")
        page.wait_for_selector(".reference")
        refs.append(page.inner_text(".reference"))
        context.close()

        # -- staff: both in the queue, complete, with the fields the API shows ----------------------
        context = browser.new_context(viewport={"width": 1300, "height": 1000})
        page = context.new_page()
        page.goto(f"{base}/login")
        page.fill("#username", "sam")
        page.fill("#password", PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/?state=accepted")
        queue = page.content()
        store = gw.store()
        for ref, typed in zip(refs, (first, second), strict=True):
            assert ref in queue
            rec = store.find_request(ref)
            assert rec is not None and rec.state == "accepted" and rec.problems == [], rec
            api = httpx.get(f"{base}/api/v1/requests/{ref}", headers={"Authorization": f"Bearer {token}"}).json()
            assert api["channel"] == "web" and api["problems"] == [] and api["state"] == "accepted"
            from_api = {k: v for k, v in flat_values(api["request"]).items() if v}
            assert {k: from_api.get(k) for k in typed} == typed
            page.goto(f"{base}/requests/{rec.id}")
            # The review page's typed controls: inputs, selects, the checked yes/no radio; dates as U.S.
            # staff write them (MM/DD/YYYY), stored ISO.
            shown = page.eval_on_selector_all(
                "#fields-form input[data-path], #fields-form select[data-path]",
                "els => Object.fromEntries(els.filter(e => e.type !== 'radio' || e.checked)"
                ".map(e => [e.dataset.path, e.value]))")
            shown = {k: _iso(v) for k, v in shown.items() if v}
            assert shown == from_api
        store.dispose()
        browser.close()

    def acknowledged() -> list[Any]:
        return [m for m in smtp_sink.received() if first["employer.contact_email"] in m.rcpt_tos
                and refs[0] in str(message_from_bytes(m.content, policy=default_policy)["Subject"])]

    mails = wait_for(acknowledged, timeout=60)
    assert mails, [m.rcpt_tos for m in smtp_sink.received()]
    text = mails[0].content.decode("utf-8", "replace")
    assert first["worker.last_name"] not in text and first["worker.ssn"][-4:] not in text


def _iso(value: str) -> str:
    """`08/02/1982` (as the review page shows a date) -> `1982-08-02`; anything else unchanged."""
    m = re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})", value)
    return f"{m[3]}-{m[1]}-{m[2]}" if m else value
