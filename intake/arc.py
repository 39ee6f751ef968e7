"""ARC (RFC 8617) for forwarded mail: a trusted forwarder's word on who sent it.

A mailing list or a forwarding mailbox changes the message (a footer, a subject tag) and sends it
from its own servers: the author's DKIM signature breaks and SPF checks the forwarder, so DMARC
fails although the mail is genuine. A forwarder that ARC-seals records what it saw on arrival
(`ARC-Authentication-Results`) and seals that under its own key. We believe it only when

- the whole chain verifies (dkimpy's `arc_verify`: every ARC-Seal, the newest
  ARC-Message-Signature; keys through our DNS lookups, within the mail's budget),
- one of its instances is sealed by a domain in `[trust] arc_trusted_signers` (the newest such
  instance counts: later hops are not trusted to vouch), and
- that instance's ARC-Authentication-Results say `dmarc=pass` for the From domain, or a DKIM pass
  or SPF pass aligned with it.

Anyone can add ARC headers; an untrusted or broken chain changes nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import authres
import dkim

from intake.maildomains import aligned, domain_of
from intake.senderdns import DnsTemporary, Lookups

log = logging.getLogger("intake.arc")

_INSTANCE = re.compile(rb"^\s*i\s*=\s*\d+\s*;", re.I)


@dataclass(frozen=True)
class ArcOutcome:
    """`result`: none (no ARC headers), pass (the chain verifies), fail, temperror."""

    result: str
    verified: bool = False
    signer: str | None = None
    reason: str = ""


def has_arc(raw: bytes) -> bool:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return re.search(rb"(?im)^arc-seal\s*:", head) is not None


def _trusted(domain: str, signers: Sequence[str]) -> bool:
    d = domain.rstrip(".").lower()
    return any(d == s or d.endswith("." + s) for s in signers)


def _dnsfunc(lookups: Lookups) -> Any:
    def get_txt(name: bytes, timeout: float = 5) -> bytes | None:
        found = lookups.txt(name.decode("ascii", "replace"))
        return found[0] if found else None

    return get_txt


def _what_it_saw(aar: bytes, from_domain: str) -> str | None:
    """What an ARC-Authentication-Results vouches for the From domain ("DMARC pass", ...), or None."""
    value = _INSTANCE.sub(b"", aar, count=1).decode("utf-8", "replace")
    try:
        header = authres.AuthenticationResultsHeader.parse_value(" ".join(value.split()))
    except Exception:  # noqa: BLE001  (authres.core.SyntaxError and friends: not a header we can read)
        return None
    found: dict[str, str] = {}
    for r in header.results:
        props = {f"{p.type}.{p.name}".lower(): str(p.value) for p in r.properties}
        method, result = str(r.method).lower(), str(r.result).lower()
        if result != "pass" or method in found:
            continue
        if method == "dmarc" and aligned(props.get("header.from"), from_domain, strict=True):
            found[method] = "DMARC pass"
        elif method == "dkim" and aligned(props.get("header.d") or domain_of(props.get("header.i")), from_domain):
            found[method] = f"DKIM pass for {props.get('header.d') or props.get('header.i')}"
        elif method == "spf":
            spf_domain = domain_of(props.get("smtp.mailfrom")) or props.get("smtp.mailfrom")
            if aligned(spf_domain, from_domain):
                found[method] = f"SPF pass for {spf_domain}"
    return next((found[m] for m in ("dmarc", "dkim", "spf") if m in found), None)


def check_arc(raw: bytes, lookups: Lookups, signers: Sequence[str], from_domain: str | None) -> ArcOutcome:  # noqa: PLR0911  (each way a chain fails returns its own outcome)
    """The ARC chain of `raw` against the trusted signers; never raises."""
    if not has_arc(raw):
        return ArcOutcome("none")
    try:
        cv, instances, comment = dkim.arc_verify(raw, logger=log.getChild("dkim"), dnsfunc=_dnsfunc(lookups),
                                                 timeout=lookups.lifetime)
    except DnsTemporary:
        return ArcOutcome("temperror", reason="ARC: DNS error")
    except Exception as exc:  # noqa: BLE001  (dkimpy raises on malformed ARC sets: a chain that does not verify)
        return ArcOutcome("fail", reason=f"ARC chain does not verify ({exc.__class__.__name__})")
    if cv != b"pass":
        why = comment.decode("ascii", "replace") if isinstance(comment, bytes) else str(comment)
        return ArcOutcome("fail", reason=f"ARC chain {cv.decode('ascii', 'replace')} ({why})")
    sealers = []
    for inst in sorted(instances, key=lambda i: int(i.get("instance", 0)), reverse=True):
        domain = bytes(inst.get("as-domain") or b"").decode("ascii", "replace").lower()
        sealers.append(domain)
        if not _trusted(domain, signers):
            continue
        saw = _what_it_saw(bytes(inst.get("aar-value") or b""), from_domain) if from_domain else None
        if saw:
            return ArcOutcome("pass", True, domain,
                              f"forwarded: ARC chain sealed by {domain} (trusted), which saw {saw} for From "
                              f"{from_domain}")
        return ArcOutcome("pass", False, domain, f"ARC sealed by {domain} (trusted), but it saw no aligned pass "
                                                 f"for From {from_domain}")
    return ArcOutcome("pass", False, None, f"ARC chain sealed by {', '.join(sealers) or '?'}, not a trusted "
                                           f"ARC signer")
