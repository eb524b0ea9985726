"""`gongmu report verify` says the lineage reaches the corpus only when it checked one that
does: a report folder whose manifest names no upstream is said to be unchecked, one whose
summary claims upstream folders its manifest does not record fails (issue 19 §9)."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.helpers import DOCS, gongmu
from toolkit.artifacts import MANIFEST, Upstream, stage_folder
from toolkit.recipe import load_recipe
from toolkit.report.verify import verify_report

CORPUS_CHECKED = "원천 자료(코퍼스)까지의 이력이 확인되었습니다"


@pytest.fixture
def recipe(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(f"name: r\ntracking: {{enabled: false}}\ncorpus:\n  sources:\n"
                    f"    - {{type: documents, path: {DOCS}}}\n", encoding="utf-8")
    return load_recipe(path)


def _report(recipe, claimed: list[dict], inputs: list[Upstream] = ()):
    """A report folder made by hand: summary.json, report.html, a manifest over them."""
    summary = {"language": "ko", "lineage": {"stages": claimed}}
    with stage_folder(recipe, "report", {}, list(inputs)) as out:
        (out.path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
        (out.path / "report.html").write_text("<p>적합</p>", encoding="utf-8")
    return out.path


def _said(*args) -> tuple[int, str]:
    proc = gongmu("report", "verify", *map(str, args))
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())


def test_a_standalone_report_with_no_lineage_is_said_to_be_unchecked(recipe):
    folder = _report(recipe, [])
    check = verify_report(folder)
    assert check.ok and check.lineage == [] and check.verdict == "ok_no_lineage"
    code, said = _said(folder)
    assert code == 0 and CORPUS_CHECKED not in said and "이력은 확인하지 않았습니다" in said
    code, said = _said(folder, "--language", "en")
    assert "no upstream folder" in said and "lineage back to the corpus" not in said


def test_a_forged_report_claiming_upstream_it_does_not_have_fails(recipe):
    claimed = [{"stage": "eval", "manifest_sha256": "ab" * 32},
               {"stage": "corpus", "manifest_sha256": "cd" * 32}]
    folder = _report(recipe, claimed)
    assert any("claims an upstream it does not have" in p for p in verify_report(folder).problems)
    code, said = _said(folder)
    assert code == 1 and CORPUS_CHECKED not in said and "부적합" in said


def test_a_lineage_that_stops_before_the_corpus_is_said_to_stop_there(recipe):
    with stage_folder(recipe, "eval", {}) as out:
        (out.path / "results.json").write_text("{}", encoding="utf-8")
    raw = (out.path / MANIFEST).read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    folder = _report(recipe, [{"stage": "eval", "manifest_sha256": sha}],
                     [Upstream("eval", out.path, json.loads(raw), sha)])
    check = verify_report(folder)
    assert check.ok and check.lineage == ["eval"] and check.verdict == "ok_partial"
    code, said = _said(folder)
    assert code == 0 and CORPUS_CHECKED not in said
    assert "eval 단계까지의 이력이 확인되었습니다" in said and "코퍼스)가 포함되어 있지 않습니다" in said
