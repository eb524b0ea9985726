"""PII detection and redaction: what counts as personal information in Korean
administrative text, what must be left alone, and how well the finder does on a
labelled set written from the specification (tests/data/pii/make_labelled.py)."""

from __future__ import annotations

import importlib.util
import json
import time
import unicodedata
from collections import Counter

import pytest

from tests.helpers import REPO, SHARED_DATA

from toolkit.corpus.scan import scan_file
from toolkit.korean.pii import PII_TYPES, Finding, find_pii, redact_pii, score_labelled

LABELLED = REPO / "toolkit" / "korean" / "pii_labelled.jsonl"
GENERATOR = REPO / "tests" / "data" / "pii" / "make_labelled.py"
STATUTES = SHARED_DATA / "legalize-kr" / "kr"


def found(text: str) -> list[tuple[str, str]]:
    return [(f.type, f.text) for f in find_pii(text)]


@pytest.fixture(scope="module")
def labelled() -> list[dict]:
    return [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def scores() -> dict:
    return score_labelled(LABELLED)


# --- the labelled set ----------------------------------------------------------------

def test_labelled_set_has_at_least_300_spans(labelled):
    spans = Counter(s["type"] for r in labelled for s in r["spans"])
    assert sum(spans.values()) >= 300
    assert spans["주민등록번호"] >= 60 and spans["전화번호"] >= 60 and spans["이메일"] >= 40
    assert set(spans) == set(PII_TYPES), "every type is represented"
    # Many records are hard negatives: case numbers, articles, dates, amounts, law IDs.
    assert sum(1 for r in labelled if not r["spans"]) >= 100


def test_labelled_set_covers_every_phone_family_and_post_2020_rrns(labelled):
    phones = [r["text"][s["start"]:s["end"]] for r in labelled for s in r["spans"] if s["type"] == "전화번호"]
    for prefix in ("010", "011", "02", "(02)", "031", "051", "064", "070", "15", "16", "18", "+82"):
        assert any(p.startswith(prefix) for p in phones), prefix
    rrns = [r["text"][s["start"]:s["end"]] for r in labelled for s in r["spans"] if s["type"] == "주민등록번호"]
    assert sum(1 for v in rrns if not _rrn_check_ok(v)) >= 10


def test_labelled_set_is_what_its_generator_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_labelled", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path / "again.jsonl")
    assert (tmp_path / "again.jsonl").read_bytes() == LABELLED.read_bytes()


def test_labelled_texts_are_nfc_and_spans_lie_inside_them(labelled):
    for r in labelled:
        assert unicodedata.is_normalized("NFC", r["text"]), r["id"]
        for s in r["spans"]:
            assert 0 <= s["start"] < s["end"] <= len(r["text"]) and s["type"] in PII_TYPES
            value = r["text"][s["start"]:s["end"]]
            assert value == value.strip(), (r["id"], value)


# --- scores on the labelled set ----------------------------------------------------

def test_recall_of_rrn_phone_email_is_at_least_0_98(scores):
    for t in ("주민등록번호", "전화번호", "이메일"):
        assert scores["per_type"][t]["recall"] >= 0.98, (t, scores["per_type"][t])


def test_overall_precision_is_at_least_0_95(scores):
    assert scores["overall"]["precision"] >= 0.95, scores["overall"]
    assert scores["overall"]["recall"] >= 0.90, scores["overall"]


def test_every_type_has_precision_and_recall_of_at_least_0_8(scores):
    for t, s in scores["per_type"].items():
        assert s["precision"] >= 0.8 and s["recall"] >= 0.8, (t, s)


def test_score_counts_a_partial_overlap_as_a_miss_and_a_false_positive(tmp_path):
    text = "연락처 010-1234-5678"
    path = tmp_path / "l.jsonl"
    path.write_text(json.dumps({"id": "x", "text": text, "spans": [
        {"type": "전화번호", "start": 4, "end": 12},  # a labeller who stopped early
    ]}, ensure_ascii=False) + "\n", encoding="utf-8")
    s = score_labelled(path)
    assert s["spans"] == 1
    assert s["per_type"]["전화번호"] == {"tp": 0, "fp": 1, "fn": 1, "precision": 0.0, "recall": 0.0}
    assert s["overall"]["fp"] == 1 and s["overall"]["fn"] == 1


# --- what is personal information ---------------------------------------------------

def _rrn_check_ok(value: str) -> bool:
    d = [int(c) for c in value if c.isdigit()]
    return (11 - sum(a * b for a, b in zip(d, [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5])) % 11) % 10 == d[12]


def test_post_2020_rrn_without_valid_check_digit_is_found():
    new = "210315-3123456"  # born March 2021, issued without a check digit
    assert not _rrn_check_ok(new)
    old = "900101-1234568"
    assert _rrn_check_ok(old)
    findings = find_pii(f"자녀 주민등록번호 {new}, 부 주민등록번호 {old}")
    assert [(f.type, f.text) for f in findings] == [("주민등록번호", new), ("주민등록번호", old)]
    assert findings[0].confidence < findings[1].confidence


def test_rrn_forms_with_space_or_no_hyphen_are_found():
    assert found("주민번호 900101 1234568") == [("주민등록번호", "900101 1234568")]
    assert found("주민번호 9001011234568") == [("주민등록번호", "9001011234568")]


def test_rrn_needs_a_real_date_and_is_not_found_inside_longer_numbers():
    assert found("일련번호 901332-1234567") == []  # month 13
    assert found("일련번호 010230-3234567") == []  # 30 February
    assert found("등록번호 99001011234568123") == []
    assert found("코드 12-900101-1234568") == []


def test_foreign_registration_numbers_are_typed_by_the_seventh_digit():
    assert found("외국인등록번호 850505-5123456") == [("외국인등록번호", "850505-5123456")]
    assert found("외국인등록번호 050505-7123456") == [("외국인등록번호", "050505-7123456")]


@pytest.mark.parametrize("phone", [
    "010-1234-5678", "010.1234.5678", "010 1234 5678", "01012345678", "011-234-5678",
    "02-123-4567", "02-2100-3399", "(02)123-4567", "(02) 2100-3399", "031-123-4567",
    "044-205-1234", "051.123.4567", "(064)712-3456", "070-1234-5678", "1588-1234",
    "1644-0000", "1899-5974", "+82-10-1234-5678", "02–2100–3399",
])
def test_phone_number_families_are_found(phone):
    assert found(f"문의: {phone}") == [("전화번호", phone)]


@pytest.mark.parametrize("text", [
    "대법원 2020. 5. 14. 선고 2019두30140 판결",
    "서울행정법원 2023구합12345 사건",
    "같은 법 제3조제2항 및 제10조의2에 따른다.",
    "제5조 제1항 제3호, 제31조의2제4항",
    "「개인정보 보호법」 제24조의2(주민등록번호 처리의 제한)",
])
def test_case_numbers_and_article_references_are_not_pii(text):
    assert find_pii(text) == []


@pytest.mark.parametrize("text", [
    "시행일 2024. 3. 15., 개정 2022.1.11, 2019.10.12, 2023-05-01",
    "과태료 금113,560원, 1,234,567원, 12,345,678원",
    "법령MST 253527, 법령ID 001234, 공포번호 '04101'",
    "[법률 제19234호, 2023. 3. 14., 일부개정] [대통령령 제33123호]",
    "발간등록번호 11-1311000-000123-01, ISBN 978-89-1234-567-8",
    "운영 시간 09:00-18:00, 접수 3.15.~3.29., 전년 대비 12.5% 증가",
])
def test_dates_amounts_and_law_ids_are_not_pii(text):
    assert find_pii(text) == []


@pytest.mark.parametrize("text", [
    "서울특별시장, 종로구청장 및 행정안전부장관은 협의하여야 한다.",
    "서울특별시 종로구 일대와 세종대로 일원의 교통 통제",
    "도로명주소법 제2조에 따른 도로명, 국도 제1호선, 경부고속도로 123km 지점",
    "가로 210밀리미터, 세로 297밀리미터의 용지",
    "비율로 3개월마다, 순서로 2년간",
])
def test_bare_place_names_and_roads_without_building_numbers_are_not_addresses(text):
    assert find_pii(text) == []


@pytest.mark.parametrize("address", [
    "서울특별시 중구 세종대로 110",
    "세종특별자치시 도움6로 42",
    "경기도 성남시 분당구 판교역로 235, 101동 1203호",
    "부산 해운대구 해운대로 123-4 5층",
    "서울특별시 노원구 상계로99번길 12",
    "전라남도 나주시 금천면 원곡리 123-4번지",
])
def test_street_lot_and_unit_addresses_are_found(address):
    assert found(f"주소: {address}") == [("주소", address)]
    assert found("소재지 강남대로 123-4") == [("주소", "강남대로 123-4")]
    assert found("같은 아파트 101동 1203호로 전입") == [("주소", "101동 1203호")]


@pytest.mark.parametrize("text,name", [
    ("원고 김철수는 피고에게", "김철수"), ("담당자: 이영희", "이영희"), ("변호사 박민수", "박민수"),
    ("소송대리인 변호사 최정우 외 1인", "최정우"), ("원 고 남궁민수", "남궁민수"),
    ("성명: 홍길동, 주민등록번호", "홍길동"), ("대표이사 정한결)", "정한결"),
    ("민원과 김하늘 주무관(전화", "김하늘"), ("행정안전부(장관 윤서준)는", "윤서준"),
])
def test_names_marked_by_a_role_word_are_found(text, name):
    assert found(text) == [("이름", name)]


@pytest.mark.parametrize("text", [
    "원고 김○○은 피고에게", "피고인 이〇〇에 대한", "신청인 박**", "민원인 홍XX", "담당자 최OO",
    "증인 정◯◯의 진술", "원고 A는 피고 B에게", "원고 甲과 피고 乙",
])
def test_masked_names_are_left_alone(text):
    assert find_pii(text) == []


@pytest.mark.parametrize("text", [
    "피고 행정청의 처분", "원고 회사는", "피고 서울특별시장이 한 처분", "피고 대한민국은",
    "피고 국민건강보험공단", "원고 조합의 청구", "피고 정부가", "피고 성남시 분당구청장",
    "원고 소유의 토지", "원고와 피고 사이에", "담당 공무원은", "대표이사 선임", "성명 미상의 자",
    "변호사 선임 비용", "증인 채택 여부", "원고 주식회사 한빛건설",
])
def test_role_words_before_agencies_and_common_nouns_are_not_names(text):
    assert find_pii(text) == []


def test_business_number_needs_its_checksum_or_its_name_before_it():
    assert found("㈜한빛(220-81-62517)") == [("사업자등록번호", "220-81-62517")]
    assert found("관리번호 220-81-62518") == []
    assert found("사업자등록번호: 220-81-62518") == [("사업자등록번호", "220-81-62518")]


def test_account_numbers_need_a_bank_or_the_word_account_nearby():
    assert found("입금계좌: 신한은행 110-123-456789") == [("계좌번호", "110-123-456789")]
    assert found("환급 계좌번호 1002-123-456789") == [("계좌번호", "1002-123-456789")]
    assert found("문서번호 110-123-456789") == []
    assert found("국민은행 고객센터(1588-9999)") == [("전화번호", "1588-9999")]


def test_passport_and_licence_numbers():
    assert found("여권번호 M12345678") == [("여권번호", "M12345678")]
    assert found("여권번호: M123A4567") == [("여권번호", "M123A4567")]
    assert found("모델명 M12345678") == []
    assert found("운전면허번호 11-12-345678-90") == [("운전면허번호", "11-12-345678-90")]
    assert found("면허번호: 서울 12-345678-90") == [("운전면허번호", "서울 12-345678-90")]


def test_emails_stop_at_korean_particles_and_sentence_ends():
    assert found("hong.gildong@korea.kr로 보내 주십시오.") == [("이메일", "hong.gildong@korea.kr")]
    assert found("문의: cs+ticket@nurisoft.co.kr.") == [("이메일", "cs+ticket@nurisoft.co.kr")]
    assert found("마스킹: ho***@naver.com") == []


# --- redaction and files ------------------------------------------------------------

def test_findings_are_sorted_and_do_not_overlap(labelled):
    for r in labelled:
        fs = find_pii(r["text"])
        assert all(a.end <= b.start for a, b in zip(fs, fs[1:])), r["id"]
        assert all(r["text"][f.start:f.end] == f.text for f in fs)


def test_redaction_replaces_with_typed_placeholders_and_counts():
    text = "민원인 김철수(900101-1234568), 연락처 010-1234-5678, hong@korea.kr, 보조 010-9876-5432"
    redacted, counts = redact_pii(text)
    assert redacted == "민원인 <이름>(<주민등록번호>), 연락처 <전화번호>, <이메일>, 보조 <전화번호>"
    assert counts == Counter({"전화번호": 2, "이름": 1, "주민등록번호": 1, "이메일": 1})
    assert redact_pii("제3조제2항에 따른다.") == ("제3조제2항에 따른다.", Counter())


def test_finding_as_json_gives_type_offsets_and_text():
    f = find_pii("전화 02-123-4567")[0]
    assert isinstance(f, Finding)
    assert f.as_json() == {"type": "전화번호", "start": 3, "end": 14, "text": "02-123-4567"}


def test_offsets_are_in_nfc_text(tmp_path):
    nfc = "담당자: 홍길동\n주소: 서울특별시 중구 세종대로 110\n전화: 02-123-4567\n"
    path = tmp_path / "nfd.txt"
    path.write_bytes(b"\xef\xbb\xbf" + unicodedata.normalize("NFD", nfc).encode("utf-8"))
    findings = scan_file(path)
    assert [(f.type, nfc[f.start:f.end]) for f in findings] == [
        ("이름", "홍길동"), ("주소", "서울특별시 중구 세종대로 110"), ("전화번호", "02-123-4567")]
    assert findings == find_pii(nfc)


def test_scan_file_reads_legacy_korean_encodings_and_rejects_binary_with_the_path(tmp_path):
    from toolkit.errors import DataError

    path = tmp_path / "euckr.txt"
    path.write_bytes("담당자 연락처 010-2345-6789".encode("euc-kr"))
    assert [f.text for f in scan_file(path)] == ["010-2345-6789"]
    binary = tmp_path / "binary.txt"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataError, match="binary.txt"):
        scan_file(binary)


def test_pathological_inputs_scan_in_linear_time():
    inputs = ["a" * 200_000 + "@", "1" * 200_000, "1-" * 100_000, "로1" * 100_000,
              "원고 " * 60_000, "동 1호" * 50_000, "(" * 200_000, "가" * 200_000 + "번지",
              "연락처 010-1234-5678, " * 20_000]
    start = time.perf_counter()
    for text in inputs:
        find_pii(text)
    assert time.perf_counter() - start < 10


# --- real statutes ------------------------------------------------------------------

def test_statutes_have_fewer_than_one_finding_per_20000_chars():
    files = sorted(STATUTES.glob("*/*.md"))
    sample = files[:: max(1, len(files) // 20)][:20]
    chars, findings = 0, []
    for path in sample:
        text = unicodedata.normalize("NFC", path.read_text(encoding="utf-8"))
        chars += len(text)
        findings += [(path.parent.name, f.type, f.text) for f in find_pii(text)]
    print(f"\n{len(sample)} statute files, {chars} chars, {len(findings)} findings: {findings}")
    assert len(sample) == 20
    assert len(findings) < chars / 20_000
