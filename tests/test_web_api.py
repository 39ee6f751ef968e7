"""The JSON API from its OpenAPI description: schemathesis generates requests, none may cause a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from intake.store import Store
from intake.web.app import create_app
from intake.web.users import Users
from tests.browser import seed_request, valid_request, web_settings


@pytest.fixture(scope="module")
def api_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder: Path = tmp_path_factory.mktemp("api")
    cfg = web_settings(folder)
    store = Store.from_settings(cfg)
    store.upgrade()
    for seed in range(3):
        rid = seed_request(store, valid_request(seed=seed))
        store.set_request_state(rid, "approved", actor="test")
    token = Users(store).add_token("schemathesis")
    try:
        yield {"app": create_app(cfg, store), "token": token, "store": store}
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def api_schema(api_env: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_asgi("/api/openapi.json", api_env["app"])


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_from_openapi_has_no_server_error(case: Any, api_env: dict[str, Any]) -> None:
    # Every check but "schema-violating data must be rejected": FastAPI ignores unknown query
    # parameters, as most APIs do, and that is no fault for the certificate system.
    case.call_and_validate(headers={"Authorization": f"Bearer {api_env['token']}"},
                           excluded_checks=[schemathesis.checks.negative_data_rejection])


def test_the_openapi_description_names_the_token_scheme(api_env: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    doc = TestClient(api_env["app"]).get("/api/openapi.json").json()
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert set(doc["paths"]) == {"/api/v1/requests", "/api/v1/requests/{reference}",
                                 "/api/v1/requests/{reference}/exported"}
