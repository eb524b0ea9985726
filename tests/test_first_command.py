"""The first command on a fresh machine (issue 18): what the report needs is checked
before the first stage starts, a machine without Chromium still ends with a report, and
recipes that describe only some stages (a corpus recipe, an eval-only recipe) validate
and run as what they are."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.eval.recipes import eval_recipe, generation_suite
from tests.helpers import QUICKSTART, REPO, gongmu, write_recipe


def _env_without_browser(tmp_path: Path) -> dict:
    """The environment with a PATH that holds the venv's scripts and git, and no Chromium
    (nor fc-list): what a fresh machine that never installed the report's tools shows."""
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    for name in ("git",):
        if (found := shutil.which(name)) and not (tools / name).exists():
            (tools / name).symlink_to(found)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), str(tools)])
    return env


def test_run_with_report_pdf_required_and_no_browser_stops_before_the_first_stage(tmp_path, tiny_model):
    recipe = write_recipe(tmp_path, tiny_model, body="report:\n  pdf: true\n")
    started = time.monotonic()
    proc = gongmu("run", str(recipe), env=_env_without_browser(tmp_path))
    elapsed = time.monotonic() - started
    assert proc.returncode == 2, proc.stderr
    said = " ".join(proc.stderr.split())
    assert "report.pdf is true" in said and "headless Chromium" in said
    assert "install_browser.sh" in said and "report.pdf: auto" in said
    assert "Traceback" not in proc.stderr
    assert elapsed < 30, f"the missing browser was found after {elapsed:.0f} s, not before the first stage"
    assert not (tmp_path / "runs" / "t" / "corpus").exists()


def test_validate_with_report_pdf_auto_and_no_browser_says_the_report_will_be_html_alone(tmp_path, tiny_model):
    recipe = write_recipe(tmp_path, tiny_model)  # extends the quickstart: report.pdf: auto
    proc = gongmu("recipe", "validate", str(recipe), env=_env_without_browser(tmp_path))
    assert proc.returncode == 0, proc.stderr
    said = " ".join(proc.stderr.split())
    assert "report.html alone" in said and "install_browser.sh" in said
    assert f"gongmu report {recipe}" in said


def test_quickstart_recipe_degrades_to_html_where_pdf_cannot_be_printed():
    """The first command must end with a report on a machine where Chromium cannot be
    installed (no root): the quickstart asks for the PDF only where it can be printed."""
    assert yaml.safe_load(QUICKSTART.read_text(encoding="utf-8"))["report"]["pdf"] == "auto"
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    quickstart = makefile.split("\nquickstart:", 1)[1].split("\n\n", 1)[0]
    assert "scripts/setup/install_browser.sh --optional" in quickstart


def test_browser_script_in_optional_mode_exits_0_where_it_cannot_install(tmp_path):
    """Without root (or apt-get) the script says how to get the PDF and lets the
    quickstart go on; without --optional it fails, as make test needs."""
    import subprocess

    script = REPO / "scripts" / "setup" / "install_browser.sh"
    env = _env_without_browser(tmp_path)
    env["PATH"] = os.pathsep.join([env["PATH"], "/usr/bin", "/bin"])
    bare = tmp_path / "bare"  # bash and coreutils, but no chromium, apt-get or id that says root
    bare.mkdir()
    for name in ("bash", "env", "dirname", "cat"):
        if found := shutil.which(name):
            (bare / name).symlink_to(found)
    (bare / "id").write_text("#!/bin/sh\necho 1000\n")
    (bare / "id").chmod(0o755)
    env["PATH"] = str(bare)
    optional = subprocess.run([shutil.which("bash"), str(script), "--optional"], env=env,
                              capture_output=True, text=True, timeout=60)
    assert optional.returncode == 0, optional.stderr
    assert "needs root" in optional.stderr and "report.html alone" in optional.stderr
    strict = subprocess.run([shutil.which("bash"), str(script)], env=env, capture_output=True,
                            text=True, timeout=60)
    assert strict.returncode == 1 and "run again" in strict.stderr


@pytest.mark.slow  # reads the end-to-end pipeline run
def test_report_stage_without_browser_writes_html_and_says_how_to_get_the_pdf(
        tmp_path, pipeline_run, monkeypatch):
    from toolkit.artifacts import MANIFEST
    from toolkit.recipe import load_recipe
    from toolkit.stages import run_stage

    out = tmp_path / "runs"
    shutil.copytree(pipeline_run.output_dir, out, ignore=shutil.ignore_patterns("mlflow", ".lock"))
    shutil.rmtree(out / pipeline_run.name / "report")
    recipe = load_recipe(pipeline_run.file, [f"output_dir={out}", "tracking.enabled=false",
                                             "report.pdf=auto"])
    monkeypatch.setenv("PATH", _env_without_browser(tmp_path)["PATH"])
    run_stage(recipe, "report")
    folder = recipe.stage_dir("report")
    assert (folder / "report.html").is_file() and not (folder / "report.pdf").exists()
    figures = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["figures"]
    assert figures["pdf"].startswith("not printed: no headless Chromium")
    monkeypatch.undo()
    proc = gongmu("report", "verify", str(folder))
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------- described stages


def test_recipe_stages_are_the_sections_a_recipe_writes(tmp_path, tiny_model):
    from toolkit.recipe import load_recipe
    from toolkit.stages import ORDER, recipe_stages

    assert recipe_stages(load_recipe(QUICKSTART)) == list(ORDER)
    corpus_only = REPO / "recipes" / "corpus" / "seoul-admin.yaml"
    assert recipe_stages(load_recipe(corpus_only)) == ["corpus"]
    suite = generation_suite(tmp_path / "suite")
    path = eval_recipe(tmp_path, [suite], [{"name": "m", "kind": "hf", "path": str(tiny_model)}])
    assert recipe_stages(load_recipe(path)) == ["eval", "report"]
    # An override writes a section too.
    assert "train" in recipe_stages(load_recipe(path, ["train.max_steps=2"]))


def test_validate_accepts_a_corpus_recipe_and_an_eval_only_recipe(tmp_path, tiny_model):
    proc = gongmu("recipe", "validate", str(REPO / "recipes" / "corpus" / "seoul-admin.yaml"))
    assert proc.returncode == 0 and "valid for corpus" in " ".join(proc.stderr.split()), proc.stderr
    suite = generation_suite(tmp_path / "suite")
    path = eval_recipe(tmp_path, [suite], [{"name": "m", "kind": "hf", "path": str(tiny_model)}])
    proc = gongmu("recipe", "validate", str(path))
    assert proc.returncode == 0 and "valid for eval, report" in " ".join(proc.stderr.split()), proc.stderr


def test_validate_refuses_an_endpoint_whose_key_variable_is_not_set(tmp_path):
    suite = generation_suite(tmp_path / "suite")
    path = eval_recipe(tmp_path, [suite], [{"name": "api", "kind": "openai", "model": "m",
                                            "base_url": "http://127.0.0.1:9/v1",
                                            "api_key_env": "GONGMU_TEST_UNSET_KEY"}])
    env = {k: v for k, v in os.environ.items() if k != "GONGMU_TEST_UNSET_KEY"}
    proc = gongmu("recipe", "validate", str(path), env=env)
    assert proc.returncode == 2
    said = " ".join(proc.stderr.split())
    assert "GONGMU_TEST_UNSET_KEY, which is not set" in said and "e.yaml:" in said


@pytest.mark.slow  # a real eval and report in fresh processes
def test_eval_only_run_scores_and_reports_without_empty_sections(tmp_path, tiny_model):
    suite = generation_suite(tmp_path / "suite", n=4)
    path = eval_recipe(tmp_path, [suite], [{"name": "m", "kind": "hf", "path": str(tiny_model)}],
                       max_new_tokens=4)
    proc = gongmu("run", str(path), "report.pdf=false")
    assert proc.returncode == 0, proc.stderr
    run_dir = tmp_path / "runs" / "e"
    assert sorted(p.name for p in run_dir.iterdir() if p.is_dir()) == ["eval", "report"]
    html = (run_dir / "report" / "report.html").read_text(encoding="utf-8")
    assert 'id="s_data"' not in html and 'id="s_training"' not in html and 'id="s_export"' not in html
    headings = [h.split("</h2>")[0].split(">", 1)[1] for h in html.split("<h2 ")[1:]]
    assert [h.split(".")[0] for h in headings] == [str(i) for i in range(1, len(headings) + 1)]
    assert any("한계" in h for h in headings)
    # The suites' contamination statement is kept, under the limitations.
    assert "오염" in html.split('id="s_limits"', 1)[1] or "public" in html.split('id="s_limits"', 1)[1]


# --------------------------------------------------------------------------- overrides


@pytest.fixture
def recipe_with_candidates(tmp_path) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(
        "name: ov\n"
        "eval:\n  suites: []\n  candidates:\n"
        "    - {name: api, kind: openai, base_url: 'http://127.0.0.1:9/v1', model: m}\n"
        "    - {name: tuned, kind: stage, stage: train}\n"
        "report:\n  acceptance:\n    gen: {minimum: 0.2}\n", encoding="utf-8")
    return path


def test_overrides_reach_fields_inside_candidates_and_named_sections(recipe_with_candidates):
    from toolkit.recipe import load_recipe

    recipe = load_recipe(recipe_with_candidates, [
        "eval.candidates.0.base_url=http://127.0.0.1:8/v1", "eval.candidates.1.stage=export",
        "report.acceptance.gen.minimum=0.5", "report.acceptance.new={maximum: 0.1}"])
    assert recipe.eval.candidates[0].base_url == "http://127.0.0.1:8/v1"
    assert recipe.eval.candidates[1].stage == "export"
    assert recipe.report.acceptance["gen"].minimum == 0.5
    assert recipe.report.acceptance["new"].maximum == 0.1
    assert recipe.where("eval", "candidates", 0, "base_url") == "<command line>"


@pytest.mark.parametrize("override, said", [
    ("eval.candidates.0.bogus=1", "unknown key 'eval.candidates[0].bogus'"),
    ("eval.candidates.1.base_url=x", "Valid keys here: name, kind, stage"),
    ("eval.candidates.x.name=1", "give an item's index"),
    ("report.acceptance.gen.bogus=1", "unknown key 'report.acceptance.gen.bogus'"),
    ("train.learning_rate.x=1", "'train.learning_rate' has no keys"),
])
def test_override_of_a_key_a_candidate_or_section_lacks_is_refused(recipe_with_candidates, override, said):
    from toolkit.errors import RecipeError
    from toolkit.recipe import load_recipe

    with pytest.raises(RecipeError) as caught:
        load_recipe(recipe_with_candidates, [override])
    assert said in str(caught.value)
