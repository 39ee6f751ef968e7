"""Mail about web submissions: the acknowledgement, and the link that proves a confirmation address.

Both go to addresses someone typed into a public page, which anyone can do with anyone's address,
so neither carries personal details: the acknowledgement names the reference numbers and what
happens next, the link mail only asks whether this address wants the approval confirmation. The
approval mail itself (which names the worker) goes to the confirmation address only after its
link was followed (`intake.store.online.proven_address`, checked by `intake.web.review.approve`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from intake.replies import RequestView, render_mail_bytes
from intake.settings import Settings
from intake.store import RequestRecord, Store, SubmissionRecord
from intake.store.online import new_link
from intake.store.protocols import ReplyStore
from intake.validate import EMAIL_RE

log = logging.getLogger("intake.online")


def public_url(settings: Settings) -> str:
    """The gateway's address for requesters: `[online] public_url`, else the web listener's."""
    base = settings.online.public_url.strip().rstrip("/")
    return base or f"http://{settings.web.host}:{settings.web.port}"


def requester_email(records: list[RequestRecord]) -> str | None:
    """The address to acknowledge a web submission at: the employer's contact, else the
    self-employed person's own address (never the confirmation address: that one is proven first)."""
    for rec in records:
        req = rec.request
        for address in (req.employer.contact_email if req.employer else None, req.worker.email):
            if address and EMAIL_RE.match(address):
                return address
    return None


def web_acknowledgement(store: ReplyStore, settings: Settings, sub: SubmissionRecord, records: list[RequestRecord],
                        common: dict[str, Any], *, now: datetime, generation: int, actor: str,
                        rate_limit: bool, done: bool = False) -> tuple[bool, str | None]:
    """Queue the *received* mail of a web submission: (queued, why not when nothing was queued).
    `done`: the submission moves to `done` in the transaction that queues the mail."""
    address = requester_email(records)
    if address is None:
        return False, "web form without an email address: the reference numbers were shown on the page"
    limit = settings.replies.per_sender_per_hour
    if rate_limit and store.replies_since(address, now - timedelta(hours=1)) >= limit:
        return False, f"more than {limit} replies to this address this hour"
    views: list[RequestView] = [RequestView(reference=r.reference) for r in records]
    raw = render_mail_bytes("web_received", to=address, from_address=settings.relay.from_address,
                            our_domain=settings.replies.our_domain, **{**common, "requests": views})
    return store.queue_reply(sub.id, "received", "email", address, raw, generation=generation,
                             now=now, actor=actor, done=done), None


def confirmation_mail(settings: Settings, to: str, link: str) -> EmailMessage:
    """The mail with the link that proves `to` wants the approval confirmation: no personal details."""
    msg = EmailMessage()
    msg["From"] = Address(display_name="Certificate of Coverage", addr_spec=settings.relay.from_address)
    msg["To"] = to
    msg["Subject"] = "Please confirm your address for a certificate of coverage confirmation"
    msg["Date"] = format_datetime(datetime.now().astimezone())
    msg["Message-ID"] = make_msgid(domain=settings.replies.our_domain or "localhost")
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(
        "Hello,\n\n"
        "someone filled in our online request for a U.S. Certificate of Coverage and asked that the\n"
        "confirmation of its approval be sent to this address. Before we send anything about the\n"
        "request here, please confirm that this is your address and that you want the confirmation:\n\n"
        f"  {link}\n\n"
        "The link opens a page with a Confirm button; it is valid for two weeks. If you did not ask for\n"
        "this, ignore this message: nothing will be sent to this address.\n\n"
        "U.S. Certificate of Coverage intake\n(this message was sent automatically)\n",
        cte="7bit")  # plain ASCII: the link stays one line that a person can copy
    return msg


def queue_confirmation_link(store: Store, settings: Settings, submission_id: int, address: str) -> bool:
    """Make a confirmation link for `address` and queue the mail that carries it."""
    if not EMAIL_RE.match(address):
        return False
    token = new_link(store, submission_id, address)
    link = f"{public_url(settings)}/request/confirm/{token}"
    queued = store.queue_reply(submission_id, "confirm_address", "email", address,
                               confirmation_mail(settings, address, link).as_bytes(), actor="web",
                               now=datetime.now(UTC))
    log.info("web submission %d: confirmation link queued", submission_id)
    return queued
