"""The report of a real end-to-end run (the shared `pipeline_run`), as a reviewer gets it:
report.pdf printed by headless Chromium in A4 with page numbers and an embedded Korean
font, the corpus, training and model-card rows with real figures, and `gongmu report
verify` failing on one changed byte anywhere it vouches for."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.helpers import ec_key_pair, gongmu
from toolkit.artifacts import read_json
from toolkit.report.pdf import FLAGS, browser
from toolkit.report.verify import verify_report

pytestmark = pytest.mark.slow


def _poppler(tool: str, *args) -> str:
    if not shutil.which(tool):
        pytest.fail(f"{tool} is required: scripts/setup/install_browser.sh installs poppler-utils")
    return subprocess.run([tool, *map(str, args)], capture_output=True, text=True, timeout=120,
                          check=True).stdout


def test_pdf_is_a4_with_page_numbers_contents_and_an_embedded_korean_font(pipeline_run, tmp_path):
    folder = pipeline_run.stage_dir("report")
    pdf = folder / "report.pdf"
    info = _poppler("pdfinfo", pdf)
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert 3 <= pages <= 40
    assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2  # A4 in points

    text = _poppler("pdftotext", "-layout", pdf, "-")
    for label in ("목차", "요약", "판정표", "95% 신뢰구간", "평가 대상 비교", "학습 데이터",
                  "배포 파일 검증", "이력 및 재현 방법", "한계", "검토 의견 및 서명", "적합"):
        assert label in text, label
    assert re.search(rf"\b1\s*/\s*{pages}\b", text) and re.search(rf"\b{pages}\s*/\s*{pages}\b", text)
    summary = read_json(folder / "summary.json")
    assert summary["data"]["documents"]["train"] > 0

    fonts = _poppler("pdffonts", pdf)
    cjk = [line for line in fonts.splitlines() if "CJK" in line or "Nanum" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts  # embedded

    # The page itself in a real browser: a screenshot, and the Korean labels in the DOM.
    exe = browser()
    shot = tmp_path / "report.png"
    flags = [*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    subprocess.run([exe, *flags, f"--screenshot={shot}", "--window-size=1100,1400",
                    (folder / "report.html").as_uri()], capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 20_000


def test_corpus_training_and_model_card_rows_show_real_figures(pipeline_run):
    corpus = read_json(pipeline_run.stage_dir("corpus") / "manifest.json")["figures"]
    train_docs = corpus["documents_by_split"]["train"]
    html = (pipeline_run.stage_dir("report") / "report.html").read_text(encoding="utf-8")
    counts = html[html.index('id="corpus-counts"'):html.index("</table>", html.index('id="corpus-counts"'))]
    assert f'<td class="num">{train_docs}</td>' in counts
    assert f'<td class="num">{corpus["records_train"]}</td>' in counts
    training = html[html.index('id="training"'):html.index("</table>", html.index('id="training"'))]
    steps = read_json(pipeline_run.stage_dir("train") / "manifest.json")["figures"]["steps"]
    assert f"{steps} / " in training and "None" not in training
    card = (pipeline_run.stage_dir("export") / "model" / "README.md").read_text(encoding="utf-8")
    assert f"- {train_docs} training documents, {corpus['records_train']} instruction examples" in card
    assert "None" not in card.split("## Training data")[1].split("##")[0]


def test_report_verify_fails_on_a_changed_byte_in_the_pdf_summary_or_an_upstream_manifest(
        pipeline_run, tmp_path):
    run_dir = tmp_path / "runs" / pipeline_run.name
    shutil.copytree(pipeline_run.run_dir, run_dir)
    private, public = ec_key_pair(tmp_path)
    recipe = tmp_path / "signed.yaml"
    recipe.write_text(f"extends: {pipeline_run.file}\noutput_dir: {tmp_path / 'runs'}\n"
                      f"tracking: {{enabled: false}}\nreport:\n  signing_key: {private}\n",
                      encoding="utf-8")
    proc = gongmu("report", str(recipe))
    assert proc.returncode == 0, proc.stderr
    report = run_dir / "report"
    proc = gongmu("report", "verify", str(report), "--public-key", str(public))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    said = proc.stdout + proc.stderr
    assert "적합" in said and "전자서명: 확인됨" in said
    assert read_json(report / "summary.json")["lineage"]["stages"][0]["manifest_sha256"] in said

    for target in (report / "report.pdf", report / "summary.json", run_dir / "eval" / "manifest.json",
                   run_dir / "corpus" / "manifest.json", run_dir / "corpus" / "train.jsonl"):
        original = target.read_bytes()
        changed = bytearray(original)
        changed[len(changed) // 2] ^= 0x01
        target.write_bytes(bytes(changed))
        problems = verify_report(report, public).problems
        assert problems and any(target.name in p or target.parent.name in p for p in problems), target
        target.write_bytes(original)
    assert verify_report(report, public).ok

    (report / "report.pdf").write_bytes((report / "report.pdf").read_bytes() + b"%")
    proc = gongmu("report", "verify", str(report), "--language", "en")
    said = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "FAIL: the report folder" in said
    assert "report.pdf does not match its sha256" in said and "Traceback" not in said
