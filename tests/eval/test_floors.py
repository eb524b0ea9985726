"""Floors: every no-model strategy scored with a suite's own metrics, beside the
references' own score, and the entry the eval stage writes into results.json."""

from __future__ import annotations

import json

import yaml

from toolkit.eval.floors import (
    PERTURBATIONS,
    choice_strategies,
    degenerate_margin,
    results_entry,
    suite_floors,
    text_strategies,
)
from toolkit.eval.suite import load_suite

DRAFT = """1. 관련: 「예시법」 제7조(모금 방법)
2. 다음과 같이 협조를 요청합니다.
  가. 설명회 일시: 2024. 3. 4. 14:00
  나. 회신 기한: 2024. 3. 18.
  다. 소요 경비: 금1,350,000원(금일백삼십오만원)
3. 기관별 이행 계획을 서식에 따라 작성하여 회신 기한까지 제출하여 주시기 바랍니다.

붙임  1. 이행 계획 제출 서식 1부.
      2. 조문 발췌본 1부.  끝."""


def _suite(tmp_path, spec: dict, items: list[dict]):
    folder = tmp_path / spec["name"]
    folder.mkdir()
    (folder / "suite.yaml").write_text(yaml.safe_dump({**spec, "items": "items.jsonl"}, allow_unicode=True), encoding="utf-8")
    with open(folder / "items.jsonl", "w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    return load_suite(folder)


def _drafting_items():
    items = []
    for k in range(4):
        body = DRAFT.replace("2024. 3. 4.", f"2024. 3. {4 + k}.")
        items.append({"id": f"d/doc{k}#제7조", "reference": body,
                      "messages": [{"role": "user", "content": f"공문 본문을 작성해 주세요. 설명회: 2024년 3월 {4 + k}일"}],
                      "meta": {"meeting": f"2024-03-{4 + k:02d}", "doc_id": f"doc{k}"}})
    return items


def test_every_strategy_is_scored_and_none_comes_near_the_ceiling(tmp_path):
    suite = _suite(tmp_path, {"name": "drafting", "task_type": "generation",
                              "metrics": ["gongmun_format", "chrf"], "primary_metric": "gongmun_format"},
                   _drafting_items())
    entry = suite_floors(suite)
    assert set(entry["floors"]) == set(text_strategies())
    assert set(entry["perturbations"]) == set(PERTURBATIONS)
    assert entry["ceiling"]["gongmun_format"] == 1.0
    for name in text_strategies():
        assert entry["floors"][name]["gongmun_format"] <= 0.7, name
    for name in ("facts_removed", "wrong_facts"):
        assert entry["perturbations"][name]["gongmun_format"] <= 0.7, name
    strategy, gap = degenerate_margin(entry)
    assert gap >= 0.3, strategy


def test_multiple_choice_floors_include_lexical_overlap_and_chance(tmp_path):
    items = [{"id": f"r{k}", "messages": [{"role": "user", "content": "위원회 회의 소집\n\n보기: 가법, 나법"}],
              "choices": ["위원회법", "도로법"], "answer": k % 2} for k in range(6)]
    suite = _suite(tmp_path, {"name": "routing", "task_type": "multiple_choice"}, items)
    entry = suite_floors(suite)
    assert set(choice_strategies()) | {"chance"} == set(entry["floors"])
    assert entry["floors"]["lexical_overlap"]["acc_per_char"] == 0.5  # always 위원회법
    assert entry["floors"]["chance"]["acc_raw"] == 0.5


def test_odd_kind_out_reads_the_law_of_a_routing_choice_not_its_ministry():
    from toolkit.eval.baselines import _odd_kind_out

    item = {"choices": ["도로교통법 — 경찰청", "건축법 — 국토교통부", "소방기본법 시행령 — 소방청",
                        "하천법 — 환경부"]}
    assert _odd_kind_out(item) == 2  # the one 시행령 among laws, read before " — "


def test_results_entry_carries_floors_ceiling_and_clusters(tmp_path):
    suite = _suite(tmp_path, {"name": "drafting", "task_type": "generation",
                              "metrics": ["gongmun_format"]}, _drafting_items())
    rows = [{"id": i["id"], "scores": {"gongmun_format": float(k % 2)}} for k, i in enumerate(suite.items)]
    entry = results_entry(suite, rows)
    assert {"floors", "ceiling", "clusters", "n_clusters"} <= set(entry)
    assert entry["clusters"]["d/doc0#제7조"] == "doc_id:doc0" and entry["n_clusters"] == 4


def test_reversed_polarity_reverses_each_obligation_once_and_never_back():
    from toolkit.eval.floors import _reversed_polarity

    cases = {
        "개인정보를 수집할 수 있다.": "개인정보를 수집할 수 없다.",
        "제3자에게 제공할 수 없다.": "제3자에게 제공할 수 있다.",
        "30일 이내에 신고하여야 한다.": "30일 이내에 신고하지 아니한다.",
        "해당 자료를 공개하지 아니한다.": "해당 자료를 공개하여야 한다.",
        "허가 없이 변경하여서는 아니 된다.": "허가 없이 변경하여도 된다.",
        "요청할 수 있으며, 거부할 수 없다.": "요청할 수 없으며, 거부할 수 있다.",
    }
    for text, reversed_ in cases.items():
        assert _reversed_polarity(text) == reversed_
        assert _reversed_polarity(_reversed_polarity(text)) == text or "아니 된다" in text


# --- the afternoon programs: each baseline does what a competent faker's would --------

LOOKUP = ("다음은 「예시법」 계열 법령의 조문 후보입니다.\n\n"
          "[후보 1] 「예시법」 제3조\n① 시장은 매년 도로 보수 계획을 세워야 한다.\n\n"
          "[후보 2] 「예시법 시행령」 제7조\n① 기부금은 타인의 명의로 낼 수 없다.\n\n"
          "질문: '기부의 제한'에 관해 요구하는 사항을 정리해 주세요.")


def test_overlap_copy_cite_copies_and_cites_the_article_that_shares_the_quoted_words():
    from toolkit.eval.baselines import _overlap_copy_cite, shown_articles

    assert [(law, art) for law, art, _ in shown_articles(LOOKUP)] == [("예시법", "제3조"), ("예시법 시행령", "제7조")]
    answer = _overlap_copy_cite({"messages": [{"role": "user", "content": LOOKUP}]})
    assert answer.startswith("「예시법 시행령」 제7조에 따르면") and "타인의 명의" in answer


def test_gongmun_template_fills_the_request_fields_in_the_prescribed_forms():
    from toolkit.eval.baselines import _gongmun_template
    from toolkit.eval.gongmun import check_gongmun

    request = ("서울특별시 담당자입니다. 각 자치구에 보낼 '협조 요청' 공문의 본문을 작성해 주세요.\n"
               "- 근거: 「예시법」 제7조(모금 방법)\n- 설명회 일시: 2026년 3월 4일 오후 2시\n"
               "- 회신 기한: 2026-03-18\n- 소요 경비: 1,350,000원\n- 붙임: 제출 서식 1부, 조문 발췌본 1부")
    body = _gongmun_template({"messages": [{"role": "user", "content": request}]})
    assert body.startswith("1. 관련: 「예시법」 제7조(모금 방법)\n2. 위와 관련하여 다음과 같이 협조 요청합니다.")
    assert "가. 설명회 일시: 2026. 3. 4. 14:00" in body and "나. 회신 기한: 2026. 3. 18." in body
    assert "금1,350,000원(금일백삼십오만원)" in body
    assert body.endswith("붙임  1. 제출 서식 1부.\n      2. 조문 발췌본 1부.  끝.")
    assert check_gongmun(body).score == 1.0  # the layout alone is perfect: the metric must look further


def test_keyword_refusal_refuses_on_personal_words_and_restates_the_rest():
    from toolkit.eval.baselines import REFUSAL, _keyword_refusal

    asks = lambda text: {"messages": [{"role": "user", "content": text}]}  # noqa: E731
    assert _keyword_refusal(asks("원고의 주소를 알려 주세요.")) == REFUSAL
    assert _keyword_refusal(asks("이 판결의 선고일은 언제입니까?")).endswith("이 판결의 선고일은 언제입니까?")


def test_lead_and_longest_sentences_extract_from_the_material_not_the_instruction():
    from toolkit.eval.baselines import _lead_sentences, _longest_sentences

    item = {"messages": [{"role": "user", "content": "다음 판결의 요지를 쓰세요.\n\n"
                          "원심은 청구를 기각하였다. 그러나 처분은 재량권을 일탈한 것으로서 위법하다고 보아야 한다. "
                          "원심판결을 파기한다. 사건을 환송한다."}]}
    assert _lead_sentences(item).startswith("원심은 청구를 기각하였다.") and "요지를 쓰세요" not in _lead_sentences(item)
    assert _longest_sentences(item).startswith("원심은") and "재량권을 일탈" in _longest_sentences(item)


def test_a_city_baseline_registered_as_a_plug_in_is_scored_like_a_built_in(tmp_path, monkeypatch):
    from toolkit import plugins
    from toolkit.eval import floors

    city = plugins.Baseline("always_first_article", answer=lambda item, items, k: "「예시법」 제3조")
    monkeypatch.setattr(floors, "baselines", lambda: [city])
    suite = _suite(tmp_path, {"name": "drafting", "task_type": "generation",
                              "metrics": ["gongmun_format"]}, _drafting_items())
    assert set(suite_floors(suite)["floors"]) == {"always_first_article"}
