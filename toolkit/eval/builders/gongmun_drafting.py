"""gongmun-drafting (공문서 작성): draft an official document body in the prescribed
format from a request that writes dates, times and amounts the everyday way."""

from __future__ import annotations

import datetime as dt
import re

from toolkit.eval.builders.common import (
    ARTICLE_REFERENCE_CHARS,
    PER_DOC,
    chosen_articles,
    date_or_none,
    item,
    rank,
    render_article,
    statutes,
)
from toolkit.eval.gongmun import check_gongmun
from toolkit.korean.forms import gongmun_amount, gongmun_date, gongmun_time, numbered_lines
from toolkit.korean.legal import Article, Statute

DRAFT_KINDS = ("시행 안내", "협조 요청", "결과 보고")
_GONGMUN_RULES = (
    "「행정업무의 운영 및 혁신에 관한 규정」 및 같은 규정 시행규칙의 공문서 작성 방법에 맞게 "
    "날짜ㆍ시간ㆍ금액 표기, 항목 기호(1., 가., 1), 가)), 붙임 표시와 '끝.' 표시를 지켜 "
    "본문만 작성하세요."
)


def _weekday(day: dt.date) -> dt.date:
    """`day`, or the Monday after it when it falls on a weekend."""
    return day + dt.timedelta(days=(7 - day.weekday()) % 7 if day.weekday() >= 5 else 0)


def _spoken_date(day: dt.date) -> str:
    """How a request says a date: "2026년 1월 2일"."""
    return f"{day.year}년 {day.month}월 {day.day}일"


def _spoken_time(hour: int, minute: int = 0) -> str:
    """How a request says a time: 14, 0 -> "오후 2시"."""
    period, h = ("오전", hour) if hour < 12 else ("오후", hour - 12 if hour > 12 else 12)
    return f"{period} {h}시" + (f" {minute}분" if minute else "")


def _first_sentence(article: Article) -> str:
    text = render_article(article, 200, marks=False)
    m = re.search(r"(?<=다\.)\s", text)
    return text[: m.start()] if m else text


def _draft(kind: str, statute: Statute, art: Article, seed: int, key: str,
           summary: str) -> tuple[str, str, dict]:
    """(request, reference body, facts) of one drafting item."""
    law, cite = statute.name, f"「{statute.name}」 {art.number}({art.title})"
    effective = date_or_none(statute.effective) or date_or_none(statute.promulgated) or dt.date(2026, 1, 2)
    promulgated = date_or_none(statute.promulgated) or effective
    h = rank(seed, "draft", key, bits=48)
    if statute.is_ordinance:
        sender = f"{statute.authority} {statute.department}".strip()
        recipients = "각 실ㆍ본부ㆍ국 및 자치구"
        place = f"{statute.authority}청 본관 회의실"
    else:
        sender = statute.ministry.split(",")[0].strip() or "소관 부처"
        recipients = "각 중앙행정기관 및 시ㆍ도"
        place = "정부세종청사 대회의실"
    quoted = render_article(art, ARTICLE_REFERENCE_CHARS)
    facts: dict = {"draft_kind": kind, "effective": effective.isoformat()}
    head = f"{sender} 담당자입니다. {recipients}에 보낼 '{kind}' 공문의 본문을 작성해 주세요.\n"
    if kind == "시행 안내":
        request = (head + f"- 근거: {cite}\n- 공포일: {promulgated.isoformat()}\n"
                   f"- 시행일: {effective.isoformat()}\n- 붙임: 조문 발췌본 1부\n")
        body = [
            *numbered_lines([
                (0, f"관련: {cite}"),
                (0, f"{cite}의 시행에 따라 주요 내용을 다음과 같이 안내합니다."),
                (1, f"공포일: {gongmun_date(promulgated)}"),
                (1, f"시행일: {gongmun_date(effective)}"),
                (1, f"조문 요지: {summary}"),
                (0, "각 기관에서는 시행일 전에 소관 업무와 관련 서식을 점검하여 업무 처리에 차질이 "
                    "없도록 하여 주시기 바랍니다."),
            ]),
            "",
            f"붙임  「{law}」 조문 발췌본 1부.  끝.",
        ]
    elif kind == "협조 요청":
        meeting = _weekday(effective + dt.timedelta(days=7 + h % 14))
        hour = (10, 14, 15, 16)[h // 16 % 4]
        deadline = _weekday(meeting + dt.timedelta(days=14))
        facts.update(meeting=meeting.isoformat(), time=gongmun_time(hour), deadline=deadline.isoformat())
        request = (head + f"- 근거: {cite}\n- 설명회: {_spoken_date(meeting)} {_spoken_time(hour)}, "
                   f"{place}\n- 기관별 이행 계획 회신 기한: {_spoken_date(deadline)}\n"
                   "- 붙임: 이행 계획 제출 서식 1부, 조문 발췌본 1부\n")
        body = [
            *numbered_lines([
                (0, f"관련: {cite}"),
                (0, "위 조문의 원활한 시행을 위하여 다음과 같이 협조를 요청합니다."),
                (1, f"조문 요지: {summary}"),
                (1, "설명회"),
                (2, f"일시: {gongmun_date(meeting)} {gongmun_time(hour)}"),
                (2, f"장소: {place}"),
                (1, f"회신 기한: {gongmun_date(deadline)}"),
                (0, "기관별 이행 계획을 서식에 따라 작성하여 회신 기한까지 제출하여 주시기 바랍니다."),
            ]),
            "",
            "붙임  1. 이행 계획 제출 서식 1부.",
            f"      2. 「{law}」 조문 발췌본 1부.  끝.",
        ]
    else:  # 결과 보고
        start = effective
        end = start + dt.timedelta(days=13)
        agencies = 5 + h % 20
        won = (h // 7 % 90 + 10) * 10_000 + (h // 997 % 10) * 1_000 + (h // 13 % 2) * (h % 9 + 1) * 10
        facts.update(start=start.isoformat(), end=end.isoformat(), amount=won)
        request = (head + f"- 근거: {cite}\n- 이행 실태 점검 기간: {start.isoformat()} ~ "
                   f"{end.isoformat()}\n- 점검 대상: {agencies}개 기관\n"
                   f"- 소요 경비: {won:,}원\n- 붙임: 점검 결과 1부, 경비 집행 내역 1부\n")
        body = [
            *numbered_lines([
                (0, f"관련: {cite}"),
                (0, "위 조문에 따른 이행 실태를 점검하고 그 결과를 다음과 같이 보고합니다."),
                (1, f"점검 기간: {gongmun_date(start)} ~ {gongmun_date(end)}"),
                (1, f"점검 대상: {agencies}개 기관"),
                (1, f"조문 요지: {summary}"),
                (1, f"소요 경비: {gongmun_amount(won)}"),
                (0, "점검 결과 보완이 필요한 사항은 해당 기관과 협의하여 조치하겠습니다."),
            ]),
            "",
            "붙임  1. 점검 결과 1부.",
            "      2. 경비 집행 내역 1부.  끝.",
        ]
    request += f"\n[조문] {cite}\n{quoted}\n\n{_GONGMUN_RULES}"
    return request, "\n".join(body), facts


def gongmun_drafting(documents: list[dict], seed: int) -> list[dict]:
    """A request to draft the body of an official document (시행 안내, 협조 요청, 결과
    보고) about a held-out article, with its dates, times and amounts written the
    everyday way ("2026-01-02", "오후 2시", "1,350,000원"); the reference body writes them
    as 「행정업무의 운영 및 혁신에 관한 규정」 requires ("2026. 1. 2.", "14:00",
    "금1,350,000원(금일백삼십오만원)"), numbers its items 1., 가., 1), lists 붙임 and ends
    with "끝.". Every reference passes `check_gongmun` with score 1.0 (an article whose
    opening sentence breaks a rule is quoted by title instead)."""
    suite, items = "gongmun-drafting", []
    for doc, statute in statutes(documents):
        chosen = chosen_articles(statute, doc["id"], suite, seed, PER_DOC["gongmun_drafting"])
        offset = rank(seed, suite, doc["id"], bits=16)
        for i, art in enumerate(chosen):
            kind = DRAFT_KINDS[(offset + i) % len(DRAFT_KINDS)]
            key = f"{doc['id']}#{art.number}"
            for summary in (_first_sentence(art), f"{art.title}에 관한 사항"):
                request, body, facts = _draft(kind, statute, art, seed, key, summary)
                if check_gongmun(body).score == 1.0:
                    break
            else:
                continue
            items.append(item(
                suite, doc, art.number, "gongmun_drafting", request, body,
                meta={"law_name": statute.name, "article": art.number, **facts},
            ))
    return items
