"""A metric: does the answer name the department in charge of the 민원, and no other?"""

from __future__ import annotations

import re
import unicodedata

from toolkit.plugins import Metric

# A department as a word of the answer: a name of 3+ characters ending in 과, 국, 실, 팀,
# 센터 or 담당관, maybe followed by a particle ("교통행정과에서", "세무1과는").
_DEPARTMENT_WORD = re.compile(
    r"([가-힣0-9]{2,}?(?:과|국|실|팀|센터|담당관))(?:에서|에게|에|은|는|이|가|으로|로|의|와|을|를)?$")
_SEPARATORS = re.compile(r"[\s.,!?·ㆍ/()「」\"']+")


def departments(text: str) -> list[str]:
    """The department names `text` mentions, in order."""
    words = _SEPARATORS.split(unicodedata.normalize("NFC", text))
    return [m.group(1) for w in words if (m := _DEPARTMENT_WORD.match(w))]


def department_named(output: str, reference: str, item: dict | None = None) -> float:
    """1.0 when the output names the right department (the item's `meta.department`, else
    the first department of the reference) and no other department, else 0.0."""
    wanted = ((item or {}).get("meta") or {}).get("department")
    wanted = wanted or next(iter(departments(reference)), None)
    return float(wanted is not None and set(departments(output)) == {wanted})


METRIC = Metric("department_named", department_named, higher_is_better=True,
                description="1 when the answer names the department in charge and no other.")
