"""Write the sample requests (generated names and numbers, never real ones) and optionally send them.

    python -m tests.make_samples var/samples            # write one file per format
    python -m tests.make_samples var/samples --send     # ... and deliver them to a running gateway:
                                                        # mail to 127.0.0.1:2525, the fax to the fax inbox
"""

from __future__ import annotations

import argparse
import random
import smtplib
from pathlib import Path

from tests import docgen, faxgen, mailgen
from tests.corpus import sheet_docs
from tests.synth import labelled_lines, make_request


def write_samples(folder: Path) -> list[Path]:
    rng = random.Random(2026)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, bytes] = {}
    req = make_request(rng, kind="employee", country="DE")
    body = "Hello,\n\nplease issue a certificate of coverage:\n\n" + "\n".join(labelled_lines(req, rng)) + "\n"
    out["request-mail.eml"] = mailgen.thunderbird(sender=req["employer"]["contact_email"], to="certificate@localhost",
                                                  subject="Certificate of coverage request", text=body)
    incomplete = make_request(rng, kind="employee", country="FR")
    lines = [line for line in labelled_lines(incomplete, rng) if not line.startswith(("EIN", "Date of birth"))]
    out["incomplete-mail.eml"] = mailgen.outlook(sender=incomplete["employer"]["contact_email"],
                                                 to="certificate@localhost", subject="COC request",
                                                 text="Dear SSA,\n\n" + "\n".join(lines) + "\n")
    out["letter.pdf"] = docgen.letter_pdf(make_request(rng, country="JP"), rng, "table")
    out["fillable-form.pdf"] = docgen.acroform_pdf(make_request(rng, country="IT"), "foreign")
    out["prose-letter.pdf"] = docgen.letter_pdf(make_request(rng, kind="employee", country="GB"), rng, "prose")
    out["fax_+12085550142_20261125T101400.tif"] = faxgen.tiff_bytes(
        faxgen.fax_request(make_request(rng, country="NL"), rng, "normal"))
    out["request.txt"] = "\n".join(labelled_lines(make_request(rng, kind="self_employed", country="AU"), rng)).encode()
    for doc in sheet_docs(2, 3, rng):
        out["workers." + doc.name.rsplit(".", 1)[1]] = doc.data
    paths = []
    for name, data in out.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def send(paths: list[Path], *, host: str, port: int, fax_inbox: Path) -> None:
    for path in paths:
        if path.suffix == ".eml":
            with smtplib.SMTP(host, port) as smtp:
                smtp.sendmail("hr@acme.example.com", ["certificate@localhost"], path.read_bytes())
            print(f"sent {path.name} to {host}:{port}")
        elif path.name.startswith("fax_"):
            fax_inbox.mkdir(parents=True, exist_ok=True)
            tmp = fax_inbox / (path.name + ".part")
            tmp.write_bytes(path.read_bytes())
            tmp.rename(fax_inbox / path.name)
            print(f"dropped {path.name} into {fax_inbox}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--send", action="store_true")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2525)
    ap.add_argument("--fax-inbox", type=Path, default=Path("var/fax/inbox"))
    args = ap.parse_args()
    paths = write_samples(args.folder)
    print(f"wrote {len(paths)} samples to {args.folder}")
    if args.send:
        send(paths, host=args.host, port=args.port, fax_inbox=args.fax_inbox)


if __name__ == "__main__":
    main()
