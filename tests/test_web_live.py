"""The review page and API served by uvicorn on a real port, as `coc-intake serve` serves them.

Two things a TestClient cannot show: the session cookie is `Secure` when a TLS-terminating reverse
proxy on this machine says so (`X-Forwarded-Proto: https` from `[web] trusted_proxies`) even with
`secure_cookies` off, and schemathesis finds no server error over real HTTP.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from intake.store import Store
from intake.web.server import make_server
from intake.web.users import Users
from tests.browser import PASSWORDS, add_staff, seed_request, valid_request, web_settings
from tests.servers import free_port, wait_for_port


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder: Path = tmp_path_factory.mktemp("live")
    cfg = web_settings(folder)
    cfg.web.port = free_port()
    cfg.web.trusted_proxies = ["127.0.0.1/32"]  # the TLS proxy on this machine
    assert cfg.web.secure_cookies is False  # the default: Secure must come from the proxy's word alone
    store = Store.from_settings(cfg)
    store.upgrade()
    add_staff(store)
    for seed in range(3):
        rid = seed_request(store, valid_request(seed=seed))
        store.set_request_state(rid, "approved", actor="test")
    token = Users(store).add_token("schemathesis-live")
    server = make_server(cfg, store)
    thread = threading.Thread(target=server.run, name="live-web", daemon=True)
    thread.start()
    try:
        wait_for_port("127.0.0.1", cfg.web.port, timeout=30)
        yield {"base": f"http://127.0.0.1:{cfg.web.port}", "token": token, "store": store}
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        store.dispose()


def _login(base: str, headers: dict[str, str]) -> tuple[httpx.Response, httpx.Response]:
    """The login page and the answer to logging in on it (what a browser behind the proxy gets)."""
    with httpx.Client(base_url=base, headers=headers, follow_redirects=False) as c:
        page = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        # The login cookie (same value as the form's token) is sent by hand: behind TLS it is
        # Secure, and httpx would only send it back over https.
        c.cookies.clear()
        answer = c.post("/login", data={"username": "sam", "password": PASSWORDS["sam"],
                                        "csrf_token": token.group(1), "next": "/"},
                        headers={"Cookie": f"coc_login={token.group(1)}"})
        return page, answer


def test_session_cookie_is_secure_behind_a_tls_proxy_and_not_on_plain_http(live: dict[str, Any]) -> None:
    page, answer = _login(live["base"], {"X-Forwarded-Proto": "https"})
    assert "; secure" in page.headers["set-cookie"].lower()  # the login form's cookie too
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"].lower()
    assert "coc_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "; secure" in cookie
    page, answer = _login(live["base"], {})
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"].lower()
    assert "coc_session=" in cookie and "httponly" in cookie and "; secure" not in cookie


@pytest.fixture(scope="module")
def live_schema(live: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_url(f"{live['base']}/api/openapi.json")


schema = schemathesis.pytest.from_fixture("live_schema")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_over_http_from_openapi_has_no_server_error(case: Any, live: dict[str, Any]) -> None:
    # As in test_web_api: FastAPI ignores unknown query parameters, which is no fault.
    case.call_and_validate(headers={"Authorization": f"Bearer {live['token']}"},
                           excluded_checks=[schemathesis.checks.negative_data_rejection])
