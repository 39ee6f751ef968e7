"""The conversation over generated requests: how many are completed by one answer, without staff.

Each conversation: a mail request (Thunderbird, Outlook, Gmail or Apple Mail) that leaves out one
to three fields, our *information needed* reply, and the employer's answer written by a random
client in a random way (quoted below or above our reply, plain or HTML-only, a fresh mail naming
only the reference, or the completed form attached), with the missing values in a random
phrasing ("DOB: ...", "Date of birth - ...", "EIN 12-3456789", ...). Everything runs through the
real stages (store on SQLite, extraction pool, replies). Printed: requests completed after one
answer without staff, answers that became requests of their own, replies to answers whose subject
carries anything but the first reference, and the same per way of answering.

`--fax N` adds N fax conversations: a request faxed (our form filled in by hand, or a typed letter,
at 204x98 or 204x196) without one to three fields, our *information needed* fax with its return
page, and the return page filled in (only its boxes) and faxed back from the same number
(`tests.returngen`). Printed alike, with how many of the answered values are right.

`--heldout N` adds N conversations kept apart from this project (`tests.heldconv`): the request and
the answer's new text written by the held-out corpus's writer (`tests/heldout`: its labels, layouts
and value styles, alternating the `may_teach` and `tests_only` halves), the answer in convgen's reply
styles. Printed per half, with how many of the answered values are right.
Run: python -m bench.conversation [--n 60] [--seed 7] [--fax 20] [--heldout 24]
"""

from __future__ import annotations

import argparse
import copy
import io
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

import pdfplumber

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake.pipeline import Context, extract_stage, reply_stage
from intake.store import Incoming
from tests import convgen, docgen, faxgen, formgen, heldconv, mailgen, returngen
from tests.heldout.score import flatten, mask, same
from tests.store_fixtures import deliver, stage_context
from tests.synth import make_request

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




# Fields a fax conversation leaves out: (path, the letter's label for it).
FAX_DROPS = [("worker.date_of_birth", "Date of birth"), ("employer.ein", "EIN"), ("assignment.end_date", "End date"),
             ("assignment.start_date", "Start date"), ("worker.place_of_birth", "Place of birth"),
             ("employer.contact_phone", "Contact phone")]


def _deliver_fax(ctx: Context, raw: bytes, number: str, name: str) -> int:
    sid, _ = ctx.store.store_submission(Incoming(channel="fax", raw=raw, sender=number, received_at=datetime.now(UTC),
                                                 fax_filename=name))
    extract_stage(ctx, sid)
    reply_stage(ctx, sid)
    return sid


def _faxed_request(req: dict, rng: random.Random, drop: list[tuple[str, str]], way: str,
                   resolution: faxgen.Resolution) -> bytes:
    """The request faxed without the `drop` fields: our form filled by hand, or a typed letter."""
    if way == "form":
        part = copy.deepcopy(req)
        for path, _label in drop:
            group, tail = path.split(".")
            part[group][tail] = None
        return faxgen.tiff_bytes(formgen.faxed_form(part, rng, resolution))
    head, body = faxgen.letter_lines(req, rng)
    body = [line for line in body if line.split(":")[0] not in {label for _p, label in drop}]
    page = faxgen.render_page(body, font=rng.choice(faxgen.FONTS), letterhead=head)
    return faxgen.tiff_bytes([faxgen.fax(page, resolution=resolution, skew_deg=rng.uniform(-1.5, 1.5), noise=0.002,
                                         rng=rng, header=faxgen.fax_header(rng, head[0], 1, 1))])


def run_fax(ctx: Context, n: int, rng: random.Random, verbose: bool = True) -> Counter[str]:
    """`n` fax conversations; per way ("form 204x98", "letter 204x196", ...) and in total."""
    totals: Counter[str] = Counter()
    for i in range(n):
        number = f"+1208555{i:04d}"
        way = ("form", "letter")[i % 2]
        resolution: faxgen.Resolution = ("normal", "fine")[(i // 2) % 2]
        req = make_request(rng, kind="employee")
        drop = rng.sample(FAX_DROPS, rng.randint(1, 3))
        sid = _deliver_fax(ctx, _faxed_request(req, rng, drop, way, resolution), number, f"fax{i}.tif")
        recs = ctx.store.requests_of(sid)
        replies = ctx.store.replies_of(sid)
        key = f"{way} {'204x98' if resolution == 'normal' else '204x196'}"
        if len(recs) != 1 or not replies or replies[0].kind != "incomplete":
            totals["not asked"] += 1
            continue
        rec = recs[0]
        boxed = {path for _page, payload in returngen.return_pages(replies[0].message) for path in payload[4]}
        if not boxed:
            totals["no return page"] += 1
            continue
        back = returngen.faxed_back(replies[0].message, req, rng, resolution)
        answer_sid = _deliver_fax(ctx, faxgen.tiff_bytes(back), number, f"back{i}.tif")
        after = ctx.store.get_request(rec.id)
        own = len(ctx.store.requests_of(answer_sid))
        reply = ctx.store.replies_of(answer_sid)
        text = " ".join(" ".join(t.split()) for t in _pdf_text(reply[0].message)) if reply else ""
        one_ref = set(re.findall(r"[A-Z]+-\d{4}-\d{6}", text)) == {rec.reference}
        done = after.state == "accepted" and own == 0
        # Capitals on the form, as it asks: compared regardless of case. An optional field left out
        # (a contact phone) is not asked for, so only the boxed ones count.
        wrong = [(p, _value_at(after.fields, p), _value_at(req, p)) for p, _l in drop
                 if p in boxed and str(_value_at(after.fields, p)).casefold() != str(_value_at(req, p)).casefold()]
        right = not wrong
        # A wrong answered value staff are not told about: the one outcome the gateway must never have.
        flagged = {p.field for p in after.problems}
        silent = any(path not in flagged for path, _got, _want in wrong)
        if wrong and verbose:
            print(f"  {key} {rec.reference}: answered values read otherwise: {wrong}")
        if not done and verbose:  # why staff still have it: the problems before and after the answer
            print(f"  {key} {rec.reference}: state {after.state}, own requests {own}; problems before "
                  f"{_problems(rec)}, after {_problems(after)}")
        for k, hit in (("conversations", True), ("completed", done), ("own request", own > 0),
                       ("subject ok", one_ref), ("values right", right), ("values wrong and silent", silent)):
            totals[k] += hit
            totals[f"{key}|{k}"] += hit
    return totals


def run_heldout(ctx: Context, n: int, rng: random.Random, verbose: bool = True) -> Counter[str]:
    """`n` held-out conversations (`tests.heldconv`); counted per half ("may_teach|completed") and in total."""
    totals: Counter[str] = Counter()
    for i in range(n):
        conv = heldconv.conversation(rng, i)
        sid = deliver(ctx, conv.raw, conv.sender)
        recs = ctx.store.requests_of(sid)
        replies = ctx.store.replies_of(sid)
        tag = f"heldout {i} ({conv.half}, {conv.layout}, {conv.client} -> {conv.style})"
        if len(recs) != 1 or not replies or replies[0].kind != "incomplete":
            totals["not asked"] += 1
            totals[f"{conv.half}|not asked"] += 1
            if verbose:
                print(f"  {tag}: not asked: {len(recs)} request(s), reply "
                      f"{replies[0].kind if replies else None}, {_problems(recs[0]) if recs else ''}")
            continue
        rec = recs[0]
        # The first reading is sound when the only problems are the fields left out: then the answer
        # alone decides whether the request completes (else staff had a reason before it came).
        before = [p for p in _problems(rec) if p not in {f"missing@{d}" for d in conv.dropped}]
        written = conv.answer_text(replies[0].message)  # what the person writes back to our reply
        answer_sid = deliver(ctx, conv.answer(replies[0].message), conv.sender)
        after = ctx.store.get_request(rec.id)
        own = len(ctx.store.requests_of(answer_sid))
        reply = ctx.store.replies_of(answer_sid)
        subject = str(message_from_bytes(reply[0].message, policy=default_policy)["Subject"]) if reply else ""
        one_ref = re.findall(r"[A-Z]+-\d{4}-\d{6}", subject) == [rec.reference]
        got, truth = flatten(after.fields), conv.case.truth()
        wrong = [(p, mask(got.get(p)), mask(truth[p])) for p in conv.dropped if not same(p, truth[p], got.get(p) or "")]
        # A value of the first reading the answer replaced (it must be a conflict, never an overwrite).
        first = flatten(rec.fields)
        changed = [p for p, v in first.items() if p not in conv.dropped and got.get(p) != v]
        totals.update(f"changed|{p}" for p in changed)
        done = after.state == "accepted" and own == 0
        # What the answer itself brought for staff: problems the first reading did not have.
        brought = [p for p in _problems(after) if p not in _problems(rec)]
        totals.update(f"brought|{p}" for p in brought)
        if verbose and (wrong or not done or not one_ref or changed):
            print(f"  {tag} {rec.reference}: state {after.state}, own requests {own}, subject {subject!r}; "
                  f"answered {[mask(line.replace(chr(10), ' / ')) for line in written]}; "
                  f"read otherwise {wrong}; first reading's values changed {changed}; "
                  f"problems before the answer (besides the fields left out) {before}, "
                  f"after {_problems(after)}")
        for key, hit in (("conversations", True), ("completed", done), ("own request", own > 0),
                         ("sound first reading", not before), ("answer clean", not brought),
                         ("completed of sound", done and not before), ("kept", not changed),
                         ("subject ok", one_ref), ("values right", not wrong)):
            totals[key] += hit
            totals[f"{conv.half}|{key}"] += hit
    return totals


def _problems(rec: object) -> list[str]:
    """A record's problems as `code@field` (no values: nothing SSN-shaped reaches the output)."""
    return [f"{p.code}@{p.field}" for p in getattr(rec, "problems", [])]


def _print_heldout(t: Counter[str], seconds: float) -> None:
    total = t["conversations"]
    print(f"held-out: conversations: {total} (not asked anything: {t['not asked']})")
    for half in ("may_teach", "tests_only"):
        c = t[f"{half}|conversations"]
        print(f"held-out {half}: requests completed after one answer, without staff: {t[f'{half}|completed']} of {c}"
              f"; answered values right: {t[f'{half}|values right']} of {c}")
    for half in ("may_teach", "tests_only"):
        print(f"held-out {half}: of requests whose first reading had no problem but the fields left out "
              f"({t[f'{half}|sound first reading']}), completed by the answer: {t[f'{half}|completed of sound']}")
    for half in ("may_teach", "tests_only"):
        print(f"held-out {half}: answers that brought no problem of their own: {t[f'{half}|answer clean']} of "
              f"{t[f'{half}|conversations']}")
    brought = {k.split("|", 1)[1]: v for k, v in t.items() if k.startswith("brought|")}
    print(f"held-out: problems the answers brought: {brought or 'none'}")
    changed = {k.split("|", 1)[1]: v for k, v in t.items() if k.startswith("changed|")}
    print(f"held-out: answers that left every value of the first reading as it was: {t['kept']} of {total}"
          f" (changed: {changed or 'none'})")
    print(f"held-out: requests completed after one answer, without staff: {t['completed']} of {total}")
    print(f"held-out: answers that became a request of their own: {t['own request']} of {total}")
    print(f"held-out: replies to the answer carrying the first reference alone: {t['subject ok']} of {total}")
    print(f"held-out: answered values right: {t['values right']} of {total}")
    print(f"\n{seconds:.1f} s for {total} held-out conversations ({seconds / max(total, 1):.2f} s each)\n")


def _value_at(data: dict, path: str) -> object:
    head, tail = path.split(".")
    return (data.get(head) or {}).get(tail)


def _pdf_text(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return [p.extract_text() or "" for p in doc.pages]


def run(n: int, seed: int, fax: int = 0, heldout: int = 0) -> int:  # noqa: C901, PLR0912, PLR0915  (one benchmark run: its steps in the order they happen)
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
                sid = deliver(ctx, raw, sender)
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
                answer_sid = deliver(ctx, answer, sender)
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
            fax_started = time.perf_counter()
            fax_totals = run_fax(ctx, fax, rng) if fax else Counter()
            fax_seconds = time.perf_counter() - fax_started
            held_started = time.perf_counter()
            held_totals = run_heldout(ctx, heldout, rng) if heldout else Counter()
            held_seconds = time.perf_counter() - held_started
        finally:
            ctx.store.dispose()
    seconds = time.perf_counter() - started - fax_seconds - held_seconds
    if heldout:
        _print_heldout(held_totals, held_seconds)
        if n == 0 and not fax:
            return 0 if held_totals["completed"] == held_totals["conversations"] else 1
    if fax:
        ft = fax_totals["conversations"]
        print(f"fax: requests completed after one answer, without staff: {fax_totals['completed']} of {ft}")
        print(f"fax: answers that became a request of their own: {fax_totals['own request']} of {ft}")
        print(f"fax: replies to the answer naming the first reference alone: {fax_totals['subject ok']} of {ft}")
        print(f"fax: answered values right: {fax_totals['values right']} of {ft}")
        print(f"fax: answers with a wrong value and no flag on it: {fax_totals['values wrong and silent']} of {ft}")
        for what in ("not asked", "no return page"):
            if fax_totals[what]:
                print(f"fax: {what}: {fax_totals[what]}")
        print(f"\n{'faxed as':<18} {'answers':>8} {'completed':>10}")
        for key in sorted({k.split("|")[0] for k in fax_totals if "|" in k}):
            print(f"{key:<18} {fax_totals[key + '|conversations']:>8} {fax_totals[key + '|completed']:>10}")
        print(f"\n{fax_seconds:.1f} s for {ft} fax conversations ({fax_seconds / max(ft, 1):.2f} s each)\n")
        if n == 0:
            return 0 if fax_totals["completed"] == ft else 1
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
    parser.add_argument("--fax", type=int, default=0, help="fax conversations besides (default 0)")
    parser.add_argument("--heldout", type=int, default=0, help="held-out conversations besides (default 0)")
    args = parser.parse_args()
    return run(args.n, args.seed, args.fax, args.heldout)


if __name__ == "__main__":
    sys.exit(main())
