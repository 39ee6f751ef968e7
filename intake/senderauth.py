"""Sender trust: who really sent a mail (DKIM, SPF, DMARC alignment), as a verdict over stored bytes.

Anyone can write any From line, and replies and approval confirmations carry personal data, so
the pipeline asks here before it answers. Two ways to know:

- mail read from a mailbox (IMAP), or handed to our SMTP/LMTP listener by our own MTA (a client
  address in `[trust] relays`): our receiving server already checked it and wrote an
  `Authentication-Results` header. Only the topmost one whose authserv-id is the configured trusted
  server counts (a sender can add look-alikes below it); it is parsed with `authres`.
- mail delivered straight to our SMTP/LMTP listener by anyone else: nobody checked it, so DKIM
  (dkimpy), SPF (pyspf, from the session's client IP, HELO and MAIL FROM) and the DMARC record are
  checked here, all DNS through one dnspython resolver (`intake.senderdns`: cached, one budget per
  mail; a local stub in tests). An `Authentication-Results` header from such a client is ignored.

Forwarded mail that fails either way may still be verified by ARC (`intake.arc`): a chain that
verifies, sealed by a forwarder in `[trust] arc_trusted_signers` that saw an aligned pass.

Verified means DMARC alignment passes: a DKIM signature that verifies for, or an SPF pass of, the
From domain's organisational domain (relaxed alignment, public suffix list, offline; strict when
the DMARC record says `adkim=s` / `aspf=s`). A DNS failure is `temperror`: not verified, with the
reason, never an exception. Everything here is a pure function of the raw message, the session and
a resolver, so it runs in the pipeline (after the `250`), not while the client waits.

The parts: `senderverdict` (the `Verdict`, `SmtpSession`, the From domain), `sendersmtp` (DKIM, SPF
and DMARC checked here), `senderauthres` (the trusted server's Authentication-Results); this module
decides which applies to a submission (`verdict_for`) and what problems a verdict puts on a request.
Their public names stay importable from here.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from email.utils import getaddresses
from typing import TYPE_CHECKING, Any

from intake.arc import ArcOutcome, check_arc, has_arc
from intake.maildomains import aligned, domain_of, org_domain
from intake.model import CertificateRequest, Problem
from intake.senderauthres import verify_authres
from intake.senderdns import DnsTemporary, Lookups, make_resolver, resolver_from
from intake.sendersmtp import check_dkim, check_spf, dmarc_record, txt_records, verify_smtp
from intake.senderverdict import SmtpSession, Verdict, from_domain
from intake.senderverdict import headers as _headers
from intake.store import states
from parsers.pii import mask_ssns

# The sender check and the names of its parts (sendersmtp, senderauthres, senderverdict), which
# callers import from here.
__all__ = [
    "CONFIRMATION_ELSEWHERE",
    "MAIL_CHANNELS",
    "REPLY_TO_ELSEWHERE",
    "SENDER_NOT_VERIFIED",
    "TRUST_CODES",
    "DnsTemporary",
    "SmtpSession",
    "Verdict",
    "aligned",
    "check_dkim",
    "check_spf",
    "dmarc_record",
    "domain_of",
    "flagged",
    "from_domain",
    "from_relay",
    "make_resolver",
    "org_domain",
    "reply_to_elsewhere",
    "resolver_from",
    "trust_problems",
    "txt_records",
    "verdict_for",
    "verify_authres",
    "verify_smtp",
    "with_arc",
]


if TYPE_CHECKING:
    from dns.resolver import Resolver

    from intake.settings import TrustSettings

log = logging.getLogger("intake.senderauth")

SENDER_NOT_VERIFIED = "sender_not_verified"
CONFIRMATION_ELSEWHERE = "confirmation_elsewhere"
REPLY_TO_ELSEWHERE = "reply_to_elsewhere"
TRUST_CODES = (SENDER_NOT_VERIFIED, CONFIRMATION_ELSEWHERE, REPLY_TO_ELSEWHERE)
MAIL_CHANNELS = states.MAIL_CHANNELS  # kept importable from here


# -- the verdict of a submission and its problems --------------------------------------------


def verdict_for(channel: str, raw: bytes, session: SmtpSession | None, settings: TrustSettings,
                resolver: Resolver | None = None) -> Verdict:
    """The verdict of one stored submission: never raises (a failure is an unverified sender)."""
    if channel == "fax":
        return Verdict(method="fax", verified=False,
                       reason="a fax carries no sender authentication; replies go to the sending fax number, "
                              "an email address written in the fax is not verified")
    if channel == "web":
        return Verdict(method="web", verified=False,
                       reason="the online form: no sender to verify; a confirmation address is proven by a link")
    try:
        if channel not in MAIL_CHANNELS:
            return Verdict(method="none", verified=False, reason=f"unknown channel {channel}")
        if channel in ("smtp", "lmtp") and (session is None or not session.client_ip):
            # Stored before sessions were recorded. Its Authentication-Results are not believed:
            # whoever talked to our listener could have written them.
            domain, _ = from_domain(raw)
            return Verdict(method="smtp", verified=False, from_domain=domain,
                           reason="unknown: the SMTP session (client address) was not recorded")
        lookups: Lookups | None = None  # made when DNS is needed: IMAP and relayed mail may need none
        if channel == "imap":
            verdict = verify_authres(raw, settings.authserv_id)
        elif session is not None and from_relay(session.client_ip, settings.relays):
            verdict = verify_authres(raw, settings.authserv_id, method="relay")
        else:
            assert session is not None
            lookups = Lookups(resolver or resolver_from(settings), settings.dns_budget_seconds)
            verdict = verify_smtp(raw, session, lookups, settings.dns_budget_seconds)
        if not verdict.verified and settings.arc_trusted_signers and has_arc(raw):
            lookups = lookups or Lookups(resolver or resolver_from(settings), settings.dns_budget_seconds)
            verdict = with_arc(verdict, check_arc(raw, lookups, settings.arc_trusted_signers, verdict.from_domain))
        return verdict
    except Exception as exc:  # noqa: BLE001  (the verdict must never lose a message)
        log.warning("sender check failed: %s", exc.__class__.__name__)
        return Verdict(method=channel, verified=False, dmarc="temperror",
                       reason=f"the sender check failed ({exc.__class__.__name__}); try again later")


def from_relay(client_ip: str | None, relays: list[str]) -> bool:
    """True when the SMTP client is one of our own MTAs (`[trust] relays`, addresses or networks)."""
    if not client_ip or not relays:
        return False
    try:
        ip = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in relays)


def with_arc(verdict: Verdict, arc: ArcOutcome) -> Verdict:
    """The verdict with what the ARC chain says: verified through a trusted forwarder, or a note."""
    verdict.arc, verdict.arc_signer = arc.result, arc.signer
    if arc.verified:
        verdict.verified, verdict.aligned = True, "arc"
        verdict.reason = f"{arc.reason} ({verdict.reason})" if verdict.reason else arc.reason
    elif arc.reason:
        verdict.reason = f"{verdict.reason}; {arc.reason}" if verdict.reason else arc.reason
    return verdict


def reply_to_elsewhere(raw: bytes, verdict: Verdict) -> str | None:
    """The Reply-To address a reply would go to when it is not in the From domain's organisation.

    DKIM and DMARC vouch for the From domain only; anyone on the way (or the sender, by mistake)
    can add `Reply-To: someone@elsewhere`, and the reply carries the request's details. The address
    is the first of the Reply-To header, the one `replies.should_reply` answers. None: no Reply-To,
    or one aligned with From (same organisational domain, as for DMARC).
    """
    try:
        values = _headers(raw).get_all("Reply-To") or []
    except Exception:  # noqa: BLE001  (a header that cannot be read is as good as none: replies go to From)
        return None
    addresses = [a.strip().lower() for _, a in getaddresses([str(v) for v in values]) if "@" in a]
    if not addresses:
        return None
    domain = verdict.from_domain or from_domain(raw)[0]
    return None if aligned(domain_of(addresses[0]), domain) else addresses[0]


def trust_problems(verdict: Verdict, request: CertificateRequest, channel: str,
                   help_for_code: Any = None, reply_to: str | None = None) -> list[Problem]:
    """`sender_not_verified`, `confirmation_elsewhere` and `reply_to_elsewhere` (`reply_to`, from
    `reply_to_elsewhere`) for one request, with their help text."""
    def help_(code: str) -> str:
        return str(help_for_code(code)) if help_for_code else ""

    out: list[Problem] = []
    if channel in MAIL_CHANNELS and not verdict.verified:
        out.append(Problem(field=None, code=SENDER_NOT_VERIFIED,
                           message=f"The sender could not be verified: {verdict.reason}. No reply with "
                                   f"request details goes out until a person accepts the request.",
                           help=help_(SENDER_NOT_VERIFIED)))
    if channel in MAIL_CHANNELS and reply_to:
        out.append(Problem(field=None, code=REPLY_TO_ELSEWHERE,
                           message=f"Replies would go to {mask_ssns(reply_to)} (the message's Reply-To), another "
                                   f"domain than the sender's ({verdict.from_domain or 'unknown'}). No reply with "
                                   f"request details goes out until a person accepts the request.",
                           help=help_(REPLY_TO_ELSEWHERE)))
    confirmation = request.confirmation_email
    target = domain_of(confirmation)
    if target:
        if channel == "fax":
            out.append(Problem(field="confirmation_email", code=CONFIRMATION_ELSEWHERE,
                               message=f"The confirmation address {confirmation} was written in a fax; nobody "
                                       f"has verified it belongs to the requester.",
                               help=help_(CONFIRMATION_ELSEWHERE)))
        elif verdict.from_domain and org_domain(target) != org_domain(verdict.from_domain):
            out.append(Problem(field="confirmation_email", code=CONFIRMATION_ELSEWHERE,
                               message=f"The approval confirmation would go to {target}, another domain than "
                                       f"the sender's ({verdict.from_domain}).",
                               help=help_(CONFIRMATION_ELSEWHERE)))
    return out


def flagged(problems: Iterable[Problem]) -> bool:
    """True when a request carries one of the sender-trust problems."""
    return any(p.code in TRUST_CODES for p in problems)
