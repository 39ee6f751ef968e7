"""Decompression bombs in PDF streams, found before any PDF library decodes one.

pdfminer (under pdfplumber) decodes a stream's whole filter chain in memory (`zlib.decompress`,
`lzwdecode`, `rldecode`), and pdfium has no limit of its own, so a 1 MB file can become gigabytes.
A Flate stream hidden behind ASCIIHex or ASCII85 (`/Filter [/AHx /Fl]`) does not start with a zlib
header, and a Flate stream may hold another Flate stream, so looking at the raw bytes alone is not
enough: every stream is run here through the filters its dictionary names, streamed in chunks with
bounded output, and the bytes every filter puts out are added up. Nothing decoded is kept.

The bytes are scanned for every `stream` keyword, and each `/Filter` entry written before it back
to the previous object is tried (and Flate on its own when the raw bytes have a zlib header), so a
stream a broken or lying cross-reference table hides from a library is still seen, and a decoy
`/Filter` in a nested dictionary does not hide the real chain. A stream with no `/Filter` found so
(a string such as `(endobj)` can cut the guess short) is read again through pypdf, whose parse of
its dictionary is exact (as pdfminer's).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import io
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

__all__ = ["stream_over"]

_CHUNK = 64 * 1024  # raw bytes fed in at a time
_OUT = 4 * _CHUNK  # most a decoder puts out at a time (two may be alive: keep it small)
_DICT_WINDOW = 64 * 1024  # how far before `stream` its dictionary may start
_A85_POWERS = np.array([85**4, 85**3, 85**2, 85, 1], dtype=np.uint64)
_FILTER_RE = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[^\s/\[\]<>()%]+|\d+\s+\d+\s+R)")
_NAME_RE = re.compile(rb"/([^\s/\[\]<>()%]+)")
_ESCAPE_RE = re.compile(rb"#([0-9A-Fa-f]{2})")
_NOT_HEX = re.compile(rb"[^0-9A-Fa-f]")
_NOT_A85 = re.compile(rb"[^!-uz]")

Chunks = Iterator[bytes]


class _Over(Exception):
    """The decoded bytes passed the bound."""


def _inflate(src: Iterable[bytes]) -> Chunks:
    inflater = zlib.decompressobj()
    try:
        for chunk in src:
            pending = chunk
            while pending and not inflater.eof:
                out = inflater.decompress(pending, _OUT)
                if out:
                    yield out
                pending = inflater.unconsumed_tail
            while not inflater.eof and (out := inflater.decompress(b"", _OUT)):
                yield out  # output still held back after the last input byte
            if inflater.eof:
                return
    except zlib.error:
        return  # damaged: pdfminer stops where the damage starts too


def _unhex(src: Iterable[bytes]) -> Chunks:
    odd = b""
    for chunk in src:
        end = chunk.find(b">")
        digits = odd + _NOT_HEX.sub(b"", chunk if end < 0 else chunk[:end])
        even = len(digits) // 2 * 2
        odd = digits[even:]
        yield binascii.unhexlify(digits[:even])
        if end >= 0:
            break
    if odd:
        yield binascii.unhexlify(odd + b"0")


def _una85(src: Iterable[bytes]) -> Chunks:
    rest, first = b"", True
    for piece in src:
        chunk = piece
        if first:
            chunk, first = piece.lstrip(), False
            chunk = chunk[2:] if chunk.startswith(b"<~") else chunk
        end = chunk.find(b"~>")
        text = rest + _NOT_A85.sub(b"", chunk if end < 0 else chunk[:end]).replace(b"z", b"!!!!!")
        cut = len(text) // 5 * 5
        rest = text[cut:]
        for at in range(0, cut, _OUT):
            yield _a85_groups(text[at : min(at + _OUT, cut)])
        if end >= 0:
            break
    if rest:
        yield base64.a85decode(rest)


def _a85_groups(text: bytes) -> bytes:
    """`base64.a85decode` of whole 5-digit groups of `!`..`u` (what `_una85` hands it), in numpy:
    the same bytes and the same ValueError on a group past 2**32 - 1, without a Python loop a digit
    (a85decode was a quarter of the bomb check's time on a form PDF)."""
    digits = np.frombuffer(text, dtype=np.uint8).reshape(-1, 5).astype(np.uint64) - 33
    values = digits @ _A85_POWERS
    if values.size and int(values.max()) > 0xFFFFFFFF:
        raise ValueError("Ascii85 overflow")
    return values.astype(">u4").tobytes()


def _streams(data: bytes) -> Iterator[tuple[int, int]]:
    """(start of each `stream` keyword, start of its data): every `stream` not part of `endstream`
    and followed by an end of line, as the pattern `(?<!end)stream\\r?\\n` finds them, by
    `bytes.find` (the pattern's look-behind made a search cost more than a stream's decoding)."""
    at = data.find(b"stream")
    while at >= 0:
        after = at + 6
        eol = 2 if data[after : after + 2] == b"\r\n" else 1 if data[after : after + 1] == b"\n" else 0
        if eol and data[max(0, at - 3) : at] != b"end":
            yield at, after + eol
        at = data.find(b"stream", at + 1)


def _unrunlength(src: Iterable[bytes]) -> Chunks:
    out, pending = bytearray(), b""
    for chunk in src:
        data, i = pending + chunk, 0
        while i < len(data):
            length = data[i]
            if length == 128:  # end of data
                yield bytes(out)
                return
            if length < 128:
                if i + length + 2 > len(data):
                    break
                out += data[i + 1 : i + length + 2]
                i += length + 2
            else:
                if i + 2 > len(data):
                    break
                out += data[i + 1 : i + 2] * (257 - length)
                i += 2
            if len(out) >= _OUT:
                yield bytes(out)
                out.clear()
        pending = data[i:]
    yield bytes(out)


def _unlzw(src: Iterable[bytes]) -> Chunks:
    from pdfminer.lzw import LZWDecoder  # noqa: PLC0415  (rare filter: pdfminer loads only for it) yields what each code stands for, so the count stops early

    yield from LZWDecoder(io.BytesIO(b"".join(src))).run()


_DECODERS: dict[str, Callable[[Iterable[bytes]], Chunks]] = {
    "FlateDecode": _inflate, "Fl": _inflate,
    "ASCIIHexDecode": _unhex, "AHx": _unhex,
    "ASCII85Decode": _una85, "A85": _una85,
    "RunLengthDecode": _unrunlength, "RL": _unrunlength,
    "LZWDecode": _unlzw, "LZW": _unlzw,
}


def _decodes_past(raw: Chunks, chain: tuple[str, ...], most: int) -> bool:
    """True when the filters of `chain`, one after the other, put out more than `most` bytes in all.

    Image codecs (DCT, CCITT, JBIG2, JPX) end the chain: their output is bounded by the pixel limits.
    """
    total = 0

    def counted(src: Chunks) -> Chunks:
        nonlocal total
        for piece in src:
            total += len(piece)
            if total > most:
                raise _Over
            yield piece

    stream = raw
    for name in chain:
        decoder = _DECODERS.get(name)
        if decoder is None:
            break
        stream = counted(decoder(stream))
    try:
        for _ in stream:
            pass
    except _Over:
        return True
    except (ValueError, EOFError, zlib.error):  # binascii.Error is a ValueError
        return False  # damaged further on: decoding stops there for the readers too
    return False


def _names(text: bytes) -> tuple[str, ...]:
    return tuple(n.decode("latin-1") for n in _NAME_RE.findall(text))


def _chains(data: bytes, stream_at: int, body: bytes) -> tuple[set[tuple[str, ...]], bool]:
    """Every filter chain the bytes before `stream_at` (back to the object before) may name, and
    Flate for a zlib header; and whether any `/Filter` was written there at all."""
    low = max(0, stream_at - _DICT_WINDOW)
    head = max(data.rfind(b"endobj", low, stream_at), data.rfind(b"endstream", low, stream_at))
    text = data[max(head, low) : stream_at]
    if b"#" in text:  # /Fl#61teDecode is /FlateDecode (most dictionaries have no escape to undo)
        text = _ESCAPE_RE.sub(lambda m: bytes([int(m.group(1), 16)]), text)
    chains: set[tuple[str, ...]] = set()
    for written in _FILTER_RE.findall(text):
        value = written
        if written.endswith(b"R"):  # /Filter 7 0 R: the array or name is another object
            number, generation = written.split()[:2]
            target = re.search(rb"(?<!\d)%s\s+%s\s+obj(.*?)endobj" % (number, generation), data, re.S)
            value = target.group(1) if target else b""
        chains.add(_names(value))
    found = bool(chains)
    if len(body) >= 2 and body[0] & 0x0F == 8 and not ((body[0] << 8) | body[1]) % 31:
        chains.add(("FlateDecode",))
    return chains, found


def stream_over(data: bytes, most: int, reader: Any = None) -> bool:
    """True when some stream's filter chain decodes to more than `most` bytes (all filters counted).

    A stream with no `/Filter` in the bytes before it (none, or a string such as `(endobj)` that
    cut the dictionary short) is read again from `reader` (pypdf), its dictionary parsed exactly.
    """
    pos, unsure = 0, []
    for keyword, start in _streams(data):
        if keyword < pos:
            continue  # inside the stream before (the search goes on after its `endstream`)
        end = data.find(b"endstream", start)
        end = len(data) if end < 0 else end
        pos = max(end, start + 1)
        chains, found = _chains(data, keyword, data[start : start + 2])
        if not found:
            unsure.append(keyword)
        for chain in chains:
            raw = (data[at : min(at + _CHUNK, end)] for at in range(start, end, _CHUNK))
            if _decodes_past(raw, chain, most):
                return True
    return bool(unsure) and reader is not None and _declared_over(reader, unsure, most)


def _declared_over(reader: Any, unsure: list[int], most: int) -> bool:
    """The objects (by cross-reference offset) holding the `unsure` streams, parsed by pypdf, and
    their `/Filter` chains applied. Only those: pypdf parses an object in milliseconds, a file in
    hundreds of them."""
    from pypdf.generic import IndirectObject, StreamObject  # noqa: PLC0415  (pypdf loads only for a PDF)

    try:
        starts = sorted((offset, number, generation) for generation, table in reader.xref.items()
                        for number, offset in table.items() if isinstance(offset, int))
    except Exception:  # noqa: BLE001 - no table to go by: the byte scan is all there is
        return False
    offsets = [s[0] for s in starts]
    wanted = {starts[i][1:] for at in unsure if (i := bisect.bisect_right(offsets, at) - 1) >= 0}
    for number, generation in sorted(wanted):
        try:
            obj = reader.get_object(IndirectObject(number, generation, reader))
            if not isinstance(obj, StreamObject):
                continue
            value = obj.get("/Filter")
            value = value.get_object() if value is not None else None
            names = [value] if isinstance(value, str) else list(value or [])
            chain = tuple(str(n.get_object() if hasattr(n, "get_object") else n).lstrip("/") for n in names)
            raw = bytes(obj._data or b"")
        except Exception:  # noqa: BLE001 - an object pypdf cannot read is left to the byte scan
            continue
        if chain and _decodes_past((raw[at : at + _CHUNK] for at in range(0, len(raw), _CHUNK)), chain, most):
            return True
    return False
