"""`coc-intake run`, `worker` and `serve`: the long-running commands.

Each loads the settings and the encryption keyring before serving anything, so a missing key is
an error at start; `run --demo` turns the sender check off only where no reply can leave the machine.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from intake.cli_codes import EXIT_USAGE


def cmd_run(args: argparse.Namespace) -> int:
    from intake import logs
    from intake.private import private_umask

    private_umask()  # the database, its WAL, sent mail and fax PDFs: 0600 whatever the shell's umask
    from intake.daemon import run
    from intake.settings import load_settings

    settings = load_settings(args.config)
    logs.setup(settings.logging.level, settings.logging.file, settings.logging.format)
    if args.demo:
        refused = demo_refused(settings)
        if refused:
            print(f"coc-intake run --demo: {refused}; --demo is for trying the gateway on this machine only",
                  file=sys.stderr)
            return EXIT_USAGE
        settings.trust.flag_unverified = False
        logging.getLogger("intake.cli").warning(
            "demo: unverified senders are answered (the replies stay in %s); never use --demo for real mail",
            settings.mail_sent)
    if settings.web.enabled and settings.web.proxy_problem():
        print(f"coc-intake run: {settings.web.proxy_problem()}", file=sys.stderr)
        return EXIT_USAGE
    if not keyring_ready(settings, "run"):
        return EXIT_USAGE
    return run(settings)


def demo_refused(settings: Any) -> str:
    """Why `run --demo` may not answer unverified senders here ("" when it may).

    The sender check exists because a reply carries personal data to whatever address a forged mail
    names. The demo turns it off only where no reply can leave the machine and no outside mail comes
    in: no relay (replies are .eml files), no IMAP mailbox, the SMTP listener on a loopback address.
    """
    import ipaddress

    if settings.relay.host:
        return "a relay is configured ([relay] host), so replies would leave this machine"
    if settings.imap.enabled:
        return "an IMAP mailbox is configured ([imap] enabled), so outside mail comes in"
    listener = settings.smtp_listener
    if listener.enabled:
        host = listener.host.strip("[]")
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            return f"the SMTP listener is on {listener.host}, not a loopback address"
    if settings.workers.dispatch != "inprocess":
        return "jobs are dispatched to workers ([workers] dispatch), which would not run as a demo"
    return ""


def keyring_ready(settings: Any, command: str) -> bool:
    """Load the encryption keyring before serving anything: a missing key is an error at start,
    saying what to configure, not a failure at the first message (SQLite: made on first start)."""
    from intake.crypto import KeyringError, keyring_from_settings

    try:
        keyring_from_settings(settings)
    except KeyringError as exc:
        print(f"coc-intake {command}: {exc}", file=sys.stderr)
        return False
    return True


def cmd_worker(args: argparse.Namespace) -> int:
    """`coc-intake worker`: run procrastinate jobs (several workers, several machines; see intake.worker)."""
    from pydantic import ValidationError

    from intake import logs
    from intake.private import private_umask
    from intake.settings import load_settings
    from intake.worker import ConfigurationError, run_worker

    private_umask()
    try:
        settings = load_settings(args.config)
        logs.setup(settings.logging.level, settings.logging.file, settings.logging.format)
        if settings.workers.dispatch == "procrastinate" and not keyring_ready(settings, "worker"):
            return EXIT_USAGE
        return run_worker(settings, name=args.name)
    except (ConfigurationError, ValidationError) as exc:
        print(f"coc-intake worker: {exc}", file=sys.stderr)
        return 2


def cmd_serve(args: argparse.Namespace) -> int:
    from intake import logs
    from intake.private import private_umask

    private_umask()
    from intake.settings import load_settings
    from intake.web.server import serve

    settings = load_settings(args.config)
    if args.host:
        settings.web.host = args.host
    if args.port:
        settings.web.port = args.port
    logs.setup(settings.logging.level, settings.logging.file, settings.logging.format)
    if settings.web.proxy_problem():
        print(f"coc-intake serve: {settings.web.proxy_problem()}", file=sys.stderr)
        return EXIT_USAGE
    if not keyring_ready(settings, "serve"):
        return EXIT_USAGE
    return serve(settings)
