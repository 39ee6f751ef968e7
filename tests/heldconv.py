"""Held-out conversations: the request and the answer's new text written by `tests.heldout`'s writer.

`tests.convgen` writes requests and answers with `tests.synth.labelled_lines`, the parsers' own label
vocabulary; a conversation measured that way says little about an employer who writes otherwise. Here
the first request is a held-out plain mail (`tests.heldout.textual`: its layouts, its labels from
`phrasings.toml`, its value styles: "Birth date (DD.MM.YYYY) ... 04.03.1987", "FEIN 123456789")
lacking one to three fields, and the answer gives the missing items in the same writer's words and
layout, wrapped as a mail client replies to our *information needed* (`convgen.answer`). Conversations
alternate between the `may_teach` and the `tests_only` half, so the figure can be given per half.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tests import convgen, mailgen
from tests.heldout import textual
from tests.heldout.people import Case, make_case
from tests.heldout.vocab import HALVES, Half
from tests.heldout.writing import Item, items

# Fields an answer may have to give: required ones a writer plausibly forgets, and no name (a request
# without the worker's name is not recognisably one).
DROPPABLE = ("worker.date_of_birth", "employer.ein", "assignment.end_date", "assignment.start_date",
             "worker.place_of_birth")
CLIENTS = ("thunderbird", "outlook", "gmail", "apple_mail")
_SUBJECTS = ("Certificate of coverage request", "CoC application", "Posting abroad: coverage certificate")


@dataclass(frozen=True)
class HeldConversation:
    """One conversation's material: the request mail, and what the answer must say."""

    case: Case
    half: Half
    layout: str
    client: str
    style: str  # convgen.STYLES: how the answer quotes our reply
    sender: str
    raw: bytes  # the request mail, without the dropped fields
    dropped: tuple[str, ...]
    answer_lines: list[str]  # the answer's new text: the dropped items as the writer writes them

    def answer(self, ours: bytes) -> bytes:
        """The answer to our reply `ours`, in this conversation's client style."""
        return convgen.answer(ours, self.answer_lines, style=self.style, sender=self.sender)


def conversation(rng: random.Random, i: int) -> HeldConversation:
    """The i-th conversation: even ones in the `may_teach` half, odd ones in `tests_only`; layouts,
    clients and reply styles turn over by pairs so both halves see each of them."""
    half = HALVES[i % 2]
    case = make_case(rng)
    written = items(case, half, rng)
    dropped = tuple(rng.sample(DROPPABLE, rng.randint(1, 3)))
    layout = textual.LAYOUTS[(i // 2) % len(textual.LAYOUTS)]
    client = CLIENTS[(i // 2) % len(CLIENTS)]
    style = convgen.STYLES[(i // 2) % len(convgen.STYLES)]
    kept = [it for it in written if it.field not in dropped]
    given: list[Item] = [it for it in written if it.field in dropped]
    body = textual.body_text(case, kept, layout, rng)
    sender = case.contact_email
    raw = mailgen.CLIENTS[client](sender=sender, to="certificate@localhost", subject=rng.choice(_SUBJECTS),
                                  text=body)
    width = max(len(it.label) for it in given) + 2
    lines = [textual.labelled_line(it, layout, width).rstrip("\n") for it in given]
    return HeldConversation(case, half, layout, client, style, sender, raw, dropped, lines)
