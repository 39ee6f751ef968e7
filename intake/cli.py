"""`coc-intake`: the one command for operators and staff.

Each sub-command is a small function; the heavy lifting lives in the modules they call, so the
daemon, the web page and this command share one code path.
"""

# (`--help` prints the docstring above.) The sub-commands are kept by group: `cli_extract` (extract,
# schema, form), `cli_run` (run, worker, serve), `cli_admin` (keys, db, status, doctor, reprocess),
# `cli_users` (users, tokens); this module is the parser and the entry point.

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from intake.cli_admin import cmd_db, cmd_doctor, cmd_keys, cmd_reprocess, cmd_status
from intake.cli_codes import EXIT_OK, EXIT_REVIEW, EXIT_USAGE
from intake.cli_extract import cmd_extract, cmd_form, cmd_schema
from intake.cli_run import cmd_run, cmd_serve, cmd_worker
from intake.cli_users import cmd_users

__all__ = ["EXIT_OK", "EXIT_REVIEW", "EXIT_USAGE", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:  # noqa: PLR0915  (one sub-command after another, as `--help` lists them)
    parser = argparse.ArgumentParser(prog="coc-intake", description=__doc__)
    parser.add_argument("--config", help="a TOML file read over the packaged defaults")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("schema", help="print the JSON Schema of the request model")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("extract", help="read request files and print what was found")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help=".eml .pdf .tif .tiff .png .jpg .csv .xlsx .txt")
    p.add_argument("--json", action="store_true", help="one JSON object per file, one per line")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("run", help="run the gateway: sources, pipeline and outbox")
    p.add_argument("--demo", action="store_true",
                   help="try it on this machine: answer senders that cannot be verified (the sample mails); "
                        "refused when a relay, IMAP or a non-loopback SMTP listener is configured")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("worker", help="run extraction, reply and sending jobs (dispatch = procrastinate)")
    p.add_argument("--name", help="worker name in the logs and the job table (default host:pid)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("keys", help="encryption keys: new, list, rotate (re-encrypts, gateway running), "
                                    "reencrypt, retire")
    p.add_argument("action", choices=["new", "use", "list", "rotate", "reencrypt", "retire"],
                   help="new: add a current key; use KEY: make a standby key current; rotate: new + reencrypt; "
                        "reencrypt: seal every stored value under the current key (also rows from before "
                        "encryption); retire KEY: drop a key no stored value uses")
    p.add_argument("key", nargs="?", help="the key id to use or retire")
    p.add_argument("--standby", action="store_true",
                   help="new: add the key without making it current (copy the file everywhere, then `keys use`)")
    p.add_argument("--file", help="the key file (default: [encryption] key_file, COC_INTAKE_KEY_FILE, var/keys.json)")
    p.add_argument("--print", action="store_true", help="new: print ID:BASE64 for COC_INTAKE_KEYS, change no file")
    p.add_argument("--batch", type=int, default=50, help="rows per transaction when re-encrypting (default 50)")
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("db", help="the database schema")
    p.add_argument("action", choices=["upgrade", "current"])
    p.set_defaults(func=cmd_db)

    p = sub.add_parser("status", help="counts per state and the oldest waiting item")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("form", help="write the current edition of our request form (PDF)")
    p.add_argument("--out", metavar="FILE", help="where to write it (default coc-request-form.pdf)")
    p.set_defaults(func=cmd_form)

    p = sub.add_parser("serve", help="serve the staff review page and the JSON API only")
    p.add_argument("--host", help="address to listen on (default [web] host)")
    p.add_argument("--port", type=int, help="port to listen on (default [web] port)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("users", help="staff accounts of the review page, and API tokens")
    p.add_argument("action", choices=["add", "list", "disable", "enable", "token"],
                   help="token NAME prints a new API token for the certificate system; token list shows "
                        "them (state, expiry, last use); token revoke ID|NAME revokes one (or all of a name)")
    p.add_argument("name", nargs="?", help="user name (or the API token's name, or list / revoke)")
    p.add_argument("which", nargs="?", help="token revoke: the token's id or name")
    p.add_argument("--expires-days", type=int, default=90, metavar="DAYS",
                   help="token NAME: days the new token is valid (default 90)")
    p.add_argument("--role", choices=["reviewer", "supervisor", "admin"], default="reviewer")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--generate", action="store_true", help="print a one-time password instead of asking")
    p.set_defaults(func=cmd_users)

    p = sub.add_parser("doctor", help="check Tesseract, the database, IMAP, the relay, folders and the web port")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("reprocess", help="read stored submissions again with today's parsers")
    p.add_argument("ids", nargs="*", type=int, metavar="SUBMISSION_ID")
    p.add_argument("--state", action="append", metavar="S",
                   help="submissions in this state (done, needs_review, extracted, failed); repeatable")
    p.add_argument("--since", metavar="DATE", help="received on or after this day (YYYY-MM-DD, UTC)")
    p.add_argument("--until", metavar="DATE", help="received on or before this day (YYYY-MM-DD, UTC)")
    p.add_argument("--send-replies", action="store_true",
                   help="queue a new acknowledgement for each (default: none, the first one stands)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=cmd_reprocess)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
