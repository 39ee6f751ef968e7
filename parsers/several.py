"""Several workers in one body -> one record per worker, each with the values written once for all.

`parsers.workers` finds the workers (blocks, a typed table, "her colleague ..."); this module reads
each worker's lines and the shared lines with the body reader it is given, and puts them together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from parsers import values
from parsers.types import Candidate, Extraction, Provenance
from parsers.workers import WorkerTable, cells, colleague_at, colleague_match, find_tables, split_blocks

Read = Callable[[str, str], list[Candidate]]
Single = Callable[[str, str, str, list[Candidate]], Extraction]


def table_rows(tables: list[WorkerTable], part: str) -> list[list[Candidate]]:
    """One record per row of each table of workers, its cells normalised by their column's field."""
    rows: list[list[Candidate]] = []
    for table in tables:
        for row in table.rows:
            rec: list[Candidate] = []
            for fname, cell in zip(table.fields, row, strict=False):
                if not fname or not cell.strip() or cell.strip().casefold() in ("-", "n/a", "none"):
                    continue
                pairs, why = values.normalize(fname, cell)
                for f, v in pairs:
                    rec.append(Candidate(field=f, value=v, raw=cell, confidence=0.95 if why is None else 0.5,
                                         provenance=Provenance(part=part, method="table", label=None),
                                         uncertain=why))
            if rec:
                rows.append(rec)
    return rows


def with_shared(records: list[list[Candidate]], shared: list[Candidate]) -> list[list[Candidate]]:
    """Each worker's record with the values written once for all (employer, assignment, contact);
    a worker's own value for a field wins over the shared one."""
    shared = _senders(shared)
    out = []
    for rec in records:
        own = {c.field for c in rec}
        out.append(rec + [c for c in shared if c.field not in own and not c.field.startswith("worker.")])
    return out


# A worker's contact value written once for several workers is the sender's, the employer's.
_SENDER_FIELD = {"worker.address": "employer.address", "worker.email": "employer.contact_email",
                 "worker.phone": "employer.contact_phone"}


def _senders(shared: list[Candidate]) -> list[Candidate]:
    """Shared values labelled as a worker's address, e-mail or phone ("Office address in the U.S.",
    "Reply e-mail") moved to the employer's fields, where the employer gave none of its own."""
    have = {c.field for c in shared}
    out = list(shared)
    for c in shared:
        base = next((b for b in _SENDER_FIELD if c.field == b or c.field.startswith(b + ".")), None)
        if base is None:
            continue
        target = _SENDER_FIELD[base] + c.field[len(base):]
        if not any(h == _SENDER_FIELD[base] or h.startswith(_SENDER_FIELD[base] + ".") for h in have):
            out.append(c.model_copy(update={"field": target}))
    return out


def several(clean: str, part: str, media_type: str, read: Read, single: Single) -> Extraction:
    """A body's requests: one record per worker when it names several (blocks, a typed table, "her
    colleague ..."), else the body as one request.

    `read` reads a stretch of text into candidates (labels, then prose); `single` makes the
    extraction of a body with one request. The body read as one request (`single`'s records)
    spares the block split (every line's label classified again, a quarter of a plain body's time)
    when no worker field was read twice: a body of blocks repeats them.
    """
    lines = clean.split("\n")
    tables = find_tables(clean)
    if tables:
        taken = {i for t in tables for i in t.lines}
        ones = [t for t in tables if len(t.rows) == 1]
        rows = table_rows([WorkerTable(t.fields, t.rows) for t in tables if len(t.rows) > 1], part)
        rest = "\n".join("" if i in taken else ln for i, ln in enumerate(lines))
        for t in ones:  # one worker in a table: read as its header: value lines
            rest += "\n" + "\n".join(f"{h}: {v}" for h, v in zip(cells(lines[t.lines[0]]), t.rows[0],
                                                                  strict=False) if v.strip())
        if len(rows) < 2:
            return single(clean, part, media_type, read(rest if ones else clean, part))
        return Extraction(part=part, media_type=media_type, text=clean, multi=True,
                          records=with_shared(rows, read(rest, part)))
    whole = read(clean, part)
    split = split_blocks(clean) if _repeats_a_worker_field(whole) else None
    if split is not None:
        shared = read("\n".join(lines[i] if i in set(split.shared) else "" for i in range(len(lines))), part)
        records = [read("\n".join(lines[i] for i in block), part) for block in split.workers]
        return Extraction(part=part, media_type=media_type, text=clean, multi=True,
                          records=with_shared(records, shared))
    at = colleague_at(clean)
    if at is None:
        return single(clean, part, media_type, whole)
    first, second = read(clean[:at], part), _colleague(clean[at:], part, read)
    if sum(c.field.startswith("worker.") for c in second) < 2:
        return single(clean, part, media_type, whole)
    return Extraction(part=part, media_type=media_type, text=clean, multi=True,
                      records=with_shared([first, second], first))


def _repeats_a_worker_field(whole: Sequence[Candidate]) -> bool:
    """True when a worker's field was read more than once: the only bodies `split_blocks` can cut,
    as each block gives its worker an identity field of its own."""
    seen: set[str] = set()
    for c in whole:
        if c.field.startswith("worker."):
            if c.field in seen:
                return True
            seen.add(c.field)
    return False


_NAME_AFTER = re.compile(r"[A-Z][\w'’-]+(?:\s(?:[A-Z][\w'’.-]*|van|von|de|der|den|la|le|da|di|du|del|dos)){1,4}")


def _colleague(text: str, part: str, read: Read) -> list[Candidate]:
    """The second worker's values in "The same applies to her colleague Jane Doe (SSN ..., born ...)"."""
    m = colleague_match(text)
    body = text[m.end():] if m else text
    cands = [c for c in read(body, part) if c.field.startswith(("worker.", "assignment."))]
    name = _NAME_AFTER.match(body.strip())
    if name and not any(c.field in ("worker.first_name", "worker.last_name") for c in cands):
        written = name.group().rstrip(",. ")
        pairs, why = values.normalize("worker.name", written)
        prov = Provenance(part=part, method="text", label="colleague")
        cands = [c for c in cands if not c.field.endswith("_name")] + [
            Candidate(field=f, value=v, raw=written, confidence=0.85, provenance=prov, uncertain=why)
            for f, v in pairs]
    return cands
