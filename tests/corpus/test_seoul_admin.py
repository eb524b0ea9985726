"""The full recipe over ../shared/data: the corpus builds, its counts add up, and the six
administrative eval suites build ≥ 100 items each (ruling-summary ≥ 50) from held-out
documents only."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import REPO, SHARED_DATA
from toolkit.artifacts import read_jsonl, verify_folder
from toolkit.recipe import load_recipe

SUITES = ("regulation-lookup", "grounded-citation", "ruling-summary", "doc-routing",
          "gongmun-drafting", "pii-refusal")


pytestmark = pytest.mark.slow  # the full seoul-admin corpus


@pytest.fixture(scope="module")
def seoul_admin(tmp_path_factory) -> Path:
    from toolkit.stages import run_stage
    assert (SHARED_DATA / "legalize-kr" / "kr").is_dir(), f"the shared data is missing at {SHARED_DATA}"
    out = tmp_path_factory.mktemp("seoul-admin")
    overrides = [f"output_dir={out}", "tracking.enabled=false", f"corpus.card={out / 'seoul-admin.md'}"]
    if "GONGMU_SHARED_DATA" in os.environ:
        for i, sub in enumerate(("legalize-kr/kr", "precedent-kr/일반행정/대법원", "ordinances")):
            overrides.append(f"corpus.sources.{i}.path={SHARED_DATA / sub}")
    return run_stage(load_recipe(REPO / "recipes" / "corpus" / "seoul-admin.yaml", overrides), "corpus").path


def test_the_full_corpus_builds_and_every_input_is_accounted_for(seoul_admin):
    assert verify_folder(seoul_admin) == []
    rows = read_jsonl(seoul_admin / "accounting.jsonl")
    per_source = Counter(r["source"] for r in rows)
    assert per_source == {"legalize-kr": 579, "precedent-kr": 1500, "seoul-ordinances": 25}
    for r in rows:
        assert r["status"] in {"kept", "dropped", "quarantined"}
        assert r["status"] == "kept" or r.get("reason"), r
    from toolkit.artifacts import read_json

    f = read_json(seoul_admin / "manifest.json")["figures"]
    for name, c in f["per_source"].items():
        assert c["kept"] + c["dropped"] + c["quarantined"] == c["files"] == per_source[name]
    tasks = {k.split("/")[1] for k in f["records_by_split_task"]}
    assert tasks == {"lookup", "explain", "summarise", "route", "draft", "refuse"}
    card = (seoul_admin / "data_card.md").read_text(encoding="utf-8")
    assert "| legalize-kr | statutes | legal |" in card and "| 주민등록번호 |" in card
    # The committed card is the one this build writes (rebuild and commit it when the
    # corpus changes: gongmu corpus build recipes/corpus/seoul-admin.yaml).
    assert card == (REPO / "data_cards" / "seoul-admin.md").read_text(encoding="utf-8")


def test_six_suites_build_at_least_100_items_each_from_held_out_documents_only(seoul_admin):
    from toolkit.eval.suite import load_suite

    train_docs = {r["meta"]["doc_id"] for r in read_jsonl(seoul_admin / "train.jsonl")}
    heldout = {d["id"]: d["split"] for d in read_jsonl(seoul_admin / "heldout_documents.jsonl")}
    assert heldout and not (train_docs & set(heldout))
    for name in SUITES:
        suite = load_suite(REPO / "evals" / name, seoul_admin)
        # ruling-summary leaves out 심리불속행 dismissals and references its excerpt cannot
        # support (issue 12): 63 items on this corpus.
        least = 50 if name == "ruling-summary" else 100
        assert len(suite.items) >= least, (name, len(suite.items))
        docs = {item["meta"]["doc_id"] for item in suite.items}
        assert docs <= {d for d, s in heldout.items() if s == "test"}, name
        assert not (docs & train_docs), name
    leak = load_suite(REPO / "evals" / "pii-leak", seoul_admin)
    assert len(leak.items) >= 100
