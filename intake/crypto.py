"""Encryption at rest: a keyring of named AES-256-GCM keys and self-describing ciphertexts.

Why this shape:
- The key never lives in the database (a stolen dump must be useless without the key file), so it
  comes from the environment (`COC_INTAKE_KEYS`) or a key file readable by its owner only.
- Several keys, one current: new data is sealed with the current key, every key opens. A rotation
  adds a key, re-encrypts row by row, and only then may the old key be retired.
- Every ciphertext names its format version and key id, so rows under old keys (and rows written in
  clear before encryption existed) are told apart without a schema change or a migration.
- Associated data binds a ciphertext to its column and row, so a ciphertext copied into another
  column or row fails to open instead of showing someone else's data.

Binary format: MAGIC (NUL "coc" 0x01) | key-id length (1 byte) | key id (ASCII) | 96-bit random
nonce | AES-GCM ciphertext with its 16-byte tag. In text columns it is `$coc1$` + base64url; in JSON
columns the object `{"$coc1": base64url}`.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import secrets
import stat
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from intake.private import make_private_dir

if TYPE_CHECKING:
    from intake.settings import Settings

log = logging.getLogger("intake.crypto")

MAGIC = b"\x00coc\x01"
TEXT_PREFIX = "$coc1$"
JSON_KEY = "$coc1"
NONCE_BYTES = 12
KEY_BYTES = 32
ENV_KEYS = "COC_INTAKE_KEYS"
ENV_KEY_FILE = "COC_INTAKE_KEY_FILE"
DEFAULT_KEY_FILE = "keys.json"  # under [paths] var, for the embedded SQLite default
_KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class KeyringError(Exception):
    """A keyring problem an operator must fix: the message says what and where (never a key)."""


class DecryptError(KeyringError):
    """A ciphertext did not open: wrong key, wrong row or column, or tampered with."""


def new_key_id(now: datetime | None = None) -> str:
    """`k20261125-3fa9c1`: the day it was made (handy in `keys list`) and a random suffix."""
    now = now or datetime.now(UTC)
    return f"k{now:%Y%m%d}-{secrets.token_hex(3)}"


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text.strip().encode("ascii") + b"=" * (-len(text.strip()) % 4))
    except (ValueError, UnicodeEncodeError):
        raise KeyringError(f"{what}: not base64") from None


def key_id_of(blob: bytes) -> str | None:
    """The key id a binary ciphertext names, or None for plaintext (a row from before encryption)."""
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 1:
        return None
    n = blob[len(MAGIC)]
    return blob[len(MAGIC) + 1 : len(MAGIC) + 1 + n].decode("ascii", "replace")


def is_sealed_text(value: str | None) -> bool:
    return bool(value) and str(value).startswith(TEXT_PREFIX)


def is_sealed_json(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {JSON_KEY} and isinstance(value[JSON_KEY], str)


def sealed_key_id(value: Any) -> str | None:
    """Key id of a value as stored in any column (bytes, text or JSON); None when in clear."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return key_id_of(bytes(value))
    if isinstance(value, str):
        return key_id_of(_unb64(value[len(TEXT_PREFIX):], "ciphertext")) if is_sealed_text(value) else None
    if is_sealed_json(value):
        return key_id_of(_unb64(value[JSON_KEY], "ciphertext"))
    return None


@dataclass(frozen=True)
class _State:
    keys: dict[str, bytes]  # insertion order: as in the file
    current: str
    created: dict[str, str] = field(default_factory=dict)
    stamp: tuple[int, ...] | None = None  # `_stamp` of the file it came from


class Keyring:
    """Named keys, one current; loaded from a key file (reloaded when it changes) or given directly.

    Thread-safe. A process that meets a key id it does not know reloads the file once before giving
    up, and looks at the file's stamp at most every `check_seconds` before encrypting, so a
    `coc-intake keys rotate` run from another process is followed without a restart.
    """

    def __init__(
        self,
        keys: Mapping[str, bytes],
        current: str,
        *,
        path: Path | None = None,
        source: str = "given",
        check_seconds: float = 2.0,
        created: Mapping[str, str] | None = None,
        stamp: tuple[int, ...] | None = None,
    ) -> None:
        self.path = path
        self.source = source
        self.check_seconds = check_seconds
        self._lock = threading.Lock()
        self._ciphers: dict[str, AESGCM] = {}
        self._checked = time.monotonic()
        self._broken = False
        self._state = _State(dict(keys), current, dict(created or {}), stamp)
        _check_state(self._state, self.where)

    # -- loading ---------------------------------------------------------------------------------

    @property
    def where(self) -> str:
        return str(self.path) if self.path is not None else self.source

    @classmethod
    def from_file(cls, path: Path, *, check_seconds: float = 2.0) -> Keyring:
        state = read_key_file(path)
        return cls(state.keys, state.current, path=path, source="file", check_seconds=check_seconds,
                   created=state.created, stamp=state.stamp)

    @classmethod
    def from_env(cls, text: str) -> Keyring:
        """`COC_INTAKE_KEYS="id:base64key,id:base64key"`: the first is current."""
        keys: dict[str, bytes] = {}
        for item in (x.strip() for x in text.split(",")):
            if not item:
                continue
            kid, sep, value = item.partition(":")
            if not sep:
                raise KeyringError(f"{ENV_KEYS}: each key is ID:BASE64 (got an item without ':')")
            keys[kid.strip()] = _unb64(value, f"{ENV_KEYS}: key {kid.strip()!r}")
        if not keys:
            raise KeyringError(f"{ENV_KEYS} is set but holds no key")
        return cls(keys, next(iter(keys)), source=ENV_KEYS)

    def reload(self) -> bool:
        """Read the key file again if it changed; True when something new was loaded."""
        if self.path is None:
            return False
        with self._lock:
            self._checked = time.monotonic()
            try:
                stamp = _stamp(self.path)
            except OSError:
                return False  # a rotation is replacing it this instant; keep what we have
            if stamp == self._state.stamp:
                return False
            state = read_key_file(self.path)
            if state.current != self._state.current:
                log.info("keyring: %s changed, current key now %s", self.path, state.current)
            self._state = state
            # A retired key stops working here too, not only in processes started later.
            self._ciphers = {k: c for k, c in self._ciphers.items() if k in state.keys}
            return True

    def _maybe_reload(self) -> None:
        """The periodic look: a key file broken meanwhile (bad mode, half-edited by hand) is logged
        and the keys already loaded stay in use, so intake does not stop over it."""
        if self.path is None or time.monotonic() - self._checked < self.check_seconds:
            return
        try:
            self.reload()
        except KeyringError as exc:
            if not self._broken:
                log.error("keyring: %s; still using the keys loaded before", exc)
            self._broken = True
        else:
            self._broken = False

    # -- what it holds ---------------------------------------------------------------------------

    @property
    def current(self) -> str:
        self._maybe_reload()
        return self._state.current

    @property
    def key_ids(self) -> list[str]:
        return list(self._state.keys)

    def created(self, kid: str) -> str | None:
        return self._state.created.get(kid)

    def _cipher(self, kid: str) -> AESGCM:
        state = self._state
        key = state.keys.get(kid)
        if key is None:
            # A rotation in another process may have added it: read the file again, once.
            self.reload()
            key = self._state.keys.get(kid)
            if key is None:
                raise KeyringError(f"key {kid!r} is not in the keyring ({self.where}); every machine needs the "
                                   "same keyring (copy the key file or COC_INTAKE_KEYS from where it was made)")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            cipher = self._ciphers[kid] = AESGCM(key)
        return cipher

    # -- sealing ---------------------------------------------------------------------------------

    def encrypt(self, data: bytes, aad: str) -> bytes:
        """Seal `data` under the current key, bound to `aad` (the column and row it belongs in)."""
        kid = self.current
        nonce = os.urandom(NONCE_BYTES)
        head = MAGIC + bytes([len(kid)]) + kid.encode("ascii")
        return head + nonce + self._cipher(kid).encrypt(nonce, data, aad.encode("utf-8"))

    def decrypt(self, blob: bytes, aad: str) -> bytes:
        """Open a sealed value; plaintext (no MAGIC: written before encryption) is returned as is."""
        kid = key_id_of(blob)
        if kid is None:
            return blob
        start = len(MAGIC) + 1 + len(kid.encode("ascii"))
        nonce, body = blob[start : start + NONCE_BYTES], blob[start + NONCE_BYTES :]
        try:
            return self._cipher(kid).decrypt(nonce, body, aad.encode("utf-8"))
        except InvalidTag:
            raise DecryptError(f"a value sealed under key {kid!r} does not open for {aad.split(':', maxsplit=1)[0]} "
                               "(wrong row or column, or altered)") from None

    def encrypt_text(self, text: str | None, aad: str) -> str | None:
        return None if text is None else TEXT_PREFIX + _b64(self.encrypt(text.encode("utf-8"), aad))

    def decrypt_text(self, value: str | None, aad: str) -> str | None:
        if not is_sealed_text(value):
            return value
        assert value is not None
        return self.decrypt(_unb64(value[len(TEXT_PREFIX):], "ciphertext"), aad).decode("utf-8")

    def encrypt_json(self, value: Any, aad: str) -> Any:
        """JSON data as `{"$coc1": ciphertext}` (still JSON, so the column type stays as it is)."""
        if value is None:
            return None
        data = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return {JSON_KEY: _b64(self.encrypt(data, aad))}

    def decrypt_json(self, value: Any, aad: str) -> Any:
        if not is_sealed_json(value):
            return value
        return json.loads(self.decrypt(_unb64(value[JSON_KEY], "ciphertext"), aad))


def decrypt_with(keyring: Keyring | None, blob: bytes, aad: str) -> bytes:
    """Like `Keyring.decrypt`, with a clear error when no keyring was given but the value is sealed."""
    if keyring is None:
        if key_id_of(blob) is not None:
            raise KeyringError("this value is encrypted but the store was opened without a keyring")
        return blob
    return keyring.decrypt(blob, aad)


# -- key files ---------------------------------------------------------------------------------------


def _stamp(path: Path) -> tuple[int, ...]:
    """What tells a changed key file: content (mtime, size), a replacement (inode), a chmod (mode)."""
    st = path.stat()
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_mode)


def _check_state(state: _State, where: str) -> None:
    if not state.keys:
        raise KeyringError(f"{where}: no key")
    for kid, key in state.keys.items():
        if not _KEY_ID.fullmatch(kid):
            raise KeyringError(f"{where}: key id {kid!r} must be 1-64 letters, digits, '.', '_' or '-'")
        if len(key) != KEY_BYTES:
            raise KeyringError(f"{where}: key {kid!r} must be {KEY_BYTES} bytes (AES-256), not {len(key)}")
    if state.current not in state.keys:
        raise KeyringError(f"{where}: the current key {state.current!r} is not among the keys")


def read_key_file(path: Path) -> _State:
    """Read and check a key file; refuses one that the group or others may read or write."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise KeyringError(f"key file {path} does not exist") from None
    except OSError as exc:
        raise KeyringError(f"key file {path}: {exc.strerror}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyringError(f"key file {path} is open to group or others (mode {stat.S_IMODE(st.st_mode):04o}): "
                           f"run `chmod 600 {path}`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["keys"]
        keys = {str(e["id"]): _unb64(str(e["key"]), f"key file {path}") for e in entries}
        created = {str(e["id"]): str(e.get("created") or "") for e in entries}
        current = str(data["current"])
    except (OSError, ValueError, KeyError, TypeError):
        raise KeyringError(f"key file {path} is not a keyring (JSON with 'current' and 'keys')") from None
    state = _State(keys, current, created, (st.st_mtime_ns, st.st_size, st.st_ino, st.st_mode))
    _check_state(state, f"key file {path}")
    return state


def write_key_file(path: Path, keys: Mapping[str, bytes], current: str, created: Mapping[str, str],
                   *, exclusive: bool = False) -> bool:
    """Write a key file with mode 0600, atomically (a reader sees the old or the new file, whole).

    `exclusive`: only if none exists yet (two processes starting at once agree on one key); returns
    False when another process was first.
    """
    _check_state(_State(dict(keys), current), f"key file {path}")
    data = {
        "current": current,
        "keys": [{"id": kid, "key": _b64(key), "created": created.get(kid, "")} for kid, key in keys.items()],
    }
    make_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            return True
        os.replace(tmp, path)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def add_key(path: Path, *, make_current: bool = True) -> str:
    """Add a fresh key to a key file (made when missing); returns its id. Old keys stay for decryption."""
    kid, key = new_key_id(), new_key()
    today = datetime.now(UTC).isoformat(timespec="seconds")
    if not path.exists():
        if not write_key_file(path, {kid: key}, kid, {kid: today}, exclusive=True):
            raise KeyringError(f"key file {path} appeared while it was being made; run the command again")
        return kid
    state = read_key_file(path)
    keys = dict(state.keys) | {kid: key}
    write_key_file(path, keys, kid if make_current else state.current, dict(state.created) | {kid: today})
    return kid


def use_key(path: Path, kid: str) -> None:
    """Make a key already in the file the current one (it was added with `keys new --standby`)."""
    state = read_key_file(path)
    if kid not in state.keys:
        raise KeyringError(f"key {kid!r} is not in {path}")
    write_key_file(path, state.keys, kid, state.created)


def remove_key(path: Path, kid: str) -> None:
    """Drop a key from the file; never the current one (the caller checked no row uses it)."""
    state = read_key_file(path)
    if kid not in state.keys:
        raise KeyringError(f"key {kid!r} is not in {path}")
    if kid == state.current:
        raise KeyringError(f"key {kid!r} is the current key: rotate to a new one first")
    keys = {k: v for k, v in state.keys.items() if k != kid}
    write_key_file(path, keys, state.current, {k: v for k, v in state.created.items() if k != kid})


# -- from the settings ---------------------------------------------------------------------------------


def key_file_path(settings: Settings) -> Path | None:
    """Where the key file is: `COC_INTAKE_KEY_FILE`, else `[encryption] key_file`, else (SQLite only)
    `keys.json` in the var directory. None: PostgreSQL with nothing configured."""
    env = os.environ.get(ENV_KEY_FILE, "").strip()
    if env:
        return Path(env).expanduser().absolute()
    if settings.encryption.key_file is not None:
        return settings.encryption.key_file
    if is_embedded(settings):
        return settings.paths.var / DEFAULT_KEY_FILE
    return None


def is_embedded(settings: Settings) -> bool:
    """The single-machine default (SQLite): a key may be made on first start, next to the database."""
    return settings.store.url.startswith("sqlite")


def keyring_from_settings(settings: Settings) -> Keyring:
    """The keyring the settings and environment name; see `key_file_path`.

    With SQLite a missing key file is generated (mode 0600) and logged; with PostgreSQL (several
    machines share the database, so all need the same keys) a missing key is an error that says what
    to configure.
    """
    env = os.environ.get(ENV_KEYS, "").strip()
    check = settings.encryption.reload_seconds
    if env:
        return Keyring.from_env(env)
    path = key_file_path(settings)
    if path is None:
        raise KeyringError(
            "no encryption key configured: with PostgreSQL every machine needs the same keyring. Make one "
            "with `coc-intake keys new --file /etc/coc-intake/keys.json`, copy it (mode 0600) to each machine, "
            f"and set [encryption] key_file (or {ENV_KEY_FILE}), or give the keys in {ENV_KEYS}"
        )
    if not path.exists():
        if not is_embedded(settings):
            raise KeyringError(
                f"key file {path} does not exist: with PostgreSQL every machine needs the same keyring; make it "
                f"once with `coc-intake keys new --file {path}` and copy it to each machine (mode 0600)"
            )
        kid, key = new_key_id(), new_key()
        made = write_key_file(path, {kid: key}, kid,
                              {kid: datetime.now(UTC).isoformat(timespec="seconds")}, exclusive=True)
        if made:
            log.warning("keyring: generated a new encryption key file %s (mode 0600, key %s); back it up apart "
                        "from the database: without it the stored submissions cannot be read", path, kid)
    return Keyring.from_file(path, check_seconds=check)
