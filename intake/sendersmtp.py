"""Checking a mail delivered straight to our SMTP/LMTP listener: DKIM (dkimpy), SPF (pyspf, from the
session's client IP, HELO and MAIL FROM) and the DMARC record, all DNS through one resolver
(`intake.senderdns`: cached, one budget per mail), run at once; then DMARC alignment of what they
found (relaxed, or strict when the record says `adkim=s` / `aspf=s`). A DNS failure is `temperror`,
never an exception.
"""

from __future__ import annotations

import contextvars
import ipaddress
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from typing import TYPE_CHECKING, Any

import dkim
import spf
from dkim.util import InvalidTagValueList, parse_tag_value

from intake.maildomains import aligned, domain_of, org_domain
from intake.senderdns import DnsTemporary, Lookups, lookups_of
from intake.senderverdict import SmtpSession, Verdict, describe, from_domain, headers

if TYPE_CHECKING:
    from dns.resolver import Resolver

log = logging.getLogger("intake.senderauth")  # one logger for the sender check, as operators filter it


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
        values = headers(raw).get_all("DKIM-Signature") or []
    except Exception:  # noqa: BLE001  (headers that cannot be read carry no signature to check)
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
    except Exception as exc:  # noqa: BLE001  (pyspf raises on odd input; that is an SPF error, not a crash)
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
        verdict.reason = f"{why}; {describe(verdict)}"
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
    verdict.reason = describe(verdict) + suffix
    if record is None and error is None:
        verdict.reason += f"; no DMARC record for {domain}"
    return verdict
