"""`coc-intake users`: staff accounts of the review page and the certificate system's API tokens
(`intake.web.users` does the work; a token is printed once and never again).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from intake.cli_codes import EXIT_OK, EXIT_USAGE


def cmd_users(args: argparse.Namespace) -> int:  # noqa: C901, PLR0912  (one branch per `users` action)
    import getpass

    from intake.settings import load_settings
    from intake.store import Store
    from intake.web.users import UserError, Users, generate_password

    store = Store.from_settings(load_settings(args.config))
    try:
        store.ensure_schema()
        users = Users(store)
        if args.action == "list":
            for a in users.list():
                print(f"{a.name}\t{a.role}\t{'disabled' if a.disabled else 'active'}")
            print_tokens(users.tokens(), prefix="token\t")
            return EXIT_OK
        if not args.name:
            print(f"coc-intake users {args.action}: a user name is needed", file=sys.stderr)
            return EXIT_USAGE
        if args.action == "add":
            if args.password_stdin:
                password, shown = sys.stdin.readline().rstrip("\r\n"), False
            elif sys.stdin.isatty() and not args.generate:
                password, shown = getpass.getpass(f"password for {args.name}: "), False
                if password != getpass.getpass("again: "):
                    print("coc-intake users add: the passwords differ", file=sys.stderr)
                    return EXIT_USAGE
            else:
                password, shown = generate_password(), True
            account = users.add(args.name, args.role, password, must_change=shown)
            print(f"user {account.name} added ({account.role})")
            if shown:
                print(f"one-time password: {password}")
        elif args.action in ("disable", "enable"):
            users.set_disabled(args.name, args.action == "disable")
            print(f"user {args.name} {args.action}d")
        elif args.action == "token" and args.name == "list":
            print_tokens(users.tokens())
        elif args.action == "token" and args.name == "revoke":
            if not args.which:
                print("coc-intake users token revoke: the token's id (see `users token list`) or name is needed",
                      file=sys.stderr)
                return EXIT_USAGE
            for t in users.revoke_token(args.which):
                print(f"API token #{t.id} {t.name} revoked")
        elif args.action == "token":
            token = users.add_token(args.name, expires_days=args.expires_days)
            print(f"API token {args.name.strip()} valid for {args.expires_days} days; it is shown only now:",
                  file=sys.stderr)
            print(token)
        return EXIT_OK
    except UserError as exc:
        print(f"coc-intake users {args.action}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        store.dispose()


def print_tokens(tokens: Sequence[Any], prefix: str = "") -> None:
    """One line per API token: id, name, state, expiry and last use (never the token itself)."""

    def day(d: Any) -> str:
        return d.strftime("%Y-%m-%d %H:%M UTC") if d else "never"

    for t in tokens:
        print(f"{prefix}#{t.id}\t{t.name}\t{t.state}\texpires {day(t.expires_at)}\tlast used {day(t.last_used_at)}")
