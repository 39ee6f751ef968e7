"""The mails of issue 12's class 8: several workers in one body, a self-employed person writing
about themselves, and a forwarded request with a note on top that corrects a value.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from tests.heldout import textual
from tests.heldout.people import Address, Case, make_case, us_address, word
from tests.heldout.vocab import Half
from tests.heldout.writing import Item, citizenship_prose, date_in_text, items

_TRADES = [("freelance photographer", "photography"), ("independent software consultant", "software consulting"),
           ("self-employed architect", "architecture"), ("freelance translator", "translation services")]
_OWN = ("first", "middle", "last", "ssn", "born", "birthplace", "citizenship", "citizenship_written")


def _worker_items(its: list[Item]) -> list[Item]:
    return [i for i in its if i.field.startswith("worker.")]


def several(rng: random.Random, half: Half, n: int, k: int) -> tuple[bytes, list[dict[str, str]], str]:
    """One mail, `k` workers: the employer and the assignment given once, then a block per worker."""
    base = make_case(rng)
    others = [make_case(rng) for _ in range(k - 1)]
    cases = [base] + [
        Case(**{**vars(base), **{f: getattr(o, f) for f in _OWN}}) for o in others]
    shared = [i for i in items(base, half, rng) if not i.field.startswith("worker.")]
    style = (n // 4) % 2
    lines = [f"Dear colleagues,\n\nplease issue certificates of coverage for the {k} employees below; "
             "they go on the same assignment.\n", textual.block(shared, "colon"), ""]
    for j, case in enumerate(cases, 1):
        block = textual.block(_worker_items(items(case, half, rng)), "colon" if style == 0 else "dots")
        lines.append(f"{j}. Employee {j}" if style == 0 else f"Employee #{j}")
        lines.append(block + "\n")
    body = "\n".join(lines) + f"\nRegards,\n{base.contact}\n{base.employer}\n"
    truths = [c.truth() for c in cases]
    variant = f"{k}-workers/{'numbered' if style == 0 else 'headed'}"
    return textual.mail(base, plain=body, html_part=None, rng=rng, n=n), truths, variant


@dataclass
class SelfEmployed:
    case: Case
    trade: str
    business: str
    email: str
    phone: str
    address: Address

    def truth(self) -> dict[str, str]:
        t = {k: v for k, v in self.case.truth().items() if k.startswith("worker.") or k.startswith("assignment.")}
        for k in ("assignment.host_name", "assignment.hired_in_us", "assignment.hire_date",
                  "assignment.remains_employee"):
            t.pop(k, None)
        # The letter says only "I am a freelance photographer": the trade as written is all a reader
        # can key ("photography" is never written, so it cannot be the truth).
        t.update({"request_type": "self_employed", "worker.business": self.trade, "worker.email": self.email,
                  "worker.phone": self.phone})
        t.update(self.address.truth("worker.address"))
        return t


def self_employed(rng: random.Random, n: int) -> tuple[bytes, list[dict[str, str]], str]:
    """A self-employed person writes about themselves, in the first person."""
    case = make_case(rng)
    trade, business = rng.choice(_TRADES)
    email = f"{case.first.lower()}.{word(rng).lower()}@{word(rng).lower()}mail.com"
    phone = f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
    se = SelfEmployed(case, trade, business, email, phone, us_address(rng))
    born, start, end = date_in_text(case.born, rng), date_in_text(case.start, rng), date_in_text(case.end, rng)
    name = " ".join(x for x in (case.first, case.middle, case.last) if x)
    body = (
        f"Hello,\n\nmy name is {name} and I am a {trade} (self-employed) based at {se.address.line()}. "
        f"I will be working in {case.country_written} from {start} to {end}, at {case.work_address.line()}, "
        f"and I need a certificate of coverage.\n\n"
        f"I was born on {born} in {case.birthplace} and I am a citizen of {citizenship_prose(case.citizenship)}. "
        f"My SSN is {case.ssn}. You can reach me at {phone} or at this address ({email}).\n\n"
        f"Thank you,\n{name}\n"
    )
    return textual.mail(case, plain=body, html_part=None, rng=rng, n=n, sender=(name, email)), [se.truth()], \
        "self-employed/prose"


def forwarded(rng: random.Random, half: Half, n: int) -> tuple[bytes, list[dict[str, str]], str]:
    """A request forwarded by a colleague whose note on top corrects the end date."""
    case = make_case(rng)
    body = textual.body_text(case, items(case, half, rng), rng.choice(["colon", "dots", "tab"]), rng)
    new_end = date(case.end.year + 1 if case.end.month == 12 else case.end.year, case.end.month % 12 + 1, 1)
    written = date_in_text(new_end, rng)
    note = (f"Hi team,\n\nforwarding the request below. One correction: the assignment now ends on {written}, "
            "not on the date given below.\n\nThanks\n")
    forward = (f"{note}\n---------- Forwarded message ---------\nFrom: {case.contact} <{case.contact_email}>\n"
               f"Date: Wed, Nov 18, 2026 at 4:12 PM\nSubject: Certificate of coverage\n"
               f"To: hr-mobility@{case.contact_email.split('@')[1]}\n\n{body}")
    case.end = new_end
    colleague = (f"{word(rng)} {word(rng)}", f"mobility@{case.contact_email.split('@')[1]}")
    return textual.mail(case, plain=forward, html_part=None, rng=rng, n=n, sender=colleague), [case.truth()], \
        "forwarded/corrected"
