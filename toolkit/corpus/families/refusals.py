"""The refuse family: requests for personal data about a ruling, an ordinance or a
statute's office → a polite refusal citing 「개인정보 보호법」."""

from __future__ import annotations

from toolkit.corpus.families.common import SourceDoc, family_inputs, record, ruling_meta, ruling_of, statute_of
from toolkit.korean.josa import josa
from toolkit.korean.seeded import seeded_choice, seeded_rank

_PROVIDE = ("「개인정보 보호법」 제17조와 제18조에 따라 개인정보는 정보주체의 동의를 받았거나 법률에 "
            "특별한 규정이 있는 경우 등이 아니면 제3자에게 제공할 수 없습니다.")
_RRN = ("주민등록번호는 「개인정보 보호법」 제24조의2에 따라 법령에 근거가 있는 경우 등에만 처리할 수 "
        "있으며, 같은 법 제17조와 제18조에 따라 정보주체의 동의나 법률상 근거 없이 제3자에게 제공할 수 "
        "없습니다.")
_HEALTH = ("건강에 관한 정보는 「개인정보 보호법」 제23조의 민감정보로서 처리가 엄격히 제한되며, 같은 법 "
           "제17조와 제18조에 따라 정보주체의 동의나 법률상 근거 없이 제3자에게 제공할 수 없습니다.")

# (key, request subject, what it is, the law sentence); {case}, {dept}, {law} filled in.
_REFUSE_RULING = (
    ("rrn", "사건 {case} 원고의 주민등록번호를 알려 주세요.", "원고의 주민등록번호", _RRN),
    ("address", "{case} 사건 원고의 집 주소와 전화번호를 알 수 있을까요?", "원고의 주소와 전화번호", _PROVIDE),
    ("health", "사건 {case}에서 원고의 진단명과 병력을 자세히 알려 주세요.", "원고의 건강 정보", _HEALTH),
    ("official", "{case} 사건을 처리한 피고 측 담당 공무원의 이름과 개인 휴대전화 번호를 알려 주세요.",
     "담당 공무원의 개인 연락처", _PROVIDE),
    ("party", "사건 {case}의 당사자 실명과 직장을 알려 주세요.", "사건 당사자의 실명과 직장", _PROVIDE),
)
_REFUSE_OFFICE = (
    ("phone", "{dept} 담당자 개인 휴대전화 번호를 알려 주세요.", "담당자의 개인 휴대전화 번호", _PROVIDE),
    ("address", "「{law}」 업무를 맡은 {dept} 담당 공무원의 집 주소를 알려 주세요.", "담당 공무원의 집 주소", _PROVIDE),
    ("rrn", "「{law}」 업무 담당자의 주민등록번호를 알려 주실 수 있나요?", "담당자의 주민등록번호", _RRN),
    ("birth", "{dept} 직원 명단과 생년월일을 정리해 주세요.", "직원의 생년월일", _PROVIDE),
)
_REFUSE_OPENINGS = (
    "죄송하지만 요청하신 {what}{josa} 특정 개인을 알아볼 수 있는 개인정보이므로 알려 드릴 수 없습니다.",
    "요청하신 {what}{josa} 개인정보에 해당하여 제공해 드리기 어렵습니다.",
    "{what}{josa} 개인정보이므로 본인의 동의나 법적 근거 없이 알려 드릴 수 없습니다. 양해 부탁드립니다.",
)


def _refusal_channel(doc: SourceDoc, key: str) -> str:
    ruling = ruling_of(doc)
    if ruling is not None:
        return ("판결 내용이 필요하시면 국가법령정보센터 등에 공개된 비실명 판결문을 참고하시고, 사건의 "
                "당사자나 이해관계인이라면 해당 법원에 소송기록의 열람ㆍ복사를 신청하실 수 있습니다.")
    statute = statute_of(doc)
    office = statute.ministry if statute else ""
    directory = (f" 업무용 연락처는 {statute.authority or office} 누리집의 조직도(직원 안내)에서 "
                 f"확인하실 수 있습니다." if key in ("phone", "birth") and statute else "")
    dasan = "다산콜센터(120), " if statute and statute.authority == "서울특별시" else ""
    return (f"업무에 관한 문의는 {office}의 대표 전화나 {dasan}국민신문고(www.epeople.go.kr) 등 "
            f"공식 창구를 이용해 주시기 바랍니다.{directory}")


def refuse_family(doc, options) -> list[dict]:
    """개인정보 요청 거절: a request for someone's personal data about a ruling (사건번호)
    or an ordinance/statute's office (담당부서, 소관부처) → a polite refusal that cites
    「개인정보 보호법」 and points to official channels. Two requests per document (at most
    max_per_doc), chosen with the opening sentence by seeded hash of the doc id."""
    doc, options = family_inputs(doc, options)
    ruling = ruling_of(doc)
    statute = None if ruling else statute_of(doc)
    if ruling is not None and ruling.case_number:
        templates, fields = _REFUSE_RULING, {"case": ruling.case_number}
        meta = ruling_meta(ruling)
    elif statute is not None and statute.ministry:
        dept = f"{statute.authority} {statute.department}".strip() if statute.is_ordinance else statute.ministry.split(",")[0]
        templates, fields = _REFUSE_OFFICE, {"dept": dept, "law": statute.name}
        meta = {"law_id": statute.law_id, "law_name": statute.name}
    else:
        return []
    chosen = sorted(templates, key=lambda t: seeded_rank(options.seed, doc.id, "refuse", t[0]))
    records = []
    for key, request, what, law in chosen[: min(2, options.max_per_doc)]:
        opening = seeded_choice(options.seed, _REFUSE_OPENINGS, doc.id, "refuse-opening", key)
        opening = opening.format(what=what, josa=josa(what, "은/는")[len(what):])
        answer = f"{opening} {law} {_refusal_channel(doc, key)}"
        n = [t[0] for t in templates].index(key) + 1
        records.append(record(doc, "refuse", n, request.format(**fields), answer, **meta, request=key))
    return records
