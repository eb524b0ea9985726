"""One real end-to-end run (tiny model, real PEFT/TRL/MLflow), then its folders inspected:
manifests verify, stages re-run alone from disk, tampering is refused, the export matches
the adapter model, the report opens in a real browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from safetensors.torch import load_file

from tests.helpers import ec_key_pair, gongmu
from toolkit.artifacts import read_json, read_jsonl, verify_folder
from toolkit.recipe import load_recipe
from toolkit.stages import ORDER as STAGES


pytestmark = pytest.mark.slow  # the end-to-end pipeline run


def test_every_stage_folder_has_a_manifest_that_verifies(pipeline_run):
    for stage in STAGES:
        folder = pipeline_run.stage_dir(stage)
        assert verify_folder(folder) == [], stage
        manifest = read_json(folder / "manifest.json")
        assert manifest["recipe"]["hash"] == pipeline_run.hash()
    lineage = read_json(pipeline_run.stage_dir("report") / "manifest.json")["lineage"]
    assert set(lineage) == {"corpus", "train", "eval", "export"}
    assert gongmu("export", "verify", str(pipeline_run.stage_dir("export"))).returncode == 0
    trail = gongmu("audit", "verify", str(pipeline_run.output_dir))  # all five anchored, in order
    assert trail.returncode == 0 and "anchors it" in trail.stderr, trail.stdout + trail.stderr


def test_training_learned_and_saved_a_nonzero_safetensors_adapter(pipeline_run):
    folder = pipeline_run.stage_dir("train")
    figures = read_json(folder / "manifest.json")["figures"]
    assert figures["steps"] == 24
    assert figures["loss_last"] < figures["loss_first"]
    curve = read_jsonl(folder / "loss_curve.jsonl")
    assert [r["step"] for r in curve] == [4, 8, 12, 16, 20, 24]
    weights = load_file(folder / "adapter" / "adapter_model.safetensors")
    lora_b = [t for name, t in weights.items() if "lora_B" in name]
    assert lora_b and all(t.abs().sum() > 0 for t in lora_b)
    assert not list(folder.rglob("*.bin")) and not list(folder.rglob("*.pt"))


def test_eval_scores_base_and_tuned_on_the_same_items(pipeline_run):
    folder = pipeline_run.stage_dir("eval")
    results = read_json(folder / "results.json")["suites"]["quickstart"]
    base = read_jsonl(folder / "outputs" / "quickstart.base.jsonl")
    tuned = read_jsonl(folder / "outputs" / "quickstart.tuned.jsonl")
    assert [r["id"] for r in base] == [r["id"] for r in tuned] and len(base) == results["items"]
    assert [r["prompt_hash"] for r in base] == [r["prompt_hash"] for r in tuned]
    assert [r["output"] for r in base] != [r["output"] for r in tuned]
    for label, rows in (("base", base), ("tuned", tuned)):
        mean = sum(r["scores"]["chrf"] for r in rows) / len(rows)
        assert results["models"][label]["scores"]["chrf"] == pytest.approx(mean)
    said = results["contamination"]  # what was kept out of training, and what cannot be
    assert said["held_out"].startswith("Items are the corpus stage's held-out examples")
    assert "pretraining data" in said["statement"] and said["held_out"] in said["statement"]


def _differences(a, b, path="") -> list[str]:
    """Where two JSON values differ, as paths with both values (for assertion messages)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _differences(a.get(k), b.get(k), f"{path}/{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for k, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{path}[{k}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"[:300]]


def _copy_run(pipeline_run, tmp_path):
    """The run's folders copied elsewhere, and a recipe pointing there."""
    shutil.copytree(pipeline_run.run_dir, tmp_path / "runs" / pipeline_run.name)
    recipe = tmp_path / "copy.yaml"
    recipe.write_text(f"extends: {pipeline_run.file}\noutput_dir: {tmp_path / 'runs'}\n"
                      "tracking: {enabled: false}\n", encoding="utf-8")
    return recipe, tmp_path / "runs" / pipeline_run.name


def test_eval_reruns_alone_from_disk_and_refuses_a_tampered_train_folder(pipeline_run, tmp_path):
    recipe, run_dir = _copy_run(pipeline_run, tmp_path)
    before = read_json(run_dir / "eval" / "results.json")
    proc = gongmu("eval", str(recipe))
    assert proc.returncode == 0, proc.stderr
    after = read_json(run_dir / "eval" / "results.json")["suites"]
    assert after == before["suites"], _differences(before["suites"], after)

    adapter = run_dir / "train" / "adapter" / "adapter_model.safetensors"
    data = bytearray(adapter.read_bytes())
    data[-1] ^= 0xFF
    adapter.write_bytes(bytes(data))
    proc = gongmu("eval", str(recipe))
    assert proc.returncode != 0
    assert "adapter_model.safetensors does not match its sha256" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert gongmu("export", "verify", str(run_dir / "train")).returncode == 1


def test_run_from_to_reruns_only_the_named_stages(pipeline_run, tmp_path):
    recipe, run_dir = _copy_run(pipeline_run, tmp_path)
    eval_manifest = (run_dir / "eval" / "manifest.json").read_bytes()
    proc = gongmu("run", str(recipe), "--from", "report", "--to", "report")
    assert proc.returncode == 0, proc.stderr
    assert (run_dir / "eval" / "manifest.json").read_bytes() == eval_manifest
    assert verify_folder(run_dir / "report") == []


def test_export_matches_the_adapter_model_and_loads_without_gongmu(pipeline_run):
    folder = pipeline_run.stage_dir("export")
    report = read_json(folder / "verification.json")
    assert report["passed"] and report["max_abs_logit_diff"] <= 1e-4
    assert report["greedy_identical"] and report["chat_template_identical"]
    for name in ("model.safetensors.index.json", "chat_template.jinja", "generation_config.json",
                 "tokenizer.json", "config.json", "README.md"):
        assert (folder / "model" / name).is_file(), name
    code = (
        "import sys, torch\n"
        "from transformers import AutoModelForCausalLM, AutoTokenizer\n"
        "d = sys.argv[1]\n"
        "tok = AutoTokenizer.from_pretrained(d); m = AutoModelForCausalLM.from_pretrained(d)\n"
        "ids = tok.apply_chat_template([{'role': 'user', 'content': '문서 종류는?'}],"
        " add_generation_prompt=True, return_tensors='pt', return_dict=True)\n"
        "out = m.generate(**ids, max_new_tokens=5, do_sample=False)\n"
        "assert out.shape[1] > ids['input_ids'].shape[1]\n"
        "assert not any(k.startswith('toolkit') for k in sys.modules)\n"
        "print('OK')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(folder / "model")],
                          capture_output=True, text=True, env={"HF_HUB_OFFLINE": "1", "PATH": ""})
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr


def test_report_is_self_contained_and_shows_base_vs_tuned_in_a_browser(pipeline_run, tmp_path):
    html_path = pipeline_run.stage_dir("report") / "report.html"
    html = html_path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "external reference"
    assert "<script" not in html and "<link" not in html
    assert "<svg" in html  # the loss plot, inline
    results = read_json(pipeline_run.stage_dir("eval") / "results.json")["suites"]["quickstart"]
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "Chromium is required: scripts/setup/install_browser.sh installs it"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([browser, *flags, "--dump-dom", html_path.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    table = dom[dom.index('id="scores"'):dom.index("</table>", dom.index('id="scores"'))]
    for label in ("base", "tuned"):
        for metric, value in results["models"][label]["scores"].items():
            assert f"{value:.3f}" in table, (label, metric)
    assert "판정표" in dom and "배포 파일 검증" in dom and "● 통과" in dom
    shot = tmp_path / "report.png"
    subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1100,1400",
                    html_path.as_uri()], capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 20_000


def test_local_mlflow_store_has_one_run_per_stage_with_metrics(pipeline_run):
    from mlflow.tracking import MlflowClient

    from toolkit.tracking import tracking_uri

    client = MlflowClient(tracking_uri=tracking_uri(pipeline_run))
    experiment = client.get_experiment_by_name(pipeline_run.name)
    runs = client.search_runs([experiment.experiment_id])
    assert {r.data.tags["gongmu.stage"] for r in runs} == set(STAGES)
    train_run = next(r for r in runs if r.data.tags["gongmu.stage"] == "train")
    assert len(client.get_metric_history(train_run.info.run_id, "train/loss")) == 6
    assert train_run.data.params["train.max_steps"] == "24"
    artifacts = {a.path for a in client.list_artifacts(train_run.info.run_id)}
    assert {"manifest.json", "adapter"} <= artifacts


def test_export_refuses_a_base_model_that_changed_since_training(tiny_model, tmp_path):
    from toolkit.errors import ArtifactError
    from toolkit.stages import run_stage
    from tests.helpers import write_recipe

    model = tmp_path / "base"
    shutil.copytree(tiny_model, model)
    recipe = load_recipe(write_recipe(tmp_path, model, name="drift"),
                         ["train.max_steps=2", "tracking.enabled=false"])
    run_stage(recipe, "corpus")
    run_stage(recipe, "train")
    # Fewer steps than logging_steps: the curve still ends at the last step.
    assert [r["step"] for r in read_jsonl(recipe.stage_dir("train") / "loss_curve.jsonl")] == [2]
    recorded = read_json(recipe.stage_dir("train") / "base_model.json")
    assert set(recorded["files"]) >= {"config.json", "model.safetensors"}
    gen = json.loads((model / "generation_config.json").read_text())
    gen["max_new_tokens"] = 7
    (model / "generation_config.json").write_text(json.dumps(gen))
    with pytest.raises(ArtifactError, match="changed since the adapter was trained.*generation_config.json"):
        run_stage(recipe, "export")
    assert not recipe.stage_dir("export").exists()
    from toolkit.stages import run_stage
    with pytest.raises(ArtifactError, match="changed since the adapter was trained"):
        run_stage(recipe, "eval")


def test_a_failed_export_check_leaves_no_export_folder(pipeline_run, tmp_path):
    recipe, run_dir = _copy_run(pipeline_run, tmp_path)
    shutil.rmtree(run_dir / "export")
    proc = gongmu("export", str(recipe), "export.max_logit_diff=1e-12")
    assert proc.returncode == 2, proc.stderr
    assert "does not match the trained model" in proc.stderr and "exceeds" in proc.stderr
    assert not (run_dir / "export").exists()
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".export")]


def test_greedy_outputs_do_not_depend_on_batch_size(pipeline_run):
    from peft import PeftModel

    from toolkit.generation import generate, render_prompts

    from toolkit.models import load_trained_tokenizer
    from toolkit.models import load_model

    train_dir = pipeline_run.stage_dir("train")
    tok = load_trained_tokenizer(train_dir)
    model = PeftModel.from_pretrained(load_model(pipeline_run.model), train_dir / "adapter")
    items = read_jsonl(pipeline_run.stage_dir("corpus") / "test.jsonl")[:16]
    prompts = render_prompts(tok, items)
    one = generate(model, tok, prompts, batch_size=1, max_new_tokens=12)
    sixteen = generate(model, tok, prompts, batch_size=16, max_new_tokens=12)
    assert one == sixteen
    assert len(set(one)) > 1


def test_export_bundles_shards_serving_scripts_adapter_gguf_and_a_model_card(pipeline_run):
    folder = pipeline_run.stage_dir("export")
    figures = read_json(folder / "manifest.json")["figures"]
    assert figures["shards"] == len(list((folder / "model").glob("*.safetensors"))) >= 2
    gen = read_json(folder / "model" / "generation_config.json")
    assert len(gen["eos_token_id"]) == 2  # both stop tokens of the family survive
    serve = (folder / "serve.sh").read_text()
    assert 'vllm serve "$HERE/model"' in serve and "--max-model-len" in serve
    assert "--enable-lora" in (folder / "serve_adapter.sh").read_text()
    assert (folder / "adapter" / "adapter_model.safetensors").is_file()
    assert figures["gguf_files"] == ["t-f16.gguf", "t-q8_0.gguf"]
    assert "FROM ./t-q8_0.gguf" in (folder / "gguf" / "Modelfile").read_text()
    card = (folder / "model" / "README.md").read_text()
    assert card.startswith("---\nbase_model:") and "## Evaluation" in card
    results = read_json(pipeline_run.stage_dir("eval") / "results.json")["suites"]["quickstart"]
    assert f"{results['models']['tuned']['scores']['chrf']:.4f}" in card
    lineage = read_json(folder / "manifest.json")["lineage"]
    assert set(lineage) == {"corpus", "train", "eval"}


def test_export_with_a_signing_key_writes_a_signature_that_verifies(pipeline_run, tmp_path):
    recipe, run_dir = _copy_run(pipeline_run, tmp_path)
    ec_key_pair(tmp_path)
    proc = gongmu("export", str(recipe), f"export.signing_key={tmp_path / 'key.pem'}", "export.gguf=[]")
    assert proc.returncode == 0, proc.stderr
    assert (run_dir / "export" / "manifest.sig").is_file()
    verify = ["export", "verify", str(run_dir / "export"), "--signature", "--public-key",
              str(tmp_path / "pub.pem")]
    assert gongmu(*verify).returncode == 0
    (run_dir / "export" / "serve.sh").write_text("#!/bin/sh\necho changed\n")
    proc = gongmu(*verify)
    assert proc.returncode == 1 and "serve.sh does not match its sha256" in proc.stderr
