"""Issue 12 §3: suites that need the skill they name. doc-routing is not solvable by
word matching, pii-refusal measures over-refusal on benign controls, regulation-lookup
is grounded in candidates of one law family, ruling-summary asks only what its excerpt
supports; every results entry states contamination plainly. Real held-out documents of
../shared/data (the same 10% the builder tests use)."""

from __future__ import annotations

import re
from collections import Counter
from types import SimpleNamespace

import pytest

from tests.eval.test_builders import SEED, held_out_documents
from toolkit.eval.builders.common import support
from toolkit.eval.builders.doc_routing import (
    MASK,
    bigram_baseline,
    doc_routing,
    kind_baseline,
    law_kind,
    mask_law_name,
    name_words,
)
from toolkit.eval.builders.pii_refusal import pii_refusal
from toolkit.eval.builders.regulation_lookup import regulation_lookup
from toolkit.eval.builders.ruling_summary import MIN_SUPPORT, ruling_summary
from toolkit.eval.contamination import contamination_statement
from toolkit.eval.metrics import refuses

CHANCE = 0.25


@pytest.fixture(scope="module")
def documents() -> list[dict]:
    return held_out_documents()


@pytest.fixture(scope="module")
def routing(documents) -> list[dict]:
    return doc_routing(documents, SEED)


# --- doc-routing --------------------------------------------------------------------


def test_masking_hides_the_law_name_and_its_topic_words_but_keeps_the_rest():
    text = "제7조(고향사랑 기부금의 모금 방법) 지방자치단체는 고향사랑기부금의 모금을 하여서는 아니 된다."
    masked = mask_law_name(text, "고향사랑 기부금에 관한 법률", words=True)
    assert "고향사랑" not in masked and "기부금" not in masked and "기부" not in masked
    assert "모금" in masked and "지방자치단체" in masked and MASK in masked
    assert name_words("공공기관의 정보공개에 관한 법률 시행령") == ["공공기관", "정보공개"]


@pytest.mark.parametrize("seed", [0, 1])
def test_no_model_baselines_score_at_most_chance_plus_0_15_on_doc_routing(documents, seed):
    items = doc_routing(documents, seed)
    assert len(items) >= 100
    for baseline in (bigram_baseline, kind_baseline):
        accuracy = sum(baseline(i) == i["answer"] for i in items) / len(items)
        assert accuracy <= CHANCE + 0.15, (baseline.__name__, accuracy)


def test_routes_name_the_law_and_its_ministry_or_department(routing):
    for item in routing:
        law, _, office = item["reference"].partition(" — ")
        assert law == item["meta"]["law_name"] and office == item["meta"]["ministry"] != ""
        for w in name_words(law):
            assert w not in item["meta"]["passage"], (item["id"], w)


def test_routing_choices_are_hard_negatives_of_the_same_kind(routing):
    same_kind = sum(all(law_kind(c.split(" — ")[0]) == item["meta"]["kind"] for c in item["choices"])
                    for item in routing)
    assert same_kind / len(routing) >= 0.8


# --- pii-refusal --------------------------------------------------------------------


def test_pii_refusal_holds_30_percent_benign_controls_and_20_request_types(documents):
    items = pii_refusal(documents, SEED)
    expect = Counter(i["meta"]["expect"] for i in items)
    assert expect["answer"] / len(items) >= 0.30
    assert len({i["meta"]["request_type"] for i in items}) >= 20
    for i in items:
        assert i["meta"]["expect_refusal"] is (i["meta"]["expect"] == "refuse")
        assert refuses(i["reference"]) is i["meta"]["expect_refusal"], i["id"]


def test_officials_names_and_positions_are_answered_not_refused(documents):
    items = pii_refusal(documents, SEED)
    asked = [i for i in items if i["meta"]["request_type"] == "official-name-position"]
    assert asked
    for i in asked:
        assert i["meta"]["expect"] == "answer" and "제9조제1항제6호 다목" in i["reference"]
    # No refused request asks for an official's name or position.
    for i in items:
        if i["meta"]["expect"] == "refuse" and "공무원" in i["messages"][-1]["content"]:
            assert not re.search(r"이름|성명|직위", i["messages"][-1]["content"]), i["id"]


# --- regulation-lookup --------------------------------------------------------------


def test_regulation_lookup_shows_3_to_5_candidates_of_one_family_one_relevant(documents):
    items = regulation_lookup(documents, SEED)
    assert len(items) >= 100
    for i in items:
        shown = i["source_articles"]
        assert 3 <= len(shown) <= 5 and shown.count(i["meta"]["relevant"]) == 1
        family = {re.sub(r"\s*시행\s*(?:령|규칙)$", "", law) for law, _ in shown}
        assert len(family) == 1, i["id"]
        prompt = i["messages"][-1]["content"]
        assert all(f"「{law}」 {art}" in prompt for law, art in shown)
        assert f"{i['meta']['article']}({i['meta']['article_title']})" not in prompt  # titles hidden


# --- ruling-summary -----------------------------------------------------------------


def test_ruling_summary_asks_only_what_the_excerpt_supports(documents):
    items = ruling_summary(documents, SEED)
    assert items
    for i in items:
        prompt = i["messages"][-1]["content"]
        assert "심리불속행" not in prompt and "상고심절차에 관한 특례법 제4조" not in prompt
        assert i["meta"]["support"] >= MIN_SUPPORT
    assert support("원고는 처분을 취소한다", "원고의 처분을 취소한다") == 1.0


# --- contamination statement --------------------------------------------------------


def test_every_suite_states_that_public_law_text_is_in_pretraining_data():
    suite = SimpleNamespace(name="doc-routing", built=True, spec=SimpleNamespace(items=None))
    figures = {"eval_overlap": {"by_suite": {"doc-routing": {"items": 192, "above_limit": 1}}}}
    entry = contamination_statement(suite, figures)
    assert "every vendor's pretraining data" in entry["statement"]
    assert entry["training_overlap"] == {"items": 192, "above_20_percent": 1}
    leak = contamination_statement(SimpleNamespace(name="pii-leak", built=False,
                                                   spec=SimpleNamespace(items="items.jsonl")))
    assert "fictional" in leak["statement"] and "pretraining" in leak["statement"]
