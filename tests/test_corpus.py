"""The corpus stage: every file accounted for, split by document, NFC text, chat records."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter

from tests.conftest import DOCS
from toolkit.artifacts import read_jsonl
from toolkit.corpus.pipeline import build_corpus
from toolkit.recipe import load_recipe


def make_recipe(tmp_path, docs, extra=""):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "c.yaml"
    path.write_text(
        f"name: c\noutput_dir: {tmp_path / 'runs'}\ntracking: {{enabled: false}}\n"
        f"corpus:\n  sources:\n    - path: {docs}\n{extra}",
        encoding="utf-8",
    )
    return load_recipe(path)


def test_quickstart_corpus_counts_add_up_and_split_is_by_document(tmp_path):
    out = build_corpus(make_recipe(tmp_path, DOCS))
    f = out.figures
    assert f["files_read"] == 30 == f["documents_kept"] + f["documents_dropped"] + f["documents_quarantined"]
    assert f["documents_train"] + f["documents_eval"] == f["documents_kept"]
    train, held = read_jsonl(out.path / "train.jsonl"), read_jsonl(out.path / "eval.jsonl")
    assert len(train) == f["records_train"] and len(held) == f["records_eval"]
    train_docs = {r["meta"]["doc_id"] for r in train}
    eval_docs = {r["meta"]["doc_id"] for r in held}
    assert train_docs and eval_docs and not (train_docs & eval_docs)
    # Every document type is represented on the held-out side (stratified split).
    assert {r["meta"]["doc_type"] for r in held} == {"공문", "보도자료", "내부규정"}
    assert Counter(r["meta"]["task"] for r in train).keys() == {"title", "doc_type", "department", "article"}
    for rec in train + held:
        roles = [m["role"] for m in rec["messages"]]
        assert roles == ["user", "assistant"]
        for m in rec["messages"]:
            assert unicodedata.is_normalized("NFC", m["content"]) and m["content"].strip()
    ids = [r["id"] for r in train + held]
    assert len(ids) == len(set(ids))


def test_split_is_deterministic_and_depends_on_the_seed(tmp_path):
    first = build_corpus(make_recipe(tmp_path / "a", DOCS)).path
    again = build_corpus(make_recipe(tmp_path / "b", DOCS)).path
    assert (first / "eval.jsonl").read_bytes() == (again / "eval.jsonl").read_bytes()
    path = tmp_path / "a" / "c.yaml"
    other = build_corpus(load_recipe(path, ["seed=7", f"output_dir={tmp_path / 'seed7'}"])).path
    assert (first / "eval.jsonl").read_bytes() != (other / "eval.jsonl").read_bytes()


def test_bad_files_are_quarantined_or_dropped_with_reasons_never_lost(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for src in sorted(DOCS.glob("*.md"))[:4]:
        (docs / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    (docs / "cp949.md").write_bytes("---\n제목: 안내\n---\n한글 본문입니다.".encode("cp949"))
    (docs / "unclosed.md").write_text("---\n제목: 닫히지 않음\n본문", encoding="utf-8")
    (docs / "short.md").write_text("---\n제목: 짧음\n---\n짧다.", encoding="utf-8")
    nfd = unicodedata.normalize("NFD", "---\n제목: 분해된 한글\n문서종류: 공문\n담당부서: 행정국 총무과\n---\n"
                                + "분해된 한글로 저장된 문서의 본문입니다. " * 5)
    (docs / "nfd.md").write_text(nfd, encoding="utf-8")
    out = build_corpus(make_recipe(tmp_path, docs))
    rows = {json.loads(x)["path"].rsplit("/", 1)[1]: json.loads(x)
            for x in (out.path / "accounting.jsonl").read_text(encoding="utf-8").splitlines()}
    assert len(rows) == 8
    assert rows["cp949.md"]["status"] == "quarantined" and "UTF-8" in rows["cp949.md"]["reason"]
    assert rows["unclosed.md"]["status"] == "quarantined" and "never closed" in rows["unclosed.md"]["reason"]
    assert rows["short.md"]["status"] == "dropped" and "min_chars" in rows["short.md"]["reason"]
    assert rows["nfd.md"]["status"] == "kept"
    f = out.figures
    assert (f["documents_quarantined"], f["documents_dropped"], f["documents_kept"]) == (2, 1, 5)
    records = read_jsonl(out.path / "train.jsonl") + read_jsonl(out.path / "eval.jsonl")
    nfd_recs = [r for r in records if r["meta"]["doc_id"].endswith("nfd.md")]
    assert nfd_recs and all(unicodedata.is_normalized("NFC", json.dumps(r, ensure_ascii=False))
                            for r in nfd_recs)


def test_an_empty_eval_split_is_an_error_not_a_silent_empty_suite(tmp_path):
    import pytest

    from toolkit.errors import DataError

    with pytest.raises(DataError, match="no eval examples.*eval_fraction"):
        build_corpus(make_recipe(tmp_path, DOCS, "  eval_fraction: 0.01\n"))
