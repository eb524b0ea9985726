"""gongmun_format is format x facts of the request x required parts: a body with wrong or
missing facts, or without its parts, stays below the suite's 0.8; quoted statute text
inside an item is not a numbering error."""

from __future__ import annotations

import re

from toolkit.eval.gongmun import (
    IMPERFECT_CAP,
    check_draft,
    check_gongmun,
    request_facts,
)
from toolkit.eval.metrics import score

REFERENCE = """수신  각 중앙행정기관의 장
제목  「예시법 시행령」 이행 실태 점검 결과 보고

1. 관련: 「예시법 시행령」 제4조(위원의 해촉)
2. 위 조문에 따른 이행 실태를 점검하고 그 결과를 다음과 같이 보고합니다.
  가. 점검 기간: 2026. 1. 2. ~ 2026. 1. 15.
  나. 점검 대상: 19개 기관
  다. 설명회: 2026. 1. 20. 14:00, 정부세종청사 대회의실
  라. 소요 경비: 금774,070원(금칠십칠만사천칠십원)
3. 점검 결과 보완이 필요한 사항은 해당 기관과 협의하여 조치하겠습니다.

붙임  1. 점검 결과 1부.
      2. 경비 집행 내역 1부.  끝."""
ITEM = {"reference": REFERENCE,
        "meta": {"start": "2026-01-02", "end": "2026-01-15", "amount": 774070,
                 "recipient": "각 중앙행정기관의 장"}}


def _score(output: str) -> float:
    return score("gongmun_format", output, REFERENCE, ITEM)


def test_the_reference_scores_one_and_states_every_fact():
    assert _score(REFERENCE) == 1.0
    facts = request_facts(REFERENCE, ITEM["meta"])
    assert {"date 2026-01-02", "date 2026-01-15", "date 2026-01-20", "time 14:00",
            "amount 774,070", "붙임 점검 결과 1부", "붙임 경비 집행 내역 1부"} <= set(facts)


def test_wrong_or_missing_facts_cannot_reach_the_threshold():
    shifted = re.sub(r"2026\.", "2027.", REFERENCE)
    no_amount = REFERENCE.replace("금774,070원(금칠십칠만사천칠십원)", "금원")
    wrong_reading = REFERENCE.replace("금칠십칠만사천칠십원", "금칠십칠만사천원")
    fewer_attachments = REFERENCE.replace("붙임  1. 점검 결과 1부.\n      2.", "붙임")
    other_recipient = REFERENCE.replace("각 중앙행정기관의 장", "각 시ㆍ도지사")
    for body in (shifted, no_amount, wrong_reading, fewer_attachments, other_recipient):
        assert _score(body) <= IMPERFECT_CAP < 0.8, body


def test_a_body_without_its_title_is_missing_a_part():
    no_title = REFERENCE.replace("제목  「예시법 시행령」 이행 실태 점검 결과 보고\n", "")
    report = check_draft(no_title, REFERENCE, ITEM["meta"])
    assert "part 제목" in report.missing and report.score < 0.8


def test_leaving_content_out_no_longer_makes_a_body_easier_to_pass():
    short = "수신  각 중앙행정기관의 장\n제목  결과 보고\n\n1. 점검 결과를 보고합니다.  끝."
    assert check_gongmun(short).score == 1.0  # the format alone is fine
    assert _score(short) < 0.3


def test_quoted_statute_inside_an_item_is_not_a_numbering_error():
    body = """1. 관련 조문
  가. 조문 요지는 다음과 같습니다.
    ① 국무총리는 위원을 해촉할 수 있다.
      1. 심신쇠약으로 직무를 수행할 수 없게 된 경우
      2. 직무와 관련된 비위사실이 있는 경우
    ② 위원장은 회의를 소집한다.
  나. 시행일: 2026. 1. 2.
2. 협조하여 주시기 바랍니다.  끝."""
    assert check_gongmun(body).checks["numbering"] is True
    assert check_gongmun("1. 가\n  ③ 나\n2. 다  끝.").checks["numbering"] is False
