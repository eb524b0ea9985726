"""ruling-summary (issue 20 §3): the excerpt is the Supreme Court's own reasoning, never
the lower court's that it may have reversed, and a reference with several numbered
issues is asked and scored one issue at a time; lead and longest sentences stay far
below the references."""

from __future__ import annotations

import re

import pytest

from tests.eval.test_builders import held_out_documents
from toolkit.eval.builders.ruling_summary import _issues, ruling_summary
from toolkit.eval.metrics import score


@pytest.fixture(scope="module")
def items():
    return ruling_summary([d for d in held_out_documents() if d["source"] == "precedent-kr"], 0)


def _excerpt(item) -> str:
    return item["messages"][-1]["content"].split("\n\n", 1)[1]


def test_the_excerpt_holds_the_courts_own_reasoning_not_the_lower_courts(items):
    assert len(items) >= 50
    for item in items:
        for paragraph in _excerpt(item).split("\n"):
            assert not re.match(r"^\s*(?:[가-하]\.\s*|\d+\.\s*)?원심은", paragraph), item["id"]


def test_a_reference_with_several_issues_is_asked_one_issue_at_a_time(items):
    assert _issues("[1] 첫째 쟁점 [2] 둘째 쟁점") == [("[1]", "첫째 쟁점"), ("[2]", "둘째 쟁점")]
    assert _issues("한 가지 쟁점") == [("", "한 가지 쟁점")]
    split = [i for i in items if i["meta"].get("issue")]
    assert split, "the held-out rulings include multi-issue 판시사항"
    for item in split:
        assert f"{item['meta']['issue']}번째 쟁점" in item["messages"][-1]["content"]
        assert not re.search(r"\[\d+\]", item["reference"])


def test_lead_and_longest_sentences_stay_far_below_the_references(items):
    from toolkit.eval.baselines import _lead_sentences, _longest_sentences

    for strategy in (_lead_sentences, _longest_sentences):
        mean = sum(score("content_f1", strategy(i), i["reference"], i) for i in items) / len(items)
        assert mean <= 0.7, (strategy.__name__, mean)  # the references score 1.0
