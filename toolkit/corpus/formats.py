"""File formats of the corpus stage: legacy-encoded text, HWPX, PDF and JSONL.

Every reader returns text or raises `Unreadable` with a short reason meant for the
quarantine list. Input is untrusted: archives are checked before anything is decompressed,
XML goes through defusedxml only, and no other exception type escapes for bad input.
"""

from __future__ import annotations

import json
import lzma
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
# The package parts (mimetype, container.xml, content.hpf) are parsed whole into a tree,
# which takes about ten times their size in memory; Hangul writes a few KB of each.
_MAX_PACKAGE_PART_BYTES = 4 * 2**20
# Sections are parsed as a stream (no tree), so memory follows the text kept, which is
# bounded here; a line costs its characters plus this much (a Python string's overhead).
MAX_HWPX_TEXT_CHARS = 32 * 2**20
_LINE_COST = 64


def read_hwpx(path: Path, *, max_member_bytes: int = 200 * 2**20,
              max_total_bytes: int = 500 * 2**20, max_ratio: float = 100,
              max_members: int = 2000,
              max_text_chars: int = MAX_HWPX_TEXT_CHARS) -> tuple[str, dict]:
    """Text of an HWPX (OWPML) document: sections in spine order, one line per paragraph,
    one line per table row with cells joined by " | ", headers and footers once each,
    marked [머리말]/[꼬리말]. Returns (text, {"title", "sections", "tables"}).

    Every zip member is checked before anything is decompressed (names, sizes, total,
    compression ratio, count), members are read through a bounded stream, and XML is
    parsed with defusedxml with DTDs refused. Sections are parsed as a stream, never as a
    whole tree, and the text kept is bounded by `max_text_chars`, so memory stays bounded
    for any input (a 150 MB section took 1.6 GB as a tree). Raises Unreadable with the
    reason."""
    limits = _ZipLimits(max_member_bytes, max_total_bytes, max_ratio, max_members,
                        max_text_chars)
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
            zlib.error, lzma.LZMAError, struct.error, zipfile.LargeZipFile) as exc:
        # zipfile reports damaged archives through all of these.
        raise Unreadable(f"corrupt zip archive ({_describe(exc)})") from None


class _ZipLimits:
    def __init__(self, member: int, total: int, ratio: float, members: int, text: int):
        self.member, self.total, self.ratio, self.members = member, total, ratio, members
        self.text = text
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
    """A package part's bytes (small: it is parsed whole), read through `_member_chunks`."""
    return b"".join(_member_chunks(archive, name, limits, _MAX_PACKAGE_PART_BYTES))


def _member_chunks(archive: zipfile.ZipFile, name: str, limits: _ZipLimits,
                   cap: int | None = None) -> Iterator[bytes]:
    """A member's bytes, read at most limit+1 bytes at a time so a header that lies about
    the size cannot make us decompress more than the limits allow."""
    budget = max(0, min(limits.member, limits.total - limits.read))
    if cap is not None and cap < budget:
        budget = cap
        why = (f"zip member {name!r} is over {_size(cap)}, the limit for a package part "
               f"(Hangul writes a few KB)")
    else:
        why = (f"zip member {name!r} expands past the {_size(budget)} limit (its header "
               f"lies about its size)")
    size = 0
    try:
        with archive.open(name) as stream:
            while True:
                chunk = stream.read(min(_READ_CHUNK, budget + 1 - size))
                if not chunk:
                    break
                size += len(chunk)
                limits.read += len(chunk)
                if size > budget:
                    raise Unreadable(why)
                yield chunk
    except zipfile.BadZipFile as exc:
        # zipfile stops at the declared size, so a lying header shows up as a bad CRC.
        raise Unreadable(f"zip member {name!r} does not match its header, corrupt or lying "
                         f"about its size ({exc})") from None


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
    walk = _SectionWalk(limits.text)
    lines: list[str] = []
    for name in section_names:
        lines += _section_lines(archive, name, limits, walk)
    text = "\n".join(lines).strip()
    if not text:
        raise Unreadable(f"no text in {len(section_names)} section(s)")
    return text, {"title": title, "sections": len(section_names), "tables": walk.tables}


def _section_lines(archive: zipfile.ZipFile, name: str, limits: _ZipLimits,
                   walk: "_SectionWalk") -> list[str]:
    """The lines of one section, parsed as a stream of events (no element tree)."""
    walk.begin(name)
    parser = SafeET.XMLParser(target=walk, forbid_dtd=True)
    try:
        for chunk in _member_chunks(archive, name, limits):
            parser.feed(chunk)
        parser.close()
    except DefusedXmlException as exc:
        raise Unreadable(f"{name}: XML entity declarations refused (defusedxml: {exc})") from None
    except ParseError as exc:
        raise Unreadable(f"{name}: not well-formed XML ({exc})") from None
    return walk.end_section()


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


class _Frame:
    """One open element of the section being walked, by what its children mean: a block
    of paragraphs (the section, a table cell, a header or footer), a paragraph or other
    element inside one, a run of text <t>, a table or a table row."""

    __slots__ = ("kind", "lines", "inline", "parts", "mark")

    def __init__(self, kind: str, mark: str = ""):
        self.kind, self.mark = kind, mark
        self.lines: list[str] = []    # block: lines; tbl: rows; tr: cells
        self.inline: list[str] = []   # block: text of the line being built
        self.parts: list[str] = []    # t: its text, inline marks and tails


class _SectionWalk:
    """Turns OWPML parser events into lines, as the element tree would read: one line
    per paragraph, table rows with cells joined by " | ", headers and footers once each
    (Hangul repeats them per page type and section). A parser target: no tree is built,
    so memory is what is kept, bounded by `max_chars` (a line costs its length plus
    `_LINE_COST`). Counts tables over the whole document."""

    def __init__(self, max_chars: int) -> None:
        self.tables = 0
        self.marginals: set[tuple[str, str]] = set()
        self.max_chars, self.cost = max_chars, 0
        self.name = ""

    def begin(self, name: str) -> None:
        self.name = name
        self.frames: list[_Frame] = []
        self.blocks: list[_Frame] = []
        self.depth = 0
        self.ignored = 0    # depth inside an element whose text is not read
        self.result: list[str] | None = None

    def end_section(self) -> list[str]:
        if self.result is None:  # the parser ends before the root closes on bad XML
            raise Unreadable(f"{self.name}: not well-formed XML (the section never ends)")
        return self.result

    def _charge(self, n: int) -> None:
        self.cost += n
        if self.cost > self.max_chars:
            raise Unreadable(f"more than {self.max_chars:,} characters of text (at "
                             f"{self.name}); split the document")

    def _flush(self, block: _Frame) -> None:
        line = "".join(block.inline).strip()
        block.inline.clear()
        if line:
            self._charge(_LINE_COST)
            block.lines.append(line)

    def _push(self, kind: str, mark: str = "") -> None:
        frame = _Frame(kind, mark)
        self.frames.append(frame)
        if kind == "block":
            self.blocks.append(frame)

    def start(self, tag: str, attrib: dict) -> None:
        self.depth += 1
        if self.depth > _MAX_XML_DEPTH:
            raise Unreadable(f"{self.name}: XML nested deeper than {_MAX_XML_DEPTH} levels")
        if self.ignored:
            self.ignored += 1
            return
        name = _local(tag)
        if not self.frames:
            if name != "sec":
                raise Unreadable(f"{self.name}: not an HWPX section (root element <{name}>)")
            self._push("block")
            return
        top = self.frames[-1]
        if top.kind == "t":  # an inline mark: <hp:tab/>; its own text is not read
            top.parts.append(_INLINE_MARKS.get(name, ""))
            self.ignored = 1
        elif top.kind == "tbl":
            self._push("tr") if name == "tr" else self._ignore()
        elif top.kind == "tr":
            self._push("block", "cell") if name == "tc" else self._ignore()
        elif name == "t":
            self._push("t")
        elif name == "tbl":
            self._flush(self.blocks[-1])
            self.tables += 1
            self._push("tbl")
        elif name in _MARGINAL_MARKS:
            self._flush(self.blocks[-1])
            self._push("block", name)
        elif name == "p":  # also paragraphs of text boxes and footnotes
            self._flush(self.blocks[-1])
            self._push("p")
        else:
            self._push("element")

    def _ignore(self) -> None:
        self.ignored = 1

    def data(self, text: str) -> None:
        if not self.ignored and self.frames and self.frames[-1].kind == "t":
            self._charge(len(text))
            self.frames[-1].parts.append(text)

    def end(self, tag: str) -> None:
        self.depth -= 1
        if self.ignored:
            self.ignored -= 1
            return
        frame = self.frames.pop()
        if frame.kind == "block":
            self.blocks.pop()
            self._flush(frame)
        if frame.kind == "t":
            self.blocks[-1].inline.append("".join(frame.parts))
        elif frame.kind == "p":
            self._flush(self.blocks[-1])
        elif frame.kind == "tbl":
            self.blocks[-1].lines.extend(frame.lines)
        elif frame.kind == "tr":
            if any(frame.lines):
                self._charge(_LINE_COST)
                self.frames[-1].lines.append(" | ".join(frame.lines))
        elif frame.kind == "block" and frame.mark == "cell":
            self.frames[-1].lines.append(" ".join(frame.lines))
        elif frame.kind == "block" and frame.mark:
            text = " ".join(frame.lines)
            if text and (frame.mark, text) not in self.marginals:
                self.marginals.add((frame.mark, text))
                self.blocks[-1].lines.append(f"{_MARGINAL_MARKS[frame.mark]} {text}")
        elif frame.kind == "block":
            self.result = frame.lines

    def close(self) -> None:
        return None


# ---------------------------------------------------------------- PDF

NO_TEXT_LAYER = "no text layer (scanned PDF?); OCR is not supported"
MAX_PDF_FILE_BYTES = 256 * 2**20
# Decoded page content (its streams and the form XObjects it draws) per document: pypdf
# bounds each stream, not their sum, and a 16 KB file of 2,000 pages sharing one stream
# decodes (and is read) 2,000 times over.
# pypdf extracts text at well under 1 MB of content a second, so these also bound time.
MAX_PDF_CONTENT_BYTES = 64 * 2**20
MAX_PDF_PAGE_CONTENT_BYTES = 8 * 2**20
MAX_PDF_TEXT_CHARS = 32 * 2**20
# pypdf's own limits, lower than its defaults (75 MB a stream): one stream past these is
# an attack, not a page of text.
_PYPDF_LIMITS = dict(
    zlib_maximum_output_length=32 * 2**20, lzw_maximum_output_length=32 * 2**20,
    run_length_maximum_output_length=32 * 2**20, brotli_maximum_output_length=32 * 2**20,
    jbig2_maximum_output_length=32 * 2**20, image_maximum_buffer_size=32 * 2**20,
    array_based_stream_maximum_output_length=32 * 2**20,
    maximum_declared_stream_length=64 * 2**20,
    stream_decoding_work_maximum_length=64 * 2**20,
    stream_parsing_work_maximum_count=1_000_000,
    xform_maximum_invocations_per_extraction=1_000,
)


def read_pdf(path: Path, *, max_pages: int = 2000, max_file_bytes: int = MAX_PDF_FILE_BYTES,
             max_content_bytes: int = MAX_PDF_CONTENT_BYTES,
             max_page_content_bytes: int = MAX_PDF_PAGE_CONTENT_BYTES,
             max_text_chars: int = MAX_PDF_TEXT_CHARS) -> tuple[str, dict]:
    """Text of a PDF's text layer, pages joined by a blank line. Returns
    (text, {"pages", "title", "pages_without_text"}).

    A PDF protected only by an owner password (no password to open) is read when its
    permissions allow text extraction, as any viewer would. Bounded per document: file
    size, pages, decoded page content a page and in all (streams and forms, counted each
    time a page draws them) and text kept, besides pypdf's per-stream limits, lowered. Raises Unreadable
    for password-protected, image-only, over-long, over-limit or corrupt PDFs."""
    from pypdf import PdfReader, apply_configuration
    from pypdf.constants import UserAccessPermissions
    from pypdf.errors import LimitReachedError

    try:
        size = path.stat().st_size
        if size == 0:
            raise Unreadable("empty file")
        if size > max_file_bytes:
            raise Unreadable(f"PDF of {_size(size)}, over the {_size(max_file_bytes)} limit")
        with apply_configuration(**_PYPDF_LIMITS):
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
            texts, content, chars = [], 0, 0
            for number, page in enumerate(reader.pages, 1):
                try:
                    on_page = _page_content_bytes(page)
                    if on_page > max_page_content_bytes:
                        raise Unreadable(
                            f"page {number}: {_size(on_page)} of decoded page content, over "
                            f"the {_size(max_page_content_bytes)} limit for a page")
                    content += on_page
                    if content > max_content_bytes:
                        raise Unreadable(
                            f"page {number}: over {_size(max_content_bytes)} of decoded page "
                            f"content in the document (pages drawing the same large stream "
                            f"again and again?)")
                    texts.append((page.extract_text() or "").strip())
                except (Unreadable, LimitReachedError):
                    raise
                except Exception as exc:  # noqa: BLE001 -- see below
                    raise Unreadable(
                        f"page {number}: text extraction failed ({_describe(exc)})") from None
                chars += len(texts[-1])
                if chars > max_text_chars:
                    raise Unreadable(f"page {number}: more than {max_text_chars:,} characters "
                                     f"of text; split the document")
            title = _pdf_title(reader)
    except Unreadable:
        raise
    except FileNotFoundError:
        raise Unreadable("file not found") from None
    except LimitReachedError as exc:
        raise Unreadable(f"over a PDF reading limit ({_first_line(exc)})") from None
    except Exception as exc:  # noqa: BLE001
        # pypdf reports damaged files through almost any exception type (KeyError,
        # TypeError, RecursionError, zlib.error...); all of them mean "corrupt" here.
        raise Unreadable(f"corrupt PDF ({_describe(exc)})") from None
    if not any(texts):
        raise Unreadable(NO_TEXT_LAYER)
    text = "\n\n".join(t for t in texts if t).replace("\r\n", "\n")
    return text, {"pages": pages, "title": title,
                  "pages_without_text": sum(1 for t in texts if not t)}


def _page_content_bytes(page) -> int:
    """Decoded bytes a page's text extraction reads: its content streams and the form
    XObjects its resources name (pypdf caches what it decodes, so this decodes once)."""
    from pypdf.generic import ArrayObject, StreamObject

    def streams(obj) -> list:
        obj = obj.get_object() if obj is not None else None
        if isinstance(obj, ArrayObject):
            return [s for item in obj if isinstance(s := item.get_object(), StreamObject)]
        return [obj] if isinstance(obj, StreamObject) else []

    parts = streams(page.get("/Contents"))
    resources = page.get("/Resources")
    resources = resources.get_object() if resources is not None else None
    xobjects = resources.get("/XObject") if hasattr(resources, "get") else None
    xobjects = xobjects.get_object() if xobjects is not None else None
    if hasattr(xobjects, "values"):
        for ref in list(xobjects.values())[:1000]:
            form = ref.get_object()
            if isinstance(form, StreamObject) and form.get("/Subtype") == "/Form":
                parts.append(form)
    return sum(len(part.get_data()) for part in parts)


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
