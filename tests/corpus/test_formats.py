"""Corpus file formats: every fixture is built here, in tmp_path; nothing binary is committed.

PDFs come from matplotlib (Type 42 font embedding of Noto Sans CJK): its Korean text
extracts with pypdf as written, so no hand-made ToUnicode CMap is needed."""

from __future__ import annotations

import io
import json
import os
import random
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from toolkit.corpus.formats import (
    NO_TEXT_LAYER,
    Unreadable,
    decode_text,
    iter_jsonl,
    read_hwpx,
    read_pdf,
)

HP = "http://www.hancom.co.kr/hwpml/2011/paragraph"
HS = "http://www.hancom.co.kr/hwpml/2011/section"
HH = "http://www.hancom.co.kr/hwpml/2011/head"
OPF = "http://www.idpf.org/2007/opf/"

TABLE = [["구분", "신청 기간", "담당 부서"],
         ["주민등록", "3월 1일~3월 31일", "민원봉사과"]]


# ---------------------------------------------------------------- HWPX fixtures

def _p(*runs: str) -> str:
    return f'<hp:p id="0" paraPrIDRef="0" styleIDRef="0">{"".join(runs)}</hp:p>'


def _t(text: str) -> str:
    return f'<hp:run charPrIDRef="0"><hp:t>{text}</hp:t></hp:run>'


def _table(rows: list[list[str]]) -> str:
    trs = "".join(
        "<hp:tr>" + "".join(f"<hp:tc><hp:subList>{_p(_t(cell))}</hp:subList></hp:tc>"
                            for cell in row) + "</hp:tr>"
        for row in rows)
    return _p(f'<hp:run charPrIDRef="0"><hp:tbl rowCnt="{len(rows)}" colCnt="{len(rows[0])}">'
              f"{trs}</hp:tbl></hp:run>")


def _section(body: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<hs:sec xmlns:hp="{HP}" xmlns:hs="{HS}">{body}</hs:sec>')


def hwpx_members(title: str = "2024년 민원 처리 지침") -> dict[str, bytes]:
    """The parts of a small but complete HWPX: two sections, a 2x3 table, a page header
    (written twice, as Hangul does for odd and even pages) and a title."""
    header = ('<hp:ctrl><hp:header id="1" applyPageType="{}"><hp:subList>'
              + _p(_t("행정안전부 보도자료"))
              + "</hp:subList></hp:header></hp:ctrl>")
    section0 = _section(
        _p('<hp:run charPrIDRef="0"><hp:secPr/>' + header.format("ODD") + header.format("EVEN")
           + "</hp:run>", _t("제1조(목적) 이 지침은 민원 처리 절차를 정한다."))
        + _p(_t("제2조(정의) 민원이란<hp:tab/>행정기관에 처분을 요구하는 것을 말한다."))
        + _table(TABLE)
        + _p(_t("표 아래 문단입니다.")))
    section1 = _section(_p(_t("제3조(처리 기간) 민원은 7일 이내에 처리한다.")))
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><opf:package xmlns:opf="{OPF}" version="">'
        f"<opf:metadata><opf:title>{title}</opf:title><opf:language>ko</opf:language>"
        "</opf:metadata><opf:manifest>"
        '<opf:item id="header" href="Contents/header.xml" media-type="application/xml"/>'
        '<opf:item id="section0" href="Contents/section0.xml" media-type="application/xml"/>'
        '<opf:item id="section1" href="Contents/section1.xml" media-type="application/xml"/>'
        "</opf:manifest><opf:spine>"
        '<opf:itemref idref="header" linear="yes"/>'
        '<opf:itemref idref="section0" linear="yes"/>'
        '<opf:itemref idref="section1" linear="yes"/>'
        "</opf:spine></opf:package>")
    container = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<ocf:container xmlns:ocf="urn:oasis:names:tc:opendocument:xmlns:container">'
        '<ocf:rootfiles><ocf:rootfile full-path="Contents/content.hpf" '
        'media-type="application/hwpml-package+xml"/></ocf:rootfiles></ocf:container>')
    head = f'<?xml version="1.0" encoding="UTF-8"?><hh:head xmlns:hh="{HH}" secCnt="2"/>'
    return {
        "mimetype": b"application/hwp+zip",
        "META-INF/container.xml": container.encode(),
        "Contents/content.hpf": content.encode(),
        "Contents/header.xml": head.encode(),
        "Contents/section0.xml": section0.encode(),
        "Contents/section1.xml": section1.encode(),
    }


def write_hwpx(path: Path, members: dict[str, bytes] | None = None) -> Path:
    """Write members as an HWPX zip: `mimetype` first and stored, the rest deflated."""
    members = hwpx_members() if members is None else members
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            method = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return path


def refused(reader, *args, **kwargs) -> str:
    with pytest.raises(Unreadable) as info:
        reader(*args, **kwargs)
    return str(info.value)


# ---------------------------------------------------------------- HWPX reading

def test_hwpx_body_text_comes_in_spine_order_one_line_per_paragraph(tmp_path):
    text, _ = read_hwpx(write_hwpx(tmp_path / "지침.hwpx"))
    lines = text.split("\n")
    expected = ["제1조(목적)", "제2조(정의)", "구분 | 신청 기간", "표 아래 문단", "제3조(처리 기간)"]
    positions = [next(i for i, line in enumerate(lines) if line.startswith(e)) for e in expected]
    assert positions == sorted(positions)
    assert "민원이란\t행정기관에" in text


def test_hwpx_table_rows_are_lines_with_cells_joined_by_bars(tmp_path):
    text, meta = read_hwpx(write_hwpx(tmp_path / "t.hwpx"))
    lines = text.split("\n")
    assert "구분 | 신청 기간 | 담당 부서" in lines
    assert "주민등록 | 3월 1일~3월 31일 | 민원봉사과" in lines
    assert meta["tables"] == 1


def test_hwpx_page_header_is_kept_once_and_marked(tmp_path):
    text, _ = read_hwpx(write_hwpx(tmp_path / "h.hwpx"))
    assert text.count("행정안전부 보도자료") == 1
    assert "[머리말] 행정안전부 보도자료" in text.split("\n")


def test_hwpx_meta_has_title_and_section_count(tmp_path):
    _, meta = read_hwpx(write_hwpx(tmp_path / "m.hwpx"))
    assert meta == {"title": "2024년 민원 처리 지침", "sections": 2, "tables": 1}


def test_hwpx_without_manifest_reads_sections_in_numeric_order(tmp_path):
    members = hwpx_members()
    del members["Contents/content.hpf"], members["META-INF/container.xml"]
    members["Contents/section10.xml"] = members.pop("Contents/section1.xml")
    members["Contents/section2.xml"] = _section(_p(_t("둘째 구역"))).encode()
    text, meta = read_hwpx(write_hwpx(tmp_path / "nomanifest.hwpx", members))
    assert text.index("둘째 구역") < text.index("제3조")
    assert meta["title"] is None and meta["sections"] == 3


def test_hwpx_section_listed_in_spine_but_missing_is_refused(tmp_path):
    members = hwpx_members()
    del members["Contents/section1.xml"]
    reason = refused(read_hwpx, write_hwpx(tmp_path / "missing.hwpx", members))
    assert "Contents/section1.xml" in reason and "missing" in reason


def test_hwpx_with_another_mimetype_is_refused(tmp_path):
    members = hwpx_members()
    members["mimetype"] = b"application/epub+zip"
    assert "not an HWPX package" in refused(read_hwpx, write_hwpx(tmp_path / "e.hwpx", members))


def test_zip_bomb_member_is_refused_before_it_is_decompressed(tmp_path):
    members = hwpx_members()
    members["Contents/section0.xml"] = bytes(50 * 2**20)  # compresses about 1000:1
    path = write_hwpx(tmp_path / "bomb.hwpx", members)
    start = time.perf_counter()
    reason = refused(read_hwpx, path)
    assert time.perf_counter() - start < 1.0
    assert "'Contents/section0.xml'" in reason and "zip bomb" in reason


def test_member_over_the_size_limit_is_refused(tmp_path):
    reason = refused(read_hwpx, write_hwpx(tmp_path / "big.hwpx"), max_member_bytes=1000)
    assert "expands to" in reason and "over the 1000 bytes limit" in reason


def test_members_over_the_total_limit_are_refused(tmp_path):
    reason = refused(read_hwpx, write_hwpx(tmp_path / "sum.hwpx"), max_total_bytes=2000)
    assert "in total" in reason


def test_too_many_members_are_refused(tmp_path):
    reason = refused(read_hwpx, write_hwpx(tmp_path / "n.hwpx"), max_members=3)
    assert "6 members" in reason


def _set_declared_size(data: bytearray, name: bytes, size: int) -> None:
    """Make both the local and the central header of member `name` claim `size` bytes."""
    for sig, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        at = data.find(sig)
        while at != -1:
            if data[at + name_at:at + name_at + len(name)] == name:
                struct.pack_into("<I", data, at + size_at, size)
            at = data.find(sig, at + 4)


def test_member_whose_header_lies_about_its_size_is_not_read_in_full(tmp_path):
    members = hwpx_members()
    members["Contents/section0.xml"] = bytes(50 * 2**20)
    data = bytearray(write_hwpx(tmp_path / "liar.hwpx", members).read_bytes())
    _set_declared_size(data, b"Contents/section0.xml", 1000)  # ratio now looks harmless
    path = tmp_path / "liar.hwpx"
    path.write_bytes(bytes(data))
    tracemalloc.start()
    start = time.perf_counter()
    try:
        reason = refused(read_hwpx, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 2.0
    assert peak < 10 * 2**20, f"peak {peak / 2**20:.0f} MiB: the member was read in full"
    assert reason.startswith("zip member 'Contents/section0.xml' does not match its header")


@pytest.mark.parametrize("name", ["../evil.xml", "/etc/passwd", "Contents/../../x.xml",
                                  "..\\..\\evil.xml", "C:/Windows/evil.xml"])
def test_zip_slip_member_names_are_refused(tmp_path, name):
    members = hwpx_members()
    members[name] = b"<x/>"
    reason = refused(read_hwpx, write_hwpx(tmp_path / "slip.hwpx", members))
    assert reason == f"path traversal in zip member {name!r}"


def test_truncated_hwpx_is_refused(tmp_path):
    data = write_hwpx(tmp_path / "whole.hwpx").read_bytes()
    half = tmp_path / "half.hwpx"
    half.write_bytes(data[:len(data) // 2])
    assert refused(read_hwpx, half).startswith("not a zip archive (truncated or corrupt")


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">'
    f']><hs:sec xmlns:hp="{HP}" xmlns:hs="{HS}"><hp:p><hp:run><hp:t>&lol4;</hp:t></hp:run>'
    "</hp:p></hs:sec>")


def test_billion_laughs_in_a_section_is_refused(tmp_path):
    members = hwpx_members()
    members["Contents/section0.xml"] = BILLION_LAUGHS.encode()
    reason = refused(read_hwpx, write_hwpx(tmp_path / "lol.hwpx", members))
    assert reason.startswith("Contents/section0.xml: XML entity declarations refused (defusedxml:")


def test_malformed_section_xml_is_refused_with_the_member_name(tmp_path):
    members = hwpx_members()
    members["Contents/section1.xml"] = b"<hs:sec><hp:p>"
    reason = refused(read_hwpx, write_hwpx(tmp_path / "bad.hwpx", members))
    assert reason.startswith("Contents/section1.xml: not well-formed XML")


def test_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "fake.hwpx"
    path.write_bytes("그냥 텍스트 파일입니다".encode())
    assert refused(read_hwpx, path) == "not a zip archive (truncated or corrupt)"


def test_hwp5_binary_renamed_to_hwpx_says_what_it_is(tmp_path):
    path = tmp_path / "old.hwpx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    assert "HWP 5 binary" in refused(read_hwpx, path)


def damage_and_read(reader, data: bytes, path: Path, tries: int, seed: int) -> None:
    """Read `tries` damaged copies of `data` (random bytes overwritten, half of them also
    truncated); the reader must return or raise Unreadable, nothing else."""
    rng = random.Random(seed)
    for attempt in range(tries):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        end = rng.randint(len(data) // 3, len(data)) if attempt % 2 else len(data)
        path.write_bytes(bytes(damaged[:end]))
        try:
            reader(path)
        except Unreadable:
            pass


def test_damaged_hwpx_raises_nothing_but_unreadable(tmp_path):
    data = write_hwpx(tmp_path / "ok.hwpx").read_bytes()
    damage_and_read(read_hwpx, data, tmp_path / "damaged.hwpx", tries=150, seed=7)


# ---------------------------------------------------------------- PDF

KOREAN_LINE = "주민등록표 등본 발급 신청 안내"


@pytest.fixture(scope="module")
def korean_pdf() -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager
    from matplotlib.backends.backend_pdf import PdfPages

    font = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
    assert os.path.exists(font), f"{font} is missing: run scripts/setup/install_browser.sh (fonts-noto-cjk)"
    properties = font_manager.FontProperties(fname=font)
    buffer = io.BytesIO()
    with matplotlib.rc_context({"pdf.fonttype": 42}), \
            PdfPages(buffer, metadata={"Title": "민원 안내서"}) as pdf:
        for line in (KOREAN_LINE, "둘째 쪽: 처리 기간은 7일입니다"):
            fig = plt.figure(figsize=(4, 2))
            fig.text(0.05, 0.5, line, fontproperties=properties)
            pdf.savefig(fig)
            plt.close(fig)
    return buffer.getvalue()


def _encrypted(pdf: bytes, **encrypt) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(**encrypt)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pdf_korean_text_layer_is_extracted_page_by_page(tmp_path, korean_pdf):
    path = tmp_path / "안내.pdf"
    path.write_bytes(korean_pdf)
    text, meta = read_pdf(path)
    assert text == f"{KOREAN_LINE}\n\n둘째 쪽: 처리 기간은 7일입니다"
    assert meta == {"pages": 2, "title": "민원 안내서", "pages_without_text": 0}


def test_password_protected_pdf_is_refused(tmp_path, korean_pdf):
    path = tmp_path / "locked.pdf"
    path.write_bytes(_encrypted(korean_pdf, user_password="secret", algorithm="RC4-128"))
    assert refused(read_pdf, path).startswith("encrypted PDF")


def test_pdf_with_only_an_owner_password_is_read_when_extraction_is_allowed(tmp_path, korean_pdf):
    path = tmp_path / "owner.pdf"
    path.write_bytes(_encrypted(korean_pdf, user_password="", owner_password="owner",
                                algorithm="RC4-128"))
    assert read_pdf(path)[0].startswith(KOREAN_LINE)


def test_pdf_whose_permissions_forbid_extraction_is_refused(tmp_path, korean_pdf):
    from pypdf.constants import UserAccessPermissions as Allow

    path = tmp_path / "noextract.pdf"
    path.write_bytes(_encrypted(korean_pdf, user_password="", owner_password="owner",
                                permissions_flag=Allow.PRINT, algorithm="RC4-128"))
    assert "forbid text extraction" in refused(read_pdf, path)


def test_image_only_pdf_is_refused_as_scanned(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2, 2))
    fig.figimage([[0.0, 1.0], [1.0, 0.0]] * 20, resize=False)
    path = tmp_path / "scan.pdf"
    fig.savefig(path, format="pdf")
    plt.close(fig)
    assert refused(read_pdf, path) == NO_TEXT_LAYER


def test_garbage_and_empty_pdfs_are_refused(tmp_path):
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(random.Random(1).randbytes(4000))
    assert refused(read_pdf, garbage).startswith("corrupt PDF")
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    assert refused(read_pdf, empty) == "empty file"


def test_damaged_pdf_raises_nothing_but_unreadable(tmp_path, korean_pdf):
    damage_and_read(read_pdf, korean_pdf, tmp_path / "damaged.pdf", tries=60, seed=3)


def test_pdf_over_the_page_limit_is_refused(tmp_path, korean_pdf):
    path = tmp_path / "long.pdf"
    path.write_bytes(korean_pdf)
    assert "over the 1-page limit" in refused(read_pdf, path, max_pages=1)


# ---------------------------------------------------------------- encodings

def test_cp949_only_hangul_is_detected_as_cp949():
    text = "똠방각하와 햏자의 민원 처리 결과입니다.\r\n다음 줄"
    assert decode_text(text.encode("cp949")) == (text.replace("\r\n", "\n"), "cp949")


def test_plain_euc_kr_is_detected_as_euc_kr():
    text = "주민등록 등본 발급은 가까운 행정복지센터에서 가능합니다."
    assert decode_text(text.encode("euc_kr")) == (text, "euc-kr")


def test_utf8_with_and_without_bom():
    text = "행정 절차법 제1조"
    assert decode_text(b"\xef\xbb\xbf" + text.encode()) == (text, "utf-8-sig")
    assert decode_text(text.encode()) == (text, "utf-8")


def test_utf16_with_bom():
    assert decode_text("민원 처리".encode("utf-16")) == ("민원 처리", "utf-16-le")


def test_random_binary_is_unreadable():
    reason = refused(decode_text, random.Random(5).randbytes(2000))
    assert reason.startswith("not valid UTF-8")


def test_chinese_gbk_is_not_mistaken_for_korean():
    gbk = "国务院办公厅关于印发政务服务事项管理办法的通知，各省自治区直辖市人民政府".encode("gbk")
    assert refused(decode_text, gbk).startswith("not valid UTF-8")


def test_japanese_shift_jis_is_not_mistaken_for_rare_hangul():
    # Every byte pair of this decodes as CP949, into syllables such as '뱦떈뱒궻'.
    shift_jis = "東京都の行政手続".encode("shift_jis")
    assert "outside EUC-KR" in refused(decode_text, shift_jis)


def test_empty_and_nul_bytes_are_unreadable():
    assert refused(decode_text, b"") == "empty file"
    assert "NUL" in refused(decode_text, "Article 1".encode("utf-16-le"))


# ---------------------------------------------------------------- JSONL

FIELDS = {"text": "body", "id": "doc_id", "title": "subject"}


def _jsonl(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes("\n".join(lines).encode(encoding))
    return path


def test_jsonl_field_map_names_text_id_and_meta(tmp_path):
    path = _jsonl(tmp_path / "a.jsonl", [
        json.dumps({"body": "민원 처리 안내", "doc_id": 17, "subject": "안내", "x": 1},
                   ensure_ascii=False),
        json.dumps({"body": "둘째 문서"}, ensure_ascii=False),
    ])
    assert list(iter_jsonl(path, FIELDS)) == [
        (1, {"text": "민원 처리 안내", "id": "17", "meta": {"title": "안내"}}),
        (2, {"text": "둘째 문서", "id": None, "meta": {"title": None}}),
    ]


def test_jsonl_bad_lines_name_their_line_and_later_lines_still_come(tmp_path):
    good = json.dumps({"body": "정상 문서", "doc_id": "a"}, ensure_ascii=False)
    path = _jsonl(tmp_path / "b.jsonl", [
        good, "", '{"body": "따옴표" "doc_id": 2}', "[1, 2]", '{"doc_id": "no text"}',
        '{"body": 3}', '{"body": "  "}', good])
    items = list(iter_jsonl(path, FIELDS))
    assert [n for n, _ in items] == [1, 3, 4, 5, 6, 7, 8]
    reasons = {n: str(item) for n, item in items if isinstance(item, Unreadable)}
    assert reasons == {
        3: "line 3: not JSON (Expecting ',' delimiter: column 16)",
        4: "line 4: not a JSON object (got an array)",
        5: "line 5: no 'body' key (the text field)",
        6: "line 6: 'body' (the text field) is a number, not a string",
        7: "line 7: 'body' (the text field) is empty",
    }
    assert items[-1] == (8, {"text": "정상 문서", "id": "a", "meta": {"title": None}})


def test_cp949_jsonl_is_decoded(tmp_path):
    path = _jsonl(tmp_path / "c.jsonl", [
        json.dumps({"body": "똠양꿍 조리법 민원", "subject": "햏"}, ensure_ascii=False)] * 2,
        encoding="cp949")
    items = list(iter_jsonl(path, {"text": "body", "title": "subject"}))
    assert items == [(n, {"text": "똠양꿍 조리법 민원", "id": None, "meta": {"title": "햏"}})
                     for n in (1, 2)]


def test_undecodable_or_empty_jsonl_file_is_refused_when_opened(tmp_path):
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(random.Random(9).randbytes(3000))
    assert refused(iter_jsonl, binary, FIELDS).startswith("not a text file: ")
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert refused(iter_jsonl, empty, FIELDS) == "empty file"


def test_jsonl_field_map_without_text_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="'text'"):
        iter_jsonl(_jsonl(tmp_path / "d.jsonl", ["{}"]), {"id": "doc_id"})
