"""One submission (a mail, a fax file, any file) -> its requests, validated.

This is the stage the pipeline runs for every stored submission and that `coc-intake extract`
runs on files: split into parts, hand each part to its parser, merge, build the model, validate.
A parser that fails on one part makes a problem naming that part; it never loses the others.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import date
from pathlib import PurePath
from typing import Any, Literal

from pydantic import BaseModel, Field

from intake.merge import MergedRequest, merge
from intake.model import CertificateRequest, Problem, build_request
from intake.reference import help_for
from intake.validate import validate
from parsers.pii import mask_ssns
from parsers.signature import sender_contact
from parsers.sniff import SPREADSHEET_TYPES, sniff
from parsers.types import Extraction, Limits, Part, PartProblem, Provenance

log = logging.getLogger(__name__)

Status = Literal["valid", "needs_review"]


class RequestResult(BaseModel):
    request: CertificateRequest
    status: Status
    problems: list[Problem] = Field(default_factory=list)
    confidence: dict[str, float] = Field(default_factory=dict)
    provenance: dict[str, Provenance] = Field(default_factory=dict)


class PartSummary(BaseModel):
    name: str
    media_type: str
    filename: str | None = None
    pages: int = 0
    form_edition: str | None = None
    text: str = ""
    seconds: float = 0.0  # time its parser took (the metrics of the parent process read it)


class SubmissionResult(BaseModel):
    requests: list[RequestResult] = Field(default_factory=list)
    problems: list[PartProblem] = Field(default_factory=list)
    parts: list[PartSummary] = Field(default_factory=list)
    meta: dict[str, Any] | None = None  # mail headers that matter (sender, Message-ID, subject...)

    @property
    def ok(self) -> bool:
        """True when every request is valid and no part had a problem: nothing for staff."""
        return bool(self.requests) and not self.problems and all(
            r.status == "valid" for r in self.requests)


MAIL_TYPES = {"message/rfc822"}


def parse_part(part: Part, limits: Limits) -> Extraction:  # noqa: C901, PLR0911  (one return per media type a part can have)
    """Hand a part to the parser for its type; any failure becomes a problem naming the part."""
    if not part.data and not part.text:
        return Extraction(part=part.name, media_type=part.media_type, problems=[
            PartProblem(code="empty", message=f"{part.name} is empty.", part=part.name)])
    if len(part.data) > limits.max_bytes:
        return Extraction(part=part.name, media_type=part.media_type, problems=[
            PartProblem(code="too_large", part=part.name,
                        message=f"{part.name} is {len(part.data):,} bytes, over the limit of "
                                f"{limits.max_bytes:,}.")])
    media = part.media_type
    # Each parser (with its C libraries: pdfium, OpenCV, Tesseract) is imported when a part of its
    # type arrives: a CLI command or a web worker that reads no such part never loads it.
    try:
        if media == "application/x-www-form-urlencoded":
            from parsers.web_form import parse_web_form  # noqa: PLC0415  (loaded with its part's type, see above)
            return parse_web_form(part)
        if media == "application/pdf":
            from parsers.pdf_text import parse_pdf  # noqa: PLC0415  (loaded with its part's type, see above)
            return parse_pdf(part, limits)
        if media in ("image/tiff", "image/png", "image/jpeg", "image/gif", "image/bmp"):
            from parsers.image import parse_image  # noqa: PLC0415  (loaded with its part's type, see above)
            return parse_image(part, limits)
        if media in SPREADSHEET_TYPES or media in ("application/vnd.ms-excel", "application/x-ole-storage"):
            from parsers.sheet import parse_sheet  # noqa: PLC0415  (loaded with its part's type, see above)
            return parse_sheet(part, limits)
        if media == "text/html":
            from parsers.body import parse_html  # noqa: PLC0415  (loaded with its part's type, see above)
            return parse_html(_text(part), part.name)
        if media.startswith("text/"):
            from parsers.body import parse_text  # noqa: PLC0415  (loaded with its part's type, see above)
            return parse_text(_text(part), part.name)
    except MemoryError:  # past the worker's memory limit (`[pipeline] memory_mb`): a bomb, or just huge
        log.warning("parser ran out of memory on %s (%s)", part.name, media)
        return Extraction(part=part.name, media_type=media, problems=[
            PartProblem(code="too_large", part=part.name,
                        message=f"{part.name} needs more memory to read than a worker may use.")])
    except Exception as exc:  # noqa: BLE001  (a parser bug must not lose the submission)
        log.warning("parser failed on %s (%s): %s", part.name, media, type(exc).__name__)
        return Extraction(part=part.name, media_type=media, problems=[
            PartProblem(code="unreadable", part=part.name,
                        message=f"{part.name} could not be read ({type(exc).__name__}).")])
    return Extraction(part=part.name, media_type=media, problems=[
        PartProblem(code="unsupported_type", part=part.name,
                    message=f"{part.name}: files of type {media} cannot be read; "
                            f"send a PDF, TIFF, PNG, JPEG, CSV, XLSX or text.")])


def _timed_parse(part: Part, limits: Limits) -> tuple[Extraction, float]:
    """`parse_part` and its wall time, for the per-parser histogram of `/metrics`."""
    started = time.perf_counter()
    return parse_part(part, limits), time.perf_counter() - started


def _text(part: Part) -> str:
    if part.text is not None:
        return part.text
    try:
        return part.data.decode("utf-8")
    except UnicodeDecodeError:
        return part.data.decode("windows-1252", errors="replace")


def finish(merged: MergedRequest, *, today: date | None = None) -> RequestResult:
    """Build the model from merged values and validate it."""
    values = dict(merged.values)
    if "request_type" not in values and ("employer.name" in values or "employer.ein" in values):
        values["request_type"] = "employee"  # a request that names an employer is an employee's
    for prefix in ("employer.address", "worker.address"):
        # Both are U.S. addresses by definition (domain.md); a form or sheet rarely says so.
        if any(k.startswith(prefix + ".") for k in values) and f"{prefix}.country" not in values:
            values[f"{prefix}.country"] = "US"
    values, index_problems = _bounded_lists(_untangle(values))
    try:
        request, build_problems = build_request(values)
    except Exception as exc:  # noqa: BLE001 - values no model takes: staff read the parts themselves
        log.warning("request could not be built from %d values: %s", len(values), type(exc).__name__)
        request, _ = build_request({})
        build_problems = [Problem(field=None, code="unreadable",
                                  message=f"The values read could not be put together into a request "
                                          f"({type(exc).__name__}); a specialist will read the submission.")]
    for p in build_problems:
        p.help = help_for(p.field)
    problems = _dedupe(merged.problems + index_problems + build_problems + validate(request, today=today))
    return RequestResult(request=request, status="needs_review" if problems else "valid",
                         problems=problems, confidence=merged.confidence,
                         provenance=merged.provenance)


def _untangle(values: dict[str, str]) -> dict[str, str]:
    """Drop a value whose path also has values below it (`worker.address: 1 Main St` beside
    `worker.address.city: Springfield`): the model cannot hold both, and the parts say more.

    Found by fuzzing labelled text: "Address: x" with "City: y" made `build_request` raise.
    """
    # a parent is a path some other path begins with, up to a "." or "[": each path's own heads,
    # found in one pass (testing every pair was a tenth of a sheet's extraction, 40 rows x 30 values)
    parents = {o[:j] for o in values for j, ch in enumerate(o) if ch in ".["} & values.keys()
    return {k: v for k, v in values.items() if k not in parents}


MAX_LIST_INDEX = 49  # list fields (`dependents[i]`): no certificate lists more than a few
_INDEX_RE = re.compile(r"\[(\d+)\]")


def _bounded_lists(values: dict[str, str]) -> tuple[dict[str, str], list[Problem]]:
    """Leave out values at list positions past `MAX_LIST_INDEX`, with a problem saying so.

    The model fills a list up to the position named, so a form field called
    `dependents[2147483648].name` would allocate two billion entries. Found by fuzzing: a mutated
    form PDF took the fuzz run to 23 GB before the kernel killed it.
    """
    kept: dict[str, str] = {}
    problems: list[Problem] = []
    for path, value in values.items():
        if any(int(i) > MAX_LIST_INDEX for i in _INDEX_RE.findall(path)):
            problems.append(Problem(field=None, code="invalid",
                                    message=f"A value for list position {path[:60]} was left out: at most "
                                            f"{MAX_LIST_INDEX + 1} entries are read."))
            continue
        kept[path] = value
    return kept, problems


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str | None, str]] = set()
    out = []
    for p in problems:
        if (p.field, p.code) not in seen:
            seen.add((p.field, p.code))
            out.append(p)
    return out


def extract_parts(parts: list[Part], limits: Limits, *, today: date | None = None,
                  problems: list[PartProblem] | None = None,
                  meta: dict[str, Any] | None = None) -> SubmissionResult:
    timed = [_timed_parse(p, limits) for p in parts]
    extractions = [e for e, _ in timed]
    all_problems = list(problems or [])
    for ext in extractions:
        all_problems.extend(ext.problems)
    if meta and (sender := sender_contact([r for e in extractions for r in e.records], meta.get("from"),
                                            meta.get("from_name"))):
        extractions.append(Extraction(part="message header", media_type="message/rfc822", records=[[sender]]))
    merged = merge(extractions)
    requests = [finish(m, today=today) for m in merged]
    _outdated_edition(extractions, merged, requests)
    if requests:
        # A body that only says "please find attached" is not a problem once a request was found.
        all_problems = [p for p in all_problems if p.code != "no_request"]
    elif not any(p.code == "no_request" for p in all_problems) and not all_problems:
        all_problems.append(PartProblem(code="no_request", part="submission",
                                        message="No certificate of coverage request was found."))
    # A problem message may quote what was read (a header cell, a label line); it reaches logs, the
    # review queue and the reply to the sender, so an SSN in it keeps its last four digits only.
    all_problems = [p.model_copy(update={"message": mask_ssns(p.message)}) for p in all_problems]
    summaries = [PartSummary(name=e.part, media_type=e.media_type, filename=p.filename,
                             pages=e.pages, form_edition=e.form_edition, text=e.text, seconds=round(sec, 4))
                 for p, (e, sec) in zip(parts, timed, strict=True)]
    returned = list(dict.fromkeys(r for e in extractions for r in e.references))
    if returned:  # our return pages were faxed back: the pipeline joins them to these requests
        meta = {**(meta or {}), "return_references": returned}
    return SubmissionResult(requests=requests, problems=all_problems, parts=summaries, meta=meta)


# A form zone reading's provenance label: `COC-1 (2025-06) page 2`.
_EDITION_LABEL = re.compile(r"^(COC-\d+ \(\d{4}-\d{2}\)) page \d+$")


def _outdated_edition(extractions: list[Extraction], merged: list[MergedRequest],
                      requests: list[RequestResult]) -> None:
    """A request read from an older edition of our form gets `outdated_edition` (it is still read).

    A fax can hold two forms of different editions: a request read from form zones takes the
    edition its own values were read from; a filled PDF (one form per file) takes its part's.
    """
    old = {e.part: e.form_edition for e in extractions if e.form_edition}
    if not old:
        return
    from intake.form import outdated_problem  # noqa: PLC0415 - reportlab only when a form was seen

    for m, result in zip(merged, requests, strict=True):
        parts = {p.part for p in m.provenance.values()}
        read_from = {match[1] for p in m.provenance.values() if p.label and (match := _EDITION_LABEL.match(p.label))}
        editions = read_from or {e for part, e in old.items() if part in parts or len(requests) == 1}
        for edition in sorted(editions):
            problem = outdated_problem(edition)
            if problem is not None:
                result.problems.append(problem)
                result.status = "needs_review"
                break


def extract_submission(raw: bytes, *, channel: str, filename: str | None = None,
                       limits: Limits | None = None, today: date | None = None,
                       answer_to: list[str] | None = None) -> SubmissionResult:
    """The extraction stage for one stored submission (a mail, or a fax/other file).

    `answer_to`: the message answers our replies with these texts (`intake.conversation`): only
    its new text is read, without our own lines, section by section (`extract_answer`).
    """
    limits = limits or Limits()
    if channel == "web":  # the online form as submitted (`parsers.web_form`)
        from parsers.web_form import MEDIA_TYPE, PART_NAME  # noqa: PLC0415  (loaded only for this kind of submission)
        return extract_parts([Part(name=PART_NAME, media_type=MEDIA_TYPE, data=raw)], limits, today=today)
    name = PurePath(filename).name if filename else ("message" if channel != "fax" else "fax")
    media = "message/rfc822" if channel in ("imap", "smtp", "lmtp", "email") else sniff(raw, filename, None)
    if name.lower().endswith(".pdf") and media in ("text/plain", "application/octet-stream"):
        media = "application/pdf"  # named a PDF but it isn't one: the PDF reader says so clearly
    if not raw:
        return SubmissionResult(problems=[PartProblem(code="empty", part=name,
                                                      message=f"{name} is empty.")])
    if media in MAIL_TYPES:
        from parsers.mime import parse_mail  # noqa: PLC0415  (loaded only for this kind of submission)
        mail = parse_mail(raw, limits)
        meta = _meta(mail.meta)
        meta["body_references"] = _body_references(mail.parts)
        if answer_to is not None:
            return extract_answer(list(mail.parts), answer_to, limits, today=today,
                                  problems=list(mail.problems), meta=meta)
        result = extract_parts(list(mail.parts), limits, today=today, problems=list(mail.problems),
                               meta=meta)
        if filename and not result.requests:
            _no_request_names_the_file(result, name)
        return result
    part = Part(name=name, media_type=media, data=raw, filename=filename)
    return extract_parts([part], limits, today=today)


def _no_request_names_the_file(result: SubmissionResult, name: str) -> None:
    """A mail file with no request gets one file-level problem naming the file.

    The parts' own `no_request` problems name "body" or "attachment 1: ...", which tells a person
    running `coc-intake extract` on a folder of .eml files nothing about which file it was.
    Only for named files: the daemon's stored mails have no file name, and keep their wording.
    """
    reasons = "; ".join(p.message.rstrip(".") for p in result.problems if p.code == "no_request")
    message = f"{name}: no certificate of coverage request was found in this message"
    message += f" ({reasons})." if reasons else "."
    rest = [p for p in result.problems if p.code != "no_request"]
    result.problems = [PartProblem(code="no_request", part=name, message=mask_ssns(message)), *rest]


def _meta(meta: Any) -> dict[str, Any]:
    return {
        "message_id": meta.message_id, "from": meta.from_addr, "from_name": meta.from_name,
        "to": list(meta.to), "subject": meta.subject,
        "date": meta.date.isoformat() if meta.date else None,
        "in_reply_to": meta.in_reply_to, "references": list(meta.references),
    }


def _body_references(parts: list[Part]) -> list[str]:
    """References (any prefix) in the new text of the message's own body, outside the quote."""
    from parsers.reply import ANY_REFERENCE, new_text_html, new_text_plain, references_in  # noqa: PLC0415

    for part in parts:
        if part.name == "body":
            text = _text(part)
            if not ANY_REFERENCE.search(text):
                return []  # the new text is part of the text: no reference anywhere, none in it (no unquoting)
            new = new_text_html(text) if part.media_type == "text/html" else new_text_plain(text)
            return references_in(new.text)[:20]
    return []


def extract_answer(parts: list[Part], ours: list[str], limits: Limits, *, today: date | None = None,
                   problems: list[PartProblem] | None = None,
                   meta: dict[str, Any] | None = None) -> SubmissionResult:
    """An answer to our replies: the body's new text only (quotequail, then none of our own
    lines), split into sections by the references it names; each section and the attachments
    together are read as requests of their own. `meta["answer_refs"]` gives each request's section
    reference (None: not named), so the pipeline can merge each into the request it answers."""
    from parsers.reply import new_text_html, new_text_plain, sections, without_our_lines  # noqa: PLC0415

    groups: list[tuple[str | None, list[Part]]] = []
    rest: list[Part] = []
    for part in parts:
        if part.media_type.startswith("text/") and (part.name == "body" or part.name.startswith("forwarded")):
            text = _text(part)
            if part.name == "body":
                new = new_text_html(text) if part.media_type == "text/html" else new_text_plain(text)
                text = new.text
            clean = without_our_lines(text, ours)
            for n, (ref, section) in enumerate(sections(clean)):
                name = part.name if n == 0 and ref is None else f"{part.name} ({ref or 'text'})"
                groups.append((ref, [Part(name=name, media_type="text/plain", data=section.encode("utf-8"),
                                          text=section)]))
        else:
            rest.append(part)
    if rest:
        groups.append((None, rest))
    all_problems = list(problems or [])
    requests: list[RequestResult] = []
    refs: list[str | None] = []
    summaries: list[PartSummary] = []
    for ref, group in groups:
        timed = [_timed_parse(p, limits) for p in group]
        for p, (e, sec) in zip(group, timed, strict=True):
            all_problems.extend(x for x in e.problems if x.code != "no_request")
            summaries.append(PartSummary(name=e.part, media_type=e.media_type, filename=p.filename, pages=e.pages,
                                         form_edition=e.form_edition, text=e.text, seconds=round(sec, 4)))
        for m in merge([e for e, _ in timed]):
            requests.append(finish(m, today=today))
            refs.append(ref)
    all_problems = [p.model_copy(update={"message": mask_ssns(p.message)}) for p in all_problems]
    meta = dict(meta or {})
    meta["answer_refs"] = refs
    return SubmissionResult(requests=requests, problems=all_problems, parts=summaries, meta=meta)
