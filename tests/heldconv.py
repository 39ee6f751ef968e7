"""Held-out conversations: the request and the answer's new text written by `tests.heldout`'s writer.

`tests.convgen` writes requests and answers with `tests.synth.labelled_lines`, the parsers' own label
vocabulary; a conversation measured that way says little about an employer who writes otherwise. Here
the first request is a held-out plain mail (`tests.heldout.textual`: its layouts, its labels from
`phrasings.toml`, its value styles: "Birth date (DD.MM.YYYY) ... 04.03.1987", "FEIN 123456789")
lacking one to three fields, and the answer gives the missing items in the same writer's words and
layout, wrapped as a mail client replies to our *information needed* (`convgen.answer`). Conversations
alternate between the `may_teach` and the `tests_only` half, so the figure can be given per half.

The answer is written the way a person answers: from OUR REPLY as they see it (its bullet list), not
from what the test dropped. Each item the reply asks for is answered once, in the writer's words: a
missing value given in the writer's label and layout; "we read 'X' as the ...: please confirm"
confirmed when X is right (restated with the writer's label, or in a sentence: "X is correct"),
corrected when it is wrong; "... which is right" settled with the right value. Items that ask the
sender nothing they can answer (a staff check) are left alone, as a person would. The writer judges
"right" from its own case (what the person knows), never from the gateway's reading.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.policy import default as default_policy

from intake.wording import title
from tests import convgen, mailgen
from tests.heldout import textual
from tests.heldout.people import Case, country, make_case
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
    answer_lines: list[str]  # the dropped items as the writer writes them (what a person knows was left out)
    written: tuple[Item, ...] = ()  # every item of the request as the writer wrote it (labels, values)
    seed: str = ""

    def answer_text(self, ours: bytes) -> list[str]:
        """The lines a person writes back to our reply `ours`: one answer per field it asks about."""
        return answer_lines(self, _reply_text(ours))

    def answer(self, ours: bytes) -> bytes:
        """The answer to our reply `ours`, in this conversation's client style."""
        return convgen.answer(ours, self.answer_text(ours), style=self.style, sender=self.sender)


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
    return HeldConversation(case, half, layout, client, style, sender, raw, dropped, lines, tuple(written),
                            seed=f"{i}:{case.ssn}:{case.last}")


# -- reading our reply as a person does ----------------------------------------------------------------

_BULLET = re.compile(r"^\s*\*\s+(?P<title>[^:]+):\s+(?P<msg>.+)$")
_CONFIRM = re.compile(r"^We read (?P<seen>.+?) as the .+?: please confirm")
_SETTLE = re.compile(r"^We read (?P<seen>.+?) as the .+?, but your message also gives another value")
_GIVE = re.compile(r"is missing\.|please send it again|Please send it again|^If the worker is an employee| must ")
_ADDRESSES = ("employer.address", "assignment.work_address")
_PIECES = ("street", "city", "state", "postal_code", "country")


def _reply_text(ours: bytes) -> str:
    msg = message_from_bytes(ours, policy=default_policy)
    body = msg.get_body(preferencelist=("plain",))
    return str(body.get_content()) if body is not None else ""


def _truth(case: Case) -> dict[str, str]:
    out = dict(case.truth())
    out.update(case.employer_address.truth("employer.address"))
    out.update(case.work_address.truth("assignment.work_address"))
    if case.middle:
        out["worker.middle_name"] = case.middle
    if case.confirm_to:
        out["confirmation_email"] = case.confirm_to
    return out


def _field_of(heading: str, truth: dict[str, str]) -> str | None:
    """The field a bullet's heading names, as a reader of the reply understands it."""
    for path in [*truth, "worker.name", "employer.address", "assignment.work_address"]:
        if title(path).casefold() == heading.strip().casefold():
            return path
    return None


def _seen_right(path: str, seen: str, want: str) -> bool:
    """Whether what we say we read is what the person wrote (their own judgement of it)."""
    seen = seen.strip().strip("'")
    if path.endswith("ssn"):
        return seen[-4:] == re.sub(r"\D", "", want)[-4:]
    if want in ("true", "false"):
        return seen.casefold() == ("yes" if want == "true" else "no")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", want):
        try:
            return datetime.strptime(seen, "%B %d, %Y").date().isoformat() == want
        except ValueError:
            return False
    if path.endswith("country") or path == "worker.citizenship":
        try:
            names = {n.casefold() for n in country(want).names}
        except KeyError:
            names = set()
        return seen.casefold() == want.casefold() or seen.casefold() in names \
            or (want == "US" and seen.casefold() in {"united states", "u.s.", "usa"})
    return " ".join(seen.split()).casefold() == " ".join(want.split()).casefold()


def _item_for(conv: HeldConversation, path: str) -> Item | None:
    """The writer's own item that holds `path` (an address piece: the whole address; a name: the name)."""
    head = path.rsplit(".", 1)[0]
    for it in conv.written:
        if it.field == path or (head in _ADDRESSES and it.field == head):
            return it
    if path.startswith("worker.") and path.endswith("_name"):
        return next((it for it in conv.written if it.field == "worker.name"), None)
    return None


def answer_lines(conv: HeldConversation, reply: str) -> list[str]:  # noqa: C901, PLR0912  (a branch per way a person answers a field)
    """What a person writes back: each field our reply asks about answered once, in their words."""
    rng = random.Random(conv.seed)
    truth = _truth(conv.case)
    asked: dict[str, tuple[str, str]] = {}  # field -> (kind, what we said we read)
    for line in reply.splitlines():
        m = _BULLET.match(line)
        if not m or m.group("title").startswith("How to fill"):
            continue
        path = _field_of(m.group("title"), truth)
        msg = m.group("msg")
        if path is None:
            continue
        if (c := _CONFIRM.match(msg)) is not None:
            kind, seen = "confirm", c.group("seen")
        elif (c := _SETTLE.match(msg)) is not None:
            kind, seen = "settle", c.group("seen")
        elif _GIVE.search(msg):
            kind, seen = "give", ""
        else:
            continue  # a check for staff: nothing the sender can answer
        if path not in asked or (asked[path][0] == "confirm" and kind != "confirm"):
            asked[path] = (kind, seen)
    width = max((len(it.label) for it in conv.written), default=10) + 2
    groups: dict[str, list[tuple[str, str, str]]] = {}  # the writer's item -> (field, kind, seen)
    items_by: dict[str, Item] = {}
    for path, (kind, seen) in asked.items():
        item = _item_for(conv, path)
        if item is None:
            continue
        groups.setdefault(item.field, []).append((path, kind, seen))
        items_by[item.field] = item
    out: list[str] = []
    for key, asks in groups.items():
        item = items_by[key]
        right = all(kind != "give" and _seen_right(path, seen, truth.get(path, "")) for path, kind, seen in asks)
        yes_no = item.value.casefold() in {"y", "n", "yes", "no"}
        if right and not yes_no and not key.endswith("ssn") and rng.random() < 0.6:
            # Confirmed in a sentence: the value as we quoted it (an address: as the person writes it).
            said = item.value if key in _ADDRESSES or len(asks) > 1 else asks[0][2].strip().strip("'")
            out.append(rng.choice([f"{said} is correct.", f"Yes, {said} is right.", f"{said} - that is correct.",
                                   f"Confirmed: {said}", f"{said} is accurate."]))
        else:  # given, corrected or restated: the item again, in the writer's own label and layout
            out.append(textual.labelled_line(item, conv.layout, width).rstrip("\n"))
    return out
