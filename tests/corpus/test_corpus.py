"""The corpus stage: every input accounted for, split by document, NFC text, duplicates and
eval overlap removed, personal data redacted, a data card written."""

from __future__ import annotations

import json
import shutil
import unicodedata
import zipfile
from collections import Counter

import pytest

from tests.helpers import DOCS, SHARED_DATA
from toolkit.artifacts import read_jsonl
from toolkit.stages import run_stage
from toolkit.errors import DataError, RecipeError
from toolkit.recipe import load_recipe

STATUTES = SHARED_DATA / "legalize-kr" / "kr"
RULINGS = SHARED_DATA / "precedent-kr" / "일반행정" / "대법원"


def make_recipe(tmp_path, sources, extra="", overrides=()):
    """A corpus-only recipe; `sources` is YAML for the list items under corpus.sources."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "c.yaml"
    path.write_text(
        f"name: c\noutput_dir: {tmp_path / 'runs'}\ntracking: {{enabled: false}}\n"
        f"corpus:\n  workers: 1\n  sources:\n{sources}{extra}",
        encoding="utf-8",
    )
    return load_recipe(path, list(overrides))


def docs_source(path, extra=""):
    return f"    - path: {path}\n{extra}"


def accounting(out):
    return read_jsonl(out.path / "accounting.jsonl")


def all_records(out):
    return [r for s in ("train", "validation", "test") for r in read_jsonl(out.path / f"{s}.jsonl")]


def test_quickstart_corpus_counts_add_up_and_split_is_by_document(tmp_path):
    out = run_stage(make_recipe(tmp_path, docs_source(DOCS), "  validation_fraction: 0.1\n"), "corpus")
    f = out.figures
    assert f["per_source"]["documents"]["files"] == 30
    assert f["documents_kept"] + f["documents_dropped"] + f["documents_quarantined"] == 30
    rows = accounting(out)
    assert len(rows) == 30 and len({r["path"] for r in rows}) == 30
    assert sum(f["documents_by_split"].values()) == f["documents_kept"]
    sides = {s: read_jsonl(out.path / f"{s}.jsonl") for s in ("train", "validation", "test")}
    assert [len(sides[s]) for s in sides] == [f["records_train"], f["records_validation"], f["records_test"]]
    docs = {s: {r["meta"]["doc_id"] for r in rows} for s, rows in sides.items()}
    assert all(docs.values())
    assert not (docs["train"] & docs["test"]) and not (docs["train"] & docs["validation"])
    assert not (docs["validation"] & docs["test"])
    # Every document type is represented on the test side (stratified split).
    assert {r["meta"]["doc_type"] for r in sides["test"]} == {"공문", "보도자료", "내부규정"}
    assert Counter(r["meta"]["task"] for r in sides["train"]).keys() == {"title", "doc_type", "department", "article"}
    for rec in all_records(out):
        assert [m["role"] for m in rec["messages"]] == ["user", "assistant"]
        for m in rec["messages"]:
            assert unicodedata.is_normalized("NFC", m["content"]) and m["content"].strip()
    ids = [r["id"] for r in all_records(out)]
    assert len(ids) == len(set(ids))
    card = (out.path / "data_card.md").read_text(encoding="utf-8")
    assert card.startswith("---\nlanguage:\n- ko\n") and "## Known limitations" in card


def test_split_is_deterministic_and_depends_on_the_seed(tmp_path):
    first = run_stage(make_recipe(tmp_path / "a", docs_source(DOCS)), "corpus").path
    again = run_stage(make_recipe(tmp_path / "b", docs_source(DOCS)), "corpus").path
    assert (first / "test.jsonl").read_bytes() == (again / "test.jsonl").read_bytes()
    assert (first / "train.jsonl").read_bytes() == (again / "train.jsonl").read_bytes()
    other = run_stage(load_recipe(tmp_path / "a" / "c.yaml",
                                     ["seed=7", f"output_dir={tmp_path / 'seed7'}"]), "corpus").path
    assert (first / "test.jsonl").read_bytes() != (other / "test.jsonl").read_bytes()


def test_two_workers_give_the_same_corpus_as_one(tmp_path):
    one = run_stage(make_recipe(tmp_path / "one", docs_source(DOCS)), "corpus").path
    two = run_stage(make_recipe(tmp_path / "two", docs_source(DOCS), overrides=["corpus.workers=2"]), "corpus").path
    for name in ("train.jsonl", "test.jsonl", "accounting.jsonl"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def _hwpx(path, text, *, evil_name=None):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/hwp+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("Contents/content.hpf",
                   '<?xml version="1.0"?><opf:package xmlns:opf="http://www.idpf.org/2007/opf/">'
                   '<opf:metadata><opf:title>회의 결과 알림</opf:title></opf:metadata>'
                   '<opf:manifest><opf:item id="section0" href="Contents/section0.xml"/></opf:manifest>'
                   '<opf:spine><opf:itemref idref="section0"/></opf:spine></opf:package>')
        z.writestr("Contents/section0.xml",
                   '<?xml version="1.0"?><hs:sec xmlns:hs="http://www.hancom.co.kr/hwpml/2011/section" '
                   'xmlns:hp="http://www.hancom.co.kr/hwpml/2011/paragraph">'
                   + "".join(f"<hp:p><hp:run><hp:t>{line}</hp:t></hp:run></hp:p>" for line in text.split("\n"))
                   + "</hs:sec>")
        if evil_name:
            z.writestr(evil_name, "x")


def test_every_bad_input_is_quarantined_or_dropped_with_its_reason_never_lost(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for src in sorted(DOCS.glob("*.md"))[:4]:
        shutil.copy(src, docs / src.name)
    body = "민원 처리 기간 연장에 관한 안내 문서입니다. 처리 기간을 지켜 주시기 바랍니다. " * 3
    (docs / "cp949.md").write_bytes(f"---\n제목: 똠방각하 안내\n---\n{body}".encode("cp949"))
    (docs / "binary.md").write_bytes(bytes(range(256)) * 4)
    (docs / "empty.md").write_bytes(b"")
    (docs / "unclosed.md").write_text("---\n제목: 닫히지 않음\n본문", encoding="utf-8")
    (docs / "short.md").write_text("---\n제목: 짧음\n---\n짧다.", encoding="utf-8")
    (docs / "english.md").write_text("---\n제목: English\n---\n" + "This notice is in English only. " * 10,
                                      encoding="utf-8")
    nfd = unicodedata.normalize("NFD", "---\n제목: 분해된 한글\n문서종류: 공문\n담당부서: 행정국 총무과\n---\n"
                                + "분해된 한글로 저장된 문서의 본문입니다. " * 5)
    (docs / "nfd.md").write_text(nfd, encoding="utf-8")
    jsonl = tmp_path / "jsonl"
    jsonl.mkdir()
    good = json.dumps({"body": body, "subject": "민원 안내"}, ensure_ascii=False)
    (jsonl / "records.jsonl").write_text(f"{good}\n{{not json\n{json.dumps({'subject': 'x'})}\n{good}\n",
                                         encoding="utf-8")
    hwpx = tmp_path / "hwpx"
    hwpx.mkdir()
    _hwpx(hwpx / "ok.hwpx", "회의 결과를 다음과 같이 알립니다.\n" + body)
    _hwpx(hwpx / "slip.hwpx", body, evil_name="../../evil.xml")
    (hwpx / "truncated.hwpx").write_bytes((hwpx / "ok.hwpx").read_bytes()[:300])
    sources = (docs_source(docs) + f"    - type: jsonl\n      path: {jsonl}\n"
               f"      options: {{field_map: {{text: body, title: subject}}}}\n"
               f"    - type: hwpx\n      path: {hwpx}\n")
    out = run_stage(make_recipe(tmp_path, sources, overrides=["corpus.dedup.exact=false",
                                                                 "corpus.dedup.minhash.enabled=false"]), "corpus")
    rows = {r["path"].rsplit("/", 1)[1]: r for r in accounting(out)}
    assert rows["cp949.md"]["status"] == "kept"
    assert rows["binary.md"]["status"] == "quarantined" and "CP949" in rows["binary.md"]["reason"]
    assert rows["empty.md"]["status"] == "quarantined" and "empty" in rows["empty.md"]["reason"]
    assert rows["unclosed.md"]["status"] == "quarantined" and "never closed" in rows["unclosed.md"]["reason"]
    assert rows["short.md"]["status"] == "dropped" and "min_chars" in rows["short.md"]["reason"]
    assert rows["english.md"]["status"] == "dropped" and "Hangul ratio" in rows["english.md"]["reason"]
    assert rows["nfd.md"]["status"] == "kept"
    assert rows["records.jsonl:1"]["status"] == rows["records.jsonl:4"]["status"] == "kept"
    assert rows["records.jsonl:2"]["status"] == "quarantined" and "line 2" in rows["records.jsonl:2"]["reason"]
    assert rows["records.jsonl:3"]["status"] == "quarantined"
    assert rows["ok.hwpx"]["status"] == "kept"
    assert rows["slip.hwpx"]["status"] == "quarantined" and "traversal" in rows["slip.hwpx"]["reason"]
    assert rows["truncated.hwpx"]["status"] == "quarantined"
    assert len(rows) == 11 + 4 + 3
    f = out.figures
    assert f["per_source"]["docs"]["files"] == 11 and f["per_source"]["hwpx"]["files"] == 3
    cp = [r for r in all_records(out) if r["meta"]["doc_id"].endswith("cp949.md")]
    assert cp and "똠방각하" in json.dumps(cp, ensure_ascii=False)
    nfd_recs = [r for r in all_records(out) if r["meta"]["doc_id"].endswith("nfd.md")]
    assert nfd_recs and all(unicodedata.is_normalized("NFC", json.dumps(r, ensure_ascii=False))
                            for r in nfd_recs)


def test_a_missing_source_path_fails_before_any_work(tmp_path):
    recipe = make_recipe(tmp_path, docs_source(tmp_path / "nowhere"))
    with pytest.raises(RecipeError, match=r"corpus.sources\[0\].path .*nowhere is not a folder"):
        run_stage(recipe, "corpus")
    assert not (tmp_path / "runs").exists()


def test_an_empty_test_split_is_an_error_not_a_silent_empty_suite(tmp_path):
    with pytest.raises(DataError, match="no test examples.*test_fraction"):
        run_stage(make_recipe(tmp_path, docs_source(DOCS), "  test_fraction: 0.01\n"), "corpus")


def test_planted_exact_and_near_duplicates_are_found(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for src in sorted(DOCS.glob("*.md")):
        shutil.copy(src, docs / src.name)
    original = sorted(DOCS.glob("*.md"))[3]
    text = original.read_text(encoding="utf-8")
    (docs / "zz-exact.md").write_text(text.replace("\n", "\n\n").replace(". ", ".  "), encoding="utf-8")
    # The same document with a changed date, one sentence added and the spacing changed.
    head, _, body = text.partition("\n---\n")
    near = head + "\n---\n" + body.replace(" ", "", 5) + "\n붙임 자료는 따로 보내 드립니다."
    (docs / "zz-near.md").write_text(near, encoding="utf-8")
    out = run_stage(make_recipe(tmp_path, docs_source(docs)), "corpus")
    rows = {r["path"].rsplit("/", 1)[1]: r for r in accounting(out)}
    assert rows["zz-exact.md"]["status"] == "dropped"
    assert rows["zz-exact.md"]["reason"] == f"exact duplicate of docs/{original.name}"
    assert rows["zz-near.md"]["status"] == "dropped"
    assert rows["zz-near.md"]["reason"].startswith("near duplicate (MinHash) of docs/")
    assert out.figures["documents_exact_duplicates"] == 1 and out.figures["documents_near_duplicates"] == 1
    # No false positives among the 30 distinct sample documents.
    assert sum(1 for r in rows.values() if r.get("step") == "dedup") == 2


def test_training_examples_overlapping_eval_items_are_dropped_and_listed(tmp_path):
    from toolkit.corpus.decontam import EvalIndex

    docs = tmp_path / "docs"
    docs.mkdir()
    for src in sorted(DOCS.glob("*.md")):
        shutil.copy(src, docs / src.name)
    suite = tmp_path / "suite"
    suite.mkdir()
    first = run_stage(make_recipe(tmp_path / "first", docs_source(docs)), "corpus")
    victim = max(read_jsonl(first.path / "train.jsonl"), key=lambda r: len(r["messages"][1]["content"]))
    answer = victim["messages"][1]["content"]
    assert len(answer.split()) >= 13
    (suite / "suite.yaml").write_text("name: planted\ntask_type: generation\nitems: items.jsonl\n"
                                      "metrics: [chrf]\n", encoding="utf-8")
    (suite / "items.jsonl").write_text(json.dumps({"id": "p1", "prompt": "다음을 요약하세요.",
                                                   "reference": answer}, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    out = run_stage(make_recipe(tmp_path / "second", docs_source(docs),
                                   f"  decontamination:\n    suites: [{suite}]\n"), "corpus")
    removed = read_jsonl(out.path / "removed_examples.jsonl")
    hit = [r for r in removed if r["step"] == "decontamination"]
    assert victim["id"] in {r["id"] for r in hit}
    assert {r["eval_item"] for r in hit if r["id"] == victim["id"]} == {"planted/p1"}
    assert victim["id"] not in {r["id"] for r in read_jsonl(out.path / "train.jsonl")}
    assert out.figures["examples_decontaminated"] == len(hit)
    # The index itself: a short eval item quoted inside a long text counts; unrelated text not.
    index = EvalIndex(13)
    index.add("e", answer)
    assert index.worst_overlap("머리말입니다. " + answer + " 꼬리말입니다.")[0] == 1.0
    assert index.worst_overlap("전혀 관계없는 문장 " * 20)[0] == 0.0


def test_statutes_rulings_build_with_redaction_cleaning_and_card(tmp_path):
    statutes = tmp_path / "kr"
    for name in ("개인정보보호법", "행정절차법", "민원처리에관한법률"):
        shutil.copytree(STATUTES / name, statutes / name)
    rulings = tmp_path / "rulings"
    rulings.mkdir()
    for src in sorted(RULINGS.glob("*.md"))[:12]:
        shutil.copy(src, rulings / src.name)
    planted = rulings / "2099두99999.md"
    planted.write_text(
        "---\n사건번호: 2099두99999\n사건명: 정보공개거부처분취소\n법원명: 대법원\n사건종류: 일반행정\n"
        "선고일자: 2099-01-01\n---\n## 판시사항\n정보공개 거부처분의 위법 여부\n## 판례내용\n"
        "원고 김민준(연락처 010-2345-6789, 이메일 minjun.kim@example.kr)은 2023. 3. 2. 피고에게 정보공개를 "
        "청구하였다. 원고 주소는 서울특별시 중구 세종대로 110이다. " * 3, encoding="utf-8")
    sources = (f"    - type: statutes\n      path: {statutes}\n"
               f"    - type: rulings\n      path: {rulings}\n")
    out = run_stage(make_recipe(tmp_path, sources,
                                   "  families: [lookup, explain, summarise, route, draft, refuse]\n"
                                   "  views: [alpaca, sharegpt]\n  test_fraction: 0.3\n"), "corpus")
    rows = accounting(out)
    kept_statutes = [r for r in rows if r["source"] == "kr" and r["status"] == "kept"]
    # Legal text is never dropped by quality filters.
    assert not [r for r in rows if r.get("step") == "filter"]
    assert len(kept_statutes) >= 6
    text = "\n".join(m["content"] for r in all_records(out) for m in r["messages"])
    assert "<개정" not in text and "010-2345-6789" not in text and "minjun.kim@example.kr" not in text
    assert out.figures["pii_redacted"].get("전화번호", 0) >= 1 and out.figures["pii_redacted"].get("이메일", 0) >= 1
    assert "ㆍ" in text or "·" not in text  # middle dots are not folded by NFKC
    tasks = Counter(r["meta"]["task"] for r in all_records(out))
    assert {"lookup", "explain", "summarise", "route", "draft", "refuse"} <= tasks.keys()
    alpaca = read_jsonl(out.path / "alpaca" / "train.jsonl")
    assert alpaca and set(alpaca[0]) >= {"instruction", "input", "output"}
    share = read_jsonl(out.path / "sharegpt" / "train.jsonl")
    assert share and share[0]["conversations"][0]["from"] == "human"
    card = (out.path / "data_card.md").read_text(encoding="utf-8")
    assert "| 전화번호 |" in card and "precision" in card
    assert (out.path / "data_card.lengths.svg").read_text(encoding="utf-8").startswith("<svg")


def test_web_filters_would_drop_real_statutes_which_is_why_legal_text_never_gets_them(tmp_path):
    from datatrove.data import Document
    from datatrove.pipeline.filters import GopherRepetitionFilter

    from toolkit.corpus.clean import normalize_text
    from toolkit.corpus.sources import front_matter
    from toolkit.corpus.steps import EojeolWords

    flt = GopherRepetitionFilter(language=EojeolWords())
    dropped = []
    for path in sorted(STATUTES.glob("*/*.md"))[:60]:
        _, body = front_matter(path.read_text(encoding="utf-8"))
        if flt.filter(Document(text=normalize_text(body), id=path.name)) is not True:
            dropped.append(path)
    assert dropped, "Gopher repetition no longer rejects statutes; revisit the legal profile note"


def test_scan_pii_prints_one_json_object_per_finding_with_nfc_offsets(tmp_path):
    from tests.helpers import gongmu

    text = "담당자 연락처는 010-2345-6789, 메일은 hong.gildong@example.go.kr 입니다. 사건번호 2019두30140."
    path = tmp_path / "민원.txt"
    path.write_text(unicodedata.normalize("NFD", text), encoding="utf-8")
    proc = gongmu("corpus", "scan-pii", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {r["type"] for r in rows} == {"전화번호", "이메일"}
    for r in rows:
        assert set(r) == {"type", "start", "end", "text"}
        assert text[r["start"]:r["end"]] == r["text"]
    assert gongmu("corpus", "scan-pii", str(path), "--fail-on-find").returncode == 1


def test_a_slurm_recipe_becomes_dependent_array_jobs_with_the_recipe_resources(tmp_path):
    from toolkit.corpus.pipeline import executors

    recipe = make_recipe(tmp_path, docs_source(DOCS), "  executor: slurm\n  slurm:\n"
                         "    partition: cpu\n    shards: 8\n    cpus_per_task: 4\n")
    (finish,) = executors(recipe, tmp_path / "work")
    chain = []
    ex = finish
    while ex is not None:
        chain.append(ex)
        ex = ex.depends
    assert [e.world_size for e in chain] == [1, 1, 14, 8]  # finish, clusters, buckets, documents
    script = chain[-1].get_launch_file_contents(chain[-1].get_sbatch_args(8), "python run.py")
    assert "--partition=cpu" in script and "--cpus-per-task=4" in script and "--array=0-7" in script


def test_local_workers_are_capped_at_the_cpu_count(tmp_path, capsys):
    """corpus.workers=40 on this machine started 44 processes; now at most one a CPU."""
    import os

    from toolkit.corpus.pipeline import executors

    recipe = make_recipe(tmp_path, docs_source(DOCS), overrides=["corpus.workers=40"])
    plan = executors(recipe, tmp_path / "work")
    cpus = os.cpu_count() or 1
    assert all(ex.workers <= cpus for _, ex in plan[:-1])
    assert plan[0][1].workers == min(40, cpus)
    said = capsys.readouterr()
    assert f"corpus.workers=40 is more than this machine's {cpus} CPUs" in said.out + said.err


def test_plain_text_sources_are_read_and_a_corpus_no_task_applies_to_says_so(tmp_path):
    from toolkit.corpus.sources import documents
    from toolkit.recipe import CorpusSource

    text = tmp_path / "text"
    (text / "sub").mkdir(parents=True)
    body = "주민등록 등본 발급 절차를 안내합니다. 신분증을 지참하여 가까운 주민센터를 방문해 주시기 바랍니다. " * 3
    (text / "sub" / "안내.txt").write_text(body, encoding="utf-8")
    (text / "old.txt").write_bytes(("옛 문서 " + body).encode("euc-kr"))
    docs = {d.path.rsplit("/", 1)[1]: d for d in documents(CorpusSource(type="text", path=text))}
    assert docs["old.txt"].meta["encoding"] == "euc-kr" and docs["old.txt"].text.startswith("옛 문서")
    assert docs["안내.txt"].text == body and docs["안내.txt"].id == "text/sub/안내.txt"
    # old.txt is a near duplicate of 안내.txt, so one document is left.
    with pytest.raises(DataError, match=r"none of corpus.families \(title, article\) applies to the 1 "):
        run_stage(make_recipe(tmp_path, f"    - type: text\n      path: {text}\n",
                                 "  families: [title, article]\n"), "corpus")
