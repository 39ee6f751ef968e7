"""`coc-intake extract`, `schema` and `form`: reading files as the daemon would, without a store.

The files are read in the daemon's own process pool (`intake.isolation`), so the limits and the
results are those of the gateway; one JSON object or one summary per file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from intake.cli_codes import EXIT_OK, EXIT_REVIEW, EXIT_USAGE


def cmd_schema(args: argparse.Namespace) -> int:
    from intake.model import CertificateRequest

    print(json.dumps(CertificateRequest.model_json_schema(), indent=2))
    return EXIT_OK


def file_json(path: str, result: Any) -> dict[str, Any]:
    return {
        "file": path,
        "requests": [
            {
                "request": r.request.model_dump(mode="json"),
                "status": r.status,
                "problems": [p.model_dump(mode="json") for p in r.problems],
                "confidence": r.confidence,
                "provenance": {k: v.model_dump(mode="json", exclude_none=True)
                               for k, v in r.provenance.items()},
            }
            for r in result.requests
        ],
        "problems": [p.model_dump(mode="json") for p in result.problems],
    }


def summary(path: str, result: Any) -> str:
    from intake.validate import mask_ssn

    lines = [f"{path}: {len(result.requests)} request(s)"]
    for p in result.problems:
        lines.append(f"  ! {p.code}: {p.message}")
    for i, r in enumerate(result.requests, 1):
        req = r.request
        name = " ".join(x for x in (req.worker.first_name, req.worker.middle_name,
                                    req.worker.last_name) if x) or "(no name)"
        employer = req.employer.name if req.employer and req.employer.name else "-"
        a = req.assignment
        lines.append(f"  [{i}] {r.status}: {name}, SSN {mask_ssn(req.worker.ssn) or '-'}, "
                     f"{req.request_type or '?'}; employer {employer}; "
                     f"{a.country or '?'} {a.start_date or '?'} to {a.end_date or '?'}")
        for p in r.problems:
            lines.append(f"      - {p.field or 'request'}: {p.code}: {p.message}")
    return "\n".join(lines)


def cmd_extract(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from intake.isolation import ExtractionPool
    from intake.settings import load_settings
    from parsers.types import Limits

    paths = [Path(p) for p in args.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"coc-intake extract: no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    settings = load_settings(args.config)
    limits = Limits(**settings.limits.model_dump())
    # The daemon's pool: one file per core, each in a process of its own with the time and memory
    # limits of `[pipeline]`, so a folder of one-page faxes keeps one single-threaded Tesseract per
    # core busy and a file that kills its reader loses only itself.
    # Fewer files than cores (one long fax): the spare cores read that file's pages side by side.
    workers = min(settings.pipeline.worker_count(), len(paths))
    pool = ExtractionPool(workers, timeout=settings.pipeline.submission_timeout_seconds,
                          memory_mb=settings.pipeline.memory_mb,
                          ocr_threads=max(1, (os.cpu_count() or 1) // workers))
    code = EXIT_OK
    with ThreadPoolExecutor(max_workers=pool.workers) as threads:
        results: Any = threads.map(lambda path: extract_file(path, limits, pool), paths)
        if len(paths) > 1 and sys.stderr.isatty() and not args.no_progress:
            from intake.progress import bar

            results = bar(results, total=len(paths), unit="file")
        for path, result in zip(paths, results, strict=True):
            if not result.ok:
                code = EXIT_REVIEW
            if args.json:
                print(json.dumps(file_json(str(path), result), ensure_ascii=False), flush=True)
            else:
                print(summary(str(path), result), flush=True)
    return code


def extract_file(path: Path, limits: Any, pool: Any) -> Any:
    """One file's result; a file that cannot be read, is over the size limit or stops its reader
    (time, memory, crash) is a file-level problem naming it.

    The size is checked before reading, so a stray 10 GB file is refused without filling memory.
    """
    from intake.extract import SubmissionResult
    from parsers.types import PartProblem

    name = path.name
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            data = f.read(limits.max_bytes + 1) if size <= limits.max_bytes else b""
    except OSError as exc:
        return SubmissionResult(problems=[PartProblem(
            code="unreadable", part=name, message=f"{name} could not be read ({exc.strerror or type(exc).__name__}).")])
    if size > limits.max_bytes or len(data) > limits.max_bytes:
        return SubmissionResult(problems=[PartProblem(
            code="too_large", part=name,
            message=f"{name} is {max(size, len(data)):,} bytes, over the limit of {limits.max_bytes:,}.")])
    channel = "email" if path.suffix.lower() == ".eml" else "file"
    outcome = pool.extract(data, channel=channel, filename=name, limits=limits)
    if outcome.result is None:
        return SubmissionResult(problems=[PartProblem(code="unreadable", part=name,
                                                      message=f"{name} could not be read: {outcome.reason}.")])
    return outcome.result


def cmd_form(args: argparse.Namespace) -> int:
    from intake.form import cmd_form  # reportlab and segno only for this command

    return cmd_form(args)
