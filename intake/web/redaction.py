"""Who sees which SSN on the staff pages, the policy in one place.

A supervisor sees everything. A reviewer sees SSNs masked in text (`masking`), painted over on the
page images where they were read (`ssn_boxes`), and not at all where that cannot be trusted: an
image part whose text holds more SSNs than boxes were read from it (`hidden_parts`). And a reviewer
who typed an SSN must not learn from the duplicates list or a merge whether another request has
that number (`ssn_guessed`), so those stay with supervisors.
"""

from __future__ import annotations

from collections import defaultdict

from intake.store import Store
from intake.store.store import RequestRecord, SubmissionRecord
from intake.web import clerkops, review
from intake.web.pages import SourcePart
from intake.web.users import SessionInfo, Users
from parsers.pii import count_ssns

PageBoxes = defaultdict[tuple[int, int], list[dict[str, float]]]  # SSN boxes by (part, page)


def ssn_boxes(store: Store, sub: SubmissionRecord, parts: list[SourcePart]) -> PageBoxes:
    """The boxes SSNs were read from, by (part, page): of every request of the submission (one fax
    may hold several workers' forms). Reviewers get them painted over on the page images."""
    names = {p.name: p.index for p in parts}
    out: PageBoxes = defaultdict(list)
    for other in store.requests_of(sub.id):
        prov = (other.provenance or {}).get(review.SSN_PATH) or {}
        box = prov.get("box")
        idx = names.get(str(prov.get("part")), 0 if len(parts) == 1 else None)
        if box and idx is not None:
            out[(idx, int(prov.get("page") or 1))].append({k: float(box[k]) for k in ("x0", "y0", "x1", "y1")})
    return out


def hidden_parts(parts: list[SourcePart], boxes: PageBoxes) -> set[int]:
    """Image parts whose text holds more SSNs than boxes were read from them (an SSN written twice,
    or read without a place): no painting over can be trusted there, so reviewers do not get them."""
    return {p.index for p in parts if p.is_image
            and count_ssns(p.text) > sum(len(b) for (i, _), b in boxes.items() if i == p.index)}


def locked_parts(store: Store, info: SessionInfo, sub: SubmissionRecord, parts: list[SourcePart]) -> set[int]:
    """The image parts this viewer may not see (none for a supervisor)."""
    if info.account.sees_full_ssn:
        return set()
    return hidden_parts(parts, ssn_boxes(store, sub, parts))


def page_mask(store: Store, info: SessionInfo, sub: SubmissionRecord, parts: list[SourcePart],
              part: int, pageno: int) -> list[dict[str, float]] | None:
    """The boxes to paint over on one page image for this viewer; None when the page must not be
    shown to them at all (an SSN on it could not be located)."""
    if info.account.sees_full_ssn:
        return []
    boxes = ssn_boxes(store, sub, parts)
    if parts[part].index in hidden_parts(parts, boxes):
        return None
    return boxes[(parts[part].index, pageno)]


def ssn_guessed(store: Store, users: Users, info: SessionInfo, rec: RequestRecord) -> bool:
    """Whether a reviewer looks at an SSN that someone who may not see full SSNs typed last: then
    duplicates found by it (same SSN), on this request's page or the other's, are for supervisors,
    or a reviewer could type a guess and learn from the duplicates list or a merge whether another
    request has that number."""
    return rec.id in ssn_guessed_of(store, users, info, [rec.id])


def ssn_guessed_of(store: Store, users: Users, info: SessionInfo, ids: list[int]) -> set[int]:
    """`ssn_guessed` for many requests at once (a page's duplicates): one query, not one each."""
    if info.account.sees_full_ssn or not ids:
        return set()
    last = clerkops.last_ssn_typers(store, ids)
    guessed = set()
    for rid, actor in last.items():
        by = users.get(actor)
        if by is not None and not by.sees_full_ssn:
            guessed.add(rid)
    return guessed
