"""key_facts sees polarity and facts: on pairs written for this project, a reversed legal
meaning scores below 0.5 and a faithful paraphrase above 0.7; content_f1 drops particles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolkit.eval.metrics import (
    content_f1,
    content_morphemes,
    key_fact_score,
    key_facts,
    token_f1,
)

PAIRS = [json.loads(line) for line in
         (Path(__file__).parents[1] / "data" / "eval" / "polarity_pairs.jsonl").open(encoding="utf-8")]


def test_the_set_holds_at_least_100_pairs_of_varied_forms():
    assert len(PAIRS) >= 100
    forms = {"것은 아니": 0, "없이도": 0, "아니할 수 없": 0, "아니하여야": 0, "않아야": 0, "에게": 0}
    for pair in PAIRS:
        for form in forms:
            forms[form] += any(form in pair[k] for k in ("reference", "paraphrase", "reversed"))
    assert all(n >= 2 for n in forms.values()), forms


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p["reference"][:20])
def test_reversed_meaning_below_half_paraphrase_above_0_7(pair):
    assert key_fact_score(pair["reversed"], pair["reference"]) < 0.5
    assert key_fact_score(pair["paraphrase"], pair["reference"]) > 0.7
    assert key_fact_score(pair["reference"], pair["reference"]) == 1.0


def test_bag_of_morphemes_cannot_see_the_reversal_that_key_facts_sees():
    ref = "개인정보처리자는 정보주체의 동의를 받은 경우 개인정보를 수집할 수 있다."
    flipped = "개인정보처리자는 정보주체의 동의를 받은 경우 개인정보를 수집할 수 없다."
    assert token_f1(flipped, ref) > 0.85
    assert key_fact_score(flipped, ref) == 0.0


def test_key_facts_are_numbers_actors_and_modality():
    facts = key_facts("행정안전부장관은 30일 이내에 결과를 통지하여야 하며, 수수료를 100분의 50 범위에서 감면할 수 있다.")
    assert {"30일", "100분의50"} <= facts["numbers"]
    assert "행정안전부장관" in facts["actors"]
    assert facts["modal"] == {"통지": {"must"}, "감면": {"may"}}


def test_a_changed_number_costs_its_share():
    ref = "사업자는 휴업하려면 휴업 30일 전까지 신고하여야 한다."
    assert key_fact_score(ref.replace("30일", "10일"), ref) < 1.0


def test_content_f1_gives_particles_and_endings_nothing():
    assert content_morphemes("개인정보를 수집할 수 있다.") == ["개인", "정보", "수집", "수", "있"]
    boilerplate = "해당 조문은 다음과 같이 규정하고 있습니다. 요건과 효과는 다음과 같습니다."
    ref = "지원위원회의 위촉위원에게는 예산의 범위에서 수당과 여비를 지급할 수 있다."
    assert content_f1(boilerplate, ref) < token_f1(boilerplate, ref)
    assert content_f1(boilerplate, ref) < 0.2


@pytest.mark.parametrize("reference, reversed_", [
    ("개인정보처리자는 개인정보를 수집할 수 있다.", "개인정보처리자는 개인정보를 수집할 수 있는 것은 아니다."),
    ("처리자는 정보주체의 동의를 받은 경우에는 개인정보를 수집할 수 있다.",
     "처리자는 정보주체의 동의 없이도 개인정보를 수집할 수 있다."),
    ("행정안전부장관은 시장에게 통지하여야 한다.", "시장은 행정안전부장관에게 통지하여야 한다."),
    ("교육감은 학교의 설립을 인가하지 아니할 수 없다.", "교육감은 학교의 설립을 인가하지 아니할 수 있다."),
    ("위원은 회의 내용을 공개하지 아니하여야 한다.", "위원은 회의 내용을 공개하여야 한다."),
])
def test_the_reversals_that_scored_1_now_score_0(reference, reversed_):
    """Issue 20: key_facts gave 1.0 to a denied permission, a dropped condition, swapped
    actors; a double negation and a must-not read as plain rules."""
    assert key_fact_score(reversed_, reference) == 0.0
