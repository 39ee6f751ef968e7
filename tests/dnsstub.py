"""A real DNS server on 127.0.0.1 for the sender-trust tests: UDP and TCP on one free port (dnslib).

It answers TXT records (DKIM keys, SPF, DMARC) and A records from a dict the test fills, so DKIM,
SPF and DMARC are checked by the real libraries over a real socket, with no network. `silent_dns`
is a UDP port that never answers, and a stub with `drop = True` records each query and answers
none: the resolver's timeout, as when a sender's DNS is down.

No test or benchmark asks the machine's resolver: every config a helper builds for the gateway
(`tests/gateway.py`, `stage_context`, `bench/*`) goes through `loopback_dns`, which points
`[trust] dns_servers` at `shared_stub()` (one stub per process, answering NXDOMAIN unless a test adds
records); a daemon started without a config file gets the same through `dns_env()`.
`tests/test_dns_guard.py` fails when a helper leaves the resolver unset or off loopback.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dnslib import QTYPE, RCODE, RR, TXT, A, DNSError, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from intake import senderdns


class _ZoneResolver(BaseResolver):
    """Answers from `records`: name (no trailing dot, lower case) -> list of (type, value)."""

    def __init__(self) -> None:
        self.records: dict[str, list[tuple[str, str]]] = {}
        self.queries: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.drop = False  # True: every query is recorded and left unanswered (a black hole)

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        with self.lock:
            self.queries.append((name, qtype))
            found = list(self.records.get(name, []))
            if self.drop:
                raise DNSError("dropped")  # dnslib's handler sends nothing back for a DNSError
        if not found:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for rtype, value in found:
            if rtype != qtype:
                continue
            if rtype == "TXT":
                # Long values (a DKIM key) go as several character-strings of at most 255 bytes.
                chunks = [value[i : i + 255] for i in range(0, len(value), 255)] or [""]
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(chunks), ttl=60))
            elif rtype == "A":
                reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(value), ttl=60))
        return reply


class DnsStub:
    """`add_txt` / `add_a` fill the zone; `host` and `port` are what the resolver is pointed at."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        senderdns.forget()  # a new server, perhaps at the port of an earlier one: no answer of that one
        self.resolver = _ZoneResolver()
        quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
        for _ in range(20):
            udp = DNSServer(self.resolver, address=self.host, port=0, logger=quiet)
            port = int(udp.server.server_address[1])
            try:
                tcp = DNSServer(self.resolver, address=self.host, port=port, tcp=True, logger=quiet)
            except OSError:
                udp.server.server_close()
                continue
            self.port, self._servers = port, (udp, tcp)
            break
        else:  # pragma: no cover (20 collisions in a row)
            raise RuntimeError("no free port for the DNS stub")

    def add_txt(self, name: str, value: str) -> None:
        with self.resolver.lock:
            self.resolver.records.setdefault(name.rstrip(".").lower(), []).append(("TXT", value))

    def add_a(self, name: str, address: str) -> None:
        with self.resolver.lock:
            self.resolver.records.setdefault(name.rstrip(".").lower(), []).append(("A", address))

    @property
    def drop(self) -> bool:
        """While True the server answers nothing: the resolver times out, as when DNS is down."""
        return self.resolver.drop

    @drop.setter
    def drop(self, value: bool) -> None:
        self.resolver.drop = value

    def start(self) -> None:
        for server in self._servers:
            server.start_thread()

    def stop(self) -> None:
        for server in self._servers:
            server.stop()
            server.server.server_close()


@contextmanager
def dns_stub() -> Iterator[DnsStub]:
    stub = DnsStub()
    stub.start()
    try:
        yield stub
    finally:
        stub.stop()


@contextmanager
def silent_dns() -> Iterator[int]:
    """A bound UDP port that never answers (and no TCP listener): every query times out."""
    senderdns.forget()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


_shared: list[DnsStub] = []  # the one started stub, once started
_shared_lock = threading.Lock()


def shared_stub() -> DnsStub:
    """The process's loopback DNS stub for configs that do not bring their own (started once)."""
    with _shared_lock:
        if not _shared:
            stub = DnsStub()
            stub.start()
            _shared.append(stub)
        return _shared[0]


def loopback_dns(toml: str = "", stub: DnsStub | None = None) -> str:
    """`toml` (a config fragment) with `[trust] dns_servers`/`dns_port` at a loopback stub.

    A fragment that names its own `dns_servers` keeps them; one with a `[trust]` table without them
    gets the two keys added at the top of that table (TOML allows a table once); otherwise a
    `[trust]` table is appended.
    """
    if re.search(r"(?m)^\s*dns_servers\s*=", toml):
        return toml
    stub = stub or shared_stub()
    keys = f'dns_servers = ["{stub.host}"]\ndns_port = {stub.port}\n'
    header = re.search(r"(?m)^\[trust\][ \t]*\n", toml)
    if header:
        return toml[: header.end()] + keys + toml[header.end():]
    return toml + ("" if not toml or toml.endswith("\n") else "\n") + "\n[trust]\n" + keys


def dns_env(stub: DnsStub | None = None) -> dict[str, str]:
    """The environment that points a daemon run without a config file at the loopback stub."""
    stub = stub or shared_stub()
    return {"COC_INTAKE_TRUST__DNS_SERVERS": f'["{stub.host}"]', "COC_INTAKE_TRUST__DNS_PORT": str(stub.port)}
