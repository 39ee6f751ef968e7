"""Fax folder source: take a received fax (PDF or TIFF) only once it is complete, store it, move it.

Fax servers either write under a temporary name and rename into place, or write in place; both are
handled by ignoring temporary names and waiting until size and mtime have not changed for
``stable_seconds``. The sender's fax number comes from the file name (a configurable regex with a
``sender`` group) or from a sidecar file (``<fax>.txt`` with ``sender=...`` lines, or ``<fax>.json``).
A file is moved to the done folder (or removed, `[fax] done_files = "remove"`, the default: it holds
the full SSN in clear, the store holds it encrypted) only after its submission is committed; a file
whose content was already stored (same hash) is moved without a second submission. Other file types go to the
``rejected`` folder with a log line, so nothing is lost and nothing is retried forever.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from intake.private import make_private_dir
from intake.sources.common import Backoff, OnNew, StoreLike, describe_error, notify
from intake.store import Incoming

SHORTEST_NUMBER = 5  # fewer digits are no fax number (an extension, a page count)

__all__ = ["DEFAULT_SENDER_PATTERN", "FaxDirSource", "normalise_fax_number", "parse_sidecar", "read_regular"]

log = logging.getLogger("intake.sources.faxdir")

DEFAULT_SENDER_PATTERN = r"^fax[_-](?P<number>\+?[0-9][0-9 ().-]{4,30}?)(?:[_-]\d{8}(?:T?\d{4,6})?|\.[A-Za-z]+$)"
"""Matches e.g. ``fax_+12085550142_20261125T101400.tif`` and ``fax_+12085550142.pdf``; HylaFAX
``fax000123.tif`` does not match and falls back to its sidecar. The number is the group named
``number`` (or ``sender``), else the first group. Anchored at both ends of the number, so no digits
elsewhere in a name (a counter, a date, a copy's ``-1``) are taken for the sender. The one
definition: `[fax] sender_pattern` defaults to it (config/default.toml holds the same text)."""

FAX_EXTENSIONS = (".pdf", ".tif", ".tiff")
TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial")
SIDECAR_EXTENSIONS = (".txt", ".json")
_SIDECAR_KEYS = ("sender", "from", "fax", "callerid", "caller_id", "cidnumber", "cid", "tsi", "remote")


def normalise_fax_number(text: str) -> str | None:
    """``+1 (208) 555-0142`` -> ``+12085550142``; None when there are too few digits to be a number."""
    text = text.strip()
    digits = re.sub(r"\D", "", text)
    if len(digits) < SHORTEST_NUMBER:
        return None
    return ("+" if text.startswith("+") else "") + digits


def parse_sidecar(data: bytes, name: str) -> str | None:  # noqa: C901  (the sidecar formats fax servers write (JSON, key=value, key: value))
    """The sender's fax number from a sidecar: JSON object or ``key=value`` / ``key: value`` lines."""
    text = data.decode("utf-8", "replace")
    if name.lower().endswith(".json"):
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            lowered = {str(k).lower(): v for k, v in obj.items()}
            for key in _SIDECAR_KEYS:
                value = lowered.get(key)
                if isinstance(value, str | int):
                    number = normalise_fax_number(str(value))
                    if number:
                        return number
            return None
    values: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_ -]*?)\s*[=:]\s*(.*?)\s*$", line)
        if m:
            values.setdefault(m.group(1).lower().replace(" ", "_").replace("-", "_"), m.group(2))
    for key in _SIDECAR_KEYS:
        if key in values:
            number = normalise_fax_number(values[key])
            if number:
                return number
    return None


def read_regular(path: Path) -> tuple[bytes, os.stat_result]:
    """The bytes and status of a regular file, never through a symbolic link.

    Whoever can write the inbox could otherwise link any file the gateway can read (a key file, a
    database) as a fax or as a sidecar whose number becomes the reply target. O_NOFOLLOW refuses a
    link as the last component (ELOOP), O_NONBLOCK keeps a FIFO from blocking the open, and the
    status comes from the descriptor read, so a file swapped after the check is not read either.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with open(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{path.name} is not a regular file")
        return fh.read(), st


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _dotted(ext: str) -> str:
    ext = ext.strip().lower()
    return ext if ext.startswith(".") else f".{ext}"


@dataclass
class _Seen:
    signature: tuple[int, int, int]  # size, mtime_ns, inode
    since: float  # monotonic time this signature was first seen


class FaxDirSource:
    """Watch the fax inbox folder (polling) and store each complete fax file exactly once."""

    def __init__(  # noqa: PLR0913  (the folder source's settings, each named at the call)
        self,
        store: StoreLike,
        *,
        inbox: Path | str,
        done: Path | str,
        rejected: Path | str | None = None,
        sender_pattern: str = DEFAULT_SENDER_PATTERN,
        sidecar_extensions: Iterable[str] = SIDECAR_EXTENSIONS,
        extensions: Iterable[str] = FAX_EXTENSIONS,
        ignore_suffixes: Iterable[str] = TEMPORARY_SUFFIXES,
        stable_seconds: float = 5.0,
        sidecar_grace_seconds: float = 30.0,
        empty_grace_seconds: float = 60.0,
        poll_seconds: float = 2.0,
        on_new: OnNew | None = None,
        clock: Callable[[], float] = time.monotonic,
        done_files: str = "keep",
    ) -> None:
        """`done_files`: "keep" moves a stored fax to `done`; "remove" deletes it once its submission
        is committed (the store holds it, encrypted; the file holds the full SSN in clear)."""
        if done_files not in ("keep", "remove"):
            raise ValueError(f"done_files must be 'keep' or 'remove', not {done_files!r}")
        self.done_files = done_files
        self.store = store
        self.inbox = Path(inbox)
        self.done = Path(done)
        self.rejected = Path(rejected) if rejected is not None else self.inbox / "rejected"
        self.sender_re = re.compile(sender_pattern) if sender_pattern else None
        self.sidecar_extensions = tuple(_dotted(e) for e in sidecar_extensions if e)
        self.extensions = tuple(_dotted(e) for e in extensions if e)
        self.ignore_suffixes = tuple(e.lower() for e in ignore_suffixes if e)
        self.stable_seconds = stable_seconds
        self.sidecar_grace_seconds = sidecar_grace_seconds
        self.empty_grace_seconds = empty_grace_seconds
        self.poll_seconds = poll_seconds
        self.on_new = on_new
        self._clock = clock
        self._seen: dict[str, _Seen] = {}
        self._skipped: set[str] = set()  # names of links and other non-files already logged
        self._lock = threading.Lock()  # one scan at a time

    @classmethod
    def from_settings(cls, fax: Any, paths: Any, store: StoreLike, on_new: OnNew | None = None) -> FaxDirSource:
        """Build from the ``[fax]`` and ``[paths]`` settings sections (attribute access)."""
        kwargs: dict[str, Any] = {}
        for name in ("sender_pattern", "stable_seconds", "poll_seconds", "extensions", "ignore_suffixes",
                     "done_files"):
            if getattr(fax, name, None) is not None:
                kwargs[name] = getattr(fax, name)
        ext = getattr(fax, "sidecar_extension", None)
        if ext is not None:
            kwargs["sidecar_extensions"] = [ext] if ext else []
        return cls(store, inbox=paths.fax_inbox, done=paths.fax_done, on_new=on_new, **kwargs)

    def _is_temporary(self, name: str) -> bool:
        """Names fax servers (and editors) use while a file is still being written."""
        lower = name.lower()
        return name.startswith((".", "~")) or lower.endswith(self.ignore_suffixes) or lower.endswith("~")

    # ------------------------------------------------------------------ scanning

    def _stable(self, path: Path, st: os.stat_result, now: float) -> bool:
        """True once (size, mtime, inode) has stayed the same for ``stable_seconds``."""
        sig = (st.st_size, st.st_mtime_ns, st.st_ino)
        seen = self._seen.get(path.name)
        if seen is None or seen.signature != sig:
            self._seen[path.name] = _Seen(sig, now)
            return self.stable_seconds <= 0 and st.st_size > 0
        wait = self.stable_seconds if st.st_size > 0 else max(self.stable_seconds, self.empty_grace_seconds)
        return now - seen.since >= wait

    def _sidecar_for(self, path: Path) -> Path | None:
        for ext in self.sidecar_extensions:
            for candidate in (path.with_name(path.name + ext), path.with_suffix(ext)):
                if _is_regular(candidate):
                    return candidate
                if candidate.is_symlink() and candidate.name not in self._skipped:
                    self._skipped.add(candidate.name)
                    log.warning("fax: sidecar %s is a symbolic link; not read", candidate.name)
        return None

    def _is_sidecar(self, path: Path) -> bool:
        """A sidecar is ``<fax file><ext>`` or ``<stem><ext>`` next to a fax file (present or not yet)."""
        return path.suffix.lower() in self.sidecar_extensions

    def _sender_from_name(self, name: str) -> str | None:
        if self.sender_re is None:
            return None
        m = self.sender_re.search(name)
        if not m:
            return None
        groups = m.groupdict()
        raw = groups.get("number") or groups.get("sender") or (m.group(1) if m.groups() else m.group(0))
        return normalise_fax_number(raw) if raw else None

    def scan_once(self) -> list[int]:
        """One pass over the inbox; returns the ids of submissions created by it.

        A storage failure propagates (the file stays in the inbox for the next scan).
        """
        with self._lock:
            return self._scan()

    def _scan(self) -> list[int]:  # noqa: C901, PLR0912  (the scan's steps: list, wait for stable size, pair sidecars, take)
        make_private_dir(self.inbox)
        now = self._clock()
        created: list[int] = []
        present: set[str] = set()
        try:
            entries = sorted(os.scandir(self.inbox), key=lambda e: e.name)
        except OSError as exc:
            log.error("fax: cannot list %s: %s", self.inbox, describe_error(exc))
            return created
        for entry in entries:
            if not entry.is_file(follow_symlinks=False):
                if not entry.is_dir(follow_symlinks=False) and entry.name not in self._skipped:
                    self._skipped.add(entry.name)  # a link (or FIFO...) is never followed: said once
                    log.warning("fax: %s is not a regular file (a symbolic link?); left alone", entry.name)
                continue
            if self._is_temporary(entry.name):
                continue
            present.add(entry.name)
            path = Path(entry.path)
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # renamed or removed meanwhile
            if not self._stable(path, st, now):
                continue
            suffix = path.suffix.lower()
            if suffix in self.extensions:
                sid = self._take(path, now)
                if sid is not None:
                    created.append(sid)
            elif self._is_sidecar(path):
                self._maybe_orphan(path, now)
            else:
                log.warning("fax: %s is not a PDF or TIFF; moved to %s", path.name, self.rejected)
                self._move(path, self.rejected)
                self._seen.pop(path.name, None)
        for name in list(self._seen):
            if name not in present:
                del self._seen[name]
        return created

    def _maybe_orphan(self, sidecar: Path, now: float) -> None:
        """A sidecar whose fax never arrived is set aside after the grace period, not kept forever."""
        stem = sidecar.with_suffix("")
        candidates = [stem] if stem.suffix.lower() in self.extensions else []
        candidates += [stem.with_suffix(ext) for ext in self.extensions]
        if any(c.exists() for c in candidates):
            return  # its fax file takes it along
        seen = self._seen.get(sidecar.name)
        if seen is not None and now - seen.since >= self.stable_seconds + self.sidecar_grace_seconds:
            log.warning("fax: sidecar %s has no fax file; moved to %s", sidecar.name, self.rejected)
            self._move(sidecar, self.rejected)
            self._seen.pop(sidecar.name, None)

    def _take(self, path: Path, now: float) -> int | None:  # noqa: C901, PLR0912  (one fax file's steps: sidecar, store, move, and each failure's way out)
        """Store one complete fax file and move it (with its sidecar) to done."""
        sender: str | None = None
        sidecar = self._sidecar_for(path)
        if sidecar is not None:  # what the fax server recorded wins over a guess from the name
            try:
                sender = parse_sidecar(read_regular(sidecar)[0], sidecar.name)
            except OSError as exc:
                log.warning("fax: cannot read sidecar %s: %s", sidecar.name, describe_error(exc))
        if sender is None:
            sender = self._sender_from_name(path.name)
        if sender is None and sidecar is None:
            # HylaFAX-style names carry no number; give the sidecar a moment to appear.
            seen = self._seen[path.name]
            if now - seen.since < self.stable_seconds + self.sidecar_grace_seconds:
                return None
        try:
            raw, st = read_regular(path)
        except OSError as exc:
            log.warning("fax: cannot read %s: %s", path.name, describe_error(exc))
            return None
        if (st.st_size, st.st_mtime_ns, st.st_ino) != self._seen[path.name].signature:
            return None  # changed while we read it: not complete after all
        inc = Incoming(
            channel="fax",
            raw=raw,
            sender=sender,
            received_at=datetime.fromtimestamp(st.st_mtime, UTC),
            fax_filename=path.name,
        )
        sid, new = self.store.store_submission(inc)
        log.info(
            "fax: %s -> submission %d%s, sender %s",
            path.name,
            sid,
            "" if new else " (same file already stored)",
            sender or "unknown",
        )
        if self.done_files == "remove":
            # Only after the commit above: the submission holds the bytes from here on.
            path.unlink(missing_ok=True)
            target = self.done / path.name
        else:
            target = self._move(path, self.done)
        if sidecar is not None and sidecar.exists():
            # Keep the pair recognisable in done even when the fax file got a suffix there.
            if sidecar.name.startswith(path.name):
                side_name = target.name + sidecar.name[len(path.name) :]
            else:
                side_name = target.with_suffix(sidecar.suffix).name
            self._move(sidecar, self.done, name=side_name)
            self._seen.pop(sidecar.name, None)
        self._seen.pop(path.name, None)
        if new:
            notify(self.on_new, sid)
            return sid
        return None

    @staticmethod
    def _move(path: Path, folder: Path, name: str | None = None) -> Path:
        """Move into ``folder``; a name already there gets ``-1``, ``-2``... before the extension."""
        make_private_dir(folder)
        target = folder / (name or path.name)
        if target.exists():
            stem, dot, ext = target.name.partition(".")
            n = 1
            while True:
                candidate = folder / (f"{stem}-{n}{dot}{ext}")
                if not candidate.exists():
                    target = candidate
                    break
                n += 1
        os.replace(path, target)
        with contextlib.suppress(OSError):  # a fax server's 0644 file holds the SSN in clear; ours may not
            os.chmod(target, 0o600)
        return target

    # ------------------------------------------------------------------ the loop

    def run(self, stop: threading.Event) -> None:
        """Scan every ``poll_seconds`` until ``stop``; a failing store is retried with back-off."""
        backoff = Backoff(max(self.poll_seconds, 1.0), 300.0)
        while not stop.is_set():
            try:
                self.scan_once()
                backoff.reset()
                stop.wait(self.poll_seconds)
            except Exception as exc:  # noqa: BLE001  (a failed scan is logged and retried with backoff; the source keeps running)
                delay = backoff.next()
                log.warning("fax: scan failed: %s; retrying in %.1fs", describe_error(exc), delay)
                stop.wait(delay)
