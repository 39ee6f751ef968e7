"""`python -m intake.store upgrade|current [--config FILE]`: the `coc-intake db` command's body.

`intake.cli` can call `db_command` for `coc-intake db ...`; this module makes it usable before the
CLI wires it, and from any directory (the migrations are package files).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from intake.settings import load_settings
from intake.store.migrate import ensure_job_schema, head_revision
from intake.store.store import Store


def db_command(action: str, config: str | Path | None = None, out: TextIO | None = None) -> int:
    """Run `upgrade` (Alembic to head) or `current` (print current and head revisions); exit code."""
    stream = out if out is not None else sys.stdout
    settings = load_settings(config)
    store = Store.from_settings(settings)
    try:
        if action == "upgrade":
            applied = store.ensure_schema()
            print(f"{store!r}: {'upgraded to' if applied else 'already at'} {store.current_revision()}", file=stream)
            if store.engine.dialect.name == "postgresql":  # the job queue of several workers
                jobs = ensure_job_schema(store.engine)
                print(f"{store!r}: procrastinate job schema {'applied' if jobs else 'present'}", file=stream)
            return 0
        if action == "current":
            cur, head = store.current_revision(), head_revision()
            print(f"{store!r}: current {cur or '-'}, head {head}", file=stream)
            return 0 if cur == head else 1
        raise ValueError(f"unknown db action {action!r}")
    finally:
        store.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m intake.store", description="Database schema of the store.")
    ap.add_argument("action", choices=["upgrade", "current"])
    ap.add_argument("--config", help="TOML file merged over the packaged defaults")
    args = ap.parse_args(argv)
    return db_command(args.action, args.config)


if __name__ == "__main__":
    raise SystemExit(main())
