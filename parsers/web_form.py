"""The online request form as submitted: `application/x-www-form-urlencoded`, keys the model paths.

The gateway's `/request` page stores what was posted (its fields alone: no CSRF token, no honeypot)
as the raw content of a submission of channel `web`, and this reader turns it into candidates like
any other part: every value was typed into the field it belongs to, so method `form` and
confidence 1, exactly as a filled PDF form field. A batch carries the employer's fields once and
each worker's under `rows[N].`; every row is a request of its own (`multi`).

Values are normalised as the other readers normalise them (`parsers.values`): the page sends ISO
dates and country codes, but a hand-made post, or an older page, may not.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

from parsers import values
from parsers.types import Candidate, Extraction, Part, PartProblem, Provenance

MEDIA_TYPE = "application/x-www-form-urlencoded"
PART_NAME = "web form"
EDITION_KEY = "edition"  # `COC-1 (2026-11)`: the edition of the page that was filled in
_PATH = re.compile(r"^(?:request_type|confirmation_email|(?:worker|employer|assignment)(?:\.[a-z][a-z0-9_]*){1,2}"
                   r"|dependents\[\d\]\.[a-z_]+)$")
_ROW = re.compile(r"^rows\[(\d{1,5})\]\.(.+)$")
MAX_ROWS = 10_000


def encode(common: dict[str, str], rows: list[dict[str, str]] | None = None, *, edition: str) -> bytes:
    """The raw content of a web submission: the edition, the common fields, then each row's."""
    items = [(EDITION_KEY, edition)] + [(k, v) for k, v in common.items() if v]
    for i, row in enumerate(rows or []):
        items += [(f"rows[{i}].{k}", v) for k, v in row.items() if v]
    return urlencode(items).encode("ascii")


def _normalise(path: str, raw: str) -> tuple[str, str | None]:
    """(value, doubt): the value in the model's form, or as typed (`values.typed_value`); a typed
    value is never doubtful, validation names what is wrong with it."""
    return values.typed_value(path, raw), None


def _candidate(path: str, raw: str) -> Candidate:
    value, doubt = _normalise(path, raw.strip())
    return Candidate(field=path, value=value, raw=raw, confidence=1.0, uncertain=doubt,
                     provenance=Provenance(part=PART_NAME, method="form", label=path))


def parse_web_form(part: Part) -> Extraction:
    """Read a submitted web form: one record, or one per batch row."""
    ext = Extraction(part=part.name, media_type=MEDIA_TYPE, multi=True)
    try:
        pairs = parse_qsl(part.data.decode("ascii"), keep_blank_values=False, strict_parsing=False,
                          max_num_fields=MAX_ROWS * 60)
    except (UnicodeDecodeError, ValueError) as exc:
        ext.problems.append(PartProblem(code="unreadable", part=part.name,
                                        message=f"the web form could not be read ({type(exc).__name__})."))
        return ext
    common: list[Candidate] = []
    rows: dict[int, list[Candidate]] = {}
    lines: list[str] = []
    for key, value in pairs:
        if key == EDITION_KEY:
            ext.form_edition = value.strip()[:40] or None
            continue
        row = _ROW.match(key)
        path = row.group(2) if row else key
        if not _PATH.match(path) or not value.strip():
            continue
        cand = _candidate(path, value)
        if row:
            rows.setdefault(int(row.group(1)), []).append(cand)
        else:
            common.append(cand)
        lines.append(f"{key}: {value.strip()}")
    ext.text = "\n".join(lines)
    if rows:
        ext.records = [common + rows[i] for i in sorted(rows)]
    elif common:
        ext.records = [common]
    else:
        ext.problems.append(PartProblem(code="no_request", part=part.name, message="The web form was empty."))
    return ext
