"""Serving the web page: in a thread of `coc-intake run`, or on its own with `coc-intake serve`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import uvicorn

from intake.settings import Settings
from intake.store import Store
from intake.web.app import create_app

log = logging.getLogger("intake.web")


def make_server(settings: Settings, store: Store | None = None,
                on_new: Callable[[int], None] | None = None) -> uvicorn.Server:
    app = create_app(settings, store, on_new)
    config = uvicorn.Config(app, host=settings.web.host, port=settings.web.port, log_config=None,
                            access_log=False,
                            # The app believes proxy headers from [web] trusted_proxies only (intake.web.app).
                            proxy_headers=False,
                            server_header=False, lifespan="off")
    return uvicorn.Server(config)


class WebThread:
    """uvicorn in a daemon thread; a port already in use is logged and the gateway goes on."""

    def __init__(self, settings: Settings, store: Store | None = None,
                 on_new: Callable[[int], None] | None = None) -> None:
        self.server = make_server(settings, store, on_new)
        self.thread = threading.Thread(target=self._run, name="web", daemon=True)
        self.where = f"http://{settings.web.host}:{settings.web.port}/"

    def _run(self) -> None:
        try:
            self.server.run()
        except BaseException as exc:  # noqa: BLE001  (SystemExit from uvicorn when the port is taken)
            log.error("the review page could not be served at %s: %s", self.where, type(exc).__name__)

    def start(self) -> None:
        self.thread.start()
        log.info("review page at %s", self.where)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(settings: Settings) -> int:
    """`coc-intake serve`: the review page and API only (no sources, no pipeline)."""
    store = Store.from_settings(settings)
    store.ensure_schema()
    server = make_server(settings, store)
    server.run()
    return 0
