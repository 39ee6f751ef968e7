"""The stages that turn a stored submission into requests and replies.

- `dispatch`: `process_submission` (every stage due for one submission, in one pass) and
  `unfinished` (the sweep's question), for the in-process threads and the procrastinate jobs alike;
- `extract`: the extract stage (sender check, extraction in a child process, the result recorded);
- `acknowledge`: the reply stage and `render_reply`, the one reply composer (the review page's too);
- `send`: hand a due reply to its transport (`intake.outbox`, `intake.faxout`).

Each stage moves rows to their next state in one transaction and keeps no state of its own in the
process, so a restart simply runs again whatever the store says is unfinished. The names below are
those other modules import from `intake.pipeline`.
"""

from intake.pipeline.acknowledge import (
    form_attachment,
    needs_reply,
    queue_acknowledgement,
    render_reply,
    reply_stage,
    trust_hold,
    view_of,
)
from intake.pipeline.context import Context
from intake.pipeline.dispatch import process_submission, unfinished
from intake.pipeline.extract import extract_stage, flag_sender_trust, reflag_sender_trust, sender_verdict
from intake.pipeline.send import send_stage
from intake.store.states import MAIL_CHANNELS, OPEN_STATES

__all__ = [
    "MAIL_CHANNELS",
    "OPEN_STATES",
    "Context",
    "extract_stage",
    "flag_sender_trust",
    "form_attachment",
    "needs_reply",
    "process_submission",
    "queue_acknowledgement",
    "reflag_sender_trust",
    "render_reply",
    "reply_stage",
    "send_stage",
    "sender_verdict",
    "trust_hold",
    "unfinished",
    "view_of",
]
