"""Recipes: schema, extends, overrides, and errors that name file, line and nearest key."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, gongmu
from toolkit.cli import main
from toolkit.errors import RecipeError
from toolkit.recipe import load_recipe
from toolkit.train.launch import CONFIGS


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_misspelled_key_error_names_key_file_line_and_nearest_key(tmp_path, capsys):
    recipe = write(tmp_path / "r.yaml", "name: r\ntrain:\n  epochs: 1\n  learnig_rate: 1e-4\n")
    assert main(["recipe", "validate", str(recipe)]) != 0
    err = capsys.readouterr().err
    assert "train.learnig_rate" in err
    assert f"{recipe}:4" in err
    assert "Did you mean 'learning_rate'?" in err


def test_wrong_type_names_expected_type(tmp_path):
    recipe = write(tmp_path / "r.yaml", "name: r\ntrain:\n  batch_size: many\n")
    with pytest.raises(RecipeError) as err:
        load_recipe(recipe)
    assert "train.batch_size" in str(err.value) and "expected int" in str(err.value)
    assert f"{recipe}:3" in str(err.value)


def test_missing_model_path_fails_before_loading_anything(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    recipe = write(tmp_path / "r.yaml", f"name: r\ncorpus:\n  sources:\n    - path: {docs}\n"
                   "model:\n  path: Qwen/Qwen2.5-7B-Instruct\n")
    code = (
        "import sys; from toolkit.cli import main; rc = main(['recipe', 'validate', sys.argv[1]]);"
        "heavy = [m for m in ('torch', 'transformers', 'peft') if m in sys.modules];"
        "print('HEAVY', heavy); sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(recipe)], capture_output=True,
                          text=True, cwd=REPO)
    assert proc.returncode != 0
    assert "model.path" in proc.stderr and "does not exist" in proc.stderr
    assert f"{recipe}:6" in proc.stderr
    assert "never downloads" in proc.stderr  # looks like a Hub id
    assert "gongmu model tiny" not in proc.stderr  # never a random model under a real name
    assert "HEAVY []" in proc.stdout


@pytest.mark.parametrize("recipe", ["qwen2.5-7b/lora.yaml", "exaone-3.5-2.4b/full.yaml"])
def test_a_real_models_missing_folder_is_to_be_filled_with_its_files_not_a_tiny_model(recipe):
    from toolkit.models import model_path_problems

    loaded = load_recipe(REPO / "recipes" / recipe, ["model.path=/nonexistent/models/m-7b"])
    [problem] = model_path_problems(loaded)
    assert "does not exist" in problem and "config.json" in problem and "safetensors" in problem
    assert "gongmu model tiny" not in problem


def test_the_quickstarts_missing_tiny_model_names_the_command_that_builds_it(tmp_path):
    from toolkit.models import model_path_problems

    out = tmp_path / "models" / "tiny-ko"
    loaded = load_recipe(REPO / "recipes" / "quickstart.yaml", [f"model.path={out}"])
    [problem] = model_path_problems(loaded)
    assert f"gongmu model tiny --corpus DOCS --out {out}" in problem


def test_extends_deep_merges_and_resolves_paths_against_the_naming_file(tmp_path):
    write(tmp_path / "base" / "base.yaml",
          "name: base\nseed: 1\ncorpus:\n  sources:\n    - path: docs\n"
          "train:\n  learning_rate: 1e-3\n  lora: {r: 4, alpha: 8}\n")
    child = write(tmp_path / "child.yaml",
                  "extends: base/base.yaml\nname: child\ntrain:\n  lora: {r: 16}\n"
                  "model:\n  path: models/m\n")
    recipe = load_recipe(child)
    assert recipe.name == "child" and recipe.seed == 1
    assert recipe.train.learning_rate == 1e-3
    assert recipe.train.lora.r == 16 and recipe.train.lora.alpha == 8
    assert recipe.corpus.sources[0].path == (tmp_path / "base" / "docs").resolve()
    assert recipe.model.path == (tmp_path / "models" / "m").resolve()
    # An error in the parent names the parent's file and line.
    write(tmp_path / "base" / "base.yaml", "name: base\ntrain:\n  lr: 1\n")
    with pytest.raises(RecipeError) as err:
        load_recipe(child)
    assert f"{tmp_path / 'base' / 'base.yaml'}:3" in str(err.value)


def test_extends_cycle_is_refused(tmp_path):
    write(tmp_path / "a.yaml", "extends: b.yaml\nname: a\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\nname: b\n")
    with pytest.raises(RecipeError, match="cycle"):
        load_recipe(tmp_path / "a.yaml")


def test_overrides_are_typed_by_the_schema(tmp_path, monkeypatch):
    recipe = write(tmp_path / "r.yaml", "name: r\n")
    monkeypatch.chdir(tmp_path)
    loaded = load_recipe(recipe, ["train.learning_rate=1e-4", "train.lora.target_modules=[q_proj,v_proj]",
                                  "model.path=models/qwen", "tracking.enabled=false"])
    assert loaded.train.learning_rate == pytest.approx(1e-4)
    assert loaded.train.lora.target_modules == ["q_proj", "v_proj"]
    assert loaded.model.path == (tmp_path / "models" / "qwen").resolve()
    assert loaded.tracking.enabled is False
    with pytest.raises(RecipeError, match="Did you mean 'learning_rate'"):
        load_recipe(recipe, ["train.learning_rat=1"])
    with pytest.raises(RecipeError, match="expected int"):
        load_recipe(recipe, ["train.batch_size=lots"])
    with pytest.raises(RecipeError, match="key=value"):
        load_recipe(recipe, ["train.batch_size"])


def test_duplicate_keys_and_bad_yaml_name_the_line(tmp_path):
    dup = write(tmp_path / "d.yaml", "name: r\nseed: 1\nseed: 2\n")
    with pytest.raises(RecipeError, match=r"d.yaml:3.*set twice"):
        load_recipe(dup)
    bad = write(tmp_path / "b.yaml", "name: r\ntrain:\n  epochs: [1\n")
    with pytest.raises(RecipeError, match=r"b.yaml:\d+: not valid YAML"):
        load_recipe(bad)


def test_show_prints_the_resolved_recipe_with_defaults(tmp_path, capsys):
    recipe = write(tmp_path / "r.yaml", "name: r\n")
    assert main(["recipe", "show", str(recipe), "--json", "train.epochs=3"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["train"]["epochs"] == 3.0
    assert shown["train"]["lora"]["r"] == 8  # a default
    assert shown["output_dir"] == str((tmp_path / "runs").resolve())
    assert set(shown) >= {"name", "seed", "output_dir", "corpus", "model", "train", "eval",
                          "export", "report", "tracking"}


def test_schema_describes_every_section_for_editors():
    proc = gongmu("recipe", "schema", check=True)
    schema = json.loads(proc.stdout)
    assert set(schema["properties"]) >= {"name", "seed", "output_dir", "extends", "corpus", "model",
                                         "train", "eval", "export", "report", "tracking"}
    assert schema["additionalProperties"] is False


GONGMU_RECIPES = sorted(p for p in (REPO / "recipes").rglob("*.yaml") if "accelerate" not in p.parts)


@pytest.mark.parametrize("path", GONGMU_RECIPES, ids=lambda p: str(p.relative_to(REPO / "recipes")))
def test_every_recipe_in_the_repository_loads(path):
    load_recipe(path)


PRODUCTION_RECIPES = [p for p in GONGMU_RECIPES
                      if not p.relative_to(REPO / "recipes").as_posix().startswith("quickstart")]


@pytest.mark.parametrize("path", PRODUCTION_RECIPES, ids=lambda p: str(p.relative_to(REPO / "recipes")))
def test_production_recipes_carry_no_quickstart_value(path):
    """Title, suites, sources, model and output paths: nothing resolves to the quickstart's."""
    resolved = json.dumps(load_recipe(path).resolved(), ensure_ascii=False).lower()
    assert "quickstart" not in resolved
    assert "tiny" not in resolved


MODEL_RECIPES = [p for p in GONGMU_RECIPES if p.stem in {"lora", "qlora", "full"}]


@pytest.mark.parametrize("path", MODEL_RECIPES, ids=lambda p: str(p.relative_to(REPO / "recipes")))
def test_model_recipes_say_how_to_run_them_and_the_gpu_memory_they_need(path):
    head = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        head.append(line)
    head = "\n".join(head)
    assert f"gongmu run {path.relative_to(REPO).as_posix()} model.path=" in head
    assert "memory estimate" in head and re.search(r"about \d+ GB", head), head
    assert load_recipe(path).train.method == path.stem


@pytest.mark.parametrize("path", sorted((CONFIGS / "accelerate").glob("*.yaml")), ids=lambda p: p.name)
def test_accelerate_launch_configs_are_complete(path):
    import yaml

    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert config["distributed_type"] in {"MULTI_GPU", "DEEPSPEED", "FSDP"}
    assert config["num_processes"] >= 1 and config["num_machines"] >= 1
    ds = (config.get("deepspeed_config") or {}).get("deepspeed_config_file")
    if config["distributed_type"] == "DEEPSPEED":
        assert ds and json.loads((path.parent / ds).read_text())["zero_optimization"]["stage"] in (2, 3)


def test_fsdp_config_is_what_accelerate_launch_turns_into_an_fsdp2_plugin(monkeypatch):
    """accelerate's own launch code reads the config into the environment each process
    sees, and its plugin is built from that: FSDP2, resharded after forward, the adapter
    gathered whole on save."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils import FullyShardedDataParallelPlugin
    from accelerate.utils.launch import prepare_multi_gpu_env

    path = CONFIGS / "accelerate" / "fsdp.yaml"
    args = launch_command_parser().parse_args(
        ["--config_file", str(path), "--num_processes", "2", "train.py"])
    env = prepare_multi_gpu_env(_validate_launch_command(args)[0])
    assert env["ACCELERATE_USE_FSDP"] == "true"
    for key, value in env.items():
        if key.startswith("FSDP_"):
            monkeypatch.setenv(key, value)
    plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 2 and plugin.reshard_after_forward is True
    assert plugin.state_dict_type.name == "FULL_STATE_DICT" and plugin.cpu_ram_efficient_loading


def test_cli_usage_errors_exit_2_with_a_message_not_a_traceback():
    proc = gongmu("train")
    assert proc.returncode == 2 and "Missing argument" in proc.stderr
    proc = gongmu("frobnicate")
    assert proc.returncode == 2 and "No such command" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_override_text_values_stay_text_and_bad_overrides_are_refused(tmp_path):
    recipe = write(tmp_path / "r.yaml", "name: r\n")
    loaded = load_recipe(recipe, ["name=007", "report.title=no", "tracking.experiment=2024"])
    assert (loaded.name, loaded.report.title, loaded.tracking.experiment) == ("007", "no", "2024")
    with pytest.raises(RecipeError, match="empty value"):
        load_recipe(recipe, ["model.path="])
    with pytest.raises(RecipeError, match="'extends' cannot be overridden"):
        load_recipe(recipe, ["extends=other.yaml"])
    with pytest.raises(RecipeError, match="max_steps must be -1"):
        load_recipe(recipe, ["train.max_steps=0"])


def test_recipe_hash_does_not_depend_on_where_the_checkout_lies(tmp_path):
    for where in ("a", "b"):
        write(tmp_path / where / "docs" / "x.md", "x")
        write(tmp_path / where / "r.yaml", "name: r\ncorpus:\n  sources:\n    - path: docs\n")
    a, b = load_recipe(tmp_path / "a" / "r.yaml"), load_recipe(tmp_path / "b" / "r.yaml")
    assert a.corpus.sources[0].path != b.corpus.sources[0].path
    assert a.hash() == b.hash()


def test_command_listings_join_a_docstring_first_paragraph():
    """typer keeps a docstring's line breaks in a group's listing; gongmu joins them, so a
    wide terminal shows each command's summary as one sentence."""
    import os

    env = {**os.environ, "COLUMNS": "400", "TERM": "dumb"}
    out = gongmu("--help", env=env).stdout
    assert "manifest (and, with --signature, the manifest's signature)" in out
    out = gongmu("eval", "--help", env=env).stdout
    assert "more than --max-drop (lower bound of the paired CI)" in out
