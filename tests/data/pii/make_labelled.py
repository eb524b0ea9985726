"""Write toolkit/korean/pii_labelled.jsonl (shipped in the package: the data card scores the
detector on it): fictional Korean administrative texts with
every personal-information span labelled by type and character offsets.

    .venv/bin/python tests/data/pii/make_labelled.py [OUT.jsonl]

Deterministic (fixed seed); offsets are computed while the texts are assembled, so
they are right by construction. All people, numbers and addresses are invented; road
names are real so that addresses look like addresses. Texts are NFC.

Span conventions (what a careful human labeller would mark):
- 주민등록번호/외국인등록번호/사업자등록번호/운전면허번호/여권번호: the number as written
  (a region name written in front of a licence number, "서울 12-345678-90", is part of it).
- 전화번호: the number as written, area-code parentheses included: "(02)123-4567".
- 계좌번호: the digits only, not the bank name.
- 주소: from the first administrative unit (or road name when none is written) to the
  building number / lot number ("번지") / 동·호·층, whichever comes last; not the
  postcode, not a building name or a parenthetical note after it.
- 이름: the name only, without role words, titles or particles.
Masked values (김○○, 010-****-5678, 900101-1******) are not personal information.
"""

from __future__ import annotations

import json
import random
import re
import sys
import unicodedata
from pathlib import Path

from toolkit.korean.josa import josa

OUT = Path(__file__).resolve().parents[3] / "toolkit" / "korean" / "pii_labelled.jsonl"
SEED = 20240315

SURNAMES = list("김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구민나진지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용")
COMPOUND_SURNAMES = ["남궁", "선우", "제갈", "황보", "독고", "사공", "서문"]
GIVEN = list("민서준지현우수영진하은성혜경도윤재희연호주승아유태원정석훈철동상미선나다예채시건기한보소규빈찬율람솔별슬온결")
TWO_SYLLABLE_NAMES = ["김솔", "이준", "박별", "최윤", "정훈", "강산", "조은", "한결", "오현", "서진"]
MASKED_TAILS = ["○○", "〇〇", "**", "XX", "OO", "◯◯", "○"]

DEPTS = [
    "행정안전부 지방재정정책관 재정정책과", "국토교통부 주택정책과", "서울특별시 도시계획과",
    "세종특별자치시 민원과", "고용노동부 근로기준정책과", "보건복지부 기초생활보장과",
    "인사혁신처 인재채용국 채용정책과", "경기도 수원시 세정과", "부산광역시 해운대구 민원여권과",
    "개인정보보호위원회 조사총괄과", "국민권익위원회 고충민원심의과", "법무부 출입국정책과",
]
AGENCY_HEADS = [
    "서울특별시장", "서울특별시 강남구청장", "수원세무서장", "국민건강보험공단", "근로복지공단",
    "중앙노동위원회위원장", "행정안전부장관", "부산광역시 해운대구청장", "대한민국", "경기도지사",
    "국가보훈부장관", "인천광역시교육감", "한국토지주택공사", "충청남도 천안시장", "서울지방병무청장",
    "안산시장", "구로구청장", "정부", "국가",
]
COMPANIES = ["한빛건설", "누리소프트", "대한테크", "미래정보기술", "새솔엔지니어링", "푸른환경", "가람종합건축사사무소", "동해물산"]
LAWS = ["개인정보 보호법", "주민등록법", "행정절차법", "지방세법", "공공기관의 정보공개에 관한 법률",
        "국가공무원법", "민원 처리에 관한 법률", "도로명주소법", "출입국관리법", "부가가치세법"]
TOPICS = ["주민등록 사실조사", "지방세 환급", "정보공개 청구", "개인정보 유출 신고", "공무원 채용 서류",
          "외국인 체류지 변경", "운전면허 행정처분", "보조금 집행 점검", "건축허가 민원", "기초생활수급 재조사"]
BANKS = ["국민은행", "KB국민은행", "신한은행", "신한", "우리은행", "하나은행", "하나", "농협", "NH농협은행",
         "기업은행", "IBK기업은행", "카카오뱅크", "토스뱅크", "우체국", "SC제일은행", "새마을금고", "케이뱅크",
         "부산은행", "수협"]
BANK_FORMATS = {  # group lengths as banks print them
    "국민": [(6, 2, 6), (3, 2, 4, 3)], "신한": [(3, 3, 6)], "우리": [(4, 3, 6)], "하나": [(3, 6, 5)],
    "농협": [(3, 4, 4, 2), (6, 2, 6)], "기업": [(3, 6, 2, 3)], "카카오": [(4, 2, 7)], "토스": [(4, 4, 4)],
    "우체국": [(6, 2, 6)], "SC": [(3, 2, 6)], "새마을": [(4, 4, 4, 1)], "케이": [(3, 3, 6)],
    "부산": [(3, 4, 4, 2)], "수협": [(3, 2, 6)],
}
# (시도, 시군구 or None, road names)
PLACES = [
    ("서울특별시", "중구", ["세종대로", "을지로", "퇴계로", "남대문로"]),
    ("서울특별시", "종로구", ["사직로", "자하문로7길", "삼일대로30길", "종로", "율곡로"]),
    ("서울특별시", "강남구", ["테헤란로", "강남대로", "논현로", "선릉로"]),
    ("서울특별시", "노원구", ["상계로", "노해로", "동일로"]),
    ("서울특별시", "마포구", ["월드컵북로", "마포대로", "양화로"]),
    ("부산광역시", "해운대구", ["해운대로", "센텀중앙로", "좌동순환로"]),
    ("부산광역시", "중구", ["광복로", "중앙대로"]),
    ("대구광역시", "수성구", ["달구벌대로", "동대구로"]),
    ("인천광역시", "남동구", ["정각로", "인주대로"]),
    ("광주광역시", "서구", ["내방로", "상무중앙로"]),
    ("대전광역시", "서구", ["둔산로", "청사로"]),
    ("울산광역시", "남구", ["중앙로", "삼산로"]),
    ("세종특별자치시", None, ["도움6로", "한누리대로", "갈매로", "정부2청사로"]),
    ("경기도", "수원시 팔달구", ["효원로", "인계로"]),
    ("경기도", "성남시 분당구", ["판교역로", "황새울로"]),
    ("경기도", "고양시 일산동구", ["중앙로", "일산로"]),
    ("강원특별자치도", "춘천시", ["중앙로", "영서로"]),
    ("충청북도", "청주시 상당구", ["상당로", "대성로"]),
    ("충청남도", "천안시 서북구", ["번영로", "불당대로"]),
    ("전북특별자치도", "전주시 완산구", ["효자로", "팔달로"]),
    ("전라남도", "무안군 삼향읍", ["오룡길", "남악로"]),
    ("경상북도", "안동시", ["도청대로", "경동로"]),
    ("경상남도", "창원시 의창구", ["중앙대로", "원이대로"]),
    ("제주특별자치도", "제주시", ["문연로", "연북로"]),
    ("경기도", "양평군 양평읍", ["양평시장길", "중앙로"]),
]
SHORT_SIDO = {"서울특별시": "서울", "부산광역시": "부산", "경기도": "경기", "대구광역시": "대구", "인천광역시": "인천"}
LOTS = [
    ("경기도", "수원시 팔달구", "인계동"), ("전라남도", "나주시 금천면", "원곡리"),
    ("강원특별자치도", "춘천시", "효자동"), ("충청북도", "괴산군 괴산읍", "동부리"),
    ("경상북도", "의성군 의성읍", "도동리"), ("서울특별시", "종로구", "청운동"),
    ("제주특별자치도", "서귀포시 남원읍", "위미리"),
]
LICENCE_REGIONS = {"서울": 11, "부산": 12, "경기": 13, "강원": 14, "충북": 15, "충남": 16, "전북": 17,
                   "전남": 18, "경북": 19, "경남": 20, "제주": 21, "대구": 22, "인천": 23, "광주": 24,
                   "대전": 25, "울산": 26}
EMAIL_DOMAINS = ["korea.kr", "mois.go.kr", "seoul.go.kr", "naver.com", "gmail.com", "daum.net",
                 "hanmail.net", "kakao.com", "hanbit-const.co.kr", "scourt.go.kr", "snu.ac.kr",
                 "nurisoft.com", "kisa.or.kr", "gg.go.kr", "busan.go.kr"]
EMAIL_WORDS = ["hong", "kim", "lee.minji", "park_sj", "choi", "jung2024", "kang.h", "yoon", "jang99",
               "gildong.hong", "minwon", "privacy", "admin", "seojun.lee", "jiyeon_k", "hr-team",
               "tax.refund", "cs+ticket", "sky0815", "dohyun.c", "info", "yj.oh"]


class Gen:
    """Random values for each placeholder; each returns [(text, label or None), ...]."""

    def __init__(self, rng: random.Random):
        self.r = rng

    # --- people -------------------------------------------------------------
    def person(self) -> str:
        r = self.r
        x = r.random()
        if x < 0.06:
            return r.choice(COMPOUND_SURNAMES) + r.choice(GIVEN) + r.choice(GIVEN)
        if x < 0.12:
            return r.choice(TWO_SYLLABLE_NAMES)
        return r.choice(SURNAMES) + r.choice(GIVEN) + r.choice(GIVEN)

    def masked(self) -> str:
        return self.r.choice(SURNAMES) + self.r.choice(MASKED_TAILS)

    # --- registration numbers ----------------------------------------------
    @staticmethod
    def rrn_check(d12: str) -> int:
        s = sum(int(c) * w for c, w in zip(d12, [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]))
        return (11 - s % 11) % 10

    def _birth(self, y0: int, y1: int) -> tuple[int, int, int]:
        import calendar
        y = self.r.randint(y0, y1)
        m = self.r.randint(1, 12)
        d = self.r.randint(1, calendar.monthrange(y, m)[1])
        return y, m, d

    def _rrn(self, kind: str) -> str:
        r = self.r
        if kind == "rrn":
            y, m, d = self._birth(1940, 2019)
            g = r.choice([1, 2]) if y < 2000 else r.choice([3, 4])
        elif kind == "rrn_new":  # issued from Oct 2020: no region code, check digit not kept
            y, m, d = self._birth(2020, 2024)
            if (y, m) < (2020, 10):
                m = r.randint(10, 12)
            g = r.choice([3, 4])
        elif kind == "rrn_1800":
            y, m, d = self._birth(1895, 1899)
            g = r.choice([9, 0])
        else:  # frn
            y, m, d = self._birth(1960, 2015)
            g = r.choice([5, 6]) if y < 2000 else r.choice([7, 8])
        body = f"{y % 100:02d}{m:02d}{d:02d}{g}" + "".join(str(r.randint(0, 9)) for _ in range(5))
        check = self.rrn_check(body)
        if kind == "rrn_new":
            check = (check + r.randint(1, 9)) % 10  # deliberately fails the old check
        elif kind == "frn":
            s = sum(int(c) * w for c, w in zip(body, [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]))
            check = (13 - s % 11) % 10
        digits = body + str(check)
        sep = r.choices(["-", " ", ""], weights=[85, 7, 8])[0]
        return digits[:6] + sep + digits[6:]

    def rrn(self):
        return [(self._rrn("rrn"), "주민등록번호")]

    def rrn_new(self):
        return [(self._rrn("rrn_new"), "주민등록번호")]

    def rrn_1800(self):
        return [(self._rrn("rrn_1800"), "주민등록번호")]

    def frn(self):
        return [(self._rrn("frn"), "외국인등록번호")]

    def rrn_masked(self):
        v = self._rrn("rrn")
        digits = v.replace("-", "").replace(" ", "")
        return [(digits[:6] + "-" + digits[6] + "******", None)]

    @staticmethod
    def brn_check(d9: str) -> int:
        w = [1, 3, 7, 1, 3, 7, 1, 3, 5]
        s = sum(int(c) * k for c, k in zip(d9, w)) + (int(d9[8]) * 5) // 10
        return (10 - s % 10) % 10

    def _brn(self, valid: bool) -> str:
        r = self.r
        d9 = f"{r.randint(101, 899)}{r.randint(1, 99):02d}{r.randint(0, 9999):04d}"
        c = self.brn_check(d9)
        if not valid:
            c = (c + r.randint(1, 9)) % 10
        d = d9 + str(c)
        return f"{d[:3]}-{d[3:5]}-{d[5:]}"

    def brn(self):
        return [(self._brn(True), "사업자등록번호")]

    def brn_ctx(self):  # only used right after the words 사업자등록번호: the checksum may fail
        return [(self._brn(self.r.random() < 0.5), "사업자등록번호")]

    def brn_fake(self):  # same shape, checksum fails, no context: not a business number
        return [(self._brn(False), None)]

    def passport(self):
        r = self.r
        lead = r.choices(["M", "S", "R", "G", "D"], weights=[80, 5, 5, 5, 5])[0]
        x = r.random()
        if x < 0.45:
            v = lead + "".join(str(r.randint(0, 9)) for _ in range(8))
        elif x < 0.9:
            v = (lead + f"{r.randint(0, 999):03d}" + r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ")
                 + f"{r.randint(0, 9999):04d}")
        else:
            v = r.choice(["JR", "JS", "SC", "TR"]) + f"{r.randint(0, 9999999):07d}"
        return [(v, "여권번호")]

    def licence(self):
        r = self.r
        code = r.choice(list(LICENCE_REGIONS.values()) + [28])
        return [(f"{code}-{r.randint(85, 99) if r.random() < .5 else r.randint(0, 24):02d}-"
                 f"{r.randint(0, 999999):06d}-{r.randint(0, 99):02d}", "운전면허번호")]

    def licence_region(self):
        r = self.r
        region = r.choice(list(LICENCE_REGIONS))
        value = f"{region} {r.randint(0, 24):02d}-{r.randint(0, 999999):06d}-{r.randint(0, 99):02d}"
        return [(value, "운전면허번호")]

    # --- phones & e-mail ----------------------------------------------------
    def _digits(self, n: int) -> str:
        return "".join(str(self.r.randint(0, 9)) for _ in range(n))

    def _join(self, parts: list[str], seps=("-", "-", "-", "-", ".", " ")) -> str:
        sep = self.r.choice(seps)
        return sep.join(parts)

    def mobile(self):
        r = self.r
        pre = r.choices(["010", "011", "016", "017", "018", "019"], weights=[80, 4, 4, 4, 4, 4])[0]
        mid = self._digits(4) if pre == "010" else self._digits(r.choice([3, 4]))
        if pre == "010":
            mid = str(r.randint(2, 9)) + mid[1:]
        last = self._digits(4)
        if pre == "010" and r.random() < 0.08:
            return [(pre + mid + last, "전화번호")]
        return [(self._join([pre, mid, last]), "전화번호")]

    def seoul(self):
        r = self.r
        mid = str(r.randint(2, 9)) + self._digits(r.choice([2, 3]))
        last = self._digits(4)
        x = r.random()
        if x < 0.2:
            return [(f"(02){mid}-{last}", "전화번호")]
        if x < 0.3:
            return [(f"(02) {mid}-{last}", "전화번호")]
        return [(self._join(["02", mid, last]), "전화번호")]

    def regional(self):
        r = self.r
        area = r.choice(["031", "032", "033", "041", "042", "043", "044", "051", "052", "053", "054",
                         "055", "061", "062", "063", "064"])
        mid = str(r.randint(2, 9)) + self._digits(r.choice([2, 3]))
        last = self._digits(4)
        if r.random() < 0.12:
            return [(f"({area}){mid}-{last}", "전화번호")]
        return [(self._join([area, mid, last]), "전화번호")]

    def voip(self):
        return [(self._join(["070", str(self.r.randint(2, 9)) + self._digits(3), self._digits(4)]), "전화번호")]

    def rep(self):
        r = self.r
        pre = r.choice(["1588", "1577", "1566", "1544", "1599", "1522", "1600", "1644", "1661", "1666",
                        "1688", "1800", "1833", "1855", "1899"])
        return [(f"{pre}-{self._digits(4)}", "전화번호")]

    def phone(self):
        return self.r.choices([self.mobile, self.seoul, self.regional, self.voip, self.rep],
                              weights=[40, 20, 25, 7, 8])[0]()

    def phone_masked(self):
        r = self.r
        return [(r.choice(["010-****-" + self._digits(4), "010-" + self._digits(4) + "-****",
                           "02-***-" + self._digits(4), "010-****-****"]), None)]

    def email(self):
        r = self.r
        local = r.choice(EMAIL_WORDS)
        if r.random() < 0.4:
            local += str(r.randint(1, 999))
        return [(f"{local}@{r.choice(EMAIL_DOMAINS)}", "이메일")]

    def mobile_intl(self):  # +82 and the mobile number without its leading 0
        sep = self.r.choice(["-", " "])
        return [(f"+82{sep}10{sep}{self.r.randint(2, 9)}{self._digits(3)}{sep}{self._digits(4)}", "전화번호")]

    def phone_dash(self):  # en dashes, as word processors print them
        v = self.r.choice([self.seoul, self.regional, self.mobile])()[0][0]
        return [(re.sub(r"[-. ]", "\u2013", v) if not v.startswith("(") else v, "전화번호")]

    def email_mixed(self):
        r = self.r
        first = r.choice(["Gildong", "Minji", "Seojun", "Jiyeon", "Dohyun"])
        last = r.choice(["Hong", "Kim", "Lee", "Park"])
        return [(f"{first}.{last}@{r.choice(['Korea.kr', 'MOIS.go.kr', 'Gmail.com', 'Naver.com'])}", "이메일")]

    def brn_plain(self):  # 10 digits without hyphens, always after the words 사업자등록번호
        return [(self._brn(True).replace("-", ""), "사업자등록번호")]

    def address_note(self):  # a road address followed by its legal-dong note, not part of the span
        sido, sigungu, roads = self.r.choice(PLACES)
        v = " ".join([sido] + ([sigungu] if sigungu else [])) + " " + self._road_tail(self.r.choice(roads))
        return [(v, "주소"), (f"({self.r.choice(['세종로', '역삼동', '상계동', '어진동', '부전동', '인계동'])})", None)]

    def birth6(self):  # a date of birth alone is not a registration number
        y, m, d = self._birth(1950, 2010)
        return [(f"{y % 100:02d}{m:02d}{d:02d}", None)]

    # --- accounts -----------------------------------------------------------
    def _account_digits(self, bank: str) -> str:
        key = next(k for k in BANK_FORMATS if k in bank)
        groups = self.r.choice(BANK_FORMATS[key])
        return "-".join(self._digits(n) for n in groups)

    def bank_account(self):
        bank = self.r.choice(BANKS)
        return [(bank + " ", None), (self._account_digits(bank), "계좌번호")]

    def account(self):  # the template itself says 계좌
        return [(self._account_digits(self.r.choice(BANKS)), "계좌번호")]

    # --- addresses ----------------------------------------------------------
    def _road_tail(self, road: str) -> str:
        r = self.r
        if r.random() < 0.15 and road.endswith("로"):
            road = road + f"{r.randint(1, 120)}번길"
        num = str(r.randint(1, 399))
        if r.random() < 0.25:
            num += f"-{r.randint(1, 30)}"
        return f"{road} {num}"

    def _unit(self) -> str:
        r = self.r
        x = r.random()
        if x < 0.35:
            return f", {r.randint(101, 120)}동 {r.randint(1, 25)}{r.randint(1, 4):02d}호"
        if x < 0.45:
            return f" {r.randint(2, 15)}층"
        return ""

    def address(self):
        r = self.r
        sido, sigungu, roads = r.choice(PLACES)
        head = sido
        if sido in SHORT_SIDO and r.random() < 0.2:
            head = SHORT_SIDO[sido]
        parts = [head] + ([sigungu] if sigungu else [])
        return [(" ".join(parts) + " " + self._road_tail(r.choice(roads)) + self._unit(), "주소")]

    def address_road_only(self):  # "강남대로 123-4": the template gives 주소/소재지 context
        _, _, roads = self.r.choice(PLACES)
        return [(self._road_tail(self.r.choice(roads)) + self._unit(), "주소")]

    def address_lot(self):
        r = self.r
        sido, sigungu, dong = r.choice(LOTS)
        num = (f"산 {r.randint(1, 99)}" if r.random() < 0.1 else str(r.randint(1, 1200)))
        if r.random() < 0.4:
            num += f"-{r.randint(1, 40)}"
        return [(f"{sido} {sigungu} {dong} {num}번지", "주소")]

    def unit_only(self):
        r = self.r
        return [(f"{r.randint(101, 130)}동 {r.randint(1, 30)}{r.randint(1, 6):02d}호", "주소")]

    # --- non-PII fillers ----------------------------------------------------
    def date(self):
        r = self.r
        y, m, d = r.randint(2015, 2025), r.randint(1, 12), r.randint(1, 28)
        return [(r.choice([f"{y}. {m}. {d}.", f"{y}.{m}.{d}", f"{y}.{m:02d}.{d:02d}.", f"{y}년 {m}월 {d}일",
                           f"{y}-{m:02d}-{d:02d}", f"{y}. {m:02d}. {d:02d}."]), None)]

    def case(self):
        r = self.r
        y = r.randint(2010, 2025)
        kind = r.choice(["두", "구합", "구단", "누", "다", "나", "가합", "헌마", "헌바", "고단", "고합", "노", "도", "재두"])
        return [(f"{y}{kind}{r.randint(100, 399999)}", None)]

    def article(self):
        r = self.r
        a = f"제{r.randint(1, 120)}조"
        if r.random() < 0.3:
            a += f"의{r.randint(2, 5)}"
        if r.random() < 0.6:
            a += r.choice(["", " "]) + f"제{r.randint(1, 9)}항"
        if r.random() < 0.3:
            a += r.choice(["", " "]) + f"제{r.randint(1, 15)}호"
        return [(a, None)]

    def amount(self):
        r = self.r
        v = r.randint(1000, 999999999)
        return [(r.choice(["금", "", "금 "]) + f"{v:,}원", None)]

    def lawno(self):
        return [(f"{self.r.choice(['법률', '대통령령', '행정안전부령', '총리령'])} 제{self.r.randint(10000, 35000)}호", None)]

    def mst(self):
        return [(str(self.r.randint(1000, 270000)), None)]

    def lawid(self):
        return [(f"{self.r.randint(1, 14000):06d}", None)]

    def ministry(self):
        return [(self.r.choice(["행정안전부", "국토교통부", "보건복지부", "고용노동부", "법무부", "인사혁신처"]), None)]

    def dept(self):
        return [(self.r.choice(DEPTS), None)]

    def head(self):
        return [(self.r.choice(AGENCY_HEADS), None)]

    def company(self):
        return [(self.r.choice(COMPANIES), None)]

    def law(self):
        return [(self.r.choice(LAWS), None)]

    def topic(self):
        return [(self.r.choice(TOPICS), None)]

    def docno(self):
        return [(f"{self.r.randint(1, 9999)}", None)]

    def zip(self):
        return [(f"{self.r.randint(1000, 63644):05d}", None)]

    def pct(self):
        return [(f"{self.r.randint(1, 99)}.{self.r.randint(0, 9)}", None)]

    def count(self):
        return [(f"{self.r.randint(1000, 999999):,}", None)]

    def pubno(self):  # 발간등록번호
        r = self.r
        return [(f"11-{r.randint(1000000, 1790000)}-{r.randint(0, 999999):06d}-{r.randint(1, 14):02d}", None)]

    def isbn(self):
        r = self.r
        return [(f"978-89-{r.randint(10, 9999)}-{r.randint(100, 9999)}-{r.randint(0, 9)}", None)]

    def realty(self):  # 부동산고유번호
        r = self.r
        return [(f"{r.randint(1101, 5099)}-{r.randint(1990, 2024)}-{r.randint(0, 999999):06d}", None)]

    def longdigits(self):  # a serial that contains a date-like run but is longer than a 주민등록번호
        digits = self._rrn("rrn").replace("-", "").replace(" ", "")
        return [(digits + self._digits(self.r.randint(2, 5)), None)]

    def baddate13(self):  # 13 digits in RRN shape whose first six are not a date
        r = self.r
        return [(f"{r.randint(10, 99)}{r.choice([13, 14, 20, 31, 45, 99])}{r.randint(1, 28):02d}-"
                 f"{r.randint(1, 4)}{self._digits(6)}", None)]


# ---------------------------------------------------------------------------
# Templates. {slot} is filled from Gen; {name} is a person (label 이름) and may be
# followed by a particle chosen to agree with it: {name:은는}, {name:이가}, {name:을를},
# {name:과와}, {name:의}.
# ---------------------------------------------------------------------------
PII_TEMPLATES = [
    # 공문
    "수신 {dept}장\n(경유)\n제목 {topic} 관련 자료 제출 요청\n1. 관련: {dept}-{docno}({date})\n"
    "2. 위 호와 관련하여 붙임 자료를 {date}까지 제출하여 주시기 바랍니다.\n"
    "3. 문의: 담당자 {name} 주무관(전화 {regional}, 전자우편 {email})",
    "붙임 서식에 따라 신청인의 성명, 주민등록번호, 주소를 기재하여 제출하시기 바랍니다.\n"
    "  예) 성명: {name}, 주민등록번호: {rrn}, 주소: {address}",
    "주무관 {name}   사무관 {name}   과장 {name}\n협조자\n시행 {dept}-{docno} ({date})   접수\n"
    "우 {zip} {address} / 전화번호 {regional} / 팩스번호 {regional} / {email} / 대국민 공개",
    "담당자: {name}\n연락처: {mobile}\n이메일: {email}\n※ 제출 기한: {date}까지",
    "제목 {topic} 결과 통보\n1. {dept}-{docno}({date})와 관련입니다.\n"
    "2. 조사 결과 민원인 {name}(주민등록번호 {rrn})의 실제 거주지가 {address}임을 확인하였기에 "
    "「{law}」 {article}에 따라 통보합니다.\n붙임  조사 결과서 1부.  끝.",
    "{dept}장은 {date} 신고인 {name}({mobile})으로부터 {topic} 관련 신고를 접수하였다.",
    # 민원 답변
    "안녕하십니까? 귀하께서 국민신문고를 통해 신청하신 민원에 대한 검토 결과를 다음과 같이 알려드립니다. "
    "귀하의 민원은 「{law}」 {article}에 해당합니다. 추가 문의 사항은 {dept} {name} 주무관({phone})에게 "
    "연락 주시면 친절히 안내해 드리겠습니다.",
    "자세한 사항은 {email}로 문의하시거나 고객센터 {rep}(평일 09:00~18:00)로 연락 주시기 바랍니다.",
    "민원인 {name}({rrn}) 거주지: {address}, 연락처 {mobile}",
    "민원 신청인 {name}께서 요청하신 환급금 {amount}은 신청인 명의 계좌({bank_account})로 {date} 입금되었습니다.",
    "환급 계좌번호: {account} (예금주 {name})",
    "지방세 환급금 지급 안내\n성명: {name}\n주민등록번호: {rrn}\n환급금액: {amount}\n입금계좌: {bank_account}\n"
    "문의: {dept} ({regional})",
    "귀하의 전입신고는 {date} 처리되었으며, 새 주소는 {address}입니다. 문의 {seoul}",
    "정보공개 청구서\n청구인 성명: {name}\n주민등록번호(외국인등록번호): {rrn}\n주소: {address}\n"
    "전화번호: {phone}\n전자우편주소: {email}\n청구 내용: {topic} 관련 회의록 일체",
    "청구인 {name}{name_ps:은는} {date} 피청구인에게 {topic} 자료의 공개를 청구하였다.",
    # 판결문
    "원 고 {name}\n       {address}\n       소송대리인 변호사 {name}\n피 고 {head}\n       소송수행자 {name}\n"
    "변 론 종 결 {date}\n판 결 선 고 {date}",
    "원고 {name}{name_ps:은는} {date} 피고로부터 {topic}에 관한 처분을 받고, {date} 이 사건 소를 제기하였다"
    "(갑 제1호증, 변론 전체의 취지).",
    "원고들 소송대리인 변호사 {name}, {name}\n피고 {head}\n소송대리인 변호사 {name}",
    "신청인 {name}\n       {address_lot}\n피신청인 주식회사 {company}\n       대표이사 {name}",
    "피고인 {name}{name_ps:은는} {date} {address} 앞 도로에서 혈중알코올농도 0.{docno}%의 술에 취한 상태로 "
    "승용차를 운전하였다. 피고인의 운전면허번호는 {licence}이다.",
    "증인 {name}의 법정진술, 참고인 {name}에 대한 진술조서의 기재에 의하면 다음 사실을 인정할 수 있다.",
    "대법원 {date} 선고 {case} 판결 등 참조. 원고 {name}의 주장은 이유 없다.",
    # 보도자료
    "{ministry}(장관 {name}){name_ps:은는} {date} {topic} 제도 개선 방안을 발표하였다.",
    "보도자료 담당 부서: {dept}\n책임자: 과장 {name} ({regional})\n담당자: 사무관 {name} ({regional}) {email}",
    "국민권익위원회(위원장 {name})는 국민신문고(☎{rep})를 통해 접수된 민원 {count}건을 분석하였다.",
    # 계약·보조금
    "계약상대자: ㈜{company} (사업자등록번호 {brn_ctx}, 대표이사 {name})\n소재지: {address}\n"
    "대금 지급 계좌: {bank_account}",
    "㈜{company}({brn}){company_ps:과와} {date} 용역 계약을 체결하였으며, 계약금액은 {amount}이다.",
    "보조사업자 {company}(사업자번호 {brn}, 소재지 {address_road_only})는 보조금 {amount}을 교부받았다.",
    "사업자등록번호: {brn_ctx}\n상호: {company}\n대표자 성명: {name}\n사업장 소재지: {address}\n전화: {phone}",
    # 출입국·운전면허·여권
    "외국인 근로자(외국인등록번호 {frn}, 여권번호 {passport})의 체류지 변경 신고를 {date}에 접수하였다.",
    "외국인등록번호: {frn}\n여권번호: {passport}\n체류지: {address}\n연락처: {mobile}",
    "여권 재발급 신청인 {name}(여권번호 {passport}, 생년월일 {date})의 구 여권을 무효화 처리하였다.",
    "운전면허번호 {licence} (1종 보통), 면허취소 처분일 {date}",
    "자동차운전면허증(면허번호: {licence_region})을 분실하여 재발급을 신청합니다. 신청인 성명: {name}",
    "출입국 사실 조회: 여권 {passport}, 외국인등록번호 {frn}, 입국일 {date}",
    # 주민등록·가족관계
    "출생신고 처리 결과: 자녀 주민등록번호 {rrn_new}, 신고인 {name} ({mobile})",
    "신청인 {name}의 자녀(주민등록번호 {rrn_new})에 대한 아동수당 지급을 결정하였습니다.",
    "주민등록번호 {rrn_new}인 영유아의 보육료 지원 자격이 {date}부터 적용됩니다.",
    "세대주 주민등록번호 {rrn}, 세대원 주민등록번호 {rrn_new} (전입일 {date}, 전입지 {unit_only})",
    "제적부 기재사항: 본인 주민등록번호 {rrn_1800}, 사망일 {date}",
    "주민등록번호 변경 결정: 변경 전 {rrn}, 변경 후 {rrn_new}",
    # 개인정보 유출 신고
    "유출된 개인정보 예시(일부): 성명 {name} / 주민등록번호 {rrn} / 휴대전화 {mobile} / 이메일 {email}",
    "개인정보 유출 신고서\n신고기관: ㈜{company}\n담당자 {name} ({voip}, {email})\n유출 규모: {count}건\n"
    "유출 항목: 성명, 연락처, 전자우편주소",
    "작성자: {name}\n작성일: {date}\n연락처: {phone}",
    "대표전화 {rep} | 팩스 {regional} | 주소 {address} | 사업자등록번호 {brn_ctx}",
    "문의처: {dept} {voip} / {email}",
    "소재지 {address_road_only}에 있는 건축물의 사용승인 신청서를 반려합니다.",
    "전입 주소 {address}, 같은 동 {unit_only}에서 전입",
    "토지 소재지: {address_lot} (지목: 대, 면적 {docno}㎡)",
    "연락처 {phone}, {phone} (휴대전화)",
    "카드 분실 신고는 국민은행 고객센터({rep}) 또는 신한은행 고객센터({rep})로 하시기 바랍니다.",
    "주민등록번호 {rrn}의 주민등록증 발급일자는 {date}이며, 진위 확인 결과 일치합니다.",
    "가족관계증명서 발급 신청: 대상자 주민등록번호 {rrn}, 수령 전자우편 {email}",
    "재난지원금 신청자 명단(발췌)\n1. {rrn} {mobile}\n2. {rrn} {mobile}\n3. {rrn_new} {mobile}",
    "의견은 전자우편({email}) 또는 팩스({regional})로 {date}까지 제출하여 주십시오.",
    "수신: {email}; {email}\n참조: {email}\n제목: {topic} 회신",
    "붙임 외국인등록증(등록번호 {frn}) 사본 1부.  끝.",
    "교육 신청은 {email}으로 하고, 문의는 {seoul} 또는 {mobile}으로 해 주시기 바랍니다.",
]

# Notations seen in real documents that the templates above do not use: symbols before
# numbers, en dashes, +82, mixed-case e-mail, 10-digit business numbers without hyphens,
# legal-dong notes after addresses, roles and honorifics outside the usual list.
FORM_VARIANT_TEMPLATES = [
    "☎ {seoul}  Fax. {regional}  E-mail: {email_mixed}",
    "Tel. {regional} / H.P. {mobile} / {email}",
    "T. {phone_dash}  F. {phone_dash}",
    "해외 체류 중인 민원인 연락처: {mobile_intl} (카카오톡 가능)",
    "사업자등록번호 {brn_plain}, 상호 {company}, 대표자 {name}",
    "주소: {address_note}",
    "회의 장소: {address} 정부청사 별관 대회의실",
    "민원인 {name} 씨가 제출한 진정서를 검토한 결과를 알려 드립니다.",
    "성명(한글): {name}  성명(한자): 金哲洙  생년월일: {date}",
    "예금주: {name}, 계좌: {bank_account}",
    "연락처: {mobile}(본인), {mobile}(보호자)",
    "신고인 {name}님께 처리 결과를 알려 드립니다.",
    "피해자 {name}(여, 34세)는 {date} 경찰에 신고하였다.",
    "주민등록번호 앞자리 {birth6}만 기재하고 뒷자리는 적지 아니합니다.",
    "위 사람(주민등록번호: {rrn})은 {date} 현재 {address}에 거주하고 있음을 확인합니다.",
    "Passport No.: {passport}  Name: HONG GILDONG",
    "문의: {dept} 주무관 {name}(☎ {regional}, {email})",
]

NEGATIVE_TEMPLATES = [
    "「{law}」 {article}에 따라 {dept}장은 필요한 조치를 하여야 한다. <개정 {date}>",
    "대법원 {date} 선고 {case} 판결, 대법원 {date} 선고 {case} 판결 참조",
    "[{lawno}, {date}, 일부개정]",
    "법령MST {mst}, 법령ID {lawid}, 공포번호 {lawno}, 시행일자 {date}",
    "법령MST: {mst}\n법령ID: '{lawid}'\n공포일자: {date}\n공포번호: '{lawid}'",
    "제1항을 위반한 자에게는 과태료 {amount}을 부과한다. ({article} 참조)",
    "피고 {head}{head_ps:이가} {date} 원고에 대하여 한 {topic} 처분을 취소한다.",
    "원고 회사는 피고 행정청의 처분이 위법하다고 주장하나, 원고의 주장은 받아들이지 아니한다.",
    "원고 주식회사 {company}의 청구를 기각한다. 소송비용은 원고가 부담한다.",
    "원고들 소송대리인 법무법인 한결 담당변호사 {masked}, {masked}",
    "피고인 {masked}에 대한 {case} 사건에서 증인 {masked}의 진술은 믿기 어렵다.",
    "원고 {masked}{masked_ps:은는} {date} 피고에게 {topic}{topic_ps:을를} 신청하였다.",
    "신청인 {masked}, 피신청인 {masked}, 담당자 {masked}, 민원인 {masked}",
    "담당 부서: {dept}\n담당자 지정 및 변경은 작성자 확인란에 기재한다.",
    "민원인 본인 여부를 확인하고, 성명 미상의 자에 대하여는 신고인 본인이 보완하도록 한다.",
    "이사회는 대표이사 선임에 관한 사항을 의결한다. 담당 공무원은 변호사 선임 여부를 확인하여야 한다.",
    "피고 대한민국은 원고에게 {amount} 및 이에 대한 {date}부터 다 갚는 날까지 연 12%의 비율로 계산한 돈을 지급하라.",
    "서울특별시 종로구 일대와 세종대로 일원의 교통 통제 계획을 수립한다.",
    "{dept}{dept_ps:은는} 부산광역시, 대구광역시, 경기도, 강원특별자치도 등 17개 시·도와 협의하였다.",
    "전년 대비 {pct}% 증가한 {count}명이 신청하였으며, 1인당 평균 지원액은 {amount}이다.",
    "발간등록번호 {pubno}\nISBN {isbn}",
    "운영 시간: 평일 09:00-18:00, 접수 기간: {date}~{date}",
    "관리번호 {brn_fake}의 시설에 대한 정기 점검 결과 지적 사항 없음.",
    "부동산고유번호 {realty} 토지의 공시지가는 ㎡당 {amount}이다.",
    "우편번호 {zip}의 지역은 {dept}의 관할 구역에 속한다.",
    "개인정보처리자는 주민등록번호를 처리할 수 없다. 다만, {article}에 해당하는 경우에는 그러하지 아니하다.",
    "{article}(주민등록번호 처리의 제한) ① 법령에서 구체적으로 주민등록번호의 처리를 요구하는 경우",
    "마스킹 예시: 주민등록번호 {rrn_masked}, 휴대전화 {phone_masked}, 이메일 ho***@naver.com",
    "{case} 사건의 변론기일은 {date} 14:00로 지정되었다.",
    "별표 3 제2호 가목 및 [별지 제1호서식]에 따른 신청서를 제출하여야 한다.",
    "국도 제1호선 및 경부고속도로 123km 지점의 도로 확장 공사",
    "세종대로 확장 공사로 인하여 테헤란로 일대 교통이 혼잡할 것으로 예상된다.",
    "시장·군수·구청장은 {article}에 따른 조사를 위하여 관계 공무원으로 하여금 조사하게 할 수 있다.",
    "같은 조 제1항 제2호 및 제10조의2 제3항에 따른 기준은 대통령령으로 정한다.",
    "피고 보조참가인은 피고 서울특별시장의 처분에 관하여 원고들의 청구를 다툰다.",
    "신청인 회사와 피신청인 공사 사이의 분쟁에 관하여 위원회는 다음과 같이 결정한다.",
    "원고 A는 피고 B에게 {amount}을 지급받기로 약정하였고, 원고 甲과 피고 乙 사이에도 같은 약정이 있었다.",
    "등록번호 {longdigits}, 일련번호 {baddate13}",
    "{date} 개최된 회의에서 {count}건의 안건을 의결하였다. 회의록은 {date}에 공개한다.",
    "정부세종청사 6동 대회의실에서 {date} 10시에 설명회를 개최한다.",
    "「{law}」 제2조제1호, 같은 법 시행령 제5조제2항제3호 및 {lawno}에 따른다.",
    "2019.10.12, 2022.1.11, 2024. 3. 15., 1,234,567원, 12,345,678원",
    "제{docno}회 국무회의({date})에서 {lawno}를 의결하였다.",
    "{dept} 공고 제{date_year}-{docno}호",
    "과세표준 {amount}에 세율 10분의 1을 곱한 금액",
    "피고 {head}은(는) 원고에게 {amount}을 지급하라는 취지의 판결을 받았다.",
    "담당자 없음. 작성자 미기재. 성명 불상. 대표이사 공석.",
    "국민은행, 신한은행 등 시중은행의 대출금리는 연 {pct}%로 집계되었다.",
    "계좌 이체 수수료는 {amount}이며, 처리 기간은 {count}일 이내로 한다.",
    "대법원 2020. 5. 14. 선고 2019두30140 판결, 서울행정법원 2024. 1. 19. 선고 2023구합12345 판결",
    "같은 법 제3조제2항 및 제10조의2에 따라 금113,560원을 환급한다(2024. 3. 15., 2022.1.11 개정).",
    "법령MST 253527, 법령ID 001234, 법률 제19234호",
    "정보주체의 주소 또는 거소, 전화번호, 전자우편주소 등 연락처를 수집할 때에는 동의를 받아야 한다.",
    "여권법에 따른 여권번호, 도로교통법에 따른 운전면허의 면허번호, 출입국관리법에 따른 외국인등록번호",
    "계좌번호 입력 시 하이픈(-)을 제외하고 입력하며, 주민등록번호 뒷자리는 표시하지 아니한다.",
    "제1호부터 제3호까지의 규정에 해당하는 자는 3년 이하의 징역 또는 3천만원 이하의 벌금에 처한다.",
    "보조금은 100분의 50 범위에서 지원하되, 1인당 연간 1,200,000원을 넘을 수 없다.",
    "서울특별시장, 부산광역시장, 세종특별자치시장 및 제주특별자치도지사는 주민등록지를 관할한다.",
    "원고 회사, 피고 행정청, 피고 공단, 원고 조합, 피고 정부, 원고 법인, 피고 이사장, 피고 구청장",
]


class Builder:
    def __init__(self):
        self.text = ""
        self.spans: list[dict] = []

    def add(self, s: str, label: str | None = None):
        if label:
            self.spans.append({"type": label, "start": len(self.text), "end": len(self.text) + len(s)})
        self.text += s


SLOT = re.compile(r"\{(\w+)(?::(\w+))?\}")


def render(template: str, gen: Gen) -> Builder:
    b = Builder()
    pos = 0
    last: dict[str, str] = {}  # the value last put in each slot, for the particle after it
    for m in SLOT.finditer(template):
        b.add(template[pos:m.start()])
        slot, pair = m.group(1), m.group(2)
        if slot == "name":
            last[slot] = gen.person()
            b.add(last[slot], "이름")
        elif slot == "masked":
            last[slot] = gen.masked()
            b.add(last[slot])
        elif slot.endswith("_ps"):
            # `pair` is e.g. "은는": after a Hangul word the particle that fits it, after
            # anything else (a masked name, a number) both, as forms print them: 은(는).
            word = last[slot[:-3]]
            b.add(josa(word, f"{pair[0]}/{pair[1]}")[len(word):] if "가" <= word[-1] <= "힣"
                  else pair[0] + "(" + pair[1] + ")")
        elif slot == "date_year":
            b.add(str(gen.r.randint(2015, 2025)))
        else:
            pieces = getattr(gen, slot)()
            for text, label in pieces:
                b.add(text, label)
            last[slot] = pieces[-1][0]
        pos = m.end()
    b.add(template[pos:])
    return b


# ---------------------------------------------------------------------------
# Issue 15 (hardening), item 9: what the detector used to miss. Court-ruling layouts
# (【원고】, [원고], 원고 1., 피고 보조참가인), hyphens as Unicode dashes, full-width
# digits, and address units after the building number (", 3층", ", 301호", ", 101동").
# Rendered with a generator of their own and appended after the records above, so that
# those keep their text and ids.
# ---------------------------------------------------------------------------
UNICODE_DASHES = ["\u2010", "\u2011", "\u2012", "\u2013", "\u2212", "\uff0d"]
FULLWIDTH_DIGITS = str.maketrans("0123456789-", "０１２３４５６７８９－")


class HardeningGen(Gen):
    def __init__(self, rng: random.Random):
        super().__init__(rng)
        self.dashes = 0  # each dash in turn, so that every one is in the set

    def phone_unicode_dash(self):
        v = self.r.choice([self.seoul, self.regional, self.mobile, self.voip, self.rep])()[0][0]
        dash = UNICODE_DASHES[self.dashes % len(UNICODE_DASHES)]
        self.dashes += 1
        return [(re.sub(r"(?<=[0-9)])[-. ](?=[0-9])", dash, v), "전화번호")]

    def mobile_fullwidth(self):
        v = self.mobile()[0][0]
        return [(v.translate(FULLWIDTH_DIGITS) if self.r.random() < 0.5
                 else v.translate(str.maketrans("0123456789", "０１２３４５６７８９")), "전화번호")]

    def rrn_fullwidth(self):
        return [(self._rrn("rrn").translate(FULLWIDTH_DIGITS), "주민등록번호")]

    def address_suffix(self):
        r = self.r
        sido, sigungu, roads = r.choice(PLACES)
        head = " ".join([sido] + ([sigungu] if sigungu else []))
        unit = r.choice([f", {r.randint(2, 15)}층", f" {r.randint(2, 15)}층", f", {r.randint(101, 1203)}호",
                         f", {r.randint(101, 120)}동", f", {r.randint(2, 9)}층 {r.randint(201, 905)}호",
                         f", 지하 {r.randint(1, 3)}층"])
        return [(head + " " + self._road_tail(r.choice(roads)) + unit, "주소")]


HARDENING_TEMPLATES = [
    "【원고】 {name}\n【피고】 {head}\n【변론종결】 {date}\n【판결선고】 {date}",
    "[원고] {name}\n[피고] {head}\n[주문] 원고의 청구를 기각한다.",
    "【원고, 상고인】 {name} (소송대리인 변호사 {name})\n【피고, 피상고인】 {head}",
    "【원고, 피상고인】 {name}\n【피고, 상고인】 {head} (소송대리인 변호사 {name})",
    "【원고(선정당사자), 항소인】 {name}\n【피고, 피항소인】 {head}",
    "원고 1. {name}\n원고 2. {name}\n피고 {head}",
    "피고 보조참가인 {name}\n피고 {head}",
    "【피고 보조참가인】 {name} (소송대리인 변호사 {name})",
    "[원고] {name}, [피고 보조참가인] {name}",
    "연락처: {phone_unicode_dash}",
    "담당자 {name} 주무관(☎ {phone_unicode_dash}, {email})",
    "문의 {phone_unicode_dash} 또는 {phone_unicode_dash}",
    "휴대전화 {mobile_fullwidth}",
    "신청인 {name}(주민등록번호 {rrn_fullwidth}, 연락처 {mobile_fullwidth})",
    "주소: {address_suffix}",
    "소재지 {address_suffix} (우 {zip})",
    "회의 장소: {address_suffix} 대회의실",
]

HARDENING_NEGATIVE_TEMPLATES = [
    "【원고, 피상고인】 원고\n【피고, 상고인】 {head}\n【주문】 상고를 기각한다.",
    "【원고, 상고인】 {masked}\n【피고, 피상고인】 경기도 (소송대리인 변호사 {masked})",
    "[원고] {masked}  [피고] {masked}  [피고 보조참가인] {masked}",
    "【이    유】 상고이유를 판단한다. 원고 1. 주장의 요지",
    "피고 보조참가인은 피고 강원도의 처분에 관하여 원고 2.의 청구를 다툰다.",
    "지하철 1호선 시청역 3번 출구, 세종대로 일대 통제 (09:00－18:00)",
]


def hardening_records() -> list[tuple[str, Builder]]:
    gen = HardeningGen(random.Random(SEED + 15))
    records = []
    for round_ in range(3):
        records += [("p", render(t, gen)) for t in HARDENING_TEMPLATES]
        records += [("n", render(t, gen)) for t in HARDENING_NEGATIVE_TEMPLATES]
    return records


def main(out: Path = OUT) -> None:
    rng = random.Random(SEED)
    gen = Gen(rng)
    records = []
    for round_ in range(4):
        for i, t in enumerate(PII_TEMPLATES):
            records.append(("p", render(t, gen)))
    for round_ in range(3):
        for t in FORM_VARIANT_TEMPLATES:
            records.append(("p", render(t, gen)))
    for round_ in range(3):
        for t in NEGATIVE_TEMPLATES:
            records.append(("n", render(t, gen)))
    seen: set[str] = set()
    records = [rec for rec in records if not (rec[1].text in seen or seen.add(rec[1].text))]
    rng.shuffle(records)
    records += [rec for rec in hardening_records() if not (rec[1].text in seen or seen.add(rec[1].text))]
    with Path(out).open("w", encoding="utf-8") as f:
        for i, (_, b) in enumerate(records):
            text = b.text
            assert unicodedata.is_normalized("NFC", text)
            record = {"id": f"pii-{i:04d}", "text": text, "spans": b.spans}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    counts: dict[str, int] = {}
    for _, b in records:
        for s in b.spans:
            counts[s["type"]] = counts.get(s["type"], 0) + 1
    print(f"wrote {len(records)} records, {sum(counts.values())} spans to {out}")
    for k, v in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"  {k}: {v}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
