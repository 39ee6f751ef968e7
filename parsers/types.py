"""The data every parser hands on: candidate field values with their provenance.

Parsers are pure (bytes in, `Extraction` out); these types are the whole of their contract, so the
pipeline, the review page and `coc-intake extract` never need to know which parser read a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

Method = Literal["form", "text", "ocr", "table"]

# Preference when one field is read twice: a form field is exact, OCR is a guess.
METHOD_RANK: dict[str, int] = {"form": 3, "table": 2, "text": 2, "ocr": 1}


class Box(BaseModel, frozen=True):
    """Where on a page a value was read, as fractions of the page (0..1, origin top left).

    Fractions rather than pixels or points so that the review page can outline the box on a
    rendering of any size.
    """

    x0: float
    y0: float
    x1: float
    y1: float

    @staticmethod
    def union(boxes: list[Box]) -> Box | None:
        if not boxes:
            return None
        return Box(
            x0=min(b.x0 for b in boxes),
            y0=min(b.y0 for b in boxes),
            x1=max(b.x1 for b in boxes),
            y1=max(b.y1 for b in boxes),
        )


class Provenance(BaseModel):
    part: str  # the part's name, e.g. "body", "attachment 1: request.pdf", "fax page"
    page: int | None = None  # 1-based page number inside the part
    box: Box | None = None
    method: Method
    label: str | None = None  # the label text the value was found beside, if any
    # Plain text (a mail body, a text file): the value's character offsets (start, end) in the part's
    # text as read, which the review page marks; None where unknown or when the value has a box.
    span: tuple[int, int] | None = None


class Candidate(BaseModel):
    """One value read for one canonical field.

    `field` is the canonical path of domain.md (`worker.ssn`, `employer.address.city`,
    `dependents[0].name`). `value` is normalised (ISO date, `NNN-NN-NNNN`, alpha-2 country,
    `true`/`false`) when the reader could normalise it, else the text as read with `uncertain` set.
    """

    field: str
    value: str
    raw: str
    confidence: float = 1.0
    provenance: Provenance
    uncertain: str | None = None  # why the reader doubts the value; becomes `low_confidence`


class PartProblem(BaseModel):
    """A problem with a whole part or file (unreadable, too large, no request in it...)."""

    code: str
    message: str
    part: str


class Extraction(BaseModel):
    """What one parser read from one part.

    `records` holds one list of candidates per request found: a letter or a form gives one, a
    spreadsheet one per row. A part may give values with no request of its own (an employer block
    in a mail body); merging applies those to the requests found in the other parts.
    """

    part: str
    media_type: str = "application/octet-stream"
    records: list[list[Candidate]] = Field(default_factory=list)
    problems: list[PartProblem] = Field(default_factory=list)
    pages: int = 0
    text: str = ""  # the plain text read, for staff and for debugging
    form_edition: str | None = None  # our own form's edition code, when recognised
    references: list[str] = Field(default_factory=list)  # requests our return pages in it answer
    multi: bool = False  # True when records are independent requests (spreadsheet rows)


@dataclass(frozen=True)
class Part:
    """One readable piece of a submission: the mail body, an attachment, a fax file."""

    name: str
    media_type: str
    data: bytes
    filename: str | None = None
    # For text parts the decoded text; the MIME parser decodes charsets once, so parsers don't.
    text: str | None = None


class Limits(BaseModel):
    """Per-document limits; over a limit means a part problem, never a crash."""

    max_bytes: int = 50 * 1024 * 1024
    max_pages: int = 50
    max_pixels: int = 60_000_000  # per page image, before decompression-bomb refusal
    ocr_seconds_per_page: float = 60.0
    max_rows: int = 5000  # spreadsheet rows
    max_parts: int = 100  # MIME parts per message
    max_depth: int = 10  # MIME nesting
    max_header_bytes: int = 256 * 1024  # one message's (or forwarded message's) header block
    max_attachments: int = 100  # attachments read from one message, forwarded ones included
    max_pdf_objects: int = 200_000  # objects one PDF may declare (its cross-reference size)
    max_inflated_bytes: int = 128 * 1024 * 1024  # one PDF stream, once decompressed (Flate bomb)
    max_unzipped_bytes: int = 200 * 1024 * 1024  # an XLSX's members, once unzipped, all together
    max_zip_ratio: int = 100  # unzipped / zipped size of one large XLSX member (zip-bomb guard)
