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
"""

from __future__ import annotations

import contextvars
import ipaddress
import logging
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import asdict, dataclass, field
from email.utils import getaddresses
from typing import TYPE_CHECKING, Any

import authres
import authres.dmarc  # noqa: F401  (registers the dmarc method's header.from property)
import dkim
import spf
from dkim.util import InvalidTagValueList, parse_tag_value

from intake import mailheads
from intake.arc import ArcOutcome, check_arc, has_arc
from intake.maildomains import aligned as aligned
from intake.maildomains import domain_of as domain_of
from intake.maildomains import org_domain as org_domain
from intake.model import CertificateRequest, Problem
from intake.senderdns import DnsTemporary as DnsTemporary
from intake.senderdns import Lookups, lookups_of
from intake.senderdns import make_resolver as make_resolver
from intake.senderdns import resolver_from as resolver_from
from intake.store import states
from parsers.pii import mask_ssns

if TYPE_CHECKING:
    from dns.resolver import Resolver

    from intake.settings import TrustSettings

log = logging.getLogger("intake.senderauth")

SENDER_NOT_VERIFIED = "sender_not_verified"
CONFIRMATION_ELSEWHERE = "confirmation_elsewhere"
REPLY_TO_ELSEWHERE = "reply_to_elsewhere"
TRUST_CODES = (SENDER_NOT_VERIFIED, CONFIRMATION_ELSEWHERE, REPLY_TO_ELSEWHERE)
MAIL_CHANNELS = states.MAIL_CHANNELS  # kept importable from here


@dataclass(frozen=True)
class SmtpSession:
    """What the SMTP client told us before the message: stored with the submission."""

    client_ip: str | None
    helo: str | None
    mail_from: str | None


@dataclass
class Verdict:
    """The sender's authentication as recorded on the submission (JSON) and shown to staff."""

    method: str  # "smtp" (checked here), "imap"/"relay" (trusted Authentication-Results), "fax", "none"
    verified: bool
    reason: str  # one line a person reads: "DKIM acme.example aligned with From", "SPF fail, no DKIM signature"
    from_domain: str | None = None
    spf: str = "none"  # pass fail softfail neutral none temperror permerror
    spf_domain: str | None = None
    dkim: list[dict[str, str]] = field(default_factory=list)  # [{"domain", "result"}]
    dmarc: str = "none"  # pass fail none temperror permerror
    dmarc_policy: str | None = None
    aligned: str | None = None  # "dkim", "spf" or "arc" when verified
    authserv_id: str | None = None
    arc: str = "none"  # none pass fail temperror: the ARC chain, when it was looked at
    arc_signer: str | None = None  # the trusted forwarder whose ARC seal was believed

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Verdict | None:
        if not data:
            return None
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        try:
            return cls(**known)
        except TypeError:
            return None

    @property
    def summary(self) -> str:
        """What the review page says: "Sender verified: ..." / "Sender NOT verified: ..."."""
        if self.method == "fax":
            return f"Sender not authenticated: {self.reason}"
        return f"Sender {'verified' if self.verified else 'NOT verified'}: {self.reason}"


# -- domains ---------------------------------------------------------------------------------


def _headers(raw: bytes) -> Any:
    return mailheads.headers(raw)  # parsed once per mail for every stage


def from_domain(raw: bytes) -> tuple[str | None, str | None]:
    """(domain of the one From address, None) or (None, why there is none to check)."""
    try:
        values = _headers(raw).get_all("From") or []
    except Exception:
        return None, "the From header cannot be read"
    if len(values) != 1:
        return None, "no From header" if not values else "more than one From header"
    addresses = [a for _, a in getaddresses([str(values[0])]) if a]
    if len(addresses) != 1:
        return None, "the From header does not hold exactly one address"
    domain = domain_of(addresses[0])
    return (domain, None) if domain else (None, "the From address has no domain")


# -- DNS (`intake.senderdns`: the cache and the budget) -----------------------------------------


def txt_records(resolver: Resolver | Lookups, name: str) -> list[bytes]:
    """TXT strings of `name` (each record's strings joined); [] when there is none."""
    return lookups_of(resolver).txt(name)


def _dkim_dnsfunc(lookups: Lookups) -> Any:
    def get_txt(name: bytes, timeout: float = 5) -> bytes | None:
        found = lookups.txt(name.decode("ascii", "replace"))
        return found[0] if found else None

    return get_txt


# pyspf looks names up through its module-level `DNSLookup`; route it to the resolver of the check
# that is running (a context variable, so concurrent checks in threads each use their own).
_spf_resolver: contextvars.ContextVar[Lookups | None] = contextvars.ContextVar("spf_resolver", default=None)
_spf_default_lookup = spf.DNSLookup


def _spf_lookup(name: str, qtype: str, tcpfallback: bool = True, timeout: float = 20) -> list[Any]:
    lookups = _spf_resolver.get()
    if lookups is None:
        return list(_spf_default_lookup(name, qtype, tcpfallback, timeout))
    try:
        records = lookups.resolve(name, qtype)
    except DnsTemporary as exc:
        raise spf.TempError(str(exc)) from None
    out: list[Any] = []
    for rdata in records:
        if qtype in ("A", "AAAA"):
            out.append(((name, qtype), rdata.address))
        elif qtype == "MX":
            out.append(((name, qtype), (rdata.preference, rdata.exchange)))
        elif qtype == "PTR":
            out.append(((name, qtype), rdata.target.to_text(True)))
        elif qtype in ("TXT", "SPF"):
            out.append(((name, qtype), rdata.strings))
    return out


spf.DNSLookup = _spf_lookup


# -- the checks ------------------------------------------------------------------------------


def check_dkim(raw: bytes, resolver: Resolver | Lookups) -> list[dict[str, str]]:
    """Every DKIM-Signature: {"domain", "result"} with pass, fail, temperror or permerror."""
    lookups = lookups_of(resolver)
    checker = dkim.DKIM(raw, logger=log.getChild("dkim"), timeout=lookups.lifetime)
    out: list[dict[str, str]] = []
    n = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
    for idx in range(min(n, 5)):  # a message with dozens of signatures gets five looked at
        domain = ""
        try:
            sig = parse_tag_value(
                [v for k, v in checker.headers if k.lower() == b"dkim-signature"][idx])
            domain = sig.get(b"d", b"").decode("ascii", "replace").lower()
            ok = checker.verify(idx=idx, dnsfunc=_dkim_dnsfunc(lookups))
            result = "pass" if ok else "fail"
        except DnsTemporary:
            result = "temperror"
        except dkim.ValidationError:  # body hash mismatch and the like: the signature does not verify
            result = "fail"
        except (dkim.DKIMException, InvalidTagValueList, ValueError, IndexError):
            result = "permerror"
        out.append({"domain": domain, "result": result})
    return out


def _signature_domains(raw: bytes) -> list[str]:
    """The d= of each DKIM-Signature (at most five): what a check that ran out of time reports."""
    try:
        values = _headers(raw).get_all("DKIM-Signature") or []
    except Exception:
        return []
    out = []
    for value in values[:5]:
        try:
            tags = parse_tag_value(" ".join(str(value).split()).encode("ascii", "replace"))
            out.append(tags.get(b"d", b"").decode("ascii", "replace").lower())
        except (InvalidTagValueList, ValueError):
            out.append("")
    return out


def check_spf(session: SmtpSession, resolver: Resolver | Lookups) -> tuple[str, str | None]:
    """(SPF result, the domain it is for: MAIL FROM's, or HELO's for a null sender)."""
    lookups = lookups_of(resolver)
    helo = (session.helo or "").strip()
    mail_from = (session.mail_from or "").strip()
    domain = domain_of(mail_from) or (helo.lower() or None)
    if not session.client_ip:
        return "none", domain
    try:
        ipaddress.ip_address(session.client_ip)
    except ValueError:
        return "permerror", domain
    token = _spf_resolver.set(lookups)
    try:
        result, _explanation = spf.check2(i=session.client_ip, s=mail_from or f"postmaster@{helo}", h=helo or "unknown",
                                          timeout=lookups.lifetime, querytime=lookups.lifetime * 4)
    except Exception as exc:  # pyspf raises on odd input; that is an SPF error, not a crash
        log.info("spf check failed: %s", exc.__class__.__name__)
        result = "permerror"
    finally:
        _spf_resolver.reset(token)
    return str(result), domain


def dmarc_record(domain: str, resolver: Resolver | Lookups) -> tuple[dict[str, str] | None, str | None]:
    """The DMARC record of the From domain, else of its organisational domain (RFC 7489 6.6.3).

    Returns (tags, None), (None, None) when there is none, or (None, "temperror").
    """
    lookups = lookups_of(resolver)
    names = [domain]
    org = org_domain(domain)
    if org and org != domain:
        names.append(org)
    for name in names:
        try:
            records = [r for r in lookups.txt(f"_dmarc.{name}") if r.lower().startswith(b"v=dmarc1")]
        except DnsTemporary:
            return None, "temperror"
        if len(records) == 1:
            try:
                tags = parse_tag_value(records[0])
            except InvalidTagValueList:
                return None, "permerror"
            return {k.decode("ascii", "replace").lower(): v.decode("ascii", "replace").strip()
                    for k, v in tags.items()}, None
    return None, None


# The lookups of one mail run at once, in threads of this pool (DNS waits, not CPU): a check whose
# budget is spent stops asking, so a thread is never held longer than the budget and one query.
_LOOKUP_THREADS = ThreadPoolExecutor(max_workers=24, thread_name_prefix="sender-dns")
_GRACE_SECONDS = 1.0  # after the budget: the signatures' RSA arithmetic, not DNS


def verify_smtp(raw: bytes, session: SmtpSession, resolver: Resolver | Lookups,
                budget: float | None = None) -> Verdict:
    """DKIM, SPF and DMARC alignment of a message delivered straight to our listener.

    The three checks run at once; with a `budget` (seconds) whatever has not finished by then is
    `temperror` and the verdict is returned anyway.
    """
    lookups = lookups_of(resolver, budget)
    domain, why = from_domain(raw)
    dkim_job = _LOOKUP_THREADS.submit(check_dkim, raw, lookups)
    spf_job = _LOOKUP_THREADS.submit(check_spf, session, lookups)
    dmarc_job = _LOOKUP_THREADS.submit(dmarc_record, domain, lookups) if domain else None
    jobs: list[Future[Any]] = [j for j in (dkim_job, spf_job, dmarc_job) if j is not None]
    wait_for = None if lookups.deadline is None else max(0.0, lookups.deadline - time.monotonic()) + _GRACE_SECONDS
    futures_wait(jobs, timeout=wait_for)
    late = any(not j.done() for j in jobs) or lookups.spent
    dkims = dkim_job.result() if dkim_job.done() else [{"domain": d, "result": "temperror"}
                                                        for d in _signature_domains(raw)]
    spf_result, spf_domain = spf_job.result() if spf_job.done() else (
        "temperror", domain_of(session.mail_from) or (session.helo or "").strip().lower() or None)
    verdict = Verdict(method="smtp", verified=False, reason="", from_domain=domain, spf=spf_result,
                      spf_domain=spf_domain, dkim=dkims)
    if domain is None:
        verdict.reason = f"{why}; {_describe(verdict)}"
        return verdict
    record, error = (dmarc_job.result() if dmarc_job is not None and dmarc_job.done() else (None, "temperror"))
    return _decide(verdict, domain, record, error, late, budget)


def _decide(verdict: Verdict, domain: str, record: dict[str, str] | None, error: str | None,
            late: bool, budget: float | None) -> Verdict:
    """DMARC alignment of the checks' results (RFC 7489 3.1) and the reason a person reads."""
    dkims, spf_result, spf_domain = verdict.dkim, verdict.spf, verdict.spf_domain
    strict_dkim = bool(record and record.get("adkim", "r").lower() == "s")
    strict_spf = bool(record and record.get("aspf", "r").lower() == "s")
    verdict.dmarc_policy = record.get("p") if record else None
    good = [d["domain"] for d in dkims if d["result"] == "pass" and aligned(d["domain"], domain, strict=strict_dkim)]
    if good:
        verdict.aligned = "dkim"
        verdict.reason = f"DKIM {good[0]} aligned with From {domain}"
    elif spf_result == "pass" and aligned(spf_domain, domain, strict=strict_spf):
        verdict.aligned = "spf"
        verdict.reason = f"SPF pass for {spf_domain} aligned with From {domain}"
    verdict.verified = verdict.aligned is not None
    if verdict.verified:
        verdict.dmarc = "pass"
        if record is None:
            verdict.reason += " (no DMARC record)" if error is None else f" (DMARC record: {error})"
        return verdict
    temporary = error == "temperror" or spf_result == "temperror" or any(d["result"] == "temperror" for d in dkims)
    verdict.dmarc = "temperror" if temporary else ("none" if record is None and error is None else "fail")
    if error == "permerror":
        verdict.dmarc = "permerror"
    if temporary and late and budget is not None:
        suffix = f" (the DNS lookups did not finish within {budget:g} s: checked again when staff open it)"
    elif temporary:
        suffix = " (DNS error: checked again when staff open it)"
    else:
        suffix = ""
    verdict.reason = _describe(verdict) + suffix
    if record is None and error is None:
        verdict.reason += f"; no DMARC record for {domain}"
    return verdict


def _describe(v: Verdict) -> str:
    """"SPF fail, no DKIM signature", or what passed and that it is not aligned with the From domain."""
    spf_part = f"SPF {v.spf}" + (f" ({v.spf_domain})" if v.spf_domain and v.spf not in ("none",) else "")
    if not v.dkim:
        dkim_part = "no DKIM signature"
    else:
        dkim_part = ", ".join(f"DKIM {d['domain'] or '?'} {d['result']}" for d in v.dkim)
    text = f"{spf_part}, {dkim_part}"
    if v.from_domain and (v.spf == "pass" or any(d["result"] == "pass" for d in v.dkim)):
        text += f", not aligned with From {v.from_domain}"
    return text


# -- IMAP: the trusted server's Authentication-Results ----------------------------------------


def verify_authres(raw: bytes, trusted_authserv_id: str, method: str = "imap") -> Verdict:
    """The verdict our receiving server wrote: the topmost `Authentication-Results` with its id.

    `method` is "imap" (read from our mailbox) or "relay" (handed over by our MTA)."""
    domain, why = from_domain(raw)
    if not trusted_authserv_id.strip():
        return Verdict(method="none", verified=False, from_domain=domain,
                       reason="unknown: no trusted mail server is configured ([trust] authserv_id)")
    wanted = trusted_authserv_id.strip().lower()
    header = None
    try:
        values = _headers(raw).get_all("Authentication-Results") or []
    except Exception:
        values = []
    for value in values:
        try:
            parsed = authres.AuthenticationResultsHeader.parse_value(" ".join(str(value).split()))
        except Exception:  # authres.core.SyntaxError and friends: not a header we can believe
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
        verdict.reason = f"{why}; {_describe(verdict)}"
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
            verdict.reason = f"DMARC {dmarc_result} for From {domain} (reported by {wanted}); {_describe(verdict)}"
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
        verdict.reason = f"{_describe(verdict)} (reported by {wanted})"
    return verdict


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
    except Exception as exc:  # the verdict must never lose a message
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
    except Exception:  # a header that cannot be read is as good as none: replies go to From
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
