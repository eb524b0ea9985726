"""The example plug-in (examples/plugin-minwon), installed as a package would be: its reader,
family, item builder and metric carry a recipe through corpus -> train -> eval; its
options are checked by its own models with file:line errors; `gongmu plugins` lists it;
and a plug-in that fails to import names its package without breaking the CLI.

The package is installed into a temporary folder (`pip install --target`), never into the
shared venv; gongmu runs see it through PYTHONPATH, in-process tests through sys.path."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, gongmu
from tests.plugins.registered import write_dist_info
from toolkit import plugins
from toolkit.errors import RecipeError
from toolkit.recipe import load_recipe

EXAMPLE = REPO / "examples" / "plugin-minwon"
RECIPE = EXAMPLE / "recipe.yaml"


@pytest.fixture(scope="session")
def minwon_site(tmp_path_factory) -> Path:
    """A folder holding gongmu-minwon as pip installs it (package + .dist-info). Built
    from a copy, so the build leaves nothing in the checkout."""
    work = tmp_path_factory.mktemp("minwon")
    source = shutil.copytree(EXAMPLE, work / "src", ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__"))
    site = work / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-compile", "--target", str(site), str(source)],
                   check=True, capture_output=True, text=True, timeout=300)
    return site


def _env(*folders: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*map(str, folders), env.get("PYTHONPATH", "")])
    env["COLUMNS"] = "200"  # one table row per line
    return env


@pytest.fixture
def on_sys_path(monkeypatch):
    """Put folders on sys.path for this test, with the plug-in registry re-read."""
    def add(folder: Path) -> None:
        monkeypatch.syspath_prepend(str(folder))
        plugins.refresh()

    yield add
    plugins.refresh()


def _output(proc: subprocess.CompletedProcess) -> str:
    return re.sub(r"\s+", " ", proc.stdout + proc.stderr)


# --- end to end ------------------------------------------------------------------------


@pytest.mark.slow
def test_corpus_train_eval_run_on_the_plugins_reader_family_builder_and_metric(
        minwon_site, tiny_model, tmp_path):
    runs = tmp_path / "runs"
    proc = gongmu("run", str(RECIPE), "--to", "eval", f"model.path={tiny_model}",
                  f"output_dir={runs}", "train.max_steps=4", "tracking.enabled=false",
                  env=_env(minwon_site))
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = runs / "minwon-routing"

    accounting = [json.loads(line) for line in
                  (run / "corpus" / "accounting.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(accounting) == 21  # one per row of the export
    [bad] = [a for a in accounting if a["status"] == "quarantined"]
    assert bad["path"].endswith("minwon_export.csv:22") and "민원내용 is empty" in bad["reason"]
    records = [json.loads(line) for split in ("train", "test")
               for line in (run / "corpus" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]
    assert records and {r["meta"]["task"] for r in records} == {"minwon_routing"}
    corpus_text = json.dumps(records, ensure_ascii=False)
    assert "가상민" not in corpus_text and "010-0000" not in corpus_text  # private columns
    assert all(len(r["messages"][0]["content"]) < 500 for r in records)  # family_options

    results = json.loads((run / "eval" / "results.json").read_text(encoding="utf-8"))
    suite = results["suites"]["minwon-routing"]
    assert suite["task_type"] == "generation" and suite["primary_metric"] == "department_named"
    assert suite["higher_is_better"] == {"department_named": True, "chrf": True}
    assert suite["items"] == len([r for r in records if r["meta"]["split"] == "test"]) > 0
    rows = (run / "eval" / "outputs" / "minwon-routing.tuned.jsonl").read_text(encoding="utf-8")
    assert all(json.loads(r)["scores"]["department_named"] in (0.0, 1.0) for r in rows.splitlines())

    def plugin_records(stage: str) -> set[tuple]:
        manifest = json.loads((run / stage / "manifest.json").read_text(encoding="utf-8"))
        return {(p["group"], p["name"], p["package"], p["version"]) for p in manifest["plugins"]}

    assert {("gongmu.readers", "minwon_csv", "gongmu-minwon", "0.1.0"),
            ("gongmu.families", "minwon_routing", "gongmu-minwon", "0.1.0")} <= plugin_records("corpus")
    assert {("gongmu.suites", "minwon_routing", "gongmu-minwon", "0.1.0"),
            ("gongmu.metrics", "department_named", "gongmu-minwon", "0.1.0"),
            ("gongmu.metrics", "chrf", "gongmu", "0.1.0")} <= plugin_records("eval")


# --- options checked by the plug-in's own models ---------------------------------------


def _minwon_recipe(folder: Path, corpus_extra: str) -> Path:
    path = folder / "r.yaml"
    path.write_text(
        "name: t\n"
        "corpus:\n"
        "  sources:\n"
        f"    - type: minwon_csv\n"
        f"      path: {EXAMPLE / 'data'}\n"
        + corpus_extra, encoding="utf-8")
    return path


def test_a_misspelled_reader_option_names_its_line_and_the_nearest_option(
        minwon_site, on_sys_path, tmp_path):
    on_sys_path(minwon_site)
    path = _minwon_recipe(tmp_path, "      options:\n        encodng: cp949\n")
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    message = str(err.value)
    assert f"{path}:7:" in message and "corpus.sources[0].options.encodng" in message
    assert "reader 'minwon_csv'" in message and "did you mean 'encoding'?" in message


def test_family_options_are_checked_by_the_familys_model_at_their_line(
        minwon_site, on_sys_path, tmp_path):
    on_sys_path(minwon_site)
    path = _minwon_recipe(tmp_path, "  families: [minwon_routing]\n"
                                    "  family_options:\n"
                                    "    minwon_routing:\n"
                                    "      max_complaint_chars: 0\n")
    with pytest.raises(RecipeError, match=rf"{re.escape(str(path))}:9: key "
                       r"'corpus\.family_options\.minwon_routing\.max_complaint_chars' "
                       r"input should be greater than 0"):
        load_recipe(path)
    path.write_text(path.read_text(encoding="utf-8").replace("max_complaint_chars: 0",
                                                             "max_chars: 300"), encoding="utf-8")
    with pytest.raises(RecipeError, match="did you mean 'max_complaint_chars'"):
        load_recipe(path)
    path.write_text(path.read_text(encoding="utf-8").replace("max_chars: 300",
                                                             "max_complaint_chars: 300"), encoding="utf-8")
    recipe = load_recipe(path)
    assert recipe.corpus.family_options["minwon_routing"]["max_complaint_chars"] == 300
    assert recipe.corpus.sources[0].options["private_columns"] == ["민원인", "연락처"]  # defaults
    assert recipe.corpus.sources[0].file_glob == "**/*.csv"  # the reader's default glob


def test_a_reader_that_is_not_installed_is_a_recipe_error_at_its_line(tmp_path):
    path = _minwon_recipe(tmp_path, "")
    with pytest.raises(RecipeError, match=rf"{re.escape(str(path))}:4: .*unknown reader "
                       r"'minwon_csv'.*Installed: documents"):
        load_recipe(path)


# --- gongmu plugins, and a broken plug-in ----------------------------------------------


def test_gongmu_plugins_lists_builtins_and_the_example_with_package_and_version(minwon_site):
    proc = gongmu("plugins", env=_env(minwon_site))
    assert proc.returncode == 0, proc.stderr
    out = _output(proc)
    for group, name, package in [("gongmu.readers", "minwon_csv", "gongmu-minwon"),
                                 ("gongmu.families", "minwon_routing", "gongmu-minwon"),
                                 ("gongmu.suites", "minwon_routing", "gongmu-minwon"),
                                 ("gongmu.metrics", "department_named", "gongmu-minwon"),
                                 ("gongmu.readers", "statutes", "gongmu"),
                                 ("gongmu.families", "lookup", "gongmu"),
                                 ("gongmu.suites", "doc_routing", "gongmu"),
                                 ("gongmu.metrics", "pii_leak", "gongmu")]:
        version = "0.1.0"
        assert group in out and f"{name} {package} {version} ok" in out


@pytest.fixture
def broken_site(tmp_path) -> Path:
    """A package whose reader needs a client library that is not installed."""
    site = tmp_path / "broken-site"
    site.mkdir()
    (site / "gongmu_saeol.py").write_text(
        'raise ImportError("the 새올 records client (saeol-client) is not installed")\n',
        encoding="utf-8")
    write_dist_info(site, "gongmu-saeol", "2.3.0",
                    {"gongmu.readers": {"saeol_export": "gongmu_saeol:READER"}})
    return site


def test_a_plugin_that_fails_to_import_breaks_neither_help_nor_the_listing(broken_site):
    env = _env(broken_site)
    helped = gongmu("--help", env=env)
    assert helped.returncode == 0 and "plugins" in helped.stdout
    listed = gongmu("plugins", env=env)
    assert listed.returncode == 0, listed.stderr
    out = _output(listed)
    assert "saeol_export gongmu-saeol 2.3.0 broken: ImportError: the 새올 records client" in out
    assert "chrf gongmu 0.1.0 ok" in out


def test_using_a_plugin_that_fails_to_import_names_its_package_in_one_paragraph(
        broken_site, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: t\ncorpus:\n  sources:\n    - type: saeol_export\n"
                      f"      path: {tmp_path}\n", encoding="utf-8")
    proc = gongmu("recipe", "validate", str(recipe), env=_env(broken_site))
    assert proc.returncode == 2
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out
    message = _output(proc)
    assert ("The reader 'saeol_export' cannot be used: its package gongmu-saeol 2.3.0 "
            "(entry point saeol_export = gongmu_saeol:READER) fails to import (ImportError: "
            "the 새올 records client (saeol-client) is not installed)") in message
