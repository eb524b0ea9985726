"""What the PII detector used to miss (issue 15, item 9): names after bracketed and
numbered party roles as court rulings lay them out, phone numbers with Unicode dashes
(scan-pii and the pipeline's redaction), full-width digits in standalone scan-pii,
addresses with the floor or unit after a comma; and scan-pii going on past a file it
cannot read. Offsets stay character offsets in the NFC text."""

from __future__ import annotations

import json
import unicodedata

import pytest

from tests.helpers import REPO, gongmu
from toolkit.korean.pii import find_pii, redact_pii, score_labelled

LABELLED = REPO / "toolkit" / "korean" / "pii_labelled.jsonl"


def found(text: str) -> list[tuple[str, str]]:
    return [(f.type, f.text) for f in find_pii(text)]


@pytest.mark.parametrize("text", [
    "【원고】 홍길동\n【피고】 서울특별시장",
    "【원고】홍길동",
    "[원고] 홍길동",
    "【원고, 상고인】 홍길동 (소송대리인 변호사 김철수)",
    "【원고(선정당사자), 항소인】 홍길동",
    "원고 1. 홍길동",
    "피고 보조참가인 홍길동",
    "【피고 보조참가인】 홍길동",
])
def test_names_after_court_ruling_roles_are_found(text):
    assert ("이름", "홍길동") in found(text)


@pytest.mark.parametrize("text", [
    "【원고, 피상고인】 원고\n【피고, 상고인】 경기도 (소송대리인 변호사 김○○)",
    "[원고] 홍○○  [피고] 국가",
    "피고 보조참가인은 피고 강원도의 처분에 관하여 원고 2.의 청구를 다툰다.",
])
def test_bracketed_roles_do_not_make_places_or_masks_names(text):
    assert found(text) == []


@pytest.mark.parametrize("dash", ["\u2010", "\u2011", "\u2012", "\u2013", "\u2212", "\uff0d"])
def test_phone_numbers_with_unicode_dashes_are_found_and_redacted(dash):
    phone = f"010{dash}1234{dash}5678"
    text = f"연락처: {phone}, 사무실 02{dash}2133{dash}0000"
    assert found(text) == [("전화번호", phone), ("전화번호", f"02{dash}2133{dash}0000")]
    # The pipeline's redaction step calls redact_pii.
    assert redact_pii(text) == ("연락처: <전화번호>, 사무실 <전화번호>", {"전화번호": 2})


def test_full_width_digits_are_found_with_offsets_into_the_text():
    text = "신청인 주민등록번호 ９００１０１－１２３４５６８, 휴대전화 ０１０－１２３４－５６７８"
    findings = find_pii(text)
    assert [(f.type, f.text) for f in findings] == [
        ("주민등록번호", "９００１０１－１２３４５６８"), ("전화번호", "０１０－１２３４－５６７８")]
    assert all(text[f.start:f.end] == f.text for f in findings)


@pytest.mark.parametrize("unit", [", 3층", " 3층", ", 301호", ", 101동", ", 3층 301호", ", 지하 1층"])
def test_addresses_keep_the_floor_or_unit_after_the_building_number(unit):
    address = f"서울특별시 중구 세종대로 110{unit}"
    assert found(f"주소: {address}, 전화 02-120") == [("주소", address)]
    assert found(f"주소: 서울특별시 중구 세종대로 110{unit}짜리 건물")[0] == (
        "주소", "서울특별시 중구 세종대로 110")


def test_the_labelled_set_has_the_new_layouts_and_scores_1(tmp_path):
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    texts = "\n".join(r["text"] for r in rows)
    for layout in ("【원고】", "[원고]", "원고 1.", "피고 보조참가인", "０１０",
                   "\u2010", "\u2011", "\u2012", "\u2013", "\u2212", "\uff0d"):
        assert layout in texts, layout
    addresses = [r["text"][s["start"]:s["end"]] for r in rows for s in r["spans"] if s["type"] == "주소"]
    for unit in ("층", "호", "동"):
        assert any(a.endswith(unit) and "," in a for a in addresses), unit
    scores = score_labelled(LABELLED)
    assert scores["overall"]["precision"] == scores["overall"]["recall"] == 1.0, scores["overall"]


def test_scan_pii_reports_an_unreadable_file_and_scans_the_rest(tmp_path):
    (tmp_path / "a.txt").write_text("연락처 010\u20101234\u20105678\n", encoding="utf-8")
    (tmp_path / "b.txt").write_bytes(bytes(range(128, 256)) * 3)   # not text
    (tmp_path / "c.txt").write_text(unicodedata.normalize("NFD", "담당 홍길동 ０１０-１２３４-５６７８"),
                                    encoding="utf-8")
    proc = gongmu("corpus", "scan-pii", str(tmp_path), "--json")
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["path"].rsplit("/", 1)[1], r["type"], r["text"]) for r in rows] == [
        ("a.txt", "전화번호", "010\u20101234\u20105678"),
        ("c.txt", "이름", "홍길동"),
        ("c.txt", "전화번호", "０１０-１２３４-５６７８"),
    ]
    nfc = unicodedata.normalize("NFC", (tmp_path / "c.txt").read_text(encoding="utf-8"))
    assert all(nfc[r["start"]:r["end"]] == r["text"] for r in rows[1:])
    assert proc.returncode == 2
    message = " ".join(proc.stderr.split())
    assert f"{tmp_path / 'b.txt'} cannot be scanned" in message
    assert "1 of 3 files could not be scanned" in message and "Traceback" not in proc.stderr
