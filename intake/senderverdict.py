"""The sender verdict (`Verdict`, recorded on the submission as JSON and shown to staff), what the
SMTP client told us (`SmtpSession`), and what both ways of checking a sender share: the From domain
and the one line a person reads about the checks' results. `intake.senderauth` says how a verdict is
reached; `sendersmtp` and `senderauthres` are the two ways.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from email.utils import getaddresses
from typing import Any

from intake import mailheads
from intake.maildomains import domain_of


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


def headers(raw: bytes) -> Any:
    return mailheads.headers(raw)  # parsed once per mail for every stage


def from_domain(raw: bytes) -> tuple[str | None, str | None]:
    """(domain of the one From address, None) or (None, why there is none to check)."""
    try:
        values = headers(raw).get_all("From") or []
    except Exception:  # noqa: BLE001  (the verdict says the From header cannot be read)
        return None, "the From header cannot be read"
    if len(values) != 1:
        return None, "no From header" if not values else "more than one From header"
    addresses = [a for _, a in getaddresses([str(values[0])]) if a]
    if len(addresses) != 1:
        return None, "the From header does not hold exactly one address"
    domain = domain_of(addresses[0])
    return (domain, None) if domain else (None, "the From address has no domain")


def describe(v: Verdict) -> str:
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
