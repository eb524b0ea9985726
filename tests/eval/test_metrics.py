"""Metrics handle Korean: identical strings score 1, paraphrases in between, unrelated ~0."""

from __future__ import annotations

import pytest

from toolkit.eval.metrics import METRICS, exact_match, normalize_answer

REF = "서울특별시는 2026년 말까지 공공데이터 500종을 추가로 개방한다."
PARAPHRASE = "서울시는 2026년 말까지 공공데이터를 500종 더 개방할 계획이다."
UNRELATED = "폭염 대비 무더위 쉼터를 운영합니다"


@pytest.mark.parametrize("name", sorted(METRICS))
def test_identical_korean_scores_one_paraphrase_between_unrelated_near_zero(name):
    metric = METRICS[name]
    assert metric(REF, REF) == pytest.approx(1.0)
    if name != "exact_match":
        assert 0.2 < metric(PARAPHRASE, REF) < 0.9
        assert metric(UNRELATED, REF) < 0.2
    assert metric("", REF) == 0.0


def test_rouge_score_default_tokenizer_is_why_we_do_not_use_it():
    from rouge_score import rouge_scorer

    hangul = "공공데이터를 추가로 개방한다"
    broken = rouge_scorer.RougeScorer(["rougeL"]).score(hangul, hangul)["rougeL"].fmeasure
    assert broken == 0.0  # its tokenizer deletes every non-ASCII character
    assert METRICS["rouge_l_char"](hangul, hangul) == 1.0


def test_exact_match_normalises_nfc_and_whitespace_only():
    import unicodedata

    assert exact_match(unicodedata.normalize("NFD", "보도자료"), "보도자료") == 1.0
    assert exact_match("  공문. ", "공문") == 1.0
    assert exact_match("공문서", "공문") == 0.0
    assert normalize_answer("시ㆍ구") == "시ㆍ구"  # the middle dot is kept (no NFKC)
