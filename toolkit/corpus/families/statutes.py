"""Families on statute and ordinance articles (`toolkit.korean.legal`): lookup, explain,
route and draft. Each takes at most `max_per_doc` articles per document, chosen by seeded
hash, never a deleted article and never 부칙."""

from __future__ import annotations

import datetime as dt
import re

from toolkit.corpus.families.common import (
    article_blocks,
    article_heading,
    article_meta,
    article_text,
    cite,
    family_inputs,
    law_line,
    pick_articles,
    record,
    ruling_of,
    statute_of,
)
from toolkit.corpus.families.rulings import route_ruling
from toolkit.korean.excerpt import excerpt, excerpt_with_ellipsis
from toolkit.korean.forms import as_date, gongmun_date, gongmun_time, numbered_lines, rewrite_amounts
from toolkit.korean.josa import josa
from toolkit.korean.legal import Article, Statute, meta_text, paragraph_number
from toolkit.korean.seeded import seeded_choice

# --------------------------------------------------------------------- plain language


def polite(text: str) -> str:
    """Sentence-final plain endings turned into the formal polite style of official
    letters: 한다 → 합니다, 가진다 → 가집니다, 있다 → 있습니다, 이다 → 입니다,
    받는다 → 받습니다. Only a 다 that ends a sentence ("다." then a space or the end)
    changes: item texts without a full stop ("… 바다") are left alone."""

    def swap(m: re.Match) -> str:
        ch = m.group(1)
        code = ord(ch) - 0xAC00
        final = code % 28
        if ch == "는":
            return "습니다"  # 받는다 → 받습니다
        if final in (0, 4):  # 이다 → 입니다; 한다 → 합니다 (ㄴ → ㅂ)
            return chr(0xAC00 + code - final + 17) + "니다"
        return ch + "습니다"

    return re.sub(r"([가-힣])다(?=\.(?:\s|$))", swap, text)


# Plain-language rewrites of `explain`, applied in order after `polite`.
PLAIN_LANGUAGE: tuple[tuple[str, str], ...] = (
    (r"\(이하\s*(\"[^\"()]+\")\s*(?:이라|라)\s*(?:한다|합니다)\)", r"(줄여서 \1)"),  # (이하 "법"이라 한다)
    (r"다음 각 호의 어느 하나에 해당하는", "아래 중 어느 하나에 해당하는"),
    (r"다음 각 (?:호|목)의", "아래의"),
    (r"다음 각 (?:호|목)", "아래 항목"),
    (r"하여서는 아니 됩니다", "해서는 안 됩니다"),
    (r"아니 됩니다", "안 됩니다"),
    (r"하여야 합니다", "해야 합니다"),
    (r"(위|대|의|관|통|인|연)하여", r"\1해"),
)


def plain_language(text: str) -> str:
    """`polite(text)` with the PLAIN_LANGUAGE rewrites: (이하 "법"이라 한다) → (줄여서 "법"), "다음 각 호"
    → "아래 항목", "하여야 합니다" → "해야 합니다", "위하여" → "위해"."""
    text = polite(text)
    for pattern, repl in PLAIN_LANGUAGE:
        text = re.sub(pattern, repl, text)
    return text


# --------------------------------------------------------------------------- lookup

# Question templates by how an article's title ends (first match wins); {law} is the
# name, {num} the article number, {title} the title with its particle as needed.
_LOOKUP_BY_TITLE: tuple[tuple[str, str], ...] = (
    (r"^목적$", "「{law}」의 목적은 무엇입니까?"),
    (r"정의$", "「{law}」 {num}에서 정의하는 용어에는 어떤 것이 있습니까?"),
    (r"벌칙$", "「{law}」 {num}에 따른 벌칙은 어떻게 정해져 있습니까?"),
    (r"과태료$", "「{law}」 {num}에 따라 과태료가 부과되는 경우와 그 금액은 어떻게 됩니까?"),
    (r"(?:책무|의무|책임|권리|권한)$", "「{law}」 {num}에 따른 {title_topic} 무엇입니까?"),
    (r"(?:제한|금지)$", "「{law}」 {num}에서 {title}에 관하여 정한 내용은 무엇입니까?"),
    (r"(?:기준|요건|자격|결격사유|범위|대상)$", "「{law}」 {num}에 따른 {title_topic} 무엇입니까?"),
    (r"(?:절차|방법|신청|통지)$", "「{law}」 {num}에 따른 {title_topic} 어떻게 됩니까?"),
    (r"(?:구성|설치)", "「{law}」 {num}에 따른 {title_topic} 어떻게 정해져 있습니까?"),
)
_LOOKUP_DEFAULT = (
    "「{law}」 {num}({title})에서는 무엇을 정하고 있습니까?",
    "「{law}」 {num_topic} {title}에 관하여 어떻게 규정하고 있습니까?",
    "{title}에 관한 「{law}」 {num}의 내용을 알려 주세요.",
)


def lookup_question(statute: Statute, article: Article, seed: int = 0) -> str:
    """The 규정 조회 question about `article`, from its title (a template per kind of
    title, else one of three phrasings chosen by seeded hash)."""
    if not article.title:
        return f"「{statute.name}」 {article.number}의 내용을 알려 주세요."
    fields = {"law": statute.name, "num": article.number, "title": article.title,
              "title_topic": josa(article.title, "은/는"), "num_topic": josa(article.number, "은/는")}
    for pattern, template in _LOOKUP_BY_TITLE:
        if re.search(pattern, article.title):
            return template.format(**fields)
    return seeded_choice(seed, _LOOKUP_DEFAULT, statute.law_id, article.number).format(**fields)


def lookup_answer(statute: Statute, article: Article, max_chars: int) -> tuple[str, str]:
    """The answer grounded in the article's text and the paragraph it quotes ("제1항", or
    "" for an article without numbered paragraphs): "「법령명」 제N조제1항에 따르면, …" and
    the items under it, then the following paragraphs while they fit `max_chars`."""
    blocks = article_blocks(article)
    (level, mark, text), children = blocks[0]
    paragraph = f"제{paragraph_number(mark)}항" if mark else ""
    lines = [f"{cite(statute, article, paragraph)}에 따르면, {text}"]
    lines += [law_line(e) for e in children]
    for entry, kids in blocks[1:]:
        lines += [law_line(entry)] + [law_line(e) for e in kids]
    return excerpt("\n".join(lines), max_chars), paragraph


def lookup_family(doc, options) -> list[dict]:
    """규정 조회: a question built from an article's title → the article's text, cited as
    「법령명」 제N조 (제N조제1항 when the article has numbered paragraphs)."""
    doc, options = family_inputs(doc, options)
    statute = statute_of(doc)
    if statute is None:
        return []
    records = []
    for n, article in pick_articles(doc, statute, "lookup", options, lambda a: len(a.clean_text) >= 20):
        question = lookup_question(statute, article, options.seed)
        answer, paragraph = lookup_answer(statute, article, options.max_answer_chars)
        records.append(record(doc, "lookup", n, question, answer, **article_meta(statute, article),
                              paragraph=paragraph or None))
    return records


# -------------------------------------------------------------------------- explain

EXPLAIN_ITEM_CHARS = 90
EXPLAIN_PARAGRAPH_CHARS = 140
EXPLAIN_ITEMS_PER_PARAGRAPH = 6


def explain_answer(statute: Statute, article: Article, max_chars: int) -> str:
    """The plain-language explanation of `article`, built by this exact template:

    1. A restatement: "「법령명」 제N조는 '제목'에 관한 규정으로, 핵심은 다음과 같습니다."
       (without a title: "「법령명」 제N조의 핵심은 다음과 같습니다.")
    2. One bullet per 항 in order: "- 제N항: " (nothing for unnumbered text) and the 항's
       first sentence, cut to EXPLAIN_PARAGRAPH_CHARS ("…" where cut mid-sentence).
    3. Under it, one "  · " bullet per 호 (first EXPLAIN_ITEMS_PER_PARAGRAPH, each cut to
       EXPLAIN_ITEM_CHARS; more are counted: "  · 그 밖에 N개 항목"); 목 and below are
       left out.
    4. Every bullet goes through `plain_language` (formal polite endings,
       (이하 "법"이라 한다) → (줄여서 "법"), "다음 각 호" → "아래 항목"); amendment notes,
       bold marks and 항/호 numbers are already gone.
    5. Bullets stop before the answer would pass `max_chars` (at least one is kept); then
       "- 나머지 내용은 「법령명」 제N조 원문을 확인하세요." closes it."""
    topic = f"'{article.title}'에 관한 규정으로, 핵심은" if article.title else "핵심은"
    number = josa(article.number, "은/는") if article.title else f"{article.number}의"
    head = f"「{statute.name}」 {number} {topic} 다음과 같습니다."
    bullets: list[str] = []
    for (level, mark, text), children in article_blocks(article):
        first = re.split(r"(?<=다\.)\s", text, maxsplit=1)[0]
        label = f"제{paragraph_number(mark)}항: " if mark else ""
        bullets.append(f"- {label}{plain_language(excerpt_with_ellipsis(first, EXPLAIN_PARAGRAPH_CHARS))}")
        items = [e for e in children if e[0] == 1]
        for _, _, item in items[:EXPLAIN_ITEMS_PER_PARAGRAPH]:
            bullets.append(f"  · {plain_language(excerpt_with_ellipsis(item, EXPLAIN_ITEM_CHARS))}")
        if len(items) > EXPLAIN_ITEMS_PER_PARAGRAPH:
            bullets.append(f"  · 그 밖에 {len(items) - EXPLAIN_ITEMS_PER_PARAGRAPH}개 항목")
    closing = f"- 나머지 내용은 「{statute.name}」 {article.number} 원문을 확인하세요."
    kept = [head, bullets[0]]
    for bullet in bullets[1:]:
        if len("\n".join(kept + [bullet, closing])) > max_chars:
            kept.append(closing)
            break
        kept.append(bullet)
    return "\n".join(kept)


def explain_family(doc, options) -> list[dict]:
    """조문 해설: an article's text → its plain-language explanation (explain_answer)."""
    doc, options = family_inputs(doc, options)
    statute = statute_of(doc)
    if statute is None:
        return []
    records = []
    for n, article in pick_articles(doc, statute, "explain", options, lambda a: len(a.clean_text) >= 40):
        source = excerpt(article_text(article), options.max_source_chars)
        prompt = (f"다음 조문을 일반 시민이 이해하기 쉬운 말로 풀어 설명해 주세요.\n\n"
                  f"「{statute.name}」 {article_heading(article)}\n{source}")
        answer = explain_answer(statute, article, options.max_answer_chars)
        records.append(record(doc, "explain", n, prompt, answer, **article_meta(statute, article)))
    return records


# ---------------------------------------------------------------------------- route


def route_family(doc, options) -> list[dict]:
    """분류·소관. Articles: an article's text (no law name or number) → "「법령명」(소관:
    부처)" (ordinances: "「조례명」(소관: 서울특별시 정보보안과)"); articles that name their own
    law are skipped. Rulings: see `toolkit.corpus.families.rulings.route_ruling`."""
    doc, options = family_inputs(doc, options)
    ruling = ruling_of(doc)
    if ruling is not None:
        return route_ruling(doc, ruling, options)
    statute = statute_of(doc)
    if statute is None or not statute.ministry:
        return []
    what = "자치법규와 담당 부서" if statute.is_ordinance else "법령과 소관 부처"
    form = "「자치법규명」(소관: 기관 부서)" if statute.is_ordinance else "「법령명」(소관: 부처)"
    answer = f"「{statute.name}」(소관: {statute.ministry})"
    records = []

    def usable(a: Article) -> bool:
        text = article_text(a)
        return len(text) >= 60 and statute.name not in text

    for n, article in pick_articles(doc, statute, "route", options, usable):
        source = excerpt(article_text(article), options.max_source_chars)
        prompt = f"다음 조문이 속한 {what}를 {form} 형식으로 답하세요.\n\n{source}"
        records.append(record(doc, "route", n, prompt, answer, **article_meta(statute, article)))
    return records


# ---------------------------------------------------------------------------- draft

DRAFT_PARAGRAPH_CHARS = 150
DRAFT_ITEM_CHARS = 100
DRAFT_DEADLINE_DAYS = 14
DRAFT_DEADLINE_HOUR = 18
DRAFT_MEETING_DAYS = 7
DRAFT_MEETING_HOUR = 14


def _weekday_on_or_before(d: dt.date) -> dt.date:
    return d - dt.timedelta(days=max(0, d.weekday() - 4))


def _draft_provisions(article: Article, max_chars: int) -> tuple[str, list[tuple[int, str]]]:
    """What a draft quotes from `article`: the lead of its 2. line and the numbered lines
    under it as (level, text) with level 1 = 가., 2 = 1), 3 = 가). An article with one 항
    puts it in the lead and its 호 at 가.; with several, 항 are 가. and 호 are 1). Quoted
    text stops once it passes `max_chars` (the first line always stays)."""
    blocks = article_blocks(article)
    if len(blocks) == 1:
        (_, _, lead), children = blocks[0]
        entries = [(lv, t) for lv, _, t in children if lv <= 3]
        lead = excerpt_with_ellipsis(lead, DRAFT_PARAGRAPH_CHARS)
    else:
        lead, entries = "", []
        for (_, _, text), children in blocks:
            entries.append((1, excerpt_with_ellipsis(text, DRAFT_PARAGRAPH_CHARS)))
            entries += [(lv + 1, t) for lv, _, t in children if lv <= 2]
    kept, used = [], len(lead)
    for level, text in entries:
        text = excerpt_with_ellipsis(text, DRAFT_ITEM_CHARS if level > 1 else DRAFT_PARAGRAPH_CHARS)
        if kept and used + len(text) > max_chars:
            break
        kept.append((level, text))
        used += len(text)
    return lead, kept


def _draft_parties(statute: Statute) -> tuple[str, str, str]:
    """(sender, receiver, who must act) of a draft about `statute`."""
    if statute.is_ordinance:
        sender = statute.ministry
        return sender, f"{statute.authority} 각 실ㆍ본부ㆍ국장", "각 부서"
    sender = statute.ministry.split(",")[0].strip()
    return sender, "각 중앙행정기관의 장 및 시ㆍ도지사", "각 기관"


def _promulgation(statute: Statute, meta: dict) -> str:
    number = meta_text(meta.get("공포번호"))
    kind = f"{statute.authority}{statute.kind}" if statute.is_ordinance else statute.kind
    parts = [f"{kind} 제{number}호" if number else kind]
    if statute.promulgated:
        parts.append(f"{gongmun_date(statute.promulgated)} 공포")
    return ", ".join(p for p in parts if p)


def draft_document(statute: Statute, article: Article, meta: dict, variant: str,
                   max_chars: int) -> tuple[str, str]:
    """(request, body) of an official document about `article`. `variant` is "협조 요청"
    (comply and report by a deadline at 18:00; 붙임 list, 끝. after it) or "시행 안내"
    (notice and a briefing at 14:00; 끝. two spaces after the last text). Dates come from
    the statute's 시행일자 (공포일자 when it has none): deadline +14 days, briefing +7
    days, each moved back to a Friday when it falls on a weekend. Dates, times, amounts
    and item markers are written in 공문서 form (`toolkit.korean.forms`)."""
    base = as_date(statute.effective or statute.promulgated)
    sender, receiver, actor = _draft_parties(statute)
    heading = f"「{statute.name}」 {article_heading(article)}"
    lead, entries = _draft_provisions(article, max_chars)
    lead, entries = rewrite_amounts(polite(lead)), [(lv, rewrite_amounts(polite(t))) for lv, t in entries]
    if lead:
        intro = f"{heading}에 따르면 {lead}"
    else:
        intro = f"{heading}의 주요 내용은 다음과 같습니다."
    source = article_text(article)
    if variant == "협조 요청":
        deadline = gongmun_date(_weekday_on_or_before(base + dt.timedelta(days=DRAFT_DEADLINE_DAYS)), weekday=True)
        by = f"{deadline} {gongmun_time(DRAFT_DEADLINE_HOUR)}"
        title = f"{heading} 준수 협조 요청"
        lines = [
            *numbered_lines([
                (0, f"관련: 「{statute.name}」({_promulgation(statute, meta)})"),
                (0, intro),
                *entries,
                (0, f"{actor}에서는 위 사항을 준수하여 주시고, 이행 상황을 점검하여 {by}까지 "
                    f"{josa(sender, '으로/로')} 제출하여 주시기 바랍니다."),
            ]),
            "",
            f"붙임  1. 「{statute.name}」 {article.number} 조문 1부.",
            "      2. 이행 상황 점검표 1부.  끝.",
        ]
        request = (f"다음 조문을 바탕으로 {receiver}에게 보낼 {title} 공문을 작성해 주세요. 발신은 "
                   f"{sender}이고, 이행 상황은 {by}까지 제출받으며, 붙임은 조문과 이행 "
                   f"상황 점검표입니다.")
    else:
        meeting = gongmun_date(_weekday_on_or_before(base + dt.timedelta(days=DRAFT_MEETING_DAYS)), weekday=True)
        at = f"{meeting} {gongmun_time(DRAFT_MEETING_HOUR)}"
        effective = gongmun_date(base)
        title = f"{heading} 시행 안내"
        lines = numbered_lines([
            (0, f"{josa(f'「{statute.name}」', '이/가')} {effective} 시행됨에 따라 {article.number}의 "
                f"내용을 다음과 같이 알려 드립니다."),
            (0, intro),
            *entries,
            (0, "위 사항에 대한 설명회를 다음과 같이 개최하오니 업무 담당자가 참석할 수 있도록 "
                "협조하여 주시기 바랍니다."),
            (1, f"일시: {at}"),
            (1, f"장소: {sender} 회의실"),
            (0, f"관련 문의는 {josa(sender, '으로/로')} 하여 주시기 바랍니다.  끝."),
        ])
        request = (f"다음 조문을 바탕으로 {receiver}에게 보낼 {title} 공문을 작성해 주세요. 발신은 "
                   f"{sender}이고, 시행일은 {effective}, 설명회는 {at}에 {sender} "
                   f"회의실에서 엽니다.")
    body = "\n".join([f"수신  {receiver}", "(경유)", f"제목  {title}", "", *lines])
    return f"{request}\n\n{heading}\n{source}", body


_OBLIGATION = re.compile(r"하여야 한다|해야 한다|아니 된다|하여서는")


def draft_family(doc, options) -> list[dict]:
    """공문서 작성: a request (with the article's text) → an official document body (see
    draft_document). Only articles with at least two provisions (항 or 호); an article
    that imposes duties (하여야 한다, 아니 된다) gets a 협조 요청, any other a 시행 안내."""
    doc, options = family_inputs(doc, options)
    statute = statute_of(doc)
    if statute is None or not (statute.effective or statute.promulgated) or not statute.ministry:
        return []
    try:
        as_date(statute.effective or statute.promulgated)
    except ValueError:
        return []
    records = []
    for n, article in pick_articles(doc, statute, "draft", options, lambda a: len(a.outline) >= 2):
        variant = "협조 요청" if _OBLIGATION.search(article_text(article)) else "시행 안내"
        request, body = draft_document(statute, article, doc.meta, variant, options.max_answer_chars)
        request = excerpt(request, options.max_source_chars)
        records.append(record(doc, "draft", n, request, body, **article_meta(statute, article),
                              variant=variant))
    return records
