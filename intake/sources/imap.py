"""IMAP source: fetch new messages, store each, then move (or flag) it so it is never fetched again.

Order matters for crash safety: a message is fetched with ``BODY.PEEK[]`` (nothing is marked read),
committed to the store, and only then moved to the processed folder (or flagged). A crash in between
leaves the message in place; the next poll finds its UID already stored (``Store.imap_known``) and
only acknowledges it. A UIDVALIDITY change makes every UID look new, and the store's Message-ID +
body hash dedupe keeps that from importing anything twice.

One thread owns the connection (``run``); nothing else sends commands on it, so one poll can never
overlap the next. Others ask for an early poll with ``request_poll()``.

This module is the source's connection and loop; one message's way from server to store and back
is `imap_message`, waiting for new mail (IDLE or polling) is `imap_wait`.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
from typing import Any, Literal

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from intake.sources.common import Backoff, OnNew, StoreLike, describe_error, notify
from intake.sources.imap_message import acknowledge, chunks, fetch_bodies, store_message, store_messages
from intake.sources.imap_wait import WaitPolicy, announced_news, wait_for_mail

__all__ = ["STORED_KEYWORD", "ImapSource"]

log = logging.getLogger("intake.sources.imap")

STORED_KEYWORD = "$CocIntakeStored"
"""Default keyword set on every stored message; without a processed folder, flagged ones are skipped."""

Security = Literal["tls", "starttls", "none"]


class ImapSource:
    """Poll or IDLE on one IMAP folder and turn every message into exactly one stored submission."""

    def __init__(  # noqa: PLR0913  (the IMAP source's settings, each named at the call)
        self,
        store: StoreLike,
        *,
        host: str,
        username: str,
        password: str | None = None,
        oauth2_token: str | None = None,
        port: int | None = None,
        security: Security = "tls",
        tls_verify: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        folder: str = "INBOX",
        processed_folder: str | None = None,
        processed_flag: str = STORED_KEYWORD,
        poll_seconds: float = 60.0,
        idle_renew_seconds: float = 25 * 60,
        idle_check_seconds: float = 1.0,
        batch_size: int = 50,
        fetch_bytes: int = 20 * 1024 * 1024,
        max_message_bytes: int | None = None,
        timeout: float = 60.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 300.0,
        use_idle: bool = True,
        on_new: OnNew | None = None,
    ) -> None:
        if password is None and oauth2_token is None:
            raise ValueError("IMAP needs a password or an OAuth2 token")
        if idle_renew_seconds >= 29 * 60:
            raise ValueError("idle_renew_seconds must be under 29 minutes (RFC 2177)")
        self.store = store
        self.host = host
        self.port = port or (993 if security == "tls" else 143)
        self.username = username
        self._password = password
        self._oauth2_token = oauth2_token
        self.security: Security = security
        self.tls_verify = tls_verify
        self._ssl_context = ssl_context
        self.folder = folder
        self.processed_folder = processed_folder or None
        self.processed_flag = processed_flag or STORED_KEYWORD
        self.poll_seconds = poll_seconds
        self.idle_renew_seconds = idle_renew_seconds
        self.idle_check_seconds = idle_check_seconds
        self.batch_size = max(1, batch_size)
        self.fetch_bytes = fetch_bytes
        self.max_message_bytes = max_message_bytes
        self.timeout = timeout
        self.use_idle = use_idle
        self.on_new = on_new
        self._backoff = Backoff(backoff_initial, backoff_max)
        self._client: IMAPClient | None = None
        self._uidvalidity: int | None = None
        self._lock = threading.Lock()  # held for every command on the connection
        self._wake = threading.Event()
        self._running = False
        self._stop: threading.Event | None = None
        self.connects = 0  # how many times a connection was made (tests and status)
        self.polls = 0

    @classmethod
    def from_settings(cls, imap: Any, store: StoreLike, on_new: OnNew | None = None) -> ImapSource:
        """Build from the ``[imap]`` settings section (attribute access; secrets may be SecretStr)."""

        def secret(value: Any) -> str | None:
            if value is None:
                return None
            getter = getattr(value, "get_secret_value", None)
            text = getter() if callable(getter) else str(value)
            return text or None

        kwargs: dict[str, Any] = {}
        renamed = {"timeout_seconds": "timeout", "reconnect_max_seconds": "backoff_max"}
        for name in (
            "port",
            "security",
            "tls_verify",
            "folder",
            "processed_folder",
            "processed_flag",
            "poll_seconds",
            "idle_renew_seconds",
            "timeout_seconds",
            "reconnect_max_seconds",
            "batch_size",
            "max_message_bytes",
        ):
            if getattr(imap, name, None) is not None:
                kwargs[renamed.get(name, name)] = getattr(imap, name)
        token = secret(getattr(imap, "oauth2_token", None))
        return cls(
            store,
            host=imap.host,
            username=imap.username,
            password=secret(getattr(imap, "password", None)),
            oauth2_token=token,
            on_new=on_new,
            **kwargs,
        )

    # ------------------------------------------------------------------ connection

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is not None:
            return self._ssl_context
        ctx = ssl.create_default_context()
        if not self.tls_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def login(self, timeout: float | None = None) -> IMAPClient:
        """A session on this source's server with its credentials, no folder selected (the IMAP
        nudge's second session uses it too, with a timeout of its own)."""
        use_tls = self.security == "tls"
        client = IMAPClient(
            self.host,
            port=self.port,
            ssl=use_tls,
            ssl_context=self._context() if use_tls else None,
            timeout=self.timeout if timeout is None else timeout,
        )
        try:
            client.normalise_times = False
            if self.security == "starttls":
                client.starttls(self._context())
            if self._oauth2_token:
                client.oauth2_login(self.username, self._oauth2_token)
            else:
                client.login(self.username, self._password or "")
        except BaseException:
            self._close(client)
            raise
        return client

    def _connect(self) -> IMAPClient:
        """Connect, authenticate, make sure the processed folder exists, select the folder."""
        client = self.login()
        try:
            if self.processed_folder and not client.folder_exists(self.processed_folder):
                try:
                    client.create_folder(self.processed_folder)
                except IMAPClientError:
                    if not client.folder_exists(self.processed_folder):  # not a creation race
                        raise
            info = client.select_folder(self.folder)
            uidvalidity = int(info[b"UIDVALIDITY"])
        except BaseException:
            self._close(client)
            raise
        if self._uidvalidity is not None and uidvalidity != self._uidvalidity:
            log.warning(
                "imap %s: UIDVALIDITY changed %d -> %d; re-reading the folder (the store's "
                "Message-ID dedupe keeps anything from being imported twice)",
                self.folder,
                self._uidvalidity,
                uidvalidity,
            )
        self._uidvalidity = uidvalidity
        self.connects += 1
        log.info("imap %s@%s:%d connected, folder %s", self.username, self.host, self.port, self.folder)
        return client

    @staticmethod
    def _close(client: IMAPClient | None) -> None:
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # noqa: BLE001  (a logout on a broken connection: the socket is shut instead)
            with contextlib.suppress(Exception):
                client.shutdown()

    def close(self) -> None:
        """Log out (used by ``run`` on stop and by one-shot callers of ``poll_once``)."""
        with self._lock:
            self._close(self._client)
            self._client = None

    # ------------------------------------------------------------------ polling

    def request_poll(self) -> None:
        """Ask the running loop for a poll as soon as it can (safe from any thread)."""
        self._wake.set()

    def poll_once(self) -> list[int]:
        """Connect if needed, store every message not yet stored, acknowledge it; new submission ids.

        Meant for one-shot use (CLI, tests) when ``run`` is not active in another thread.
        """
        if self._running:
            raise RuntimeError("run() owns the connection; use request_poll()")
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._poll(self._client)

    def _poll(self, client: IMAPClient) -> list[int]:
        """One pass over the folder. Caller holds the lock."""
        self.polls += 1
        info = client.select_folder(self.folder)
        announced_news(client)  # SELECT's own EXISTS/RECENT; later ones mean mail arrived meanwhile
        uidvalidity = int(info[b"UIDVALIDITY"])
        if uidvalidity != self._uidvalidity:
            log.warning("imap %s: UIDVALIDITY changed to %d; re-reading the folder", self.folder, uidvalidity)
            self._uidvalidity = uidvalidity
        if self.processed_folder:
            criteria: list[Any] = ["NOT", "DELETED"]
        else:
            criteria = ["NOT", "DELETED", "NOT", "KEYWORD", self.processed_flag]
        uids = sorted(int(u) for u in client.search(criteria))
        created: list[int] = []
        for chunk in chunks(uids, self.batch_size):
            if self._stop is not None and self._stop.is_set():
                break  # the rest waits for the next start; nothing is half-done between chunks
            known = self.store.imap_known(self.folder, uidvalidity, chunk)
            if known:
                # Stored before but not acknowledged (e.g. a crash between store and move).
                self._acknowledge(client, sorted(known))
            todo = [u for u in chunk if u not in known]
            if todo:
                created.extend(self._import(client, uidvalidity, todo))
        return created

    def _import(self, client: IMAPClient, uidvalidity: int, uids: list[int]) -> list[int]:
        """Fetch, store and acknowledge ``uids`` in sub-batches bounded by ``fetch_bytes``."""
        sizes = client.fetch(uids, [b"RFC822.SIZE", b"INTERNALDATE"])
        created: list[int] = []
        batch: list[int] = []
        batch_bytes = 0
        for uid in uids:
            data = sizes.get(uid)
            if data is None:  # expunged meanwhile by someone else
                continue
            size = int(data.get(b"RFC822.SIZE", 0))
            if batch and batch_bytes + size > self.fetch_bytes:
                created.extend(self._import_batch(client, uidvalidity, batch, sizes))
                batch, batch_bytes = [], 0
            batch.append(uid)
            batch_bytes += size
        if batch:
            created.extend(self._import_batch(client, uidvalidity, batch, sizes))
        return created

    def _import_batch(
        self, client: IMAPClient, uidvalidity: int, uids: list[int], meta: dict[int, dict[bytes, Any]]
    ) -> list[int]:
        bodies = fetch_bodies(client, uids, meta, self.max_message_bytes, self.folder)
        fetched = [(uid, bodies[uid], meta[uid].get(b"INTERNALDATE")) for uid in uids if bodies.get(uid) is not None]
        # The whole batch in one transaction (one commit, one wait for the disk), acknowledged
        # after it as before; one message by one when one of them cannot be stored as it is.
        if not fetched:
            return []
        together = store_messages(self.store, self.folder, uidvalidity, fetched)
        if together is None:
            return self._import_one_by_one(client, uidvalidity, fetched)
        self._acknowledge(client, [uid for uid, _, _ in fetched])
        new_ids = [sid for sid, new in together if new]
        for sid in new_ids:
            notify(self.on_new, sid)
        return new_ids

    def _import_one_by_one(self, client: IMAPClient, uidvalidity: int, fetched: list[tuple[int, bytes, Any]]
                           ) -> list[int]:
        """Store and acknowledge fetched messages each in its own transaction (a stand-in for one that
        cannot be stored as it is)."""
        created: list[int] = []
        stored: list[int] = []
        for uid, raw, internaldate in fetched:
            try:
                sid, new = self._store_one(uid, uidvalidity, raw, internaldate)
            except BaseException:
                # Whatever was committed before the failure is acknowledged; the rest waits.
                if stored:
                    self._acknowledge(client, stored)
                for sid in created:
                    notify(self.on_new, sid)
                raise
            stored.append(uid)
            if new:
                created.append(sid)
        if stored:
            self._acknowledge(client, stored)
        for sid in created:
            notify(self.on_new, sid)
        return created

    def _store_one(self, uid: int, uidvalidity: int, raw: bytes, internaldate: Any) -> tuple[int, bool]:
        return store_message(self.store, self.folder, uidvalidity, uid, raw, internaldate)

    def _acknowledge(self, client: IMAPClient, uids: list[int]) -> None:
        """Flag stored messages (keyword, and \\Seen when they stay), then move them if configured."""
        acknowledge(client, uids, self.processed_folder, self.processed_flag)

    # ------------------------------------------------------------------ the loop

    def run(self, stop: threading.Event) -> None:
        """Connect, poll, then IDLE (or sleep) until ``stop``; reconnect with back-off on any failure."""
        self._running = True
        self._stop = stop
        try:
            while not stop.is_set():
                try:
                    with self._lock:
                        if self._client is None:
                            self._client = self._connect()
                        self._poll(self._client)
                    self._backoff.reset()
                    self._wait(stop)
                except Exception as exc:  # noqa: BLE001  (any failure of a session is logged and the source reconnects with backoff)
                    delay = self._backoff.next()
                    log.warning("imap %s: %s; reconnecting in %.1fs", self.folder, describe_error(exc), delay)
                    with self._lock:
                        self._close(self._client)
                        self._client = None
                    stop.wait(delay)
        finally:
            self.close()
            self._running = False

    def _wait(self, stop: threading.Event) -> None:
        """Wait for new mail (`imap_wait`): returns when a poll is due or ``stop`` is set."""
        client = self._client
        assert client is not None
        policy = WaitPolicy(use_idle=self.use_idle, poll_seconds=self.poll_seconds,
                            idle_check_seconds=self.idle_check_seconds, idle_renew_seconds=self.idle_renew_seconds)
        wait_for_mail(client, self._lock, self._wake, stop, policy)
