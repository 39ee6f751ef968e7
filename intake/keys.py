"""`coc-intake keys new|list|rotate|reencrypt|retire`: the keyring's life, with the gateway running.

Rotation without downtime: the new key is added to the key file first (running gateways see it
within `[encryption] reload_seconds` and seal new data with it; one that meets the new key id
before that reloads the file at once), then every stored value is re-encrypted in short batches,
and only when no value uses the old key any more may it be retired.
"""

from __future__ import annotations

import base64
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from intake.crypto import (
    ENV_KEYS,
    Keyring,
    KeyringError,
    add_key,
    key_file_path,
    new_key,
    new_key_id,
    remove_key,
    use_key,
)
from intake.settings import Settings
from intake.store import Store


def _file_or_fail(settings: Settings, given: str | None) -> Path:
    if given:
        return Path(given).expanduser().absolute()
    path = key_file_path(settings)
    if path is None:
        raise KeyringError("no key file configured: set [encryption] key_file or COC_INTAKE_KEY_FILE, or give --file")
    return path


def _env_keyring(keyring: Keyring, what: str) -> None:
    if keyring.path is None:
        raise KeyringError(f"the keys come from {ENV_KEYS}, which this command cannot change: {what}")


def cmd_new(settings: Settings, *, file: str | None, print_only: bool, out: TextIO, standby: bool = False) -> int:
    """Add a key and make it current (no re-encryption: `rotate` does both), or print one for the env.

    `standby`: add it without making it current, so that copies of the file can reach every machine
    before any of them seals with it (then `keys use ID`)."""
    if print_only:
        print(f"{new_key_id()}:{base64.urlsafe_b64encode(new_key()).decode()}", file=out)
        return 0
    path = _file_or_fail(settings, file)
    kid = add_key(path, make_current=not standby)
    if standby:
        print(f"added key {kid} to {path} (standby: copy the file to every machine, then `keys use {kid}`)",
              file=out)
    else:
        print(f"added key {kid} to {path}; it is now the current key", file=out)
    return 0


def cmd_use(settings: Settings, kid: str, *, file: str | None, out: TextIO) -> int:
    path = _file_or_fail(settings, file)
    use_key(path, kid)
    print(f"key {kid} is now the current key in {path}; `keys reencrypt` seals the stored values with it",
          file=out)
    return 0


def cmd_list(store: Store, *, out: TextIO) -> int:
    """Every key (current marked), where the keyring comes from, and how many stored values each seals."""
    keyring = store.keyring
    assert keyring is not None
    usage = store.key_usage()
    print(f"keyring: {keyring.where}", file=out)
    for kid in keyring.key_ids:
        mark = "*" if kid == keyring.current else " "
        print(f"{mark} {kid:24s} created {keyring.created(kid) or '-':25s} {usage.by_key.get(kid, 0)} value(s)",
              file=out)
    unknown = {k: n for k, n in usage.by_key.items() if k is not None and k not in keyring.key_ids}
    for kid, n in unknown.items():
        print(f"! {kid:24s} NOT IN THE KEYRING           {n} value(s)", file=out)
    clear = usage.by_key.get(None, 0)
    if clear:
        print(f"  (in clear)               {clear} value(s) written before encryption: run `coc-intake keys "
              "reencrypt`", file=out)
    return 1 if unknown else 0


def cmd_reencrypt(store: Store, *, batch: int, out: TextIO, progress: Callable[[str, int], None] | None = None) -> int:
    """Seal every stored value (old keys, clear rows) under the current key; then check none is left."""
    keyring = store.keyring
    assert keyring is not None
    keyring.reload()
    done = store.reencrypt(batch=batch, on_batch=progress)
    for column, n in done.items():
        if n:
            print(f"{column}: {n} value(s) re-encrypted", file=out)
    # A gateway that had not yet seen the new key may have sealed a few values with the old one
    # while the pass ran: a second pass catches them (they are few, and it is cheap when none are).
    usage = store.key_usage()
    left = {k: n for k, n in usage.by_key.items() if k != keyring.current}
    if left:
        store.reencrypt(batch=batch)
        usage = store.key_usage()
        left = {k: n for k, n in usage.by_key.items() if k != keyring.current}
    total = sum(usage.by_key.values())
    if left:
        print(f"still under other keys: {left}; run `coc-intake keys reencrypt` again", file=out)
        return 1
    print(f"all {total} stored value(s) are under key {keyring.current}", file=out)
    if store.sealed_only() is None:
        # Nothing in clear is left: from now on a value in clear is a forgery, refused.
        store.mark_sealed_only("after keys reencrypt")
        print("the database now holds sealed values only: a value in clear is refused from now on", file=out)
    return 0


def cmd_rotate(settings: Settings, store: Store, *, file: str | None, batch: int, out: TextIO,
               wait: float | None = None) -> int:
    """A new current key in the key file, a pause so running gateways pick it up, then `reencrypt`."""
    keyring = store.keyring
    assert keyring is not None
    _env_keyring(keyring, f"add a new key first in {ENV_KEYS} on every machine, then run `keys reencrypt`")
    path = _file_or_fail(settings, file)
    kid = add_key(path)
    print(f"added key {kid} to {path}; it is now the current key", file=out)
    pause = settings.encryption.reload_seconds * 2 if wait is None else wait
    if pause > 0:
        print(f"waiting {pause:g}s for running gateways to read it", file=out, flush=True)
        time.sleep(pause)
    return cmd_reencrypt(store, batch=batch, out=out)


def cmd_retire(settings: Settings, store: Store, kid: str, *, file: str | None, out: TextIO) -> int:
    """Drop an old key from the key file, only when no stored value uses it (counted, not assumed)."""
    keyring = store.keyring
    assert keyring is not None
    _env_keyring(keyring, f"remove it from {ENV_KEYS} yourself once `keys list` shows it unused")
    path = _file_or_fail(settings, file)
    keyring.reload()
    if kid == keyring.current:
        raise KeyringError(f"key {kid!r} is the current key: rotate to a new one first")
    used = store.key_usage().by_key.get(kid, 0)
    if used:
        print(f"key {kid} still seals {used} stored value(s): run `coc-intake keys reencrypt` first", file=out)
        return 1
    remove_key(path, kid)
    print(f"retired key {kid}: removed from {path}", file=out)
    return 0


def main(settings: Settings, action: str, *, kid: str | None = None, file: str | None = None,  # noqa: C901, PLR0911  (one branch per `keys` action)
         print_only: bool = False, batch: int = 50, out: TextIO | None = None, standby: bool = False) -> int:
    """The `keys` sub-command; exit code 0 when done, 1 when something is left to do, 2 on an error."""
    stream = out if out is not None else sys.stdout
    try:
        if action == "new":
            return cmd_new(settings, file=file, print_only=print_only, out=stream, standby=standby)
        if action == "use":
            if not kid:
                raise KeyringError("keys use needs the key id (see `coc-intake keys list`)")
            return cmd_use(settings, kid, file=file, out=stream)
        if file:  # a key file named on the command line wins over the settings for this run
            path = Path(file).expanduser().absolute()
            store = Store(settings.store.url, reference_prefix=settings.replies.reference_prefix,
                          keyring=Keyring.from_file(path, check_seconds=settings.encryption.reload_seconds))
        else:
            store = Store.from_settings(settings)
        try:
            if action == "list":
                return cmd_list(store, out=stream)
            if action == "reencrypt":
                return cmd_reencrypt(store, batch=batch, out=stream)
            if action == "rotate":
                return cmd_rotate(settings, store, file=file, batch=batch, out=stream)
            if action == "retire":
                if not kid:
                    raise KeyringError("keys retire needs the key id (see `coc-intake keys list`)")
                return cmd_retire(settings, store, kid, file=file, out=stream)
            raise KeyringError(f"unknown keys action {action!r}")
        finally:
            store.dispose()
    except KeyringError as exc:
        print(f"coc-intake keys {action}: {exc}", file=sys.stderr)
        return 2
