"""The send stage: hand one due reply to its transport (`intake.outbox` for mail, `intake.faxout` for
faxes) and settle its outbox row; `sending` is committed first so that only one sender has it."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from intake import metrics
from intake.faxout import send_fax
from intake.outbox import Delivery, RetrySchedule, next_attempt, send_smtp, send_smtp_batch, write_eml
from intake.pipeline.context import Context
from intake.store.protocols import OutboxStore
from intake.store.records import OutboxItem
from intake.store.states import ReplyChannel

log = logging.getLogger("intake.pipeline")


def send_stage(ctx: Context, item: OutboxItem, *, now: datetime | None = None) -> Delivery | None:
    """Hand one due reply over; None when another sender took it first."""
    store, settings = ctx.store, ctx.settings
    if not store.mark_sending(item.id):
        return None
    if item.channel == ReplyChannel.FAX:
        return _send_fax(ctx, item, now=now)
    if settings.relay.host:
        delivery = send_smtp(settings.relay, item.recipient, item.message,
                             handed_over=lambda: store.mark_handed_over(item.id))
    else:
        delivery = write_eml(settings.mail_sent, item.id, item.recipient, item.message)
    now = now or datetime.now(UTC)
    metrics.count_reply(delivery)
    if delivery.ok:
        store.mark_sent(item.id, now)
        log.info("reply %d (%s, submission %d) sent", item.id, item.kind, item.submission_id)
    else:
        _failed(store, item, delivery, settings.relay, now)
    return delivery


def send_taken(ctx: Context, items: Sequence[OutboxItem], *, now: datetime | None = None) -> list[Delivery]:
    """Hand over replies this sender already took (`take_due`): faxes one by one, mails through one
    relay session (`send_smtp_batch`), each with its own hand-over mark before its final dot; the
    mails the relay accepted are settled `sent` together, in one transaction."""
    store, settings = ctx.store, ctx.settings
    mails = [item for item in items if item.channel != ReplyChannel.FAX]
    deliveries = {item.id: _send_fax(ctx, item, now=now) for item in items if item.channel == ReplyChannel.FAX}
    if settings.relay.host:
        sent = send_smtp_batch(settings.relay, [(item.recipient, item.message,
                                                functools.partial(store.mark_handed_over, item.id))
                                               for item in mails])
    else:
        sent = [write_eml(settings.mail_sent, item.id, item.recipient, item.message) for item in mails]
    now = now or datetime.now(UTC)
    accepted = []
    for item, delivery in zip(mails, sent, strict=True):
        deliveries[item.id] = delivery
        metrics.count_reply(delivery)
        if delivery.ok:
            accepted.append(item)
        else:
            _failed(store, item, delivery, settings.relay, now)
    store.mark_sent_many([item.id for item in accepted], now)
    for item in accepted:
        log.info("reply %d (%s, submission %d) sent", item.id, item.kind, item.submission_id)
    return [deliveries[item.id] for item in items]


def _failed(store: OutboxStore, item: OutboxItem, delivery: Delivery, schedule: RetrySchedule, now: datetime) -> None:
    """A reply that did not leave: kept for staff when the failure is permanent or the `schedule`
    gives up, else tried again at its next attempt (mail and fax alike, each on its own schedule)."""
    if delivery.permanent:
        store.mark_permanent(item.id, delivery.error)
        log.warning("reply %d: permanent failure: %s", item.id, delivery.error)
        return
    when = next_attempt(schedule, item.attempts + 1, item.created_at, now)
    if when is None:
        store.mark_permanent(item.id, f"gave up after {schedule.retry_for_seconds:g} s: {delivery.error}")
    else:
        store.mark_retry(item.id, delivery.error, when)
        log.info("reply %d: will retry at %s (%s)", item.id, when.isoformat(timespec="seconds"), delivery.error)


def _send_fax(ctx: Context, item: OutboxItem, *, now: datetime | None = None) -> Delivery:
    """A fax reply through `[fax_out] transport`; the transport and job are kept in the outbox, and
    failures are retried on the fax settings' own schedule (`[fax_out] retry_for_seconds`)."""
    store, out = ctx.store, ctx.settings.fax_out
    sent = send_fax(ctx.settings, item,
                    lambda job: store.mark_fax_handing_over(item.id, out.transport, job))
    delivery = sent.delivery
    now = now or datetime.now(UTC)
    metrics.count_reply(delivery)
    if delivery.ok:
        store.mark_fax_handed_over(item.id, sent.transport, sent.job, sent.state, now)
        log.info("reply %d (fax, submission %d) handed to %s%s", item.id, item.submission_id, sent.transport,
                 f" as job {sent.job}" if sent.job else "")
    else:
        _failed(store, item, delivery, out, now)
    return delivery
