"""JSONL is decoded strictly, line by line, in the file's one encoding: a line of broken
UTF-8 is quarantined with file:line, never read as EUC-KR mojibake, and a genuine CP949
file still reads as CP949 (issue 15, item 7)."""

from __future__ import annotations

import json

from toolkit.corpus.formats import Unreadable, iter_jsonl

FIELDS = {"text": "text"}
# "깨" is EA B9 A8 in UTF-8; cut after two bytes, CP949 reads EA B9 as the Hanja 源.
BROKEN = b'{"text": "\xea\xb9 broken utf8"}'


def line(text: str, encoding: str = "utf-8") -> bytes:
    return json.dumps({"text": text}, ensure_ascii=False).encode(encoding)


def reasons(items) -> dict[int, str]:
    return {n: str(item) for n, item in items if isinstance(item, Unreadable)}


def test_a_broken_utf8_line_is_quarantined_not_read_as_euc_kr(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\n".join([line("민원 처리 안내"), BROKEN, line("둘째 문서")]) + b"\n")
    items = list(iter_jsonl(path, FIELDS))
    assert reasons(items) == {2: "line 2: not valid UTF-8, the encoding of the rest of the file "
                                 "(first bad byte at 10); it is not read in another encoding"}
    assert [item["text"] for _, item in items if isinstance(item, dict)] == ["민원 처리 안내", "둘째 문서"]


def test_a_broken_line_among_ascii_lines_does_not_make_the_file_cp949(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_bytes(b"\n".join([b'{"text": "notice one"}', BROKEN, b'{"text": "notice two"}']))
    items = list(iter_jsonl(path, FIELDS))
    assert list(reasons(items)) == [2]
    assert not any(isinstance(item, dict) and "源" in item["text"] for _, item in items)


def test_the_pipeline_quarantines_the_line_with_file_and_line(tmp_path):
    from toolkit.corpus.sources import Document, Quarantined, documents
    from toolkit.recipe import CorpusSource

    folder = tmp_path / "jsonl"
    folder.mkdir()
    path = folder / "records.jsonl"
    path.write_bytes(b"\n".join([line("민원 처리 안내"), BROKEN, line("둘째 문서")]) + b"\n")
    out = list(documents(CorpusSource(type="jsonl", path=folder)))
    assert [type(d) for d in out] == [Document, Quarantined, Document]
    assert out[1].path == f"{path}:2" and out[1].reason.startswith("line 2: not valid UTF-8")


def test_a_cp949_file_stays_cp949_and_its_odd_lines_are_quarantined(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"\n".join([
        line("똠양꿍 조리법 민원", "cp949"),
        line("주민등록 등본 발급 안내", "cp949"),
        b'{"text": "\xc8\xff cut"}',                 # not CP949 at all
        line("민원 처리"),                           # UTF-8: CP949 reads "誘쇱썝 泥섎━"
        line("민원 처리 기간은 7일", "cp949"),
    ]))
    items = list(iter_jsonl(path, FIELDS))
    assert [item["text"] for _, item in items if isinstance(item, dict)] == [
        "똠양꿍 조리법 민원", "주민등록 등본 발급 안내", "민원 처리 기간은 7일"]
    assert reasons(items) == {
        3: "line 3: not valid CP949/EUC-KR, the encoding of the rest of the file (first bad "
           "byte at 10); it is not read in another encoding",
        4: "line 4: valid UTF-8 in a CP949/EUC-KR file: the line's encoding is ambiguous, so "
           "it is not read",
    }
