"""File formats of the corpus stage: legacy-encoded text, HWPX, PDF and JSONL.

Every reader returns text or raises `Unreadable` with a short reason meant for the
quarantine list. Input is untrusted: archives are checked before anything is decompressed,
XML goes through defusedxml only, and no other exception type escapes for bad input.
"""

from __future__ import annotations

import json
import posixpath
import re
import struct
import zipfile
import zlib
from collections import Counter
from pathlib import Path
from typing import Iterator

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from xml.etree.ElementTree import Element, ParseError


class Unreadable(Exception):
    """A file (or one line of it) cannot be turned into text; the message says why."""


# ---------------------------------------------------------------- plain text

_BOMS = (  # UTF-32 before UTF-16: FF FE 00 00 also starts with the UTF-16-LE BOM.
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
# A legacy decode is only believed when the text looks Korean: CP949 maps most byte pairs
# to something, so Chinese GBK or Shift-JIS bytes also "decode" -- into Hanja and Hangul
# soup. Hanja is left out on purpose; it is what mis-decoded CJK text turns into.
_KOREAN_SHARE = 0.9
_KOREAN_RANGES = (
    (0x0021, 0x007E),  # ASCII (digits and punctuation included)
    (0x00B7, 0x00B7),  # middle dot
    (0x2000, 0x206F),  # general punctuation: quotes, ‥, ※
    (0x2190, 0x21FF),  # arrows
    (0x2460, 0x24FF),  # circled numbers ①
    (0x25A0, 0x25FF),  # geometric shapes □ ○ ●
    (0x3000, 0x303F),  # CJK punctuation 「」
    (0x3130, 0x318F),  # Hangul compatibility jamo
    (0x3200, 0x32FF),  # enclosed CJK ㈜
    (0xAC00, 0xD7A3),  # Hangul syllables
    (0xFF01, 0xFFEF),  # fullwidth forms
)


def _korean_share(counts: Counter) -> float:
    """Share of non-space characters that are Hangul, ASCII or common punctuation."""
    total = sum(n for c, n in counts.items() if not c.isspace())
    good = sum(n for c, n in counts.items()
               if any(lo <= ord(c) <= hi for lo, hi in _KOREAN_RANGES))
    return good / total if total else 1.0


def _rare_hangul_share(counts: Counter) -> float:
    """Share of Hangul syllables outside EUC-KR's 2,350. Real text hardly uses them ('똠',
    '햏'); Shift-JIS or Big5 bytes read as CP949 turn into almost nothing else."""
    hangul = {c: n for c, n in counts.items() if "\uac00" <= c <= "\ud7a3"}
    rare = sum(n for c, n in hangul.items() if not _in_euc_kr(c))
    return rare / sum(hangul.values()) if hangul else 0.0


def _in_euc_kr(char: str) -> bool:
    # Python's euc_kr encodes every syllable, the rare ones as 8-byte jamo make-up
    # sequences (KS X 1001 annex 3); only a 2-byte code is one of the 2,350.
    try:
        return len(char.encode("euc_kr")) == 2
    except UnicodeEncodeError:
        return False


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode bytes as BOM-marked Unicode, UTF-8, or Korean CP949/EUC-KR.

    Returns (text, encoding) with CRLF turned into LF (no Unicode normalisation). The
    encoding is "euc-kr" when the bytes are plain EUC-KR and "cp949" when they need its
    extensions (e.g. '똠'). Raises Unreadable for empty input, NUL bytes, or bytes that are
    none of these (or decode as CP949 into something that is not Korean text)."""
    if not data:
        raise Unreadable("empty file")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(encoding.removesuffix("-sig"))
            except UnicodeDecodeError as exc:
                raise Unreadable(
                    f"{encoding} byte-order mark but invalid {encoding} "
                    f"(first bad byte at {exc.start + len(bom)})") from None
            return _clean_text(text), encoding
    try:
        return _clean_text(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc.start
    try:
        text = data.decode("cp949")
    except UnicodeDecodeError:
        raise Unreadable(
            f"not valid UTF-8, CP949 or EUC-KR (first bad byte at {utf8_error})") from None
    counts = Counter(text)
    share = _korean_share(counts)
    if share < _KOREAN_SHARE:
        raise Unreadable(
            f"not valid UTF-8 (first bad byte at {utf8_error}); it decodes as CP949 but only "
            f"{share:.0%} of it is Hangul/ASCII, so the encoding is unknown")
    try:
        data.decode("euc_kr")
        return _clean_text(text), "euc-kr"
    except UnicodeDecodeError:
        pass
    rare = _rare_hangul_share(counts)
    if rare > 0.5:
        raise Unreadable(
            f"not valid UTF-8 (first bad byte at {utf8_error}); it decodes as CP949 but "
            f"{rare:.0%} of its Hangul are rare syllables outside EUC-KR, so the encoding is "
            f"unknown (Shift-JIS or Big5?)")
    return _clean_text(text), "cp949"


def _clean_text(text: str) -> str:
    if "\x00" in text:
        raise Unreadable("contains NUL bytes (a binary file, or UTF-16 without a byte-order mark?)")
    return text.replace("\r\n", "\n")


# ---------------------------------------------------------------- HWPX

HWPX_MIMETYPE = "application/hwp+zip"
# Element names are matched by local name: Hancom writes the 2011 namespaces
# (http://www.hancom.co.kr/hwpml/2011/paragraph, .../section, .../head) and also 2016
# variants (hp10), and KS X 6101:2024 moves them under http://www.owpml.org/owpml/2024/.
# The structure (p > run > t, tbl > tr > tc > subList > p) is the same in all of them.
_MARGINAL_MARKS = {"header": "[머리말]", "footer": "[꼬리말]"}
_INLINE_MARKS = {"tab": "\t", "lineBreak": "\n", "nbSpace": "\u00a0", "fwSpace": " ", "hyphen": "-"}
_SECTION_NAME = re.compile(r"(?:^|/)section(\d+)\.xml$", re.IGNORECASE)
_MAX_XML_DEPTH = 256
_READ_CHUNK = 1 << 20
# The ratio check starts at 1 MiB: small, repetitive XML parts legitimately compress
# very well, and a "bomb" that expands to under 1 MiB harms nothing.
_RATIO_FLOOR = 1 << 20
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_hwpx(path: Path, *, max_member_bytes: int = 200 * 2**20,
              max_total_bytes: int = 500 * 2**20, max_ratio: float = 100,
              max_members: int = 2000) -> tuple[str, dict]:
    """Text of an HWPX (OWPML) document: sections in spine order, one line per paragraph,
    one line per table row with cells joined by " | ", headers and footers once each,
    marked [머리말]/[꼬리말]. Returns (text, {"title", "sections", "tables"}).

    Every zip member is checked before anything is decompressed (names, sizes, total,
    compression ratio, count), members are read through a bounded stream, and XML is
    parsed with defusedxml with DTDs refused. Raises Unreadable with the reason."""
    limits = _ZipLimits(max_member_bytes, max_total_bytes, max_ratio, max_members)
    if not path.is_file():
        raise Unreadable("file not found")
    try:
        with zipfile.ZipFile(path) as archive:
            _check_members(archive, limits)
            return _hwpx_text(archive, limits)
    except Unreadable:
        raise
    except zipfile.BadZipFile as exc:
        raise Unreadable(_not_a_zip_reason(path, exc)) from None
    except (OSError, EOFError, ValueError, NotImplementedError, RuntimeError,
            zlib.error, struct.error, zipfile.LargeZipFile) as exc:
        # zipfile reports damaged archives through all of these.
        raise Unreadable(f"corrupt zip archive ({_describe(exc)})") from None


class _ZipLimits:
    def __init__(self, member: int, total: int, ratio: float, members: int):
        self.member, self.total, self.ratio, self.members = member, total, ratio, members
        self.read = 0  # bytes actually decompressed so far, against `total`


def _not_a_zip_reason(path: Path, exc: Exception) -> str:
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        head = b""
    if not head:
        return "empty file"
    if head == _OLE_MAGIC:
        return "an HWP 5 binary (OLE) file, not HWPX; save it as .hwpx in Hangul to read it"
    if head.startswith(b"PK"):
        return f"not a zip archive (truncated or corrupt: {exc})"
    return "not a zip archive (truncated or corrupt)"


def _check_members(archive: zipfile.ZipFile, limits: _ZipLimits) -> None:
    infos = archive.infolist()
    if len(infos) > limits.members:
        raise Unreadable(f"zip has {len(infos)} members, over the {limits.members} limit")
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        _check_member_name(name)
        if name in seen:
            raise Unreadable(f"zip member {name!r} appears twice")
        seen.add(name)
        if info.flag_bits & 0x1:
            raise Unreadable(f"zip member {name!r} is encrypted")
        if info.file_size > limits.member:
            raise Unreadable(f"zip member {name!r} expands to {_size(info.file_size)}, "
                             f"over the {_size(limits.member)} limit")
        if info.file_size > _RATIO_FLOOR and (
                info.compress_size == 0 or info.file_size / info.compress_size > limits.ratio):
            ratio = info.file_size / max(info.compress_size, 1)
            raise Unreadable(f"zip member {name!r} compresses {ratio:.0f}:1, over the "
                             f"{limits.ratio:g}:1 limit (zip bomb?)")
        total += info.file_size
    if total > limits.total:
        raise Unreadable(f"zip members expand to {_size(total)} in total, over the "
                         f"{_size(limits.total)} limit")


def _check_member_name(name: str) -> None:
    # Nothing is ever extracted to disk, but an archive carrying such names was made to
    # attack someone, so it is refused outright.
    if (not name or name.startswith(("/", "\\")) or "\\" in name or "\x00" in name
            or re.match(r"^[A-Za-z]:", name) or ".." in name.split("/")):
        raise Unreadable(f"path traversal in zip member {name!r}")


def _size(n: int) -> str:
    if n >= 2**20:
        return f"{n / 2**20:.0f} MB"
    return f"{n / 2**10:.0f} KB" if n >= 2**10 else f"{n} bytes"


def _read_member(archive: zipfile.ZipFile, name: str, limits: _ZipLimits) -> bytes:
    """A member's bytes, read at most limit+1 bytes at a time so a header that lies about
    the size cannot make us decompress more than the limits allow."""
    budget = max(0, min(limits.member, limits.total - limits.read))
    chunks, size = [], 0
    try:
        with archive.open(name) as stream:
            while True:
                chunk = stream.read(min(_READ_CHUNK, budget + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > budget:
                    raise Unreadable(f"zip member {name!r} expands past the "
                                     f"{_size(budget)} limit (its header lies about its size)")
    except zipfile.BadZipFile as exc:
        # zipfile stops at the declared size, so a lying header shows up as a bad CRC.
        raise Unreadable(f"zip member {name!r} does not match its header, corrupt or lying "
                         f"about its size ({exc})") from None
    limits.read += size
    return b"".join(chunks)


def _parse_xml(data: bytes, name: str) -> Element:
    try:
        return SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise Unreadable(f"{name}: XML entity declarations refused (defusedxml: {exc})") from None
    except ParseError as exc:
        raise Unreadable(f"{name}: not well-formed XML ({exc})") from None


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _hwpx_text(archive: zipfile.ZipFile, limits: _ZipLimits) -> tuple[str, dict]:
    names = set(archive.namelist())
    if "mimetype" in names:
        mimetype = _read_member(archive, "mimetype", limits).strip().decode("ascii", "replace")
        if mimetype != HWPX_MIMETYPE:
            raise Unreadable(f"not an HWPX package (mimetype {mimetype[:60]!r})")
    package = _package_path(archive, names, limits)
    title, section_names = None, []
    if package in names:
        opf = _parse_xml(_read_member(archive, package, limits), package)
        title = _package_title(opf)
        section_names = _spine_sections(opf, posixpath.dirname(package), names)
    if not section_names:  # no usable spine: fall back to the conventional names
        found = [(int(m.group(1)), n) for n in names if (m := _SECTION_NAME.search(n))]
        section_names = [n for _, n in sorted(found)]
    if not section_names:
        raise Unreadable("no section XML (Contents/section0.xml) in the package")
    walk = _Walk()
    lines: list[str] = []
    for name in section_names:
        root = _parse_xml(_read_member(archive, name, limits), name)
        if _local(root.tag) != "sec":
            raise Unreadable(f"{name}: not an HWPX section (root element <{_local(root.tag)}>)")
        try:
            lines += walk.block(root, depth=0)
        except RecursionError:
            raise Unreadable(f"{name}: XML nested too deeply") from None
    text = "\n".join(lines).strip()
    if not text:
        raise Unreadable(f"no text in {len(section_names)} section(s)")
    return text, {"title": title, "sections": len(section_names), "tables": walk.tables}


def _package_path(archive: zipfile.ZipFile, names: set[str], limits: _ZipLimits) -> str:
    """Where content.hpf is: META-INF/container.xml says, else the usual place."""
    if "META-INF/container.xml" in names:
        container = _parse_xml(_read_member(archive, "META-INF/container.xml", limits),
                               "META-INF/container.xml")
        for rootfile in container.iter():
            full_path = rootfile.get("full-path", "")
            if _local(rootfile.tag) == "rootfile" and full_path.endswith(".hpf"):
                return full_path
    return "Contents/content.hpf"


def _package_title(opf: Element) -> str | None:
    for element in opf.iter():
        if _local(element.tag) == "title" and (element.text or "").strip():
            return element.text.strip()
    return None


def _spine_sections(opf: Element, base: str, names: set[str]) -> list[str]:
    """Section parts in spine order. Hrefs are package-relative ("Contents/section0.xml")
    in Hangul's files and relative to content.hpf in some other writers'."""
    hrefs = {item.get("id"): item.get("href", "") for item in opf.iter()
             if _local(item.tag) == "item"}
    sections = []
    for itemref in opf.iter():
        if _local(itemref.tag) != "itemref":
            continue
        href = hrefs.get(itemref.get("idref"), "")
        if not _SECTION_NAME.search(href):
            continue  # the spine also lists header.xml
        candidates = [posixpath.normpath(href), posixpath.normpath(posixpath.join(base, href))]
        found = next((c for c in candidates if c in names), None)
        if found is None:
            raise Unreadable(f"section {href!r} listed in content.hpf is missing from the zip")
        if found not in sections:
            sections.append(found)
    return sections


class _Walk:
    """Turns OWPML elements into lines; counts tables and remembers headers and footers
    already written (Hangul repeats them per page type and section)."""

    def __init__(self) -> None:
        self.tables = 0
        self.marginals: set[str] = set()

    def block(self, element: Element, depth: int) -> list[str]:
        """Lines of an element whose children are paragraphs (section, subList, p)."""
        lines: list[str] = []
        inline: list[str] = []

        def flush() -> None:
            line = "".join(inline).strip()
            if line:
                lines.append(line)
            inline.clear()

        def visit(node: Element, depth: int) -> None:
            if depth > _MAX_XML_DEPTH:
                raise Unreadable(f"XML nested deeper than {_MAX_XML_DEPTH} levels")
            for child in node:
                name = _local(child.tag)
                if name == "t":
                    inline.append(_run_text(child))
                elif name == "tbl":
                    flush()
                    lines.extend(self.table(child, depth + 1))
                elif name in _MARGINAL_MARKS:
                    flush()
                    lines.extend(self.marginal(child, name, depth + 1))
                elif name == "p":  # also paragraphs of text boxes and footnotes
                    flush()
                    visit(child, depth + 1)
                    flush()
                else:
                    visit(child, depth + 1)

        visit(element, depth)
        flush()
        return lines

    def table(self, tbl: Element, depth: int) -> list[str]:
        self.tables += 1
        rows = []
        for tr in (c for c in tbl if _local(c.tag) == "tr"):
            cells = [" ".join(self.block(tc, depth + 1)) for tc in tr if _local(tc.tag) == "tc"]
            if any(cells):
                rows.append(" | ".join(cells))
        return rows

    def marginal(self, element: Element, kind: str, depth: int) -> list[str]:
        text = " ".join(self.block(element, depth + 1))
        if not text or (kind, text) in self.marginals:
            return []
        self.marginals.add((kind, text))
        return [f"{_MARGINAL_MARKS[kind]} {text}"]


def _run_text(t: Element) -> str:
    """Text of <hp:t>, with its inline marks (<hp:tab/>, <hp:lineBreak/>...) spelled out."""
    parts = [t.text or ""]
    for child in t:
        parts += [_INLINE_MARKS.get(_local(child.tag), ""), child.tail or ""]
    return "".join(parts)


# ---------------------------------------------------------------- PDF

NO_TEXT_LAYER = "no text layer (scanned PDF?); OCR is not supported"


def read_pdf(path: Path, *, max_pages: int = 2000) -> tuple[str, dict]:
    """Text of a PDF's text layer, pages joined by a blank line. Returns
    (text, {"pages", "title", "pages_without_text"}).

    A PDF protected only by an owner password (no password to open) is read when its
    permissions allow text extraction, as any viewer would. Raises Unreadable for
    password-protected, image-only, over-long or corrupt PDFs."""
    from pypdf import PdfReader
    from pypdf.constants import UserAccessPermissions

    try:
        if path.stat().st_size == 0:
            raise Unreadable("empty file")
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            if not reader.decrypt(""):
                raise Unreadable("encrypted PDF (a password is needed to open it)")
            permissions = reader.user_access_permissions
            if permissions is not None and not permissions & UserAccessPermissions.EXTRACT:
                raise Unreadable("encrypted PDF whose permissions forbid text extraction")
        pages = len(reader.pages)
        if pages == 0:
            raise Unreadable("PDF has no pages")
        if pages > max_pages:
            raise Unreadable(f"PDF has {pages} pages, over the {max_pages}-page limit")
        texts = []
        for number, page in enumerate(reader.pages, 1):
            try:
                texts.append((page.extract_text() or "").strip())
            except Exception as exc:  # noqa: BLE001 -- see below
                raise Unreadable(
                    f"page {number}: text extraction failed ({_describe(exc)})") from None
        title = _pdf_title(reader)
    except Unreadable:
        raise
    except FileNotFoundError:
        raise Unreadable("file not found") from None
    except Exception as exc:  # noqa: BLE001
        # pypdf reports damaged files through almost any exception type (KeyError,
        # TypeError, RecursionError, zlib.error...); all of them mean "corrupt" here.
        raise Unreadable(f"corrupt PDF ({_describe(exc)})") from None
    if not any(texts):
        raise Unreadable(NO_TEXT_LAYER)
    text = "\n\n".join(t for t in texts if t).replace("\r\n", "\n")
    return text, {"pages": pages, "title": title,
                  "pages_without_text": sum(1 for t in texts if not t)}


def _pdf_title(reader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # noqa: BLE001 -- a broken Info dictionary only loses the title
        return None
    return (str(title).strip() or None) if title else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else "")[:200]


def _describe(exc: BaseException) -> str:
    """'KeyError: /Root' -- an exception's type and the first line of its message."""
    kind = "zlib error" if isinstance(exc, zlib.error) else type(exc).__name__
    message = _first_line(exc)
    return f"{kind}: {message}" if message else kind


# ---------------------------------------------------------------- JSONL

_SNIFF_BYTES = 1 << 20
_MAX_LINE_BYTES = 64 * 2**20


def iter_jsonl(path: Path, field_map: dict[str, str]) -> Iterator[tuple[int, dict | Unreadable]]:
    """Records of a JSON Lines file as (line number, record), one per non-empty line.

    `field_map` maps our names to the file's keys and must name "text"; "id" becomes the
    record's id and any other entry is copied into its meta (None when the key is absent).
    A good line gives {"text", "id", "meta"}; a bad one gives an Unreadable naming the line,
    and the lines after it still come. A file has one encoding, UTF-8 or CP949/EUC-KR,
    decided from its first MB (see `_jsonl_encoding`); a line that does not decode in it
    is bad, never read in another encoding (broken UTF-8 would come out as Hanja soup).

    The file is checked when this is called (not when iterated): an empty file, or one
    where most lines of the first MB do not decode, raises Unreadable at once. Lines are
    streamed, so a large file never sits in memory whole."""
    if "text" not in field_map:
        raise ValueError(f"field_map must map 'text' to the file's text key; got {field_map}")
    try:
        with open(path, "rb") as f:
            sample = f.read(_SNIFF_BYTES)
    except OSError as exc:
        raise Unreadable(f"cannot read file ({exc.strerror or exc})") from None
    encoding = _jsonl_encoding(sample, truncated=len(sample) == _SNIFF_BYTES)
    return _jsonl_records(path, field_map, encoding)


def _jsonl_encoding(sample: bytes, truncated: bool) -> str:
    """The encoding of a JSONL file from its first MB: "cp949" when more of its non-ASCII
    lines are Korean CP949/EUC-KR (and not UTF-8) than are UTF-8, else "utf-8" (the JSON
    Lines standard, and the answer for a broken line among ASCII ones). Refuses a file
    that is not text at all; judged line by line, so that one bad line (which iteration
    reports by number) does not condemn the whole file."""
    if not sample:
        raise Unreadable("empty file")
    for bom, encoding in _BOMS:
        if sample.startswith(bom) and encoding != "utf-8-sig":
            raise Unreadable(f"{encoding} JSONL is not supported; save it as UTF-8")
    lines = sample.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    if truncated:
        lines = lines[:-1]  # the last line may be cut inside a character
    utf8 = legacy = 0
    for line in lines:
        if line.isascii():
            continue
        if _decodes(line, "utf-8"):
            utf8 += 1
        elif _korean_cp949(line):
            legacy += 1
    encoding = "cp949" if legacy > utf8 else "utf-8"
    failures, judged = [], 0
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        judged += 1
        try:
            _decode_line(line, encoding)
        except Unreadable as exc:
            failures.append(f"line {lineno}: {exc}")
    if failures and len(failures) * 2 >= judged:
        raise Unreadable(f"not a text file: {len(failures)} of {judged} lines do not decode "
                         f"({failures[0]})")
    return encoding


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def _korean_cp949(line: bytes) -> bool:
    """Whether a line's non-ASCII bytes read as CP949 Korean text: Hangul and Korean
    punctuation, not Hanja (what broken UTF-8 and other CJK encodings turn into) nor
    mostly the rare syllables outside EUC-KR."""
    try:
        text = line.decode("cp949")
    except UnicodeDecodeError:
        return False
    counts = Counter(c for c in text if not c.isascii())
    return _korean_share(counts) >= _KOREAN_SHARE and _rare_hangul_share(counts) <= 0.5


def _decode_line(raw: bytes, encoding: str) -> str:
    """One line in its file's encoding, or Unreadable: nothing is guessed per line."""
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        name = "UTF-8" if encoding == "utf-8" else "CP949/EUC-KR"
        raise Unreadable(f"not valid {name}, the encoding of the rest of the file (first bad "
                         f"byte at {exc.start}); it is not read in another encoding") from None
    if encoding == "cp949" and not raw.isascii() and _decodes(raw, "utf-8"):
        raise Unreadable("valid UTF-8 in a CP949/EUC-KR file: the line's encoding is "
                         "ambiguous, so it is not read")
    return _clean_text(text)


def _jsonl_records(path: Path, field_map: dict[str, str],
                   encoding: str) -> Iterator[tuple[int, dict | Unreadable]]:
    with open(path, "rb") as f:
        for lineno, raw in enumerate(_bounded_lines(f), 1):
            if raw is None:
                yield lineno, Unreadable(f"line {lineno}: longer than {_size(_MAX_LINE_BYTES)}")
                continue
            if lineno == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            if not raw.strip():
                continue
            yield lineno, _jsonl_record(raw, lineno, field_map, encoding)


def _bounded_lines(f) -> Iterator[bytes | None]:
    """The file's lines; None for a line over the length limit (which is skipped)."""
    while True:
        line = f.readline(_MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > _MAX_LINE_BYTES:
            while line and not line.endswith(b"\n"):
                line = f.readline(_MAX_LINE_BYTES)
            yield None
        else:
            yield line


def _jsonl_record(raw: bytes, lineno: int, field_map: dict[str, str],
                  encoding: str) -> dict | Unreadable:
    try:
        line = _decode_line(raw, encoding)
    except Unreadable as exc:
        return Unreadable(f"line {lineno}: {exc}")
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return Unreadable(f"line {lineno}: not JSON ({exc.msg}: column {exc.colno})")
    except RecursionError:
        return Unreadable(f"line {lineno}: JSON nested too deeply")
    except ValueError as exc:  # e.g. an integer over Python's digit limit
        return Unreadable(f"line {lineno}: not JSON ({_first_line(exc)})")
    if not isinstance(record, dict):
        return Unreadable(f"line {lineno}: not a JSON object (got {_json_type(record)})")
    key = field_map["text"]
    text = record.get(key)
    if key not in record:
        return Unreadable(f"line {lineno}: no {key!r} key (the text field)")
    if not isinstance(text, str):
        return Unreadable(f"line {lineno}: {key!r} (the text field) is {_json_type(text)}, "
                          f"not a string")
    if not text.strip():
        return Unreadable(f"line {lineno}: {key!r} (the text field) is empty")
    doc_id = record.get(field_map["id"]) if "id" in field_map else None
    meta = {ours: record.get(theirs) for ours, theirs in field_map.items()
            if ours not in ("text", "id")}
    return {"text": text, "id": None if doc_id is None else str(doc_id), "meta": meta}


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
