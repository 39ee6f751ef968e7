"""A loopback TCP proxy that can cut its connections, to prove the daemon survives broken IMAP links.

The daemon's IMAP host and port point at the proxy, the proxy at the real Dovecot. A test then drops
the connections at the worst moments: at once (``cut_now``), after N more bytes from the server
(``cut_after_server_bytes``), or when the client sends a command such as ``FETCH`` or ``IDLE``
(``cut_on``), letting a chosen number of the server's answer bytes through first so that the cut
falls in the middle of a literal. A cut closes both sides, as a dead router or a server crash would.
"""

from __future__ import annotations

import contextlib
import re
import selectors
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from tests.servers import free_port

__all__ = ["TcpProxy", "running_proxy"]


@dataclass
class _Trigger:
    """Cut once the client sent ``command`` (None: at once) and then the server sent ``server_bytes``."""

    command: bytes | None
    server_bytes: int
    armed: bool = False  # the command was seen on this connection
    sent: int = 0


class _Link:
    """One client connection and its upstream connection, pumped by one thread."""

    def __init__(self, proxy: TcpProxy, client: socket.socket, upstream: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.closed = threading.Event()

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for s in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()

    def pump(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.client, selectors.EVENT_READ, "c")
        sel.register(self.upstream, selectors.EVENT_READ, "s")
        try:
            while not self.closed.is_set():
                for key, _ in sel.select(timeout=0.2):
                    sock: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = sock.recv(65536)
                    if not data:
                        return
                    if key.data == "c":
                        self.upstream.sendall(data)
                        self.proxy._client_sent(self, data)
                    else:
                        keep, cut = self.proxy._server_sent(self, len(data))
                        if keep:
                            self.client.sendall(data[:keep])
                        if cut:
                            self.proxy.cuts += 1
                            return
        except OSError:
            return
        finally:
            sel.close()
            self.close()
            self.proxy._forget(self)


class TcpProxy:
    """Forward 127.0.0.1:``port`` to ``target_host``:``target_port``; cut connections on demand."""

    def __init__(self, target_host: str, target_port: int, port: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.cuts = 0  # connections this proxy dropped on purpose
        self.connections = 0  # connections accepted so far
        self.commands: Counter[str] = Counter()  # IMAP commands seen from clients, by name
        self._lock = threading.Lock()
        self._links: set[_Link] = set()
        self._triggers: dict[_Link | None, _Trigger] = {}
        self._pending: _Trigger | None = None
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- life ----------------------------------------------------------------------------

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(16)
        listener.settimeout(0.2)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, name="tcpproxy", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
        self.cut_now()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            link = _Link(self, client, upstream)
            with self._lock:
                self._links.add(link)
                self.connections += 1
            threading.Thread(target=link.pump, name="tcpproxy-link", daemon=True).start()

    def _forget(self, link: _Link) -> None:
        with self._lock:
            self._links.discard(link)
            self._triggers.pop(link, None)

    # -- cutting -------------------------------------------------------------------------

    def cut_now(self) -> int:
        """Drop every open connection at once; returns how many were dropped."""
        with self._lock:
            links = list(self._links)
        for link in links:
            link.close()
        self.cuts += len(links)
        return len(links)

    def cut_after_server_bytes(self, n: int) -> None:
        """Drop the next connection that receives more than ``n`` further bytes from the server."""
        with self._lock:
            self._pending = _Trigger(command=None, server_bytes=n, armed=True)

    def cut_on(self, command: str, server_bytes: int = 0) -> None:
        """Drop the next connection whose client sends ``command`` (e.g. ``"FETCH"``, ``"IDLE"``),
        after ``server_bytes`` bytes of the server's answer (0: before any of it)."""
        with self._lock:
            self._pending = _Trigger(command=command.upper().encode(), server_bytes=server_bytes)

    @property
    def armed(self) -> bool:
        """True while a requested cut has not happened yet."""
        with self._lock:
            return self._pending is not None or bool(self._triggers)

    def seen(self, command: str) -> int:
        """How many times clients sent ``command`` through this proxy."""
        with self._lock:
            return self.commands[command.upper()]

    _COMMAND = re.compile(rb"^[A-Za-z0-9.]+ (?:UID )?([A-Za-z]+)", re.M)

    def _client_sent(self, link: _Link, data: bytes) -> None:
        names = [m.group(1).upper() for m in self._COMMAND.finditer(data)]
        if data.strip().upper() == b"DONE":
            names.append(b"DONE")
        cut = False
        with self._lock:
            for name in names:
                self.commands[name.decode()] += 1
            trig = self._triggers.get(link)
            if trig is None and self._pending is not None:
                pending = self._pending
                if pending.command is None or pending.command in names:
                    self._pending = None
                    pending.armed = True
                    self._triggers[link] = pending
                    trig = pending
            if trig is not None and trig.armed and trig.server_bytes <= 0:
                cut = True
                self._triggers.pop(link, None)
        if cut:
            self.cuts += 1
            link.close()

    def _server_sent(self, link: _Link, n: int) -> tuple[int, bool]:
        """How many of ``n`` bytes from the server to pass on, and whether to cut after them."""
        with self._lock:
            trig = self._triggers.get(link)
            if trig is None and self._pending is not None and self._pending.command is None:
                trig = self._triggers[link] = self._pending
                self._pending = None
            if trig is None or not trig.armed:
                return n, False
            room = trig.server_bytes - trig.sent
            if n < room:
                trig.sent += n
                return n, False
            self._triggers.pop(link, None)
            return max(room, 0), True


@contextlib.contextmanager
def running_proxy(target_host: str, target_port: int) -> Iterator[TcpProxy]:
    """A started proxy to ``target_host:target_port``; stopped (every connection dropped) after."""
    proxy = TcpProxy(target_host, target_port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
