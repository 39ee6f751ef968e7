"""The letterhead of a letter: whose paper it is written on.

An employer's letter carries the company's name and address at the top of its first page
("Acme Tools Inc." over "12 Main St | Boise, ID 83702"), and a writer seldom repeats them as
labelled fields. So when a letter's fields give no employer address, the letterhead's address is
offered for it; and an address read under a label as someone else's ("Registered address",
"Office address in the U.S." read as the worker's) that is the letterhead's is the employer's.
Both are flagged: the letterhead may be an agent's writing for the employer, and staff check.
"""

from __future__ import annotations

import re

from parsers.layout import Line
from parsers.types import Candidate, Method, Provenance
from parsers.values import normalize

HEAD_LINES = 4  # the letterhead is in the first lines of the first page
_SEPARATORS = re.compile(r"\s+[|•·]\s+")
WHY = "read from the letterhead: the address of whoever wrote the letter"


def _address(line: Line) -> dict[str, str] | None:
    """The address a letterhead line holds ("street | City, ST ZIP"), or None."""
    text = _SEPARATORS.sub(", ", line.text)
    if not re.search(r"\d", text) or "@" in text or len(text) > 160:
        return None
    pairs, doubt = normalize("employer.address", text)
    parts = {f.rsplit(".", 1)[-1]: v for f, v in pairs}
    if doubt is not None or not re.search(r"\d", parts.get("street", "")) or "postal_code" not in parts \
            or not parts.get("city"):
        return None
    return parts


def _known_label(label: str | None, base: str) -> bool:
    """The label is one of the vocabulary's for that address as a whole ("Home address"), not
    one read from its words: then the writer said whose address it is."""
    from parsers.labels import match_label  # noqa: PLC0415 - labels is heavy to import at start

    got = match_label(label or "")
    return got is not None and got[0] == base and got[1] >= len((label or "").rstrip(" :"))


def from_letterhead(lines: list[Line], found: list[Candidate], part: str, page: int,
                    method: Method = "text") -> list[Candidate]:
    """`found` with the letterhead's address for the employer where the fields gave none, and a
    labelled other address that is the letterhead's moved to the employer (both flagged)."""
    if page != 1 or any(c.field.startswith("employer.address") and c.uncertain is None for c in found):
        return found
    if any(c.field == "worker.business" or c.value == "self_employed" for c in found):
        return found  # a self-employed person writes on their own paper
    head = [ln for ln in lines[:HEAD_LINES] if ln.words]
    for ln in head:
        parts = _address(ln)
        if parts is None:
            continue
        street = parts["street"].casefold()
        same = {c.field.rsplit(".", 1)[0] for c in found
                if c.field.endswith(".street") and c.value.casefold() == street
                and c.field.startswith(("worker.address", "assignment.work_address"))
                and not _known_label(c.provenance.label, c.field.rsplit(".", 1)[0])}
        if same:  # the letterhead's address read as another party's: it is the employer's
            owner = same.pop()
            return [c.model_copy(update={"field": "employer.address" + c.field[len(owner):], "uncertain": WHY})
                    if c.field.startswith(owner + ".") else c for c in found]
        if any(c.field.startswith("employer.address") for c in found):
            return found
        prov = Provenance(part=part, page=page, box=ln.box, method=method, label="letterhead")
        return found + [Candidate(field=f"employer.address.{k}", value=v, raw=ln.text, confidence=0.8,
                                  provenance=prov, uncertain=WHY) for k, v in parts.items()]
    return found
