"""DNS for the sender check: one resolver, a per-process cache, and one time budget per mail.

A slow or dead resolver must not stall the pipeline. So every lookup of the sender check (DKIM keys,
SPF records and what they include, DMARC records, ARC seal keys) goes through `Lookups`, which

- answers from a cache shared by the process: an answer for its TTL (at most an hour), a name that
  does not exist for its negative TTL (the zone's SOA, else a minute), and a failure (timeout, no
  server answering) for `FAILURE_SECONDS`, so a hundred mails from one domain with its DNS down
  wait once, not a hundred times (a query cut short by the budget, ten seconds);
- never waits past the mail's deadline (`[trust] dns_budget_seconds` from the start of its check):
  a query gets what is left of the budget, and none at all once it is spent, which makes the check
  `temperror`, never a blocked worker.

The cache key holds the servers and port, so two resolvers (or two test DNS servers) never share
answers.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dns.exception
import dns.message
import dns.rdatatype
import dns.resolver

if TYPE_CHECKING:
    from intake.settings import TrustSettings

FAILURE_SECONDS = 60.0  # how long a timeout or SERVFAIL is remembered for a name
NEGATIVE_SECONDS = 60.0  # a name that does not exist, when the answer carries no SOA
MAX_TTL = 3600.0
MAX_ENTRIES = 20_000
MIN_TRIED_SECONDS = 0.5  # a query given less than this (the budget nearly spent) ...
SHORT_FAILURE_SECONDS = 10.0  # ... had no real chance: its failure is remembered only this long


class DnsTemporary(Exception):
    """A DNS query timed out, no server answered, or the mail's budget is spent: `temperror`."""


@dataclass(frozen=True)
class _Entry:
    expires: float
    records: tuple[Any, ...]
    error: str | None = None


class DnsCache:
    """Answers, absent names and failures per (servers, port, name, type), each until it expires."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def get(self, key: tuple[Any, ...]) -> _Entry | None:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires <= now:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple[Any, ...], entry: _Entry) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


CACHE = DnsCache()


def forget() -> None:
    """Drop every cached answer (a test that starts a new DNS server at a reused address)."""
    CACHE.clear()


def make_resolver(servers: list[str], port: int = 53, timeout: float = 5.0) -> dns.resolver.Resolver:
    """A dnspython resolver: the given servers, or the system's (/etc/resolv.conf) when empty."""
    if servers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = list(servers)
        resolver.port = port
    else:
        resolver = dns.resolver.Resolver()
    resolver.timeout = timeout
    resolver.lifetime = timeout
    resolver.cache = None  # ours (`CACHE`) also keeps failures and knows the budget
    return resolver


def resolver_from(settings: TrustSettings) -> dns.resolver.Resolver:
    return make_resolver(list(settings.dns_servers), settings.dns_port, settings.dns_timeout_seconds)


def _soa_ttl(response: dns.message.Message | None) -> float:
    """The negative-caching TTL of an answer (RFC 2308: the SOA's TTL capped by its minimum)."""
    if response is not None:
        for rrset in response.authority:
            if rrset.rdtype == dns.rdatatype.SOA and len(rrset):
                return float(min(rrset.ttl, rrset[0].minimum))
    return NEGATIVE_SECONDS


class Lookups:
    """One mail's DNS: the resolver, the process's cache and the deadline of the mail's budget.

    Safe to share between the threads that check one mail at once (DKIM, SPF, DMARC).
    """

    def __init__(self, resolver: dns.resolver.Resolver, budget: float | None = None,
                 cache: DnsCache | None = CACHE) -> None:
        self.resolver = resolver
        self.deadline = None if budget is None else time.monotonic() + budget
        self.cache = cache
        self.spent = False  # True once a query was refused or cut short because the budget ran out

    @property
    def lifetime(self) -> float:
        return float(self.resolver.lifetime)

    def remaining(self) -> float:
        if self.deadline is None:
            return float(self.resolver.lifetime)
        return min(float(self.resolver.lifetime), self.deadline - time.monotonic())

    def resolve(self, name: str, qtype: str) -> tuple[Any, ...]:
        """The records of `name`/`qtype` (() when there are none); DnsTemporary on a failure."""
        qname = name.rstrip(".").lower() + "."
        key = (tuple(self.resolver.nameservers), self.resolver.port, qname, qtype.upper())
        if self.cache is not None and (entry := self.cache.get(key)) is not None:
            if entry.error is not None:
                raise DnsTemporary(entry.error)
            return entry.records
        granted = self.remaining()
        if granted <= 0:
            self.spent = True
            raise DnsTemporary(f"DNS {name}: the time for this mail's lookups ran out")
        now = time.monotonic()
        try:
            answer = self.resolver.resolve(qname, qtype, raise_on_no_answer=False, lifetime=granted)
        except dns.resolver.NXDOMAIN as exc:
            responses = list(exc.responses().values()) if hasattr(exc, "responses") else []
            self._put(key, _Entry(now + min(_soa_ttl(responses[0] if responses else None), MAX_TTL), ()))
            return ()
        except dns.resolver.NoAnswer:
            self._put(key, _Entry(now + NEGATIVE_SECONDS, ()))
            return ()
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
            why = f"DNS {name}: {exc.__class__.__name__}"
            if isinstance(exc, dns.exception.Timeout) and granted < float(self.resolver.lifetime):
                self.spent = True  # cut short by the mail's budget
            full = granted >= min(MIN_TRIED_SECONDS, float(self.resolver.timeout))
            self._put(key, _Entry(now + (FAILURE_SECONDS if full else SHORT_FAILURE_SECONDS), (), why))
            raise DnsTemporary(why) from None
        if answer.rrset is None:
            self._put(key, _Entry(now + min(_soa_ttl(answer.response), MAX_TTL), ()))
            return ()
        records = tuple(answer.rrset)
        self._put(key, _Entry(now + min(float(answer.rrset.ttl), MAX_TTL), records))
        return records

    def _put(self, key: tuple[Any, ...], entry: _Entry) -> None:
        if self.cache is not None:
            self.cache.put(key, entry)

    def txt(self, name: str) -> list[bytes]:
        """TXT strings of `name` (each record's strings joined); [] when there is none."""
        return [b"".join(r.strings) for r in self.resolve(name, "TXT")]


def lookups_of(resolver: dns.resolver.Resolver | Lookups, budget: float | None = None) -> Lookups:
    """`resolver` as the `Lookups` of one mail (a `Lookups` is used as it is)."""
    return resolver if isinstance(resolver, Lookups) else Lookups(resolver, budget)
