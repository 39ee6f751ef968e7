"""What a text says without labels besides prose's cues: employment sentences, the signature block
and the letterhead, added to what the label finder and prose read (`parsers.body`,
`parsers.pdf_text`).

One place decides how they join: only fields nobody read yet, a self-employed cue only when no
employer was named (an employer named makes it an employee's request), and a signature read as
the employer's contact in an employee's request, as the person's own in a self-employed one.
"""

from __future__ import annotations

from parsers.employment import find_employment
from parsers.signature import read_blocks
from parsers.types import Candidate, Method


def unlabelled(found: list[Candidate], prose_text: str, text: str, *, part: str, method: Method,
               letter: bool = False, after_dashes: list[str] | None = None,
               sure: set[str] | None = None) -> list[Candidate]:
    """The candidates to add to `found` (labelled and prose values of the same text).

    `prose_text` is the text with labelled lines blanked (for sentences); `text` the whole text
    (for the signature and letterhead, whose lines may carry labels such as "Tel:"); `sure` holds
    fields already read without doubt elsewhere in the part (earlier pages).
    """
    have = {c.field for c in found} | (sure or set())
    employer_named = any(c.field in ("employer.name", "employer.ein") for c in found)
    extra = [c for c in find_employment(prose_text, part=part, method=method)
             if c.field not in have and not (c.field == "request_type" and employer_named)]
    every = found + extra
    self_employed = any(c.field == "request_type" and c.value == "self_employed" for c in every)
    if self_employed:  # the writer's own address, phone and email; no employer, no contact person
        extra = [_own(c) for c in extra if c.field != "employer.contact_name"]
        extra = [c for c in extra if c.field not in have and not c.field.startswith("employer.")]
    else:  # "I am a payroll specialist" is the writer's job, not a business of the request's
        extra = [c for c in extra if c.field != "worker.business"]
    names = {c.field: c.value for c in every if c.field in ("worker.first_name", "worker.last_name")}
    worker = " ".join(v for v in (names.get("worker.first_name"), names.get("worker.last_name")) if v) or None
    have |= {c.field for c in extra}
    if any(c.field.startswith("employer.address.") for c in found):
        extra = [c for c in extra if not c.field.startswith("employer.address.")]
    return extra + read_blocks(text, part=part, method=method, have=have, letter=letter,
                               after_dashes=after_dashes, self_employed=self_employed, worker_name=worker)


_OWN = {"employer.contact_email": "worker.email", "employer.contact_phone": "worker.phone"}


def _own(c: Candidate) -> Candidate:
    """A self-employed writer's contact details and address are their own (`worker.*`)."""
    path = _OWN.get(c.field) or c.field.replace("employer.address.", "worker.address.", 1)
    return c.model_copy(update={"field": path})
