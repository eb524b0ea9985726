"""The Korean text core (toolkit/korean/): one rule for final consonants and particles,
number readings, and the 공문서 forms whose writer and checker must agree."""

from __future__ import annotations

import ast
import datetime as dt
import random
import unicodedata
from pathlib import Path

import pytest

from toolkit.eval.gongmun import check_gongmun
from toolkit.korean.excerpt import excerpt, excerpt_with_ellipsis
from toolkit.korean.forms import (
    HANGUL_MARKERS,
    RULE_HANGUL_MARKERS,
    as_date,
    gongmun_amount,
    gongmun_date,
    gongmun_time,
    item_marker,
    item_marker_at,
    numbered_lines,
    rewrite_amounts,
)
from toolkit.korean.josa import final_consonant, josa
from toolkit.korean.numbers import korean_number_reading
from toolkit.korean.seeded import seeded_choice, seeded_rank
from toolkit.korean.width import fold_fullwidth

KOREAN = Path(__file__).resolve().parents[2] / "toolkit" / "korean"

# ㄱ=1, ㄴ=4, ㄹ=8, ㅁ=16, ㅂ=17, ㅇ=21 among the 27 final consonants (0: none).
G, N, L, M, B, NG = 1, 4, 8, 16, 17, 21


# --- final consonants and particles -------------------------------------------------------


def _final_from_jamo(syllable: str) -> int:
    """The final consonant as Unicode decomposes the syllable: an independent oracle."""
    jamo = unicodedata.normalize("NFD", syllable)
    return ord(jamo[2]) - 0x11A7 if len(jamo) == 3 else 0


def test_final_consonant_of_digits_and_hangul():
    # Digits read as Sino-Korean 영 일 이 삼 사 오 육 칠 팔 구.
    assert [final_consonant(str(d)) for d in range(10)] == [NG, L, 0, M, 0, 0, G, L, L, 0]
    for d, reading in enumerate("영일이삼사오육칠팔구"):
        assert final_consonant(str(d)) == final_consonant(reading) == _final_from_jamo(reading)
    # Every Hangul syllable, checked against its Unicode decomposition.
    for code in range(0xAC00, 0xD7A4):
        assert final_consonant(chr(code)) == _final_from_jamo(chr(code)), chr(code)


def test_a_number_ends_in_its_last_spoken_unit():
    assert [final_consonant(n) for n in ("10", "15", "20", "100", "1,000", "10000", "100000000")] == [
        B, 0, B, G, N, N, G]
    assert final_consonant("1000000000000") == 0  # 일조
    assert final_consonant("1.10") == NG  # 일점일영: after the point, digit by digit
    assert final_consonant("제15조") == 0 and final_consonant("제6") == G


def test_particles_follow_the_sound_they_attach_to():
    assert [josa(str(d), "은/는") for d in range(10)] == [
        "0은", "1은", "2는", "3은", "4는", "5는", "6은", "7은", "8은", "9는"]
    # 으로/로: 로 after a vowel and after ㄹ (1 일, 7 칠, 8 팔).
    assert [josa(str(d), "으로/로") for d in range(10)] == [
        "0으로", "1로", "2로", "3으로", "4로", "5로", "6으로", "7로", "8로", "9로"]
    assert josa("10", "으로/로") == "10으로" and josa("제7조의1", "으로/로") == "제7조의1로"
    assert [josa("목적", "은/는"), josa("정의", "은/는"), josa("정보보안과", "으로/로"),
            josa("서울특별시 조직담당관", "으로/로"), josa("위원회", "을/를")] == [
        "목적은", "정의는", "정보보안과로", "서울특별시 조직담당관으로", "위원회를"]
    # Parentheses and closing quotes are not read.
    assert josa("제15조", "은/는") == "제15조는" and josa("「개인정보 보호법」", "이/가") == "「개인정보 보호법」이"
    assert josa("제15조(개인정보의 수집ㆍ이용)", "은/는") == "제15조(개인정보의 수집ㆍ이용)는"
    assert josa("XML", "으로/로") == "XML로" and josa("PDF", "을/를") == "PDF를"
    assert josa("…", "이/가") == "…가"  # cannot be told: the form after a vowel


# --- numbers and amounts --------------------------------------------------------------


def test_amounts_are_written_with_their_reading():
    assert gongmun_amount(113560) == "금113,560원(금일십일만삼천오백육십원)"
    assert gongmun_amount(10000) == "금10,000원(금일만원)"
    assert gongmun_amount(1000000000) == "금1,000,000,000원(금일십억원)"
    assert gongmun_amount(250000005) == "금250,000,005원(금이억오천만오원)"
    assert gongmun_amount(0) == "금0원(금영원)"
    with pytest.raises(ValueError, match="cannot be negative"):
        gongmun_amount(-1)
    assert korean_number_reading(10 ** 16) == "일경"
    with pytest.raises(ValueError):
        korean_number_reading(10 ** 20)


def test_amounts_inside_text_are_rewritten_and_other_won_words_are_not():
    assert rewrite_amounts("5천만원 이하의 벌금") == "금50,000,000원(금오천만원) 이하의 벌금"
    assert rewrite_amounts("2억 5천만원을 넘는") == "금250,000,000원(금이억오천만원)을 넘는"
    assert rewrite_amounts("10,000원씩") == "금10,000원(금일만원)씩"
    assert rewrite_amounts("3원칙과 위원회") == "3원칙과 위원회"


# --- dates and times ----------------------------------------------------------------------


def test_dates_have_no_zero_padding_and_times_are_24_hour():
    assert gongmun_date(dt.date(2025, 8, 7)) == "2025. 8. 7."
    assert gongmun_date("2025-08-07") == gongmun_date("20250807") == gongmun_date("2025. 8. 7.") == "2025. 8. 7."
    assert gongmun_date("2025-08-07", weekday=True) == "2025. 8. 7.(목)"
    assert as_date(dt.datetime(2025, 8, 7, 14)) == dt.date(2025, 8, 7)
    with pytest.raises(ValueError, match="not a date"):
        gongmun_date("시행일 미정")
    assert [gongmun_time(14), gongmun_time(9, 30), gongmun_time(24)] == ["14:00", "09:30", "24:00"]
    for bad in ((25, 0), (24, 30), (14, 60), (-1, 0)):
        with pytest.raises(ValueError):
            gongmun_time(*bad)


# --- item markers -----------------------------------------------------------------------


def test_item_markers_go_one_ga_paren_one_paren_ga_and_on_past_ha():
    assert [item_marker(level, 1) for level in range(8)] == ["1.", "가.", "1)", "가)", "(1)", "(가)", "①", "㉮"]
    assert item_marker(1, 3) == "다." and item_marker(2, 12) == "12)"
    # 시행규칙 제2조: after 하 come 거, 너, 더 … 허.
    assert "".join(item_marker(1, n)[0] for n in range(1, 29)) == (
        "가나다라마바사아자차카타파하거너더러머버서어저처커터퍼허")
    assert RULE_HANGUL_MARKERS == 28 and item_marker(1, 29) == "고." and item_marker(5, 30) == "(노)"
    assert item_marker(6, 20) == "⑳" and item_marker(7, 14) == "㉻"
    for level, past in ((1, len(HANGUL_MARKERS) + 1), (6, 21), (7, 15)):
        with pytest.raises(ValueError, match="markers"):
            item_marker(level, past)


def test_every_marker_the_writer_writes_is_read_back_at_its_level_and_ordinal():
    for level in range(8):
        last = {6: 20, 7: 14}.get(level, len(HANGUL_MARKERS) if level % 2 else 100)
        for n in range(1, last + 1):
            marker = item_marker(level, n)
            assert item_marker_at(f"  {marker} 내용") == (level, n, marker)
    assert item_marker_at("제목  협조 요청") is None


# --- the writer's output passes the checker -----------------------------------------------


def _document(lines: list[str]) -> str:
    return "\n".join([*lines[:-1], lines[-1] + "  끝."])


def _assert_passes(body: str) -> None:
    report = check_gongmun(body)
    assert report.score == 1.0, [(v.rule, v.line, v.message) for v in report.violations[:5]]


@pytest.mark.parametrize("count", range(1, 31))
def test_written_item_lists_pass_the_checker_for_1_to_30_items(count):
    # `count` items at each level in turn, under one item of every level above it, and
    # `count` items at every level at once (each with two children).
    for level in range(6):
        parents = [(lv, f"상위 항목 {lv}") for lv in range(level)]
        entries = parents + [(level, f"항목 {n}") for n in range(1, count + 1)]
        lines = numbered_lines(entries)
        _assert_passes(_document(lines))
        assert check_gongmun(_document(lines)).checks["numbering"] is True
        # Not vacuous: the checker reads every marker, so the last two swapped fail (past
        # 허 a marker out of order is read as text, so up to 28 at Hangul levels).
        if count >= 2 and (level % 2 == 0 or count <= RULE_HANGUL_MARKERS):
            *head, one, two = lines
            marker_one, marker_two = item_marker(level, count - 1), item_marker(level, count)
            swapped = [*head, one.replace(marker_one, marker_two, 1), two.replace(marker_two, marker_one, 1)]
            assert check_gongmun(_document(swapped)).checks["numbering"] is False
    nested = []
    for n in range(1, count + 1):
        nested += [(0, f"제{n}항"), (1, "하위 하나"), (1, "하위 둘")]
        nested += [(lv, "더 깊은 항목") for lv in range(2, 6)]
    _assert_passes(_document(numbered_lines(nested)))
    if count <= 20:  # ① … ⑳ and ㉮ … ㉻ end there
        circled = numbered_lines([(lv, "상위") for lv in range(6)] + [(6, "원문자")] * count)
        _assert_passes(_document(circled))


def test_a_list_that_goes_wrong_past_ha_is_still_caught():
    good = numbered_lines([(0, "본문")] + [(1, f"항목 {n}") for n in range(1, 31)])
    _assert_passes(_document(good))
    for wrong in ("가.", "거.", "고.", "허."):  # the 16th item restarted, repeated or skipped ahead
        lines = list(good)
        lines[16] = f"  {wrong} 항목 16"
        assert check_gongmun(_document(lines)).checks["numbering"] is False, wrong
    # Past 허 a marker counts only as the next item of a list: "(주)" starts no item.
    assert check_gongmun("1. 수신 기관\n(주)한빛건설 대표이사 귀하  끝.").checks["numbering"] is True


def _amounts_to_check() -> list[int]:
    rng = random.Random(20250807)
    edges = {0, 1, 9, 10, 11, 19, 100, 101, 110, 1000, 1010, 1100, 9999, 10000, 10001, 10010,
             100000, 110000, 1000000, 10000000, 100000000, 100010000, 110000000, 10 ** 12,
             10 ** 16, 10 ** 20 - 1}
    edges |= {d * 10 ** k + e for d in range(1, 10) for k in range(20) for e in (-1, 0, 1)
              if 0 <= d * 10 ** k + e < 10 ** 20}
    sampled = {rng.randrange(1, 10 ** k) for k in range(2, 21) for _ in range(300)}
    return sorted(set(range(0, 20001)) | edges | sampled)


def test_every_written_amount_passes_the_checker():
    amounts = _amounts_to_check()
    assert len(amounts) > 25000
    lines = [f"- 소요 경비: {gongmun_amount(won)}" for won in amounts]
    _assert_passes(_document(["1. 경비 내역", *lines]))
    everyday = [f"- {won:,}원, {won // 10000}만원" for won in amounts[::50] if won >= 10000]
    _assert_passes(_document(["1. 경비 내역", *(rewrite_amounts(line) for line in everyday)]))


def test_every_written_date_and_time_passes_the_checker():
    # Every day from 1900 to 2099 (the years the checker reads as dates), with and
    # without the weekday, alone, in a range and with every time of day.
    day, end = dt.date(1900, 1, 1), dt.date(2099, 12, 31)
    lines, times = [], [gongmun_time(h, m) for h in range(24) for m in (0, 5, 30, 59)] + ["24:00"]
    i = 0
    while day <= end:
        nxt = day + dt.timedelta(days=13)
        lines.append(f"- 기간: {gongmun_date(day)} ~ {gongmun_date(nxt, weekday=True)} "
                     f"{times[i % len(times)]}까지, {gongmun_date(day, weekday=True)} 시행")
        day, i = day + dt.timedelta(days=1), i + 1
    _assert_passes(_document(["1. 일정", *lines]))
    report = check_gongmun(_document(["1. 일정", *lines]))
    assert report.checks["date"] is True and report.checks["time"] is True


# --- excerpts, width, seeded choices --------------------------------------------------------


def test_excerpts_end_at_a_line_or_a_sentence():
    text = "첫 문장이다. 둘째 문장이다. 셋째 문장은 아주 길게 이어진다"
    assert excerpt(text, 100) == text and excerpt("  앞뒤 공백  ", 100) == "앞뒤 공백"
    assert excerpt(text, 20) == "첫 문장이다. 둘째 문장이다."
    assert excerpt("줄 하나\n둘째 줄은 길다", 12) == "줄 하나\n둘째 줄은 길"  # no end in the second half: hard cut
    assert excerpt_with_ellipsis("가나다라마바사아자차카", 5) == "가나다라마…"
    assert excerpt_with_ellipsis(text, 20) == "첫 문장이다. 둘째 문장이다."


def test_full_width_ascii_is_folded_and_korean_symbols_are_kept():
    assert fold_fullwidth("ＡＢＣ１２３\u3000ㆍ㈜①㎡") == "ABC123 ㆍ㈜①㎡"


def test_seeded_choices_are_stable_and_keyed_by_every_part():
    assert seeded_rank(0, "a", "b") == seeded_rank(0, "a", "b") != seeded_rank(1, "a", "b")
    assert seeded_rank(0, "a:b", "c") != seeded_rank(0, "a", "b:c")  # the separator cannot occur
    assert seeded_rank(0, "x", bits=8) < 256 and seeded_rank(0, "x", bits=256) >> 192 == seeded_rank(0, "x")
    # The values the committed corpus and eval suites were drawn with.
    assert seeded_rank(0, "doc", "lookup", "제1조") == 0x0EDBDF121D533ED5
    assert seeded_choice(0, ("가", "나", "다"), "x", sep=":", bits=32) == "다"


def test_the_korean_core_imports_no_stage():
    stages = ("toolkit.corpus", "toolkit.train", "toolkit.eval", "toolkit.export", "toolkit.report")
    for path in KOREAN.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(stages), f"{path.name} imports {name}"
