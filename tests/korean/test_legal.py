"""Structure of real statutes, ordinances and rulings (../shared/data, read by path)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from toolkit.korean.legal import (
    meta_text,
    parse_cited_articles,
    parse_cited_cases,
    parse_ruling,
    parse_statute,
    strip_amendment_notes,
)
from toolkit.corpus.sources import front_matter
from tests.helpers import SHARED_DATA

DATA = SHARED_DATA
STATUTES = DATA / "legalize-kr" / "kr"
ORDINANCES = DATA / "ordinances"
RULINGS = DATA / "precedent-kr" / "일반행정" / "대법원"
PRIVACY_ACT = STATUTES / "개인정보보호법" / "법률.md"
PRIVACY_ORDINANCE = ORDINANCES / "서울특별시 개인정보 보호에 관한 조례.md"


def read(path: Path) -> tuple[str, dict]:
    meta, body = front_matter(path.read_text(encoding="utf-8"))
    return body, meta


def article_headings_before_supplement(body: str) -> int:
    return len(re.findall(r"^##### ", body.split("\n## 부칙")[0], re.MULTILINE))


@pytest.fixture(scope="module")
def privacy_act():
    body, meta = read(PRIVACY_ACT)
    return body, parse_statute(body, meta)


def test_statute_metadata_comes_from_the_front_matter(privacy_act):
    _, act = privacy_act
    assert (act.name, act.kind, act.law_id, act.mst) == ("개인정보 보호법", "법률", "011357", "283839")
    assert act.ministry == "개인정보보호위원회"
    assert (act.promulgated, act.effective) == ("2026-03-10", "2026-09-11")


def test_every_article_heading_before_the_supplement_is_an_article(privacy_act):
    body, act = privacy_act
    assert len(act.articles) == article_headings_before_supplement(body) == 127
    numbers = [a.number for a in act.articles]
    assert len(numbers) == len(set(numbers))  # 부칙's own 제1조, 제2조 … are not here
    assert numbers[0] == "제1조" and numbers[-1] == "제76조" and "제7조의2" in numbers
    assert act.supplement.startswith("부칙 <제10465호,2011.3.29>")


def test_chapters_and_sections_are_read_with_their_notes_removed(privacy_act):
    _, act = privacy_act
    assert act.chapters[0] == ("제1장", "총칙")
    assert ("제6장", "삭제") in act.chapters
    assert ("제3절", "가명정보의 처리에 관한 특례") in act.divisions
    art = act.article("제15조")
    assert (art.chapter, art.section) == ("개인정보의 처리", "개인정보의 수집, 이용, 제공 등")


def test_a_known_article_has_its_title_paragraphs_and_unescaped_items(privacy_act):
    _, act = privacy_act
    art = act.article("제15조")
    assert art.title == "개인정보의 수집ㆍ이용"
    assert [mark for mark, _ in art.paragraphs] == ["①", "②", "③"]
    assert art.paragraphs[0][1].startswith("개인정보처리자는 다음 각 호의 어느 하나에 해당하는 경우")
    assert art.items[0] == "1. 정보주체의 동의를 받은 경우"
    assert art.amendment_notes == ["<개정 2023.3.14>", "<신설 2020.2.4>"]
    assert "**" not in art.text and "\\" not in art.text and art.text.startswith("① ")
    assert "<개정" in art.text and "<개정" not in art.clean_text


def test_sub_items_and_numbered_items_keep_their_levels(privacy_act):
    _, act = privacy_act
    outline = act.article("제2조").outline
    assert outline[0] == (0, "", "이 법에서 사용하는 용어의 뜻은 다음과 같다.")
    assert outline[1][:2] == (1, "1") and outline[2][:2] == (2, "가")
    assert (1, "1의2") in [e[:2] for e in outline]
    assert all("\\" not in a.text for a in act.articles)


def test_deleted_articles_are_marked(privacy_act):
    _, act = privacy_act
    gone = act.article("제8조")
    assert gone.deleted and gone.title == "" and gone.amendment_notes == ["<2020.2.4>"]
    assert not act.article("제15조").deleted
    assert {a.number for a in act.articles if a.deleted} >= {"제8조", "제28조의6"}


def test_ordinances_read_like_statutes():
    body, meta = read(PRIVACY_ORDINANCE)
    law = parse_statute(body, meta)
    assert (law.name, law.kind, law.law_id) == ("서울특별시 개인정보 보호에 관한 조례", "조례", "2166728")
    assert law.ministry == "서울특별시 정보보안과" and law.is_ordinance
    assert len(law.articles) == article_headings_before_supplement(body)
    art = law.article("제3조")
    assert [m for m, _ in art.paragraphs] == ["①", "②", "③", "④", "⑤", "⑥", "⑦"]  # not bold, indented
    assert law.article("제2조").items[1].startswith("1의2. ")
    assert law.article("제3조의2").amendment_notes == ["[본조신설 2021.7.20]"]


def test_every_ordinance_and_a_sample_of_statutes_parse_completely():
    files = sorted(ORDINANCES.glob("*.md")) + sorted(STATUTES.glob("*/*.md"))[::12]
    assert len(files) > 60
    for path in files:
        body, meta = read(path)
        law = parse_statute(body, meta)
        assert law.name and law.law_id and law.ministry, path
        assert len(law.articles) == article_headings_before_supplement(body), path
        for art in law.articles:
            assert "**" not in art.text and "\\." not in art.text, (path, art.number)


def test_parts_stand_in_for_chapters_and_double_parentheses_are_unwrapped():
    body, meta = read(STATUTES / "강원특별자치도설치및미래산업글로벌도시조성을위한특별법" / "법률.md")
    law = parse_statute(body, meta)
    assert law.articles[0].chapter == "총칙" and ("제1편", "총칙") in law.divisions
    body, meta = read(STATUTES / "1980년해직공무원의보상등에관한특별조치법시행령" / "대통령령.md")
    assert parse_statute(body, meta).articles[0].title == "목적"


def test_amendment_notes_are_stripped_and_counted():
    text = (
        "개인정보처리자는 … 하여야 한다. <개정 2022.1.11>\n"
        "② 제1항에 따른 … 정한다. <개정 2020.12.22, 2022.1.11>\n"
        "  3. 새 호 <신설 2021. 3. 23.>\n"
        "[전문개정 2021.3.23]\n"
        "[본조신설 2020.2.4]\n"
        "[제목개정 2019.1.1]\n"
        "④ 다른 법 <타법개정 2014.1.28> 개정\n"
        "[제10조에서 이동, 종전 제6조는 제15조로 이동 <2026.1.5>]\n"
        "삭제 <2020.2.4>"
    )
    clean, count = strip_amendment_notes(text)
    assert count == 9
    assert clean == (
        "개인정보처리자는 … 하여야 한다.\n② 제1항에 따른 … 정한다.\n  3. 새 호\n"
        "④ 다른 법 개정\n삭제"
    )


def test_things_that_look_like_notes_but_are_not_are_kept():
    text = ("부칙 <제10465호,2011.3.29>\n<105> 생략\n제1조 <단서 생략>\n"
            "[시행일: 2023.6.11] 제5조제2항\n[별표 1] 참조")
    assert strip_amendment_notes(text) == (text, 0)


def test_the_real_statute_loses_every_note_and_nothing_else(privacy_act):
    body, _ = privacy_act
    clean, count = strip_amendment_notes(body)
    assert count > 200
    assert not re.search(r"<(개정|신설|타법개정)", clean) and "[본조신설" not in clean
    assert len(re.findall(r"^##### ", clean, re.MULTILINE)) == len(re.findall(r"^##### ", body, re.MULTILINE))


def test_list_valued_front_matter_reads_as_text():
    assert meta_text(["행정안전부"]) == "행정안전부"
    assert meta_text("['행정안전부', '인사혁신처']") == "행정안전부, 인사혁신처"
    assert meta_text(None) == ""


def test_all_rulings_have_a_full_text_and_the_known_share_of_holdings():
    counts = {"rulings": 0, "holding": 0, "summary": 0, "either": 0, "cited": 0, "dated": 0}
    for path in sorted(RULINGS.glob("*.md")):
        body, meta = read(path)
        ruling = parse_ruling(body, meta)
        assert ruling.full_text and ruling.court, path  # a few are 서울행정법원 rulings
        assert path.stem.startswith(re.split(r"[, ]", ruling.case_number)[0]), path
        assert ruling.kind == "일반행정"
        counts["rulings"] += 1
        counts["holding"] += bool(ruling.holding)
        counts["summary"] += bool(ruling.summary)
        counts["either"] += bool(ruling.holding or ruling.summary)
        counts["cited"] += bool(ruling.cited_articles)
        counts["dated"] += bool(ruling.date)
    # The data as pinned in shared/data/README.md: most rulings have neither 판시사항 nor
    # 판결요지; 691 lack 선고일자 and 85 of those name no decision date anywhere.
    assert counts == {"rulings": 1500, "holding": 590, "summary": 569, "either": 794,
                      "cited": 606, "dated": 1415}


def test_a_ruling_reads_its_sections_and_citations():
    body, meta = read(RULINGS / "2013두9649.md")
    ruling = parse_ruling(body, meta)
    assert (ruling.case_number, ruling.date) == ("2013두9649", "2015-01-29")
    assert ruling.holding.startswith("구 국토의 계획 및 이용에 관한 법령에서")
    assert ("국토의 계획 및 이용에 관한 법률", "제28조 제1항") in ruling.cited_articles
    assert ruling.cited_cases[0] == "대법원 1988. 5. 24. 선고 87누388 판결"
    assert "## " not in ruling.full_text


def test_a_ruling_without_a_decision_date_takes_it_from_its_text():
    body, meta = read(RULINGS / "2012두10994.md")
    assert "선고일자" not in meta
    assert parse_ruling(body, meta).date == "2012-08-30"


def test_cited_articles_follow_the_last_law_named():
    text = ("[1] 지방자치법 제22조 / [2] 구 국토의 계획 및 이용에 관한 법률(2011. 4. 14. 법률 제10599호로 "
            "개정되기 전의 것) 제36조 제1항, 제76조 제1항, 제3항, 건축법 시행령 제3조의5 [별표 1] 제26호, "
            "부칙(2013. 8. 13.) 제2조, 같은 법 시행령 제2조 제1호 (가)목, 다목")
    assert parse_cited_articles(text) == [
        ("지방자치법", "제22조"),
        ("국토의 계획 및 이용에 관한 법률", "제36조 제1항"),
        ("국토의 계획 및 이용에 관한 법률", "제76조 제1항"),
        ("국토의 계획 및 이용에 관한 법률", "제76조 제3항"),
        ("건축법 시행령", "제3조의5 [별표 1] 제26호"),
        ("건축법 시행령 부칙", "제2조"),
        ("같은 법 시행령", "제2조 제1호 가목"),
        ("같은 법 시행령", "제2조 제1호 다목"),
    ]


def test_cited_cases_drop_reporter_notes_and_keep_joint_numbers():
    text = ("[1][2] 대법원 2021. 6. 3. 선고 2015두49481 판결 / [1] 대법원 2021. 3. 18. 선고 2018두47264 "
            "전원합의체 판결(공2021상, 895), 대법원 2007. 10. 26.자 2007아32, 2007두9884 결정")
    assert parse_cited_cases(text) == [
        "대법원 2021. 6. 3. 선고 2015두49481 판결",
        "대법원 2021. 3. 18. 선고 2018두47264 전원합의체 판결",
        "대법원 2007. 10. 26.자 2007아32, 2007두9884 결정",
    ]


def test_a_statute_cleaned_of_its_notes_parses_to_the_same_articles(privacy_act):
    body, act = privacy_act
    _, meta = read(PRIVACY_ACT)
    cleaned = parse_statute(strip_amendment_notes(body)[0], meta)
    assert [(a.number, a.title, a.deleted, a.outline) for a in cleaned.articles] == [
        (a.number, a.title, a.deleted, a.outline) for a in act.articles]
    assert cleaned.chapters == act.chapters
