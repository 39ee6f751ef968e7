"""The queue of requests (`/`): filtered by state, channel, problem, country, dates, words and
assignment, one page of rows at a time.

No `from __future__ import annotations`: FastAPI reads the route annotations at run time.
"""

from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from intake.reference import agreements
from intake.store.states import REQUEST_STATES
from intake.web import clerk, review
from intake.web.context import Ctx, Staff

# One name per channel as clerks know them: mail however it reached us (mailbox, SMTP, LMTP), or fax.
CHANNEL_FILTERS = {"email": ("imap", "smtp", "lmtp"), "fax": ("fax",)}
OLD_CHANNEL_FILTERS = {"smtp": ("smtp", "lmtp"), "imap": ("imap",)}  # links bookmarked before
QUEUE_PAGE = 50  # queue rows per page
PROBLEM_CODES = ("missing", "invalid", "low_confidence", "conflict", "not_agreement_country", "period_too_long",
                 "start_in_past", "nationality_rule", "outdated_edition", "no_reply_number",
                 *review.TRUST_CODES)

router = APIRouter(include_in_schema=False)


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
    except ValueError:
        return None


@router.get("/")
def queue_page(  # noqa: PLR0913, PLR0917  (the queue's filters, each a query parameter named at the call)
    request: Request, ctx: Ctx, info: Staff, state: str = "", channel: str = "", problem: str = "",
    country: str = "", date_from: str = "", date_to: str = "", q: str = "", assigned: str = "",
    page_no: int = Query(1, alias="page"),
) -> Response:
    store = ctx.store
    states = [state] if state in REQUEST_STATES else None
    channels = CHANNEL_FILTERS.get(channel) or OLD_CHANNEL_FILTERS.get(channel)
    to = _parse_date(date_to)
    page_no = max(1, min(page_no, 10_000))
    # One page of the queue at a time (and one row more, to know whether a next page exists):
    # every row costs its request's decryption, so 500 open requests are not all read per view.
    rows = store.queue(states=states, channels=channels, problem_code=problem if problem in PROBLEM_CODES else None,
                       country=country[:8] or None, received_from=_parse_date(date_from),
                       received_to=to + timedelta(days=1) if to else None, search=q[:200] or None,
                       limit=QUEUE_PAGE + 1, offset=(page_no - 1) * QUEUE_PAGE)
    more = len(rows) > QUEUE_PAGE
    rows, assignee = clerk.filter_assigned(store, rows[:QUEUE_PAGE], assigned, info.account.name)
    counts = store.counts_by_state()["requests"]
    f = {"assigned": assigned if assigned in clerk.ASSIGNED_FILTERS else "",
         "state": state, "channel": channel, "problem": problem, "country": country,
         "date_from": date_from, "date_to": date_to, "q": q}

    def page_link(n: int) -> str:
        return "/?" + urlencode({**{k: v for k, v in f.items() if v}, "page": n})

    return ctx.page(request, "queue.html.j2", info, rows=rows, counts=counts, states=REQUEST_STATES,
                    unread=store.submissions_without_requests(),
                    channels=list(CHANNEL_FILTERS), problem_codes=PROBLEM_CODES,
                    countries=sorted(agreements().agreements), assignee=assignee, f=f,
                    first_row=(page_no - 1) * QUEUE_PAGE + 1,
                    prev_page=page_link(page_no - 1) if page_no > 1 else "",
                    next_page=page_link(page_no + 1) if more else "")
