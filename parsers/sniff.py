"""What an attachment really is, from its bytes first.

Mail clients and fax servers label parts carelessly (`application/octet-stream` for a PDF, a `.xls`
name on a CSV export, `text/plain` on a spreadsheet), so the magic bytes decide; the file name and
then the declared type only break ties the bytes cannot (text flavours, an encrypted Office file).
"""

from __future__ import annotations

import csv
import io
import re
import struct
import zipfile

PDF = "application/pdf"
TIFF = "image/tiff"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
BMP = "image/bmp"
WEBP = "image/webp"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSM = "application/vnd.ms-excel.sheet.macroEnabled.12"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODT = "application/vnd.oasis.opendocument.text"
XLS = "application/vnd.ms-excel"
DOC = "application/msword"
PPT = "application/vnd.ms-powerpoint"
OLE2 = "application/x-ole-storage"
ZIP = "application/zip"
EML = "message/rfc822"
HTML = "text/html"
CSV = "text/csv"
TSV = "text/tab-separated-values"
TEXT = "text/plain"
UNKNOWN = "application/octet-stream"

SPREADSHEET_TYPES = frozenset({XLSX, XLSM, CSV, TSV})

EXTENSIONS: dict[str, str] = {
    "pdf": PDF, "tif": TIFF, "tiff": TIFF, "png": PNG, "jpg": JPEG, "jpeg": JPEG, "gif": GIF,
    "bmp": BMP, "webp": WEBP, "xlsx": XLSX, "xlsm": XLSM, "xls": XLS, "docx": DOCX, "doc": DOC,
    "pptx": PPTX, "ppt": PPT, "ods": ODS, "odt": ODT, "zip": ZIP, "eml": EML, "htm": HTML,
    "html": HTML, "csv": CSV, "tsv": TSV, "tab": TSV, "txt": TEXT, "text": TEXT,
}  # fmt: skip

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_TEXT_TYPES = frozenset({TEXT, CSV, TSV, HTML, EML})
# Header names that open a stored mail message; one of them must appear among the first headers so
# that a text file beginning "Note: ..." is not taken for a message.
_MAIL_HEADERS = frozenset({
    "from", "to", "cc", "subject", "date", "received", "return-path", "message-id", "mime-version",
    "delivered-to", "reply-to", "sender", "content-type", "x-mailer", "dkim-signature",
    "authentication-results", "x-original-to", "in-reply-to", "references",
})  # fmt: skip
_HEADER_RE = re.compile(r"^([!-9;-~]+):(.*)$")
_HTML_RE = re.compile(r"<\s*(!doctype\s+html|html|head|body|meta\s|table|div|p|br)[\s>/]", re.IGNORECASE)


def sniff(data: bytes, filename: str | None, declared: str | None) -> str:  # noqa: PLR0911  (each file type known by its bytes returns at once)
    """The media type of `data`: magic bytes, then the extension, then the declared type.

    Returns `application/octet-stream` when none of them says anything usable. An encrypted OOXML
    file (Excel and Word store those as OLE2 with an `EncryptionInfo` stream) gets the OOXML type
    its name or declared type suggests, a spreadsheet when nothing does; `is_encrypted_ooxml` tells
    the parser to report it as password-protected.
    """
    ext = _extension(filename)
    by_ext = EXTENSIONS.get(ext) if ext else None
    decl = _clean_declared(declared)

    magic = _binary_magic(data)
    if magic == OLE2:
        return _ole_type(data, by_ext, decl)
    if magic == ZIP:
        return _zip_type(data, by_ext, decl)
    if magic is not None:
        return magic

    text = _as_text(data)
    if text is not None:
        return _text_type(text, by_ext, decl)
    if by_ext is not None and by_ext not in _TEXT_TYPES:
        return by_ext
    if decl is not None and decl not in _TEXT_TYPES and decl != UNKNOWN:
        return decl
    return UNKNOWN


def is_encrypted_ooxml(data: bytes) -> bool:
    """True for an OLE2 container holding an encrypted OOXML package (a password-protected .xlsx/.docx)."""
    if not data.startswith(_OLE_MAGIC):
        return False
    names = ole_stream_names(data)
    return "EncryptionInfo" in names and "EncryptedPackage" in names


def ole_stream_names(data: bytes) -> set[str]:
    """The entry names in an OLE2 compound file's directory (empty set if it is not one).

    Reads the header, the FAT and the directory chain; any inconsistency falls back to searching
    for the UTF-16 names we care about, because a damaged file should still be recognised.
    """
    if not data.startswith(_OLE_MAGIC) or len(data) < 512:
        return set()
    try:
        return _ole_directory(data)
    except (struct.error, ValueError, IndexError):
        wanted = ("EncryptionInfo", "EncryptedPackage", "Workbook", "Book", "WordDocument",
                  "PowerPoint Document")  # fmt: skip
        return {n for n in wanted if n.encode("utf-16-le") in data}


def _ole_directory(data: bytes) -> set[str]:  # noqa: C901  (the OLE directory walk with its bounds checks)
    shift = struct.unpack_from("<H", data, 0x1E)[0]
    if shift not in (9, 12):
        raise ValueError("bad sector shift")
    size = 1 << shift
    n_sectors = (len(data) - 512) // size + 1

    def sector(n: int) -> bytes:
        if not 0 <= n < n_sectors:
            raise ValueError("sector out of range")
        return data[(n + 1) * size : (n + 2) * size]

    difat = list(struct.unpack_from("<109I", data, 0x4C))
    nxt, guard = struct.unpack_from("<I", data, 0x44)[0], 0
    while nxt < 0xFFFFFFFA and guard < n_sectors:
        raw = sector(nxt)
        entries = struct.unpack(f"<{size // 4}I", raw)
        difat.extend(entries[:-1])
        nxt, guard = entries[-1], guard + 1
    fat: list[int] = []
    for fs in difat:
        if fs >= 0xFFFFFFFA:
            continue
        fat.extend(struct.unpack(f"<{size // 4}I", sector(fs)))

    names: set[str] = set()
    cur, seen = struct.unpack_from("<I", data, 0x30)[0], set()
    while cur < 0xFFFFFFFA:
        if cur in seen or cur >= len(fat):
            raise ValueError("bad directory chain")
        seen.add(cur)
        raw = sector(cur)
        for off in range(0, len(raw) - 127, 128):
            length = struct.unpack_from("<H", raw, off + 0x40)[0]
            kind = raw[off + 0x42]
            if kind in (1, 2, 5) and 2 <= length <= 64:
                names.add(raw[off : off + length - 2].decode("utf-16-le", "replace"))
        cur = fat[cur]
    return names


def _extension(filename: str | None) -> str | None:
    if not filename or "." not in filename:
        return None
    return filename.rsplit(".", 1)[1].strip().lower() or None


def _clean_declared(declared: str | None) -> str | None:
    if not declared:
        return None
    value = declared.split(";", 1)[0].strip().lower()
    aliases = {"application/x-pdf": PDF, "image/jpg": JPEG, "image/pjpeg": JPEG, "image/x-png": PNG,
               "application/csv": CSV, "text/comma-separated-values": CSV, "application/x-csv": CSV,
               "text/x-csv": CSV, "application/x-zip-compressed": ZIP}  # fmt: skip
    return aliases.get(value, value) or None


def _binary_magic(data: bytes) -> str | None:  # noqa: PLR0911  (one return per magic number)
    head = data[:16]
    if head.startswith(b"%PDF-") or b"%PDF-" in data[:1024]:
        return PDF
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"BM") and len(data) > 26 and struct.unpack_from("<I", data, 2)[0] == len(data):
        return BMP
    if head.startswith(_OLE_MAGIC):
        return OLE2
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return ZIP
    return None


def _ole_type(data: bytes, by_ext: str | None, decl: str | None) -> str:  # noqa: C901, PLR0911  (one return per OLE document kind)
    names = ole_stream_names(data)
    if "EncryptionInfo" in names:
        for guess in (by_ext, decl):
            if guess in (XLSX, XLSM, DOCX, PPTX):
                return guess
            if guess == XLS:
                return XLSX  # Excel names an encrypted workbook .xlsx, but users rename
            if guess == DOC:
                return DOCX
        return XLSX
    if "Workbook" in names or "Book" in names:
        return XLS
    if "WordDocument" in names:
        return DOC
    if "PowerPoint Document" in names:
        return PPT
    for guess in (by_ext, decl):
        if guess in (XLS, DOC, PPT):
            return guess
    return OLE2


def _zip_type(data: bytes, by_ext: str | None, decl: str | None) -> str:  # noqa: PLR0911  (one return per zip document kind)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            mimetype = ""
            if "mimetype" in names and zf.getinfo("mimetype").file_size < 200:
                mimetype = zf.read("mimetype").decode("ascii", "replace")
            content_types = ""
            if "[Content_Types].xml" in names and zf.getinfo("[Content_Types].xml").file_size < 1_000_000:
                content_types = zf.read("[Content_Types].xml").decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - zlib.error, BadZipFile, CRC errors...: any damage means the same
        # A damaged archive: keep what the name says so that the right parser reports the damage.
        for guess in (by_ext, decl):
            if guess in (XLSX, XLSM, DOCX, PPTX, ODS, ODT, ZIP):
                return guess
        return ZIP
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return XLSM if "macroEnabled" in content_types else XLSX
    if "word/document.xml" in names:
        return DOCX
    if "ppt/presentation.xml" in names:
        return PPTX
    if mimetype.strip() in (ODS, ODT):
        return mimetype.strip()
    return ZIP


def _as_text(data: bytes) -> str | None:
    """The bytes as text if they look like text (UTF-8/16 with or without BOM, or a legacy 8-bit set)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data[:8192].decode("utf-16", "replace")
        except UnicodeDecodeError:
            return None
    sample = data[:8192]
    if b"\x00" in sample:
        return None
    if sample.startswith(b"\xef\xbb\xbf"):
        sample = sample[3:]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3:  # a character cut by the sample's end
            text = sample[: exc.start].decode("utf-8")
        else:
            text = sample.decode("cp1252", "replace")
    if not text:
        return "" if not data else None
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
    return text if controls <= len(text) // 100 else None


def _text_type(text: str, by_ext: str | None, decl: str | None) -> str:
    if _looks_like_mail(text):
        return EML
    if text.lstrip("\ufeff \t\r\n")[:1] == "<" and _HTML_RE.search(text[:4096]):
        return HTML
    for guess in (by_ext, decl):
        if guess in (CSV, TSV, HTML, EML):
            return guess
    shape = _table_shape(text)
    if shape is not None:
        return shape
    return TEXT


def _looks_like_mail(text: str) -> bool:
    """RFC 822: the text opens with a block of `Name: value` headers, at least one a mail header."""
    lines = text.lstrip("\r\n").splitlines()
    if lines and lines[0].startswith("From ") and not _HEADER_RE.match(lines[0]):
        lines = lines[1:]  # an mbox separator
    known = 0
    count = 0
    for line in lines[:40]:
        if not line.strip():
            break
        if line[0] in " \t" and count:
            continue
        m = _HEADER_RE.match(line)
        if not m:
            return False
        count += 1
        known += m.group(1).lower() in _MAIL_HEADERS
    return count >= 2 and known >= 2


def _table_shape(text: str) -> str | None:
    """CSV/TSV by shape: two or more rows splitting into the same number (>= 3) of fields.

    Up to two leading title lines may differ, as in an export with a report title above the table.
    """
    lines = [ln for ln in text.splitlines()[:30] if ln.strip()]
    if len(text) >= 8192:
        lines = lines[:-1]  # the sample may cut the last line
    for delim in (",", ";", "\t", "|"):
        try:
            widths = [len(r) for r in csv.reader(lines, delimiter=delim)]
        except csv.Error:
            continue
        for skip in range(3):
            rest = widths[skip:]
            if len(rest) >= 2 and len(set(rest)) == 1 and rest[0] >= 3:
                return TSV if delim == "\t" else CSV
    return None
