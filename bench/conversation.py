"""The conversation over generated requests: how many are completed by one answer, without staff.

Each conversation: a mail request (Thunderbird, Outlook, Gmail or Apple Mail) that leaves out one
to three fields, our *information needed* reply, and the employer's answer written by a random
client in a random way (quoted below or above our reply, plain or HTML-only, a fresh mail naming
only the reference, or the completed form attached), with the missing values in a random
phrasing ("DOB: ...", "Date of birth - ...", "EIN 12-3456789", ...). Everything runs through the
real stages (store on SQLite, extraction pool, replies). Printed: requests completed after one
answer without staff, answers that became requests of their own, replies to answers whose subject
carries anything but the first reference, and the same per way of answering.
Run: python -m bench.conversation [--n 60] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake.pipeline import Context, extract_stage, reply_stage  # noqa: E402
from intake.store import Incoming  # noqa: E402
from tests import convgen, docgen, mailgen  # noqa: E402
from tests.store_fixtures import stage_context  # noqa: E402

# label in the request mail -> ways an employer writes the value again in an answer
PHRASINGS = {
    "Date of birth": ["Date of birth: {v}", "DOB: {v}", "Date of Birth - {v}", "Birth date: {v}"],
    "EIN": ["EIN: {v}", "EIN {v}", "Employer Identification Number: {v}", "Our EIN: {v}"],
    "End date": ["End date: {v}", "Assignment end: {v}", "End of assignment: {v}"],
    "Start date": ["Start date: {v}", "Assignment start: {v}"],
    "Place of birth": ["Place of birth: {v}", "Born in: {v}"],
    "Contact phone": ["Contact phone: {v}", "Phone: {v}"],
}
WAYS = [*convgen.STYLES, "fresh", "form"]
CLIENTS = list(mailgen.CLIENTS.values())


def _deliver(ctx: Context, raw: bytes, sender: str) -> int:
    sid, _ = ctx.store.store_submission(Incoming(channel="smtp", raw=raw, sender=sender,
                                                 received_at=datetime.now(UTC)))
    extract_stage(ctx, sid)
    reply_stage(ctx, sid)
    return sid


def run(n: int, seed: int) -> int:
    rng = random.Random(seed)
    per_way: dict[str, Counter[str]] = {w: Counter() for w in WAYS}
    totals: Counter[str] = Counter()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        ctx = stage_context(Path(folder), "[trust]\nflag_unverified = false\n")
        try:
            for i in range(n):
                sender = f"hr{i}@employer{i}.example.com"
                labels = rng.sample(sorted(PHRASINGS), rng.randint(1, 3))
                drop = dict.fromkeys(labels, "")
                req, raw, lines = convgen.incomplete_request(rng, sender, client=rng.choice(CLIENTS), drop=drop)
                sid = _deliver(ctx, raw, sender)
                recs = ctx.store.requests_of(sid)
                replies = ctx.store.replies_of(sid)
                if len(recs) != 1 or not replies or replies[0].kind != "incomplete":
                    totals["not asked"] += 1
                    continue
                rec, ours = recs[0], replies[0].message
                answer_lines = []
                for line in lines:
                    label, _, value = line.partition(": ")
                    answer_lines.append(rng.choice(PHRASINGS[label]).format(v=value))
                way = WAYS[i % len(WAYS)]
                if way == "fresh":
                    answer = convgen.fresh_mail(rec.reference, answer_lines, sender=sender)
                elif way == "form":
                    answer = convgen.answer(ours, ["The completed form is attached."], style=rng.choice(
                        convgen.STYLES), sender=sender, attachments=[("form.pdf", docgen.acroform_pdf(req, "model"),
                                                                      "application/pdf")])
                else:
                    answer = convgen.answer(ours, answer_lines, style=way, sender=sender)
                answer_sid = _deliver(ctx, answer, sender)
                after = ctx.store.get_request(rec.id)
                own = len(ctx.store.requests_of(answer_sid))
                reply = ctx.store.replies_of(answer_sid)
                subject = str(message_from_bytes(reply[0].message, policy=default_policy)["Subject"]) if reply else ""
                one_ref = re.findall(r"[A-Z]+-\d{4}-\d{6}", subject) == [rec.reference]
                done = after.state == "accepted" and own == 0
                for key, hit in (("conversations", True), ("completed", done), ("own request", own > 0),
                                 ("subject ok", one_ref)):
                    per_way[way][key] += hit
                    totals[key] += hit
        finally:
            ctx.store.dispose()
    seconds = time.perf_counter() - started
    total = totals["conversations"]
    print(f"requests completed after one answer, without staff: {totals['completed']} of {total}")
    print(f"answers that became a request of their own: {totals['own request']} of {total}")
    print(f"replies to the answer carrying the first reference alone: {totals['subject ok']} of {total}")
    if totals["not asked"]:
        print(f"requests not asked anything (only optional fields left out, or not read as one request): "
              f"{totals['not asked']}")
    print(f"\n{'way of answering':<18} {'answers':>8} {'completed':>10}")
    for way, c in per_way.items():
        if c["conversations"]:
            print(f"{way:<18} {c['conversations']:>8} {c['completed']:>10}")
    print(f"\n{seconds:.1f} s for {total} conversations ({seconds / max(total, 1):.2f} s each, 4 stages each)")
    return 0 if totals["completed"] == total else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="conversations (default 60)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    return run(args.n, args.seed)


if __name__ == "__main__":
    sys.exit(main())
