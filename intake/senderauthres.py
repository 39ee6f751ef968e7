"""Mail our own receiving server already checked (read from our IMAP mailbox, or handed over by our
MTA): the verdict is the one it wrote, the topmost `Authentication-Results` header whose authserv-id
is the configured trusted server (a sender can add look-alikes below it), parsed with `authres`.
"""

from __future__ import annotations

import authres
import authres.dmarc

from intake.maildomains import aligned, domain_of
from intake.senderverdict import Verdict, describe, from_domain, headers


def verify_authres(raw: bytes, trusted_authserv_id: str, method: str = "imap") -> Verdict:  # noqa: C901, PLR0912, PLR0915  (each result of each method the header reports, in the order RFC 8601 gives)
    """The verdict our receiving server wrote: the topmost `Authentication-Results` with its id.

    `method` is "imap" (read from our mailbox) or "relay" (handed over by our MTA)."""
    domain, why = from_domain(raw)
    if not trusted_authserv_id.strip():
        return Verdict(method="none", verified=False, from_domain=domain,
                       reason="unknown: no trusted mail server is configured ([trust] authserv_id)")
    wanted = trusted_authserv_id.strip().lower()
    header = None
    try:
        values = headers(raw).get_all("Authentication-Results") or []
    except Exception:  # noqa: BLE001  (a header block the email package cannot read has no results to believe)
        values = []
    for value in values:
        try:
            parsed = authres.AuthenticationResultsHeader.parse_value(" ".join(str(value).split()))
        except Exception:  # noqa: BLE001  (authres.core.SyntaxError and friends: not a header we can believe)
            continue
        if str(parsed.authserv_id).lower() == wanted:
            header = parsed
            break
    verdict = Verdict(method=method, verified=False, reason="", from_domain=domain, authserv_id=wanted)
    if header is None:
        verdict.reason = f"unknown: no Authentication-Results from {wanted}"
        return verdict
    dmarc_result = None
    for r in header.results:
        props = {f"{p.type}.{p.name}".lower(): str(p.value) for p in r.properties}
        method, result = str(r.method).lower(), str(r.result).lower()
        if method == "spf" and verdict.spf == "none":
            verdict.spf = result
            verdict.spf_domain = domain_of(props.get("smtp.mailfrom")) or props.get("smtp.mailfrom") or \
                props.get("smtp.helo")
        elif method == "dkim":
            verdict.dkim.append({"domain": (props.get("header.d") or domain_of(props.get("header.i")) or "").lower(),
                                 "result": result})
        elif method == "dmarc" and dmarc_result is None:
            dmarc_result = result
            verdict.dmarc_policy = props.get("policy.published-domain-policy")
    if domain is None:
        verdict.reason = f"{why}; {describe(verdict)}"
        return verdict
    if dmarc_result is not None:
        verdict.dmarc = dmarc_result
        verdict.verified = dmarc_result == "pass"
        if verdict.verified:
            good = [d["domain"] for d in verdict.dkim if d["result"] == "pass" and aligned(d["domain"], domain)]
            verdict.aligned = "dkim" if good else "spf"
            verdict.reason = (f"DKIM {good[0]} aligned with From {domain}" if good else
                              f"DMARC pass for From {domain}") + f" (reported by {wanted})"
        else:
            verdict.reason = f"DMARC {dmarc_result} for From {domain} (reported by {wanted}); {describe(verdict)}"
        return verdict
    good = [d["domain"] for d in verdict.dkim if d["result"] == "pass" and aligned(d["domain"], domain)]
    if good:
        verdict.aligned, verdict.reason = "dkim", f"DKIM {good[0]} aligned with From {domain} (reported by {wanted})"
    elif verdict.spf == "pass" and aligned(verdict.spf_domain, domain):
        verdict.aligned = "spf"
        verdict.reason = f"SPF pass for {verdict.spf_domain} aligned with From {domain} (reported by {wanted})"
    verdict.verified = verdict.aligned is not None
    verdict.dmarc = "pass" if verdict.verified else "fail"
    if not verdict.verified:
        verdict.reason = f"{describe(verdict)} (reported by {wanted})"
    return verdict
