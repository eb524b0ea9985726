"""A reader for CSV exports of 민원 records: one document per complaint.

    corpus:
      sources:
        - type: minwon_csv
          path: data
          options: {encoding: cp949}

The complaint text becomes the document; its title, department and status become
metadata. The complainant's name and contact columns (`private_columns`) are never read
into the corpus. A row without text or department is quarantined with its line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field

from gongmu_minwon import DEPARTMENT
from toolkit.plugins import Reader


class MinwonCsvOptions(BaseModel):
    """How the export is laid out (defaults: the 새올-style column names used here)."""

    model_config = ConfigDict(extra="forbid")

    encoding: Literal["auto", "utf-8", "cp949"] = Field(
        "auto", description="auto: UTF-8 (with or without BOM), else CP949.")
    delimiter: str = Field(",", min_length=1, max_length=1)
    id_column: str = "접수번호"
    title_column: str = "민원제목"
    text_column: str = "민원내용"
    department_column: str = "처리부서"
    private_columns: list[str] = Field(
        default_factory=lambda: ["민원인", "연락처"],
        description="Columns with personal data: never copied into the corpus.")


def _decode(data: bytes, encoding: str) -> str:
    if encoding != "auto":
        return data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp949")  # a UnicodeDecodeError here quarantines the file


def read_minwon_csv(path: Path, data: bytes, options: MinwonCsvOptions) -> Iterator[dict]:
    """One document per row: the complaint text, with the id, title, department and the
    other non-private columns as metadata; `line` is the row's line in the file."""
    rows = csv.DictReader(io.StringIO(_decode(data, options.encoding), newline=""),
                          delimiter=options.delimiter)
    needed = [options.id_column, options.text_column, options.department_column]
    missing = [c for c in needed if c not in (rows.fieldnames or [])]
    if missing:
        raise ValueError(f"not a 민원 export: no column {', '.join(missing)} "
                         f"(columns: {', '.join(rows.fieldnames or [])})")
    for row in rows:
        line = rows.line_num  # the row's last line (quoted text may span several)
        text = (row.get(options.text_column) or "").strip()
        department = (row.get(options.department_column) or "").strip()
        if not text or not department:
            empty = options.text_column if not text else options.department_column
            yield {"line": line, "unreadable": f"row {row.get(options.id_column)}: "
                                              f"{empty} is empty"}
            continue
        meta = {k: v for k, v in row.items()
                if k and k not in options.private_columns and k != options.text_column}
        meta.update({"record_id": row[options.id_column],
                     "title": row.get(options.title_column), DEPARTMENT: department})
        yield {"text": text, "meta": meta, "line": line}


READER = Reader("minwon_csv", read_minwon_csv, options=MinwonCsvOptions, glob="**/*.csv",
                profile="document", description="민원 records exported as CSV, one per row.")
