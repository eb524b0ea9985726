"""Instruction families (toolkit/corpus/families/): well-formed, deterministic records from
real legal sources, the official-document conventions the draft family follows, and the
alpaca and sharegpt views (toolkit/corpus/views.py)."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from tests.helpers import DOCS, SHARED_DATA
from toolkit.corpus.families import FAMILIES, FAMILY_DESCRIPTIONS, SourceDoc, SynthOptions
from toolkit.corpus.families.common import source_doc
from toolkit.corpus.families.statutes import polite
from toolkit.corpus.sources import Document, front_matter
from toolkit.corpus.views import from_alpaca, from_sharegpt, to_alpaca, to_sharegpt
from toolkit.korean.forms import item_marker
from toolkit.korean.legal import meta_text, parse_statute

DATA = SHARED_DATA
RULINGS = DATA / "precedent-kr" / "일반행정" / "대법원"
LEGAL_FAMILIES = ("lookup", "explain", "summarise", "route", "draft", "refuse")


def load(path: Path, source_type: str) -> SourceDoc:
    meta, body = front_matter(path.read_text(encoding="utf-8"))
    rel = path.relative_to(DATA).as_posix()
    return SourceDoc(rel, rel.split("/")[0], source_type, str(path), body,
                     {k: meta_text(v) for k, v in meta.items()})


@pytest.fixture(scope="module")
def docs() -> list[SourceDoc]:
    return [
        load(DATA / "legalize-kr" / "kr" / "개인정보보호법" / "법률.md", "statute"),
        load(DATA / "legalize-kr" / "kr" / "공무원수당등에관한규정" / "대통령령.md", "statute"),
        load(DATA / "ordinances" / "서울특별시 개인정보 보호에 관한 조례.md", "ordinance"),
        load(DATA / "ordinances" / "서울특별시 공무원 복무 조례.md", "ordinance"),
        load(RULINGS / "2013두9649.md", "ruling"),
        load(RULINGS / "2012두10086.md", "ruling"),
        load(RULINGS / "2012두10994.md", "ruling"),
    ]


def build(doc: SourceDoc, task: str, **options) -> list[dict]:
    return FAMILIES[task](doc, SynthOptions(**options))


# ------------------------------------------------------------------ record shape


def assert_well_formed(rec: dict, doc: SourceDoc, task: str) -> None:
    assert rec["id"].startswith(f"{doc.id}#{task}")
    assert [m["role"] for m in rec["messages"]] == ["user", "assistant"]
    for m in rec["messages"]:
        assert m["content"].strip() and unicodedata.is_normalized("NFC", m["content"])
        assert "**" not in m["content"] and "\\." not in m["content"]
    meta = rec["meta"]
    assert (meta["task"], meta["doc_id"], meta["source"], meta["source_type"], meta["path"]) == (
        task, doc.id, doc.source, doc.source_type, doc.path)
    if doc.source_type == "ruling":
        assert meta["case_number"]
    else:
        assert meta["law_id"] and meta["law_name"]


def test_every_family_is_described_for_the_data_card():
    assert FAMILY_DESCRIPTIONS.keys() == FAMILIES.keys()
    assert all(re.search(r"[가-힣]", d) and re.search(r"[a-z]", d) for d in FAMILY_DESCRIPTIONS.values())


@pytest.mark.parametrize("task", LEGAL_FAMILIES)
def test_each_family_makes_well_formed_records_the_same_way_twice(docs, task):
    made = 0
    for doc in docs:
        first = build(doc, task)
        assert json.dumps(first, ensure_ascii=False) == json.dumps(build(doc, task), ensure_ascii=False)
        ids = [r["id"] for r in first]
        assert len(ids) == len(set(ids)) and len(first) <= 8
        for rec in first:
            assert_well_formed(rec, doc, task)
        made += len(first)
    assert made > 0


def test_statute_families_skip_deleted_articles_and_respect_max_per_doc(docs):
    act = docs[0]
    law = parse_statute(act.text, act.meta)
    deleted = {a.number for a in law.articles if a.deleted}
    for task in ("lookup", "explain", "route", "draft"):
        recs = build(act, task, max_per_doc=5)
        assert len(recs) == 5
        assert not {r["meta"]["article"] for r in recs} & deleted
        assert all(law.article(r["meta"]["article"]) for r in recs)


def test_another_seed_picks_other_articles_and_they_are_still_valid(docs):
    act = docs[0]
    for task in ("lookup", "explain", "route", "draft"):
        seed0 = build(act, task, seed=0)
        seed1 = build(act, task, seed=1)
        assert [r["id"] for r in seed0] != [r["id"] for r in seed1]
        for rec in seed1:
            assert_well_formed(rec, act, task)


def test_legal_families_ignore_sample_documents_and_quickstart_families_ignore_statutes(docs):
    sample = load_quickstart()
    for task in LEGAL_FAMILIES:
        assert FAMILIES[task](sample, SynthOptions()) == []
    for task in ("title", "doc_type", "department", "article"):
        assert FAMILIES[task](docs[0], SynthOptions()) == []
        assert FAMILIES[task](sample, SynthOptions())  # the sample document has all four


def load_quickstart() -> SourceDoc:
    path = DOCS / "03-ai-use-guideline.md"  # a 내부규정 with ##### 제N조 articles
    meta, body = front_matter(path.read_text(encoding="utf-8"))
    return SourceDoc(f"quickstart/{path.name}", "quickstart", "documents", str(path), body,
                     {k: str(v) for k, v in meta.items()})


def test_families_still_take_a_reader_document_and_a_max_answer_chars_int(docs):
    act = docs[0]
    legacy = Document(act.id, act.source, act.path, act.text, {**act.meta, "source_type": "statutes"})
    assert source_doc(legacy).source_type == "statute"
    assert FAMILIES["lookup"](legacy, 400) == build(act, "lookup", max_answer_chars=400)
    untyped = Document(act.id, act.source, act.path, act.text, dict(act.meta))
    assert source_doc(untyped).source_type == "statute"  # guessed from 법령ID


# --------------------------------------------------------------------- families


def test_lookup_answers_cite_the_law_and_article_they_quote(docs):
    for doc in docs[:4]:
        for rec in build(doc, "lookup"):
            meta, answer = rec["meta"], rec["messages"][1]["content"]
            cite = f"「{meta['law_name']}」 {meta['article']}"
            assert answer.startswith(cite + (meta["paragraph"] or "") + "에 따르면, ")
            assert cite in rec["messages"][0]["content"] or f"「{meta['law_name']}」의 목적" in rec["messages"][0]["content"]
            assert len(answer) <= 400


def test_lookup_of_a_known_article(docs):
    rec = next(r for r in build(docs[0], "lookup", max_per_doc=200) if r["meta"]["article"] == "제15조")
    assert rec["messages"][1]["content"].startswith(
        "「개인정보 보호법」 제15조제1항에 따르면, 개인정보처리자는 다음 각 호의 어느 하나에 해당하는 경우에는")
    assert "\n  1. 정보주체의 동의를 받은 경우\n" in rec["messages"][1]["content"]
    assert rec["meta"]["paragraph"] == "제1항"


def test_explain_restates_the_rule_in_plain_polite_bullets(docs):
    for doc in docs[:4]:
        for rec in build(doc, "explain"):
            answer = rec["messages"][1]["content"]
            head, *bullets = answer.split("\n")
            assert head.startswith(f"「{rec['meta']['law_name']}」 {rec['meta']['article']}")
            assert head.endswith("다음과 같습니다.") and bullets
            assert all(b.startswith(("- ", "  · ")) for b in bullets)
            assert not re.search(r"[①-⑳]|<개정|\[본조신설|이라 한다\)", answer)
            assert not re.search(r"(한다|있다|된다)\.", answer)
            assert len(answer) <= 400


def test_summarise_maps_the_ruling_text_to_its_holding(docs):
    rec = build(docs[4], "summarise", max_source_chars=800)[0]
    prompt, answer = (m["content"] for m in rec["messages"])
    assert prompt.startswith("다음 판결문을 읽고 판시사항을 정리해 주세요.\n\n")
    assert len(prompt) <= 800 + 40 and answer.startswith("구 국토의 계획 및 이용에 관한 법령에서")
    assert rec["meta"]["target"] == "판시사항"
    assert build(docs[5], "summarise")[0]["meta"]["target"] == "판결요지"  # no 판시사항 there
    assert build(docs[6], "summarise") == []  # neither


def test_route_answers_are_short_and_exact(docs):
    for rec in build(docs[0], "route"):
        assert rec["messages"][1]["content"] == "「개인정보 보호법」(소관: 개인정보보호위원회)"
        assert "개인정보 보호법" not in rec["messages"][0]["content"].split("\n\n", 1)[1]
    for rec in build(docs[2], "route"):
        assert rec["messages"][1]["content"] == "「서울특별시 개인정보 보호에 관한 조례」(소관: 서울특별시 정보보안과)"
    assert [r["messages"][1]["content"] for r in build(docs[4], "route")] == [
        "「국토의 계획 및 이용에 관한 법률」(사건종류: 일반행정)"]
    assert [r["messages"][1]["content"] for r in build(docs[6], "route")] == ["일반행정"]


def test_refusals_cite_the_privacy_act_and_vary_by_document(docs):
    kinds = set()
    for doc in docs:
        for rec in build(doc, "refuse"):
            request, answer = (m["content"] for m in rec["messages"])
            assert "「개인정보 보호법」" in answer and ("알려 드릴 수 없습니다" in answer or "어렵습니다" in answer)
            assert not re.search(r"\d{6}-\d{7}|01\d-\d{3,4}-\d{4}", answer)  # never a number
            if doc.source_type == "ruling":
                assert rec["meta"]["case_number"] in request
            kinds.add(rec["meta"]["request"])
    assert len(kinds) >= 4


# ------------------------------------------------------------ official documents

_MARKER = re.compile(r"^( *)(\d+\.|[가-힣]\.|\d+\)|[가-힣]\)|\(\d+\)|\([가-힣]\)) ")


def check_official_body(body: str) -> None:
    """끝. at the end, dates as 2025. 8. 7., times as 14:00, item markers 1. → 가. → 1) → 가)
    by indentation and numbered in order under each parent."""
    assert body.endswith("  끝.")
    assert not re.search(r"\d{4}-\d{1,2}-\d{1,2}", body)
    for date in re.findall(r"\d{4}\.\s*\d+\.\s*\d+\.", body):
        assert re.fullmatch(r"\d{4}\. [1-9]\d?\. [1-9]\d?\.", date), date
    assert all(re.fullmatch(r"[0-2]\d:[0-5]\d", t) for t in re.findall(r"\d+:\d+", body))
    counters: dict[int, int] = {}
    for line in body.split("\n"):
        if line.startswith("붙임"):
            break
        m = _MARKER.match(line)
        if not m:
            continue
        level = len(m.group(1)) // 2
        assert len(m.group(1)) == 2 * level and (level == 0 or level - 1 in counters), line
        counters = {k: v for k, v in counters.items() if k <= level}
        counters[level] = counters.get(level, 0) + 1
        assert m.group(2) == item_marker(level, counters[level]), line


def test_drafts_follow_the_official_document_rules(docs):
    variants = set()
    for doc in docs[:4]:
        for rec in build(doc, "draft"):
            body = rec["messages"][1]["content"]
            check_official_body(body)
            assert body.startswith("수신  ") and "\n제목  " in body
            variants.add(rec["meta"]["variant"])
            if rec["meta"]["variant"] == "협조 요청":
                assert re.search(r"\n붙임  1\. .+ 1부\.\n {6}2\. .+ 1부\.  끝\.$", body)
            else:
                assert re.search(r"일시: \d{4}\. \d+\. \d+\.\([월화수목금]\) 14:00", body)
    assert variants == {"협조 요청", "시행 안내"}


def test_draft_dates_derive_from_the_effective_date(docs):
    rec = next(r for r in build(docs[2], "draft", max_per_doc=30) if r["meta"]["variant"] == "협조 요청")
    # 시행일자 2025-09-29; +14 days is Monday 2025-10-13.
    assert "2025. 10. 13.(월) 18:00까지" in rec["messages"][1]["content"]
    assert "2025. 10. 13.(월) 18:00까지" in rec["messages"][0]["content"]


def test_draft_amounts_are_written_the_official_way(docs):
    penalty = next(r for r in build(docs[0], "draft", max_per_doc=200) if r["meta"]["article"] == "제71조")
    assert "금50,000,000원(금오천만원) 이하의 벌금" in penalty["messages"][1]["content"]


def test_the_checker_rejects_bodies_that_break_the_rules():
    good = "1. 관련: 가\n2. 내용\n  가. 하나\n    1) 둘\n  나. 셋\n3. 끝맺음  끝."
    check_official_body(good)
    for bad in (good[:-4], good.replace("나.", "다."), good.replace("    1)", "  1)"),
                good + " 2025. 08. 07.", good.replace("관련: 가", "관련: 2025-08-07")):
        with pytest.raises(AssertionError):
            check_official_body(bad)


def test_polite_endings():
    assert polite("정한다. 가진다. 있다. 이다. 받는다. 다만, 그렇다.") == "정합니다. 가집니다. 있습니다. 입니다. 받습니다. 다만, 그렇습니다."
    assert polite("1. 연안 바다") == "1. 연안 바다"
    assert polite("(이하 \"법\"이라 한다)") == "(이하 \"법\"이라 한다)"


# ------------------------------------------------------------------------- views


def test_alpaca_and_sharegpt_views_round_trip(docs):
    records = [r for doc in docs for task in LEGAL_FAMILIES for r in build(doc, task, max_per_doc=1)]
    for rec in records:
        alpaca = to_alpaca(rec)
        assert set(alpaca) == {"instruction", "input", "output"} and alpaca["instruction"]
        assert from_alpaca(alpaca) == rec["messages"]
        sharegpt = to_sharegpt(rec)
        assert [t["from"] for t in sharegpt["conversations"]] == ["human", "gpt"]
        assert from_sharegpt(sharegpt) == rec["messages"]


def test_a_system_prompt_goes_before_the_instruction_and_several_turns_are_refused():
    rec = {"id": "x", "messages": [{"role": "system", "content": "공무원 비서"},
                                   {"role": "user", "content": "질문\n\n자료"},
                                   {"role": "assistant", "content": "답"}]}
    assert to_alpaca(rec) == {"instruction": "공무원 비서\n\n질문", "input": "자료", "output": "답"}
    assert [t["from"] for t in to_sharegpt(rec)["conversations"]] == ["system", "human", "gpt"]
    assert from_sharegpt(to_sharegpt(rec)) == rec["messages"]
    rec["messages"] += [{"role": "user", "content": "또"}, {"role": "assistant", "content": "답"}]
    with pytest.raises(ValueError, match="one user and one assistant"):
        to_alpaca(rec)
