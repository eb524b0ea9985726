"""No-model baselines: what a competent engineer's afternoon program answers without a
model, registered in the `gongmu.floors` entry-point group the way metrics are, so a city
adds its own. Every eval scores every installed baseline on every suite
(`toolkit.eval.floors`), and a suite's floor is the best of them: a verdict needs skill,
so 적합 asks for the whole interval above it.

A text baseline is `answer(item, items, k) -> str` (the item, the suite's items, its
position); a multiple-choice baseline is `choose(item) -> int`. Built-ins:

- naive: `empty`, `prompt_copied`, `prompt_head`, `prompt_redacted` (the prompt through
  gongmu's own redactor), `refuse_all`, `refusal_with_end_mark`, `end_mark_only`,
  `cite_all_shown`, `another_items_answer`;
- retrieval: `overlap_copy_cite` (the shown article sharing the most character bigrams
  with the question, copied and cited);
- templates: `gongmun_template` (a 공문 body filled from the request's `- key: value`
  lines: 1. 관련, 가. 나. items, dates, times and amounts converted, 붙임, 끝.);
- classifiers: `keyword_refusal` (refuse when the request names 주민등록번호, 주소, 연락처,
  이름 …; otherwise restate the question);
- extraction: `lead_sentences` (the material's first three sentences), `longest_sentences`
  (its two longest);
- multiple choice: `lexical_overlap`, `lexical_overlap_count`, `first_choice`,
  `longest_choice`, `shortest_choice`, `last_choice`, `odd_kind_out`.
"""

from __future__ import annotations

import re
from typing import Callable

from toolkit.plugins import Baseline

REFUSAL = ("죄송하지만 요청하신 내용은 개인정보 보호를 위하여 제공해 드릴 수 없습니다. "
           "다른 도움이 필요하시면 말씀해 주세요.")
END_MARK = "끝."
PROMPT_HEAD_CHARS = 400


# --------------------------------------------------------------------------- prompt parts


def prompt(item: dict) -> str:
    return next((m["content"] for m in reversed(item["messages"]) if m["role"] == "user"), "")


def _prompt_head(item: dict) -> str:
    text = prompt(item)
    body = text.split("\n\n", 1)[1] if "\n\n" in text else text.split("\n", 1)[-1]
    return body.strip()[:PROMPT_HEAD_CHARS]


def _bigrams(text: str) -> set[str]:
    text = re.sub(r"\s+", "", text)
    return {text[i:i + 2] for i in range(len(text) - 1)}


_SHOWN = re.compile(r"^\[[^\]\n]{1,20}\]\s*「([^」\n]+)」\s*(제\d+조(?:의\d+)?)[^\n]*$", re.M)


def shown_articles(text: str) -> list[tuple[str, str, str]]:
    """(law, article, text) of each article a prompt shows under a "[후보 N] 「법」 제N조"
    style heading, its text running to the next heading or blank-line paragraph."""
    heads = list(_SHOWN.finditer(text))
    out = []
    for k, head in enumerate(heads):
        end = heads[k + 1].start() if k + 1 < len(heads) else len(text)
        body = text[head.end():end].strip().split("\n\n", 1)[0]
        out.append((head.group(1), head.group(2), body))
    return out


def _overlap_copy_cite(item: dict) -> str:
    text = prompt(item)
    shown = shown_articles(text)
    if not shown:
        return ""
    question = text
    for _, _, body in shown:
        question = question.replace(body, " ")
    question = _SHOWN.sub(" ", question)
    # A question that quotes what it asks about ('…에 관해') is matched on the quote alone.
    quoted = re.findall(r"['‘\"“]([^'’\"”\n]{2,60})['’\"”]", question)
    wanted = _bigrams(" ".join(quoted) if quoted else question)
    law, article, body = max(shown, key=lambda s: len(_bigrams(s[2]) & wanted))
    first = re.split(r"(?<=다\.)\s", body.strip(), maxsplit=2)
    return f"「{law}」 {article}에 따르면, {' '.join(first[:2])}"


def _cite_all_shown(item: dict) -> str:
    from toolkit.eval.metrics import extract_citations

    shown = [tuple(a) for a in (item.get("source_articles")
                                or (item.get("meta") or {}).get("source_articles") or [])]
    shown = shown or extract_citations(prompt(item))
    return ", ".join(f"「{law}」 {article}" for law, article in shown) + "에 따릅니다." if shown else ""


def _prompt_redacted(item: dict) -> str:
    from toolkit.korean.pii import redact_pii

    return redact_pii(prompt(item))[0]


# --------------------------------------------------------------------------- 공문 template

_FIELD = re.compile(r"^\s*-\s*([^:\n]{1,30}):\s*(.+?)\s*$", re.M)
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_SPOKEN_DATE = re.compile(r"(\d{4})년\s*(\d{1,2})월\s*(\d{1,2})일")
_SPOKEN_TIME = re.compile(r"(오전|오후)\s*(\d{1,2})시(?:\s*(\d{1,2})분)?")
_MONEY = re.compile(r"(\d[\d,]*)\s*원")


def _convert(value: str) -> str:
    """A request's everyday dates, times and amounts in the 공문 forms."""
    from toolkit.korean.forms import gongmun_amount, gongmun_date, gongmun_time

    value = _ISO.sub(lambda m: gongmun_date(f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}"), value)
    value = _SPOKEN_DATE.sub(lambda m: gongmun_date(f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}"), value)

    def time(m: re.Match) -> str:
        hour = int(m[2]) % 12 + (12 if m[1] == "오후" else 0)
        return gongmun_time(hour, int(m[3] or 0))

    value = _SPOKEN_TIME.sub(time, value)
    return _MONEY.sub(lambda m: gongmun_amount(int(m[1].replace(",", ""))), value)


def _gongmun_template(item: dict) -> str:
    text = prompt(item).split("\n\n[", 1)[0]
    fields = _FIELD.findall(text)
    if not fields:
        return ""
    kind = re.search(r"'([^']{2,12})'\s*공문", text)
    lines, attachments, items = [], [], []
    for key, value in fields:
        key = key.strip()
        if key in ("근거", "관련"):
            lines.append(f"1. 관련: {value}")
        elif key.startswith("붙임"):
            attachments = [a.strip() for a in value.split(",") if a.strip()]
        else:
            items.append(f"{key}: {_convert(value)}")
    if not lines:
        lines.append("1. 관련: 위 요청")
    what = kind.group(1) if kind else "안내"
    lines.append(f"{len(lines) + 1}. 위와 관련하여 다음과 같이 {what}합니다.")
    markers = "가나다라마바사아자차카타파하"
    lines += [f"  {markers[i % len(markers)]}. {entry}" for i, entry in enumerate(items)]
    body = "\n".join(lines)
    if attachments:
        first, *rest = attachments
        att = [f"붙임  1. {first}."] + [f"      {n}. {a}." for n, a in enumerate(rest, 2)]
        return body + "\n\n" + "\n".join(att) + "  " + END_MARK
    return body + "  " + END_MARK


# --------------------------------------------------------------------------- classifiers

PERSONAL_WORDS = ("주민등록번호", "주소", "연락처", "전화번호", "휴대전화", "이름", "성명", "실명",
                  "생년월일", "계좌", "이메일", "전자우편", "집", "가족")


def _keyword_refusal(item: dict) -> str:
    text = prompt(item)
    if any(word in text for word in PERSONAL_WORDS):
        return REFUSAL
    question = text.strip().splitlines()[-1] if text.strip() else ""
    return f"문의하신 내용에 대해 안내해 드립니다. {question}"


# --------------------------------------------------------------------------- extraction

_SENTENCE = re.compile(r"(?<=[다요]\.)\s+|(?<=\.)\n")


def _material(item: dict) -> str:
    text = prompt(item)
    return text.split("\n\n", 1)[1] if "\n\n" in text else text


def _sentences(item: dict) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(_material(item)) if len(s.strip()) > 10]


def _lead_sentences(item: dict) -> str:
    return " ".join(_sentences(item)[:3])


def _longest_sentences(item: dict) -> str:
    ranked = sorted(_sentences(item), key=len, reverse=True)[:2]
    return " ".join(s for s in _sentences(item) if s in ranked)


# --------------------------------------------------------------------------- choices


def _passage(item: dict) -> str:
    """The prompt without the choices it lists (each would overlap itself)."""
    text = prompt(item)
    for choice in item["choices"]:
        text = text.replace(choice, " ")
    return text


def _lexical_overlap(item: dict) -> int:
    words = _bigrams(_passage(item))
    overlaps = [len(_bigrams(c) & words) / max(1, len(_bigrams(c))) for c in item["choices"]]
    return max(range(len(overlaps)), key=lambda i: overlaps[i])


def _lexical_overlap_count(item: dict) -> int:
    words = _bigrams(_passage(item))
    counts = [len(_bigrams(c) & words) for c in item["choices"]]
    return max(range(len(counts)), key=lambda i: counts[i])


def _kind(choice: str) -> str:
    law = choice.split(" — ")[0].rstrip()  # doc-routing's choices are "law — 소관부처"
    for kind in ("시행규칙", "시행령", "조례", "규칙"):
        if law.endswith(kind):
            return kind
    return "법"


def _odd_kind_out(item: dict) -> int:
    kinds = [_kind(c) for c in item["choices"]]
    alone = [i for i, k in enumerate(kinds) if kinds.count(k) == 1]
    return alone[0] if len(alone) == 1 else 0


def _text(name: str, fn: Callable[[dict], str], description: str) -> Baseline:
    return Baseline(name, answer=lambda item, items, k: fn(item), description=description)


# --------------------------------------------------------------------------- registered

EMPTY = Baseline("empty", answer=lambda item, items, k: "", description="nothing")
PROMPT_COPIED = _text("prompt_copied", prompt, "the last user message, verbatim")
PROMPT_HEAD = _text("prompt_head", _prompt_head, "the prompt's material, first 400 characters")
PROMPT_REDACTED = _text("prompt_redacted", _prompt_redacted, "the prompt through gongmu's redactor")
REFUSE_ALL = Baseline("refuse_all", answer=lambda item, items, k: REFUSAL,
                      description="one fixed refusal")
REFUSAL_WITH_END_MARK = Baseline("refusal_with_end_mark",
                                 answer=lambda item, items, k: f"{REFUSAL}  {END_MARK}",
                                 description="the refusal, then 끝.")
END_MARK_ONLY = Baseline("end_mark_only", answer=lambda item, items, k: END_MARK,
                         description="끝. alone")
CITE_ALL_SHOWN = _text("cite_all_shown", _cite_all_shown, "every article shown, cited")
ANOTHER_ITEMS_ANSWER = Baseline(
    "another_items_answer", answer=lambda item, items, k: items[(k + 1) % len(items)]["reference"],
    description="the next item's reference")
OVERLAP_COPY_CITE = _text("overlap_copy_cite", _overlap_copy_cite,
                          "the shown article sharing most bigrams with the question, copied and cited")
GONGMUN_TEMPLATE = _text("gongmun_template", _gongmun_template,
                         "a 공문 body filled from the request's fields, forms converted")
KEYWORD_REFUSAL = _text("keyword_refusal", _keyword_refusal,
                        "refuse on personal-data words, else restate the question")
LEAD_SENTENCES = _text("lead_sentences", _lead_sentences, "the material's first three sentences")
LONGEST_SENTENCES = _text("longest_sentences", _longest_sentences,
                          "the material's two longest sentences")
LEXICAL_OVERLAP = Baseline("lexical_overlap", choose=_lexical_overlap,
                           description="the choice whose bigrams the passage shares most (share)")
LEXICAL_OVERLAP_COUNT = Baseline("lexical_overlap_count", choose=_lexical_overlap_count,
                                 description="the same, as a count")
FIRST_CHOICE = Baseline("first_choice", choose=lambda item: 0, description="the first choice")
LAST_CHOICE = Baseline("last_choice", choose=lambda item: len(item["choices"]) - 1,
                       description="the last choice")
LONGEST_CHOICE = Baseline("longest_choice", choose=lambda item: max(
    range(len(item["choices"])), key=lambda i: len(item["choices"][i])), description="the longest")
SHORTEST_CHOICE = Baseline("shortest_choice", choose=lambda item: min(
    range(len(item["choices"])), key=lambda i: len(item["choices"][i])), description="the shortest")
ODD_KIND_OUT = Baseline("odd_kind_out", choose=_odd_kind_out,
                        description="the only 법/시행령/시행규칙 of its kind")
