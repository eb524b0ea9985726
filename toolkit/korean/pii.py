"""Korean personal information (PII): find it, redact it, and score the finder.

Rules, not a model: each type has a pattern that anchors on its shape (digit groups, an
@, a road name followed by a building number, a role word followed by a name) and a check
that rejects the look-alikes statutes and rulings are full of (case numbers, article
references, dates, amounts, law IDs, agency names). Numbers whose shape alone is weak
(passport, account) are reported only with a context word nearby.

Offsets are character offsets into the text as given; callers pass NFC text
(`toolkit.corpus.scan.scan_file` normalises a file's text before it looks).
"""

from __future__ import annotations

import bisect
import calendar
import json
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from toolkit.errors import DataError
from toolkit.korean.width import fold_fullwidth

# Fictional texts with every span labelled (written for gongmu by
# tests/data/pii/make_labelled.py), shipped in the package: the data card scores the
# detector on it wherever gongmu is installed.
LABELLED_SET = Path(__file__).with_name("pii_labelled.jsonl")

PII_TYPES = (
    "주민등록번호", "외국인등록번호", "전화번호", "이메일", "사업자등록번호",
    "여권번호", "운전면허번호", "계좌번호", "주소", "이름",
)


@dataclass(frozen=True)
class Finding:
    type: str
    start: int
    end: int
    text: str
    confidence: float

    def as_json(self) -> dict:
        return {"type": self.type, "start": self.start, "end": self.end, "text": self.text}


# When two findings overlap, the more specific type wins; among equals, the longer one.
_SPECIFICITY = {
    "주민등록번호": 9, "외국인등록번호": 9, "사업자등록번호": 8, "운전면허번호": 8,
    "전화번호": 7, "이메일": 7, "여권번호": 6, "계좌번호": 5, "주소": 4, "이름": 3,
}

# Numbers: every numeric type starts where a digit (or the "(" of an area code) begins
# a run of at least seven digits and separators, not inside a longer number or code.
# Scanning for those starts once and trying each type there is several times faster
# than one full scan per type.
_NUMBER_START = re.compile(r"[0-9(+](?<![0-9A-Za-z\-][0-9(+])(?=[0-9\-–. \t)]{6})")
_NUM_AFTER = r"(?![0-9A-Za-z]|-[0-9])"


def _before(text: str, start: int, width: int) -> str:
    """The `width` characters before `start`, cut at the last line break."""
    window = text[max(0, start - width):start]
    return window[window.rfind("\n") + 1:]


def _alternation(words) -> str:
    """A regex matching any of `words`, written as a trie so that the engine tries only
    the words that share the character it is at (a flat alternation of fifty words is
    ten times slower on Korean text)."""
    tree: dict = {}
    for w in words:
        node = tree
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return emit(tree)


# 주민등록번호 / 외국인등록번호: YYMMDD-GNNNNNN, the date valid for the century G gives.
_RRN = re.compile(
    r"(\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?:[ \t]?-[ \t]?|[ \t])?([0-9])(\d{6})" + _NUM_AFTER
)
_CENTURY = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000,
            "8": 2000, "9": 1800, "0": 1800}
_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)


def _registration_number(text: str, pos: int) -> Finding | None:
    m = _RRN.match(text, pos)
    if not m:
        return None
    yy, mm, dd, g, rest = m.groups()
    year = _CENTURY[g] + int(yy)
    if int(dd) > calendar.monthrange(year, int(mm))[1]:
        return None
    digits = yy + mm + dd + g + rest
    s = sum(int(c) * w for c, w in zip(digits, _RRN_WEIGHTS))
    foreign = g in "5678"
    expected = (13 - s % 11) % 10 if foreign else (11 - s % 11) % 10
    if int(digits[12]) == expected:
        confidence = 0.98
    elif (year, int(mm)) >= (2020, 10) or foreign:
        # Numbers issued from October 2020 (and many foreign ones) carry no check digit.
        confidence = 0.85
    else:
        confidence = 0.7
    return Finding("외국인등록번호" if foreign else "주민등록번호", m.start(), m.end(), m.group(), confidence)


# 전화번호: mobile, Seoul 02, regional 0NN, 070, and 15xx/16xx/18xx representative numbers;
# hyphens, en dashes (as word processors print them), dots or spaces; +82 without the 0.
_AREA = r"0(?:2|3[1-3]|4[1-4]|5[1-5]|6[1-4]|70)"
_AREA_INTL = r"(?:2|3[1-3]|4[1-4]|5[1-5]|6[1-4]|70|1[016789])"
_PHONE = re.compile(
    r"(?:"
    rf"\([ \t]?{_AREA}[ \t]?\)[ \t]?[1-9]\d{{2,3}}[-–.][0-9]{{4}}"  # (02)123-4567
    rf"|{_AREA}\)[ \t]?[1-9]\d{{2,3}}[-–]\d{{4}}"  # 02)123-4567
    rf"|{_AREA}(?P<s1>[-–. ])[1-9]\d{{2,3}}(?P=s1)\d{{4}}"  # 031-123-4567, 02.1234.5678
    r"|01[016789](?P<s2>[-–. ]?)\d{3,4}(?P=s2)\d{4}"  # mobile, also undivided
    r"|1[568]\d{2}[-–]\d{4}"  # 1588-1234
    rf"|\+82(?P<s3>[-. ]?)(?:\(0\))?{_AREA_INTL}(?P=s3)\d{{3,4}}(?P=s3)\d{{4}}"  # +82-10-1234-5678
    r")(?![0-9A-Za-z]|[-–.][0-9])"
)


def _phone(text: str, pos: int) -> Finding | None:
    if pos and text[pos - 1] in ".,/":  # 1.010-…, amounts, fractions
        return None
    m = _PHONE.match(text, pos)
    return Finding("전화번호", m.start(), m.end(), m.group(), 0.95) if m else None


# 사업자등록번호: NNN-NN-NNNNN with the National Tax Service checksum, or after its name.
_BRN = re.compile(r"(\d{3})-(\d{2})-(\d{5})" + _NUM_AFTER)
_BRN_CONTEXT = re.compile(r"사업자[ \t]?(?:등록)?[ \t]?번호|등록번호")
_BRN_PLAIN = re.compile(r"\d{10}" + _NUM_AFTER)


def brn_checksum_ok(digits: str) -> bool:
    """The National Tax Service check for a 10-digit business registration number."""
    w = (1, 3, 7, 1, 3, 7, 1, 3, 5)
    s = sum(int(c) * k for c, k in zip(digits, w)) + int(digits[8]) * 5 // 10
    return (10 - s % 10) % 10 == int(digits[9])


def _business_number(text: str, pos: int) -> Finding | None:
    m = _BRN.match(text, pos)
    if not m:
        # Ten digits without hyphens: only right after the words 사업자등록번호.
        m = _BRN_PLAIN.match(text, pos)
        if m and brn_checksum_ok(m.group()) and _BRN_CONTEXT.search(_before(text, pos, 12)):
            return Finding("사업자등록번호", m.start(), m.end(), m.group(), 0.8)
        return None
    if brn_checksum_ok("".join(m.groups())):
        return Finding("사업자등록번호", m.start(), m.end(), m.group(), 0.9)
    if _BRN_CONTEXT.search(_before(text, m.start(), 20)):
        return Finding("사업자등록번호", m.start(), m.end(), m.group(), 0.7)
    return None


# 운전면허번호: RR-YY-NNNNNN-CC with region code 11–28, or a region name for RR.
_LICENCE_REGIONS = "서울|부산|경기|강원|충북|충남|전북|전남|경북|경남|제주|대구|인천|광주|대전|울산"
_LICENCE = re.compile(r"(?:1[1-9]|2[0-8])-\d{2}-\d{6}-\d{2}" + _NUM_AFTER)
_LICENCE_SHORT = re.compile(r"\d{2}-\d{6}-\d{2}" + _NUM_AFTER)
_LICENCE_REGION_BEFORE = re.compile(rf"(?<![가-힣])(?:{_LICENCE_REGIONS})[ \t]?$")


def _licence(text: str, pos: int) -> Finding | None:
    m = _LICENCE.match(text, pos)
    if m:
        return Finding("운전면허번호", m.start(), m.end(), m.group(), 0.9)
    m = _LICENCE_SHORT.match(text, pos)
    if m:
        region = _LICENCE_REGION_BEFORE.search(text, max(0, pos - 4), pos)
        if region:
            return Finding("운전면허번호", region.start(), m.end(), text[region.start():m.end()], 0.9)
    return None


# 계좌번호: three or four digit groups, 10–16 digits, only with a bank or 계좌 just before.
_ACCOUNT = re.compile(r"\d{2,6}(?:-\d{1,7}){2,3}" + _NUM_AFTER)
_BANK_CONTEXT = re.compile(
    r"은행|뱅크|농협|수협|신협|우체국|금고|계좌|예금주|입금|통장|신한|하나|국민|우리|기업|KB|NH|IBK|SC"
)


def _account(text: str, pos: int) -> Finding | None:
    m = _ACCOUNT.match(text, pos)
    if not m:
        return None
    n = sum(c.isdigit() for c in m.group())
    if 10 <= n <= 16 and _BANK_CONTEXT.search(_before(text, m.start(), 25)):
        return Finding("계좌번호", m.start(), m.end(), m.group(), 0.8)
    return None


_NUMBER_TYPES = (_registration_number, _phone, _business_number, _licence, _account)


def _numbers(text: str):
    for start in _NUMBER_START.finditer(text):
        pos = start.start()
        for find in _NUMBER_TYPES:
            found = find(text, pos)
            if found:
                yield found


# --- 이메일 -----------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"
)
_EMAIL_TAIL = re.compile(r"\.[A-Za-z]{2,24}$")


def _emails(text: str):
    if "@" not in text:
        return
    for m in _EMAIL.finditer(text):
        value = m.group().rstrip(".-")
        if _EMAIL_TAIL.search(value):
            yield Finding("이메일", m.start(), m.start() + len(value), value, 0.99)


# --- 여권번호 (only just after 여권) ----------------------------------------------

_PASSPORT = re.compile(
    r"(?<![A-Za-z0-9])(?:[A-Z]\d{8}|[A-Z]\d{3}[A-Z]\d{4}|[A-Z]{2}\d{7})(?![A-Za-z0-9])"
)


_PASSPORT_CONTEXT = re.compile(_alternation(["여권", "Passport", "passport", "PASSPORT"]))


def _passports(text: str):
    end = 0
    for context in _PASSPORT_CONTEXT.finditer(text):
        for m in _PASSPORT.finditer(text, max(end, context.end()), min(len(text), context.end() + 20)):
            yield Finding("여권번호", m.start(), m.end(), m.group(), 0.9)
            end = m.end()


# --- 주소 -------------------------------------------------------------------------

# A road name (…로, …길, with 번길/N길 branches) followed by a building number that is
# not a quantity (3개월, 10년, 5명, 210밀리미터 …).
_ROAD_ANCHOR = re.compile(r"[로길](?:[ \t]?\d{1,4}번?길)?[ \t]?(?:지하[ \t]?)?\d")
_ROAD = re.compile(
    r"([가-힣][가-힣0-9]{0,11}(?:로|길)(?:[ \t]?\d{1,4}번?길)?)[ \t]?"
    r"((?:지하[ \t]?)?\d{1,4}(?:-\d{1,4})?)"
    # Not a quantity or a date: 3개월 and 2013. 5. 1. are caught here or by the
    # attached-syllable check in _road_addresses; spaced units here.
    r"(?![0-9]|,\d|\.[ \t]?\d|[A-Za-z%㎞㎡㎝㎜]"
    r"|[ \t](?:년|개월|개|명|원|회|시간|분|초|퍼센트|미터|킬로미터|만|천|억|[A-Za-z%㎞㎡㎝㎜])(?![가-힣]))"
)
# Directly after a building number only particles may follow (세종대로 110에, …209임을).
_AFTER_NUMBER_OK = frozenset("에의이입임으로와과까은는을를")
# A lot address: …동/리/가 + number + 번지, read backwards from 번지.
_LOT = re.compile(
    r"(?<![가-힣0-9])([가-힣]{1,6}\d{0,2}(?:동|리|가)\d{0,2})[ \t]?((?:산[ \t]?)?\d{1,5}(?:-\d{1,5})?)[ \t]?$"
)
_LOT_BRANCH = re.compile(r"의[ \t]?\d{1,4}(?![0-9])")
# An apartment unit: 101동 1203호.
_UNIT = re.compile(r"동[ \t]?\d{1,5}호(?![0-9])")
# What follows a building number, with or without a comma: ", 101동 1203호", " 3층",
# ", 3층 301호", ", 지하 1층", ", 301호".
_UNIT_AFTER = re.compile(
    r",?[ \t]?(?:\d{1,4}동(?:[ \t]?\d{1,5}호)?|(?:지하[ \t]?)?\d{1,3}층(?:[ \t]?\d{1,5}호)?|\d{1,5}호)"
    r"(?![0-9])"
)
_ADMIN_UNIT = re.compile(
    r"(?:[가-힣]{1,6}(?:특별시|광역시|특별자치시|특별자치도)|[가-힣]{1,3}(?:남도|북도)|경기도|강원도|제주도"
    r"|[가-힣]{1,4}(?:시|군|구|읍|면)|[가-힣]{1,5}\d{0,2}(?:동|리)|[가-힣]{1,4}\d{1,2}가"
    rf"|{_LICENCE_REGIONS}|세종)"
)
# Words with an administrative ending that are not places.
_NOT_ADMIN = frozenset(
    "즉시 동시 당시 표시 게시 고시 지시 개시 제시 명시 수시 임시 항시 일시 잠시 역시 혹시 "
    "요구 연구 청구 추구 도구 기구 지구 전구 출구 입구 "
    "측면 장면 전면 서면 이면 방면 국면 단면 내면 외면 "
    "활동 이동 자동 공동 행동 운동 변동 작동 노동 가동 감동 연동 출동 "
    "처리 관리 거리 수리 정리 원리 권리 무리 이리 조리 심리 우리 "
    "같은 해당".split()
)
# Verb endings that look like 면/시 units: 없으면, 하면, 하시.
_NOT_ADMIN_ENDINGS = ("으면", "하면", "되면", "이면", "라면", "다면", "려면", "지면", "시면", "보면", "나면",
                      "하시", "으시", "되시")
_ADDRESS_CONTEXT = re.compile(r"주소|소재지|거주지|주거|거소|사업장|전입|도로명|위치|소재")
_NOT_ROAD = frozenset(
    "도로 대로 별도로 새로 주로 서로 따로 스스로 실제로 최초로 경로 진로 통로 항로 수로 선로 회로 "
    "기로 활주로 미로 하로 이로 그로 저로 차로 육로 해로 공로 사로 고로 단계로 가로 세로 "
    "대체로 비율로 세율로 순서로 차례로 사유로 별지로 일부로 요율로 배율로 무료로 유료로 서류로 "
    "전자문서로 구두로 사례로".split()
)


def _is_admin_unit(word: str) -> bool:
    return (word not in _NOT_ADMIN and not word.endswith(_NOT_ADMIN_ENDINGS)
            and _ADMIN_UNIT.fullmatch(word) is not None)


def _extend_left(text: str, start: int) -> tuple[int, int]:
    """Walk back over administrative units (시·도, 시·군·구, 읍·면·동) written before
    `start`, one space apart. Returns the new start and how many units were taken."""
    taken = 0
    while taken < 5:
        j = start - 1
        if j < 0 or text[j] not in " \t":
            break
        k = _word_start(text, j)
        if k > 0 and text[k - 1] not in " \t\n(:：,":
            break
        if not _is_admin_unit(text[k:j]):
            break
        start, taken = k, taken + 1
    return start, taken


def _extend_right(text: str, end: int) -> int:
    m = _UNIT_AFTER.match(text, end)
    if not m:
        return end
    nxt = text[m.end():m.end() + 1]
    if nxt and "가" <= nxt <= "힣" and nxt not in _AFTER_NUMBER_OK:
        return end  # 1호선, 3층짜리: not a unit
    return m.end()


def _word_start(text: str, end: int, limit: int = 12) -> int:
    k = end
    while k > 0 and end - k < limit and ("가" <= text[k - 1] <= "힣" or text[k - 1].isdigit()):
        k -= 1
    return k


def _road_addresses(text: str):
    for anchor in _ROAD_ANCHOR.finditer(text):
        k = _word_start(text, anchor.start())
        if k == anchor.start() or not "가" <= text[k] <= "힣":
            continue
        if k > 0 and ("가" <= text[k - 1] <= "힣" or text[k - 1].isdigit()):
            continue  # longer than any road name
        m = _ROAD.match(text, k)
        if not m:
            continue
        nxt = text[m.end():m.end() + 1]
        if nxt and "가" <= nxt <= "힣" and nxt not in _AFTER_NUMBER_OK:
            continue
        road = m.group(1)
        stem = road.split()[0]
        if stem in _NOT_ROAD or stem.endswith(("으로", "로로")):
            continue
        start, units = _extend_left(text, m.start())
        structured = re.search(r"(?:대로|\d+번?길|\d+로|\d가길)$", road) is not None
        if not (units or (structured and len(stem) >= 3)
                or _ADDRESS_CONTEXT.search(_before(text, start, 15))):
            continue
        end = _extend_right(text, m.end())
        yield Finding("주소", start, end, text[start:end], 0.9 if units else 0.75)


def _lot_addresses(text: str):
    at = text.find("번지")
    while at != -1:
        m = _LOT.search(text, max(0, at - 30), at)
        if m and m.group(1) not in _NOT_ADMIN:
            start, _ = _extend_left(text, m.start())
            end = at + 2
            branch = _LOT_BRANCH.match(text, end)  # 180번지의7
            end = _extend_right(text, branch.end() if branch else end)
            yield Finding("주소", start, end, text[start:end], 0.85)
        at = text.find("번지", at + 2)


def _unit_addresses(text: str):
    for m in _UNIT.finditer(text):
        k = m.start()
        while k > 0 and m.start() - k < 4 and text[k - 1].isdigit():
            k -= 1
        if k == m.start() or (k > 0 and (text[k - 1].isdigit() or text[k - 1] == "제")):
            continue
        yield Finding("주소", k, m.end(), text[k:m.end()], 0.75)


def _addresses(text: str):
    yield from _road_addresses(text)
    yield from _lot_addresses(text)
    yield from _unit_addresses(text)


# --- 이름 (only where a role word or title marks it) ------------------------------

SURNAMES = frozenset(
    "김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구민나진지엄채원천방공현"
    "함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용라봉경예사빈피감가당음"
)
COMPOUND_SURNAMES = frozenset("남궁 선우 제갈 황보 독고 사공 서문 동방 어금 망절".split())
# Words that mark the name after them. Spaced forms (원 고, 성 명) are how rulings and
# forms lay them out.
_ROLES = (
    "원고 원고들 피고 피고인 피고인들 피고들 신청인 신청인들 피신청인 청구인 피청구인 진정인 피진정인 "
    "고소인 피고소인 고발인 청원인 소송대리인 소송수행자 담당변호사 변호사 담당자 담당 작성자 신고인 민원인 "
    "대표이사 대표자 증인 참고인 예금주 세대주 신청자 성명 이름 책임자 기안자 검토자 결재권자 "
    "피해자 가해자 피의자 보호자 의뢰인 수령인 수취인 고인 망인"
).split() + ["원 고", "피 고", "성 명"]
_TITLES = "주무관 사무관 서기관 부이사관 이사관 과장 팀장 국장 실장 장관 차관 위원장 청장 처장 원장 담당관 대변인".split()
# Court rulings put the role in brackets (【원고, 상고인】 홍길동, [원고] 홍길동), number the
# parties (원고 1. 홍길동) and qualify them (피고 보조참가인 홍길동, 원고(선정당사자)).
_PARTY_QUALIFIERS = "상고인 피상고인 항소인 피항소인 항고인 재항고인 상대방 보조참가인 참가인".split()
# "성명(한글): 홍길동": a short parenthetical may come between the word and the name.
_MARKER = re.compile(
    r"[【\[]?(?P<role>" + _alternation(_ROLES + _TITLES) + r")"
    + r"(?:[ \t]?\d{1,2}\.?)?(?:\([가-힣]{1,6}\))?"
    + r"(?:(?:,[ \t]*|[ \t]+)" + _alternation(_PARTY_QUALIFIERS) + r")*"
    + r"(?:\([가-힣]{1,6}\))?(?:[】\]][ \t]*|[ \t]*[:：][ \t]*|[ \t]+)"
)
# A name written before its title: "김하늘 주무관".
_TITLE_AFTER_NAME = re.compile(_alternation(["주무관", "사무관", "서기관", "변호사"]) + r"(?![가-힣])")
_HANGUL_RUN = re.compile(r"[가-힣]+")
# Roles that introduce lists of people: "변호사 김철수, 이영희".
_LIST_ROLES = frozenset(["변호사", "원고들", "피고들", "피고인들", "신청인들", "소송대리인", "담당변호사"])
_LIST_NEXT = re.compile(r"(?:,[ \t]*|[ \t]+및[ \t]+)([가-힣]+)")
_PARTICLES = frozenset(
    "은 는 이 가 을 를 의 와 과 도 만 께 에 로 "
    "께서 에게 에서 으로 과의 와의 이다 이며 이고 이나 이라 에게서 으로부터 로부터 께서는 에게는 "
    "님 씨 님의 씨의 님은 씨는 씨가 님이 님께 님께서 님에게 씨에게 씨께".split()
)
# A 3-syllable run ending in these reads as a 2-syllable name plus a particle.
_SHORT_NAME_TAILS = frozenset("에 께 를 로 와")
# Common words that follow role words and start with a surname syllable. Found by
# reading what fired on statutes and rulings.
_NOT_NAMES = frozenset(
    """
    이상 이하 이내 이후 이전 이외 이번 이름 이유 이의 이행 이용 이해 이사 이사장 이사회 이송 이관
    정부 정도 정보 정기 정지 정한 정당 정책 정비 정리 정원 정해진 정하는 정산
    조합 조사 조치 조건 조례 조항 조정 조직 조합원 조서
    공단 공사 공무원 공개 공고 공석 공정 공공 공동 공익 공법인 공시
    국가 국민 국장 국회 국제 국세 국유 국방
    지정 지방 지원 지급 지역 지사 지청 지부 지침 지위 지자체 지도 지시 지휘
    신청 신고 신규 신분 신용 신청인 신청서
    선임 선정 선고 선거 선출
    한국 한정 한편 한도 안전 안내 안건 안에 전체 전부 전화 전자 전문 전기 전담 전결 전원 전임 전년
    장관 장애 장기 임원 임명 임시 임대 임의 임기 주식 주소 주민 주무 주요 주택 주관 주장 주된 주식회사 주무관
    문서 문의 방법 방식 방송 방문 변경 변호사 변론 고용 고지 고시 고발 고소 고객 고유
    성명 성별 소속 소관 소송 소재지 소유자 소명 연락처 연도 연장 연구 연금 연대 원고 원장 원칙 원본 원래
    위원 위원회 위원장 위임 위반 위치 위탁 유지 유형 유족 유사 유무 유효
    명의 명칭 민원 민원인 배우자 배정 백분 사업 사업자 사무 사항 사장 사건 사실 사용 사유 사전 상대방 서면 서울
    석사 설치 설명 송달 심사 심의 양도 양수인 여부 오류 왕복 우선 육아 은행 인정 인적 인원 제출 제한 제외
    차장 채권 채무 최초 최종 추가 표시 하천 허가 현장 현재 현황 홍보 구청 구청장 구역 구분 구성 군수
    남편 노동 노인 모든 모두 배치 변동 본인 부서 부장 부담 경우 기관 기간 기타 기재 기준 기록 기한 감사
    도지사 도시 마을 반드시 반환 방지 봉사 빈칸 감독 가족 당사자 당해 음식 예산 예외 예정 경찰 경찰관
    피고 피고인 원고들 피고들 함께 허위 황폐 곽내 진술 진정 진행 진단 진료 석명 설립 남은 소장 소지
    사이 임원 임원급 임직원 채택 선서 조력 서명 서명서 서명란 선정서 신분증 제시 연봉 인사 위하여 위한 위해
    소유 소유자 소외 소외인 사찰 주소지 정관 신문 심문 소환 구인 명예 사임 해임 수임 수임료 보수 선처
    인장 인감 지분 노무사 세무사 어머니 아버지 모친 부친 모임 나이 진실 유일 유일한 권리 한밭 모르게 자녀 형제 아내
    부인 자매 동생 친척 유해 인권 심리 신원 신상 구제 조서 진료 치료비 명단 명부 연구소 사무소 영업소 출장소 보건소 교도소 구치소 파출소 주유소 지소 지점
    우리 나머지 나라 여러 여기 여신 편의 표준 탁송 용역 옥외 맹인 모집 금지 금액 금융 기업
    """.split()
)
# Endings that make a word an agency, office or title rather than a person.
_NOT_NAME_ENDINGS = ("청", "장", "처", "부", "회사", "법인", "조합", "공단", "공사", "은행", "학교", "협회",
                     "위원회", "기관", "센터", "재단", "관", "과", "국", "실", "팀", "원회", "단체")
# Provinces, cities, counties and districts whose names start like a person's (피고 경기도,
# 피고 성남시, 피고 강남구).
_PLACE_NAMES = frozenset(
    """
    경기도 강원도 제주도
    서울시 인천시 수원시 성남시 안양시 안산시 용인시 고양시 구리시 오산시 하남시 이천시 안성시 김포시 양주시
    여주시 원주시 강릉시 제천시 천안시 공주시 서산시 당진시 전주시 정읍시 남원시 김제시 여수시 나주시 경주시
    김천시 안동시 구미시 문경시 경산시 진주시 사천시 김해시 양산시 제주시 의정부시 남양주시 동두천시 서귀포시
    양평군 연천군 가평군 홍천군 횡성군 영월군 정선군 철원군 화천군 양구군 인제군 고성군 양양군 옥천군 영동군
    진천군 음성군 단양군 금산군 부여군 서천군 청양군 홍성군 예산군 태안군 완주군 진안군 장수군 임실군 고창군
    부안군 담양군 곡성군 구례군 고흥군 보성군 화순군 장흥군 강진군 해남군 영암군 함평군 영광군 장성군 완도군
    진도군 신안군 군위군 의성군 청송군 영양군 영덕군 청도군 고령군 성주군 칠곡군 예천군 봉화군 울진군 울릉군
    의령군 함안군 창녕군 남해군 하동군 산청군 함양군 거창군 합천군 기장군 달성군 강화군 옹진군 울주군
    강남구 강동구 강북구 강서구 관악구 광진구 구로구 금천구 노원구 도봉구 동대문구 동작구 마포구 서대문구
    서초구 성동구 성북구 송파구 양천구 영등포구 용산구 은평구 종로구 중랑구 해운대구 수영구 사하구 사상구
    연제구 금정구 수성구 달서구 남동구 부평구 계양구 연수구 유성구 대덕구 광산구 덕양구 일산동구 일산서구
    수정구 중원구 분당구 장안구 권선구 팔달구 영통구 만안구 동안구 상록구 단원구 처인구 기흥구 수지구
    """.split()
)
# What may follow a common word that starts like a name: particles, the copula and verb
# endings (원고 소유인 아파트, 선임한 변호사).
_AFTER_COMMON_WORD = _PARTICLES | frozenset(
    "인 임 이고 이며 이다 로서 으로서 이라는 이란 들 들의 들이 들은 측 측의 측은 한 된 할 하는 하여 하고 해야 함 "
    "된다 한다 하며 할 상 상의 간 간의 에는 에도 에서는 에서도 에만 으로는 과는 와는 까지 부터 보다 처럼 마다".split()
)


def _name_in(run: str, field: bool = False) -> str | None:
    """The person's name at the start of a Hangul run, or None when it is not one. In a
    `field` (the run alone after "[원고]" or "성명:", up to the line's end) a common word
    with a particle (조정+은) is read as a name: a particle does not end a line there."""
    if len(run) < 2:
        return None
    if run[:2] in COMPOUND_SURNAMES and len(run) >= 3:
        lengths = (4, 3)
    elif run[0] in SURNAMES:
        if len(run) == 3 and run[2] in _SHORT_NAME_TAILS:
            lengths = (2,)
        else:
            lengths = (3, 2)
    else:
        return None
    for n in lengths:
        name, rest = run[:n], run[n:]
        if len(name) == n and (not rest or rest in _PARTICLES):
            if any(run[:k] in _NOT_NAMES
                   and (k == len(run) or (not field and run[k:] in _AFTER_COMMON_WORD))
                   for k in range(2, len(run) + 1)):
                return None
            if len(name) >= 3 and (name.endswith(_NOT_NAME_ENDINGS) or name in _PLACE_NAMES):
                return None
            return name
    return None


def _name_after(text: str, pos: int, field: bool = False) -> Finding | None:
    m = _HANGUL_RUN.match(text, pos)
    if not m:
        return None
    after = text[m.end():m.end() + 1]
    if after and after in "○〇◯●*＊XxOㅇ△□":
        return None  # masked: 김○○, 박**
    name = _name_in(m.group(), field and after in ("", "\n"))
    if name is None:
        return None
    return Finding("이름", m.start(), m.start() + len(name), name, 0.8)


_OFFICE_ENDINGS = ("과", "팀", "실", "국", "관", "부", "처", "청", "원", "소", "센터", "단", "반", "계", "본부",
                   "위원회", "담당", "담당자", "기안자", "검토자", "책임자")


def _office_or_boundary_before(text: str, k: int) -> bool:
    """A name before its title must follow an office (민원과 김철수 주무관), a role word,
    or the start of a line or clause; not a verb (선임한 변호사)."""
    j = k
    while j > 0 and text[j - 1] in " \t":
        j -= 1
    if j == 0 or text[j - 1] in "\n(:：,·ㆍ/|[":
        return True
    if j == k:
        return False
    return text[_word_start(text, j):j].endswith(_OFFICE_ENDINGS)


def _names(text: str):
    for m in _MARKER.finditer(text):
        if m.start() and "가" <= text[m.start() - 1] <= "힣":
            continue  # part of a longer word: 구청장, 담당변호사
        pos = m.end()
        # "소송대리인 변호사 김철수", "담당자: 사무관 이영희": skip further markers.
        for _ in range(3):
            nxt = _MARKER.match(text, pos)
            if not nxt:
                break
            pos = nxt.end()
        found = _name_after(text, pos, field=m.group().rstrip(" \t")[-1] in "】]:：")
        if found is None:
            continue
        yield found
        if m.group("role") in _LIST_ROLES:
            end = found.end
            while True:
                nxt = _LIST_NEXT.match(text, end)
                if not nxt:
                    break
                more = _name_after(text, nxt.start(1))
                if more is None:
                    break
                yield more
                end = more.end
    for m in _TITLE_AFTER_NAME.finditer(text):
        gap = m.start()
        while gap > 0 and text[gap - 1] in " \t":
            gap -= 1
        if gap == m.start():
            continue
        k = _word_start(text, gap, 5)
        word = text[k:gap]
        if (3 <= len(word) <= 4 and not any(c.isdigit() for c in word) and _name_in(word) == word
                and _office_or_boundary_before(text, k)):
            yield Finding("이름", k, gap, word, 0.7)


# --- putting it together ------------------------------------------------------------

_DETECTORS = (_numbers, _emails, _passports, _addresses, _names)


# Hyphens as word processors and fonts print them (U+2010 hyphen, U+2011 non-breaking
# hyphen, U+2012 figure dash, U+2013 en dash, U+2212 minus; U+FF0D is full-width and
# folded below) are read as "-".
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2212"})


def _detection_text(text: str) -> str:
    """`text` as the detectors read it: full-width ASCII (０１０, ＠, the ideographic
    space) folded and dashes made hyphens. One character for one, so offsets into it are
    offsets into `text`."""
    return fold_fullwidth(text).translate(_DASHES)


def find_pii(text: str) -> list[Finding]:
    """Every personal-information span in `text` (NFC), sorted by start, non-overlapping:
    where candidates overlap, the more specific type wins, then the longer span. Offsets
    and `text` of each finding are those of `text` as given (full-width digits and
    Unicode dashes are found, and reported as written)."""
    view = _detection_text(text)
    candidates = [f for detect in _DETECTORS for f in detect(view)]
    if view != text:
        candidates = [replace(f, text=text[f.start:f.end]) for f in candidates]
    candidates.sort(key=lambda f: (-_SPECIFICITY[f.type], -(f.end - f.start), f.start))
    starts: list[int] = []  # the kept findings, sorted and disjoint
    kept: list[Finding] = []
    for f in candidates:
        i = bisect.bisect_left(starts, f.end)
        if i and kept[i - 1].end > f.start:
            continue
        starts.insert(i, f.start)
        kept.insert(i, f)
    return kept


def redact_pii(text: str) -> tuple[str, Counter]:
    """`text` with each finding replaced by `<TYPE>` (e.g. `<주민등록번호>`), and how many
    of each type were replaced."""
    counts: Counter = Counter()
    out, pos = [], 0
    for f in find_pii(text):
        out.append(text[pos:f.start])
        out.append(f"<{f.type}>")
        counts[f.type] += 1
        pos = f.end
    out.append(text[pos:])
    return "".join(out), counts


def score_labelled(path) -> dict:
    """Precision and recall of `find_pii` on a labelled JSONL file (`{"text", "spans":
    [{"type","start","end"}]}` per line). A span counts only on an exact type+start+end
    match: a partial overlap is both a miss and a false positive."""
    per_type = {t: Counter() for t in PII_TYPES}
    n_spans = 0
    path = Path(path)
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                gold = {(s["type"], s["start"], s["end"]) for s in rec["spans"]}
                text = rec["text"]
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise DataError(f"{path}:{lineno}: not a labelled record ({e}). Each line needs "
                                f'"text" and "spans": [{{"type","start","end"}}].') from e
            found = {(x.type, x.start, x.end) for x in find_pii(text)}
            n_spans += len(gold)
            for t, _, _ in found & gold:
                per_type[t]["tp"] += 1
            for t, _, _ in found - gold:
                per_type[t]["fp"] += 1
            for t, _, _ in gold - found:
                per_type[t]["fn"] += 1

    def figures(c: Counter) -> dict:
        tp, fp, fn = c["tp"], c["fp"], c["fn"]
        return {"tp": tp, "fp": fp, "fn": fn,
                "precision": tp / (tp + fp) if tp + fp else 1.0,
                "recall": tp / (tp + fn) if tp + fn else 1.0}

    return {"per_type": {t: figures(c) for t, c in per_type.items()},
            "overall": figures(sum(per_type.values(), Counter())),
            "spans": n_spans}
