"""Domains of mail addresses and DMARC alignment (RFC 7489 3.1), offline (the packaged public
suffix list): shared by the sender check (`intake.senderauth`) and ARC (`intake.arc`)."""

from __future__ import annotations

from functools import cache

from publicsuffixlist import PublicSuffixList


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()  # the list packaged with publicsuffixlist: no network


def org_domain(domain: str | None) -> str | None:
    """The organisational domain (RFC 7489 3.2): mail.acme.example.co.uk -> example.co.uk."""
    if not domain:
        return None
    d = domain.strip().rstrip(".").lower()
    if not d:
        return None
    return _psl().privatesuffix(d) or d


def domain_of(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return address.rpartition("@")[2].strip().strip(">").rstrip(".").lower() or None


def aligned(domain: str | None, from_domain: str | None, *, strict: bool = False) -> bool:
    if not domain or not from_domain:
        return False
    a, b = domain.rstrip(".").lower(), from_domain.rstrip(".").lower()
    return a == b if strict else org_domain(a) == org_domain(b)
