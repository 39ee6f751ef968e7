"""`coc-intake keys`, `db`, `status`, `doctor` and `reprocess`: the operator's commands over a
store that exists (or is to be made), each a thin call into the module that does the work.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from intake.cli_codes import EXIT_OK, EXIT_REVIEW, EXIT_USAGE


def cmd_keys(args: argparse.Namespace) -> int:
    """`coc-intake keys new|list|rotate|reencrypt|retire` (see intake.keys)."""
    from intake import keys, logs
    from intake.settings import load_settings

    settings = load_settings(args.config)
    logs.setup(settings.logging.level, settings.logging.file, settings.logging.format)
    return keys.main(settings, args.action, kid=args.key, file=args.file, print_only=args.print,
                     batch=args.batch, standby=args.standby)


def cmd_db(args: argparse.Namespace) -> int:
    from intake.store.__main__ import db_command

    return db_command(args.action, args.config)


def cmd_status(args: argparse.Namespace) -> int:
    from intake.settings import load_settings
    from intake.store import Store

    store = Store.from_settings(load_settings(args.config))
    try:
        if store.needs_upgrade():
            print("the database is not set up yet: run `coc-intake db upgrade` (or `coc-intake run`)")
            return EXIT_REVIEW
        for table, counts in store.counts_by_state().items():
            shown = ", ".join(f"{state} {n}" for state, n in counts.items())
            print(f"{table:12s} {shown}")
        waiting = store.oldest_waiting()
        for item in waiting:
            print(f"oldest waiting {item.what}: #{item.id} {item.state} since "
                  f"{item.since.isoformat(timespec='seconds')}")
        if not waiting:
            print("nothing is waiting")
    finally:
        store.dispose()
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from intake.doctor import doctor
    from intake.settings import load_settings

    try:
        settings = load_settings(args.config)
    except Exception as exc:  # noqa: BLE001  (pydantic's message names the setting and never echoes a secret)
        print(f"FAIL  settings: {exc}", file=sys.stderr)
        return EXIT_REVIEW
    return doctor(settings)


def parse_day(value: str | None, *, end: bool) -> Any:
    """A YYYY-MM-DD day as an aware UTC datetime; `end` gives the start of the next day."""
    from datetime import UTC, date, datetime, time, timedelta

    if value is None:
        return None
    day = date.fromisoformat(value) + timedelta(days=1 if end else 0)
    return datetime.combine(day, time(0), tzinfo=UTC)


def cmd_reprocess(args: argparse.Namespace) -> int:
    from intake import logs
    from intake.reprocess import make_context, reprocess, select_ids
    from intake.settings import load_settings
    from intake.store import Store

    if not (args.ids or args.state or args.since or args.until):
        print("coc-intake reprocess: name submission ids, a --state, or a --since/--until range",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        since, until = parse_day(args.since, end=False), parse_day(args.until, end=True)
    except ValueError:
        print("coc-intake reprocess: dates are YYYY-MM-DD", file=sys.stderr)
        return EXIT_USAGE
    settings = load_settings(args.config)
    logs.setup(settings.logging.level, settings.logging.file, settings.logging.format)
    store = Store.from_settings(settings)
    try:
        if store.needs_upgrade():
            print("coc-intake reprocess: the database schema is not current: run `coc-intake db upgrade`",
                  file=sys.stderr)
            return EXIT_REVIEW
        ids = select_ids(store, args.ids, states=args.state, since=since, until=until)
        if not ids:
            print("no submission matches")
            return EXIT_OK
        show_bar = len(ids) > 1 and sys.stderr.isatty() and not args.no_progress
        summary = reprocess(make_context(settings, store), ids, send_replies=args.send_replies, progress=show_bar)
        return EXIT_REVIEW if summary.failed else EXIT_OK
    finally:
        store.dispose()
