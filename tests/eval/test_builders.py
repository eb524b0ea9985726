"""Eval suites built from held-out documents (toolkit/eval/builders/) and the
hand-written PII-leak items (evals/pii-leak), on real statutes, ordinances and rulings
(../shared/data): a deterministic 10% per source, as the corpus stage holds out."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest
import yaml

from tests.helpers import REPO, SHARED_DATA
from toolkit.corpus.clean import normalize_text
from toolkit.corpus.sources import front_matter
from toolkit.corpus.split import split_documents
from toolkit.eval.builders import BUILDERS
from toolkit.eval.builders.doc_routing import MASK
from toolkit.eval.gongmun import check_gongmun
from toolkit.eval.metrics import citation_accuracy, extract_citations, metric_names, pii_leak, refusal
from toolkit.korean.forms import gongmun_amount
from toolkit.korean.legal import strip_amendment_notes

# Source name, type, folder and glob as recipes/corpus/seoul-admin.yaml reads them.
SOURCES = (
    ("legalize-kr", "statutes", SHARED_DATA / "legalize-kr" / "kr", "**/*.md"),
    ("precedent-kr", "rulings", SHARED_DATA / "precedent-kr" / "일반행정" / "대법원", "*.md"),
    ("seoul-ordinances", "ordinances", SHARED_DATA / "ordinances", "*.md"),
)
SPLIT_SEED = 42  # the corpus recipe's seed: which documents are held out
SEED = 0  # the builders' seed: the suites' `items.seed` default
MIN_ITEMS = 100
SUITE_OF = {"regulation_lookup": "regulation-lookup", "grounded_citation": "grounded-citation",
            "ruling_summary": "ruling-summary", "doc_routing": "doc-routing",
            "gongmun_drafting": "gongmun-drafting", "pii_refusal": "pii-refusal"}



def _meta_value(value):
    # As the corpus stage stores front matter: lists joined, everything else a string.
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return None if value is None else str(value)


def held_out_documents(fraction: float = 0.1, seed: int = SPLIT_SEED) -> list[dict]:
    """The test split the corpus stage would hold out of ../shared/data (stratified by
    source, sha256 of f"{seed}:{doc_id}"), read and cleaned as the stage cleans them:
    front matter split off, NFC and whitespace normalised, amendment notes removed."""
    files = {}
    for name, kind, root, glob in SOURCES:
        for path in sorted(p for p in root.glob(glob) if p.is_file()):
            files[f"{name}/{path.relative_to(root).as_posix()}"] = (name, kind, path)
    split = split_documents({d: files[d][0] for d in files}, 0.05, fraction, seed)
    docs = []
    for doc_id in sorted(d for d in files if split[d] == "test"):
        name, kind, path = files[doc_id]
        meta, body = front_matter(path.read_text(encoding="utf-8"))
        text = normalize_text(strip_amendment_notes(normalize_text(body))[0])
        docs.append({"id": doc_id, "source": name, "source_type": kind, "path": str(path),
                     "text": text, "meta": {k: _meta_value(v) for k, v in meta.items()},
                     "split": "test"})
    return docs


@pytest.fixture(scope="module")
def documents() -> list[dict]:
    return held_out_documents()


@pytest.fixture(scope="module")
def built(documents) -> dict[str, list[dict]]:
    return {name: build(documents, SEED) for name, build in BUILDERS.items()}


def _dump(items: list[dict]) -> str:
    return json.dumps(items, ensure_ascii=False, sort_keys=True)


def _load_make_items():
    spec = importlib.util.spec_from_file_location("make_items", REPO / "evals" / "pii-leak" / "make_items.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pii_key(text: str) -> str:
    return re.sub(r"[\s\-.()]", "", text).casefold()


# --- every builder ----------------------------------------------------------------------


def test_the_held_out_split_is_a_tenth_of_each_source(documents):
    by_source = {name: sum(d["source"] == name for d in documents) for name, *_ in SOURCES}
    assert by_source == {"legalize-kr": 58, "precedent-kr": 150, "seoul-ordinances": 2}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_each_builder_gives_at_least_100_items_from_a_10_percent_test_split(built, name):
    # ruling-summary leaves out summary dismissals and references the excerpt cannot
    # support (issue 12): about 60% of its former items remain.
    least = 50 if name == "ruling_summary" else MIN_ITEMS
    assert len(built[name]) >= least, f"{name}: {len(built[name])} items"


def test_builders_are_deterministic_whatever_the_document_order(documents, built):
    shuffled = sorted(documents, key=lambda d: d["id"][::-1])
    for name, build in BUILDERS.items():
        assert _dump(build(shuffled, SEED)) == _dump(built[name]), name


def test_another_seed_chooses_other_articles(documents, built):
    again = BUILDERS["regulation_lookup"](documents, SEED + 1)
    assert {i["id"] for i in again} != {i["id"] for i in built["regulation_lookup"]}


def test_item_ids_are_unique_and_name_suite_document_and_part(built):
    for name, items in built.items():
        ids = [i["id"] for i in items]
        assert len(ids) == len(set(ids)), name
        for item in items:
            assert item["id"].startswith(f"{SUITE_OF[name]}/{item['meta']['doc_id']}#"), item["id"]


def test_items_come_only_from_the_given_documents(documents, built):
    given = {d["id"]: d for d in documents}
    names = {d["meta"].get("제목") or d["meta"].get("자치법규명") for d in documents}
    for name, items in built.items():
        for item in items:
            doc = given.get(item["meta"]["doc_id"])
            assert doc is not None, f"{item['id']}: not a held-out document"
            assert item["meta"]["path"] == doc["path"] and item["meta"]["split"] == "test"
            # doc-routing's choices are routes, "법령명 — 소관부처"
            assert {c.split(" — ")[0] for c in item.get("choices", [])} <= names, item["id"]


def test_items_are_prompts_with_a_separate_reference(built):
    for name, items in built.items():
        for item in items:
            roles = [m["role"] for m in item["messages"]]
            assert roles[-1] == "user" and set(roles) <= {"system", "user"}, item["id"]
            assert item["messages"][-1]["content"].strip(), item["id"]
            assert isinstance(item["reference"], str) and item["reference"].strip(), item["id"]
            assert item["meta"]["task"], item["id"]


# --- per suite ----------------------------------------------------------------------


def test_regulation_lookup_asks_by_law_and_title_and_answers_with_the_article(built):
    # Grounded since issue 12: the article is among 3-5 candidates of its law family and
    # the reference cites it before its text (at most 400 characters).
    for item in built["regulation_lookup"]:
        prompt, meta = item["messages"][-1]["content"], item["meta"]
        assert meta["law_name"] in prompt and meta["article_title"] in prompt
        cite = f"「{meta['law_name']}」 {meta['article']}에 따르면, "
        assert item["reference"].startswith(cite) and len(item["reference"]) - len(cite) <= 400
        assert [meta["law_name"], meta["article"]] in item["source_articles"]
        assert 3 <= len(item["source_articles"]) <= 5
        assert "내용을 알려 주세요" not in prompt  # the training corpus's phrasing


def test_grounded_references_cite_one_article_of_their_context(built):
    for item in built["grounded_citation"]:
        prompt, context = item["messages"][-1]["content"], item["source_articles"]
        assert 2 <= len(context) <= 3 and len({tuple(a) for a in context}) == len(context)
        for law, article in context:
            assert f"「{law}」 {article}\n" in prompt, item["id"]
        cited = extract_citations(item["reference"])
        assert [(law.replace(" ", ""), a) for law, a in cited] == [
            (item["meta"]["law_name"].replace(" ", ""), item["meta"]["article"])]
        assert [item["meta"]["law_name"], item["meta"]["article"]] in context
        assert citation_accuracy(item["reference"], item["reference"],
                                 source_articles=[tuple(a) for a in context]) == 1.0


def test_grounded_context_hides_article_titles(built):
    for item in built["grounded_citation"]:
        assert f"({item['meta']['article_title']})" not in item["messages"][-1]["content"]


def test_ruling_summary_targets_the_holding_or_the_gist(built):
    items = built["ruling_summary"]
    assert {item["meta"]["task"] for item in items} == {"ruling_holding", "ruling_gist"}
    assert all(len(item["messages"][-1]["content"]) < 1800 for item in items)
    # A 판결요지 is sometimes a sentence of the judgment itself; rarely.
    copied = [i["id"] for i in items if i["reference"] in i["messages"][-1]["content"]]
    assert len(copied) <= len(items) // 20, copied


def test_routing_choices_are_four_distinct_laws_and_the_answer_is_the_articles_law(built):
    for item in built["doc_routing"]:
        choices, answer = item["choices"], item["answer"]
        assert len(choices) == 4 and len(set(choices)) == 4, item["id"]
        assert isinstance(answer, int) and 0 <= answer < 4
        assert choices[answer] == item["reference"]
        assert item["reference"].split(" — ")[0] == item["meta"]["law_name"]  # a route since issue 12
        article_part = item["messages"][-1]["content"].split("보기:")[0]
        assert item["meta"]["law_name"] not in article_part and MASK in item["messages"][-1]["content"]


def test_routing_answers_are_spread_over_the_four_positions(built):
    positions = [item["answer"] for item in built["doc_routing"]]
    assert all(positions.count(k) >= len(positions) // 8 for k in range(4))


def test_drafting_references_follow_the_gongmun_format(built):
    for item in built["gongmun_drafting"]:
        body = item["reference"]
        assert body.rstrip().endswith("끝."), item["id"]
        assert re.search(r"\b20\d\d\. [1-9]\d?\. [1-9]\d?\.", body), item["id"]
        assert not re.search(r"\d{4}-\d{2}-\d{2}|\d+년 \d+월|오[전후] \d+시", body), item["id"]
        assert body.startswith("1. ") and "\n  가. " in body and "\n붙임  " in body
        report = check_gongmun(body)
        assert report.score == 1.0, (item["id"], report.violations)


def test_drafting_requests_give_facts_the_everyday_way(built):
    kinds = {item["meta"]["draft_kind"] for item in built["gongmun_drafting"]}
    assert kinds == {"시행 안내", "협조 요청", "결과 보고"}
    for item in built["gongmun_drafting"]:
        request = item["messages"][-1]["content"]
        assert re.search(r"\d{4}-\d{2}-\d{2}|\d{4}년 \d{1,2}월 \d{1,2}일", request)
        if "amount" in item["meta"]:
            assert f"{item['meta']['amount']:,}원" in request
            assert gongmun_amount(item["meta"]["amount"]) in item["reference"]


def test_refusal_references_refuse(built):
    # Since issue 12 the suite holds benign controls (meta.expect: answer), whose
    # references answer; statutes give controls only.
    items = built["pii_refusal"]
    refuse = [i for i in items if i["meta"]["expect"] == "refuse"]
    assert all(refusal(item["reference"]) == 1.0 for item in refuse)
    assert {i["meta"]["source"] for i in refuse} == {"precedent-kr", "seoul-ordinances"}


# --- hand-written PII-leak items ------------------------------------------------------


@pytest.fixture(scope="module")
def leak_items() -> list[dict]:
    path = REPO / "evals" / "pii-leak" / "items.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_leak_items_file_is_what_make_items_writes(leak_items):
    assert leak_items == _load_make_items().build_items()


def test_leak_items_hold_every_listed_pii_and_their_references_none(leak_items):
    assert len(leak_items) >= MIN_ITEMS
    assert len({i["id"] for i in leak_items}) == len(leak_items)
    for item in leak_items:
        prompt, reference = item["messages"][-1]["content"], item["reference"]
        assert item["context_pii"], item["id"]
        for value in item["context_pii"]:
            assert value in prompt, (item["id"], value)
            assert _pii_key(value) not in _pii_key(reference), (item["id"], value)
        assert pii_leak(reference, context_pii=item["context_pii"]) == 0.0, item["id"]
        assert pii_leak(prompt, context_pii=item["context_pii"]) == 1.0, item["id"]


def test_leak_items_use_fictional_contact_data(leak_items):
    for item in leak_items:
        for value in item["context_pii"]:
            if "@" in value:
                assert re.search(r"@example\.(com|org|net)$", value), value
            if re.fullmatch(r"\d{6}-\d{7}", value):  # a 주민등록번호 with a valid check digit
                digits = value.replace("-", "")
                total = sum(int(c) * w for c, w in zip(digits, (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)))
                assert int(digits[12]) == (11 - total % 11) % 10


# --- suite folders and helpers ---------------------------------------------------------


@pytest.mark.parametrize("folder", [*SUITE_OF.values(), "pii-leak"])
def test_suite_yaml_names_its_builder_or_items_file(folder):
    spec = yaml.safe_load((REPO / "evals" / folder / "suite.yaml").read_text(encoding="utf-8"))
    assert spec["name"] == folder and spec["description"] and spec["max_new_tokens"] > 0
    if isinstance(spec["items"], dict):
        assert spec["items"] == {"builder": spec["items"]["builder"], "split": "test"}
        assert SUITE_OF[spec["items"]["builder"]] == folder
    else:
        assert (REPO / "evals" / folder / spec["items"]).is_file()
    assert set(spec.get("metrics", [])) <= set(metric_names())


def test_the_suite_loader_builds_the_same_items_from_the_corpus_stage_documents(
        tmp_path, documents, built):
    from toolkit.eval.suite import HELDOUT_DOCUMENTS, load_suite

    with open(tmp_path / HELDOUT_DOCUMENTS, "w", encoding="utf-8") as fh:
        for doc in documents:
            fh.write(json.dumps(doc, ensure_ascii=False) + "\n")
    for name, folder in SUITE_OF.items():
        suite = load_suite(REPO / "evals" / folder, corpus_dir=tmp_path)
        assert _dump(suite.raw_items) == _dump(built[name]), folder
        assert suite.primary in suite.metrics
    routing = load_suite(REPO / "evals" / "doc-routing", corpus_dir=tmp_path)
    assert routing.task_type == "multiple_choice" and routing.primary == "acc_per_char"
    leak = load_suite(REPO / "evals" / "pii-leak")
    assert leak.metrics == ["usefulness", "pii_leak"] and leak.primary == "usefulness"

