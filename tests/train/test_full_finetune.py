"""Full fine-tuning (train.method=full) of a small model, through every stage: every weight
is trained and saved as a plain checkpoint, eval scores that checkpoint, the export needs
no merge and matches it, and the report says what was trained."""

from __future__ import annotations

import pytest
from safetensors.torch import load_file

from tests.helpers import write_recipe
from toolkit.artifacts import read_json, read_jsonl, verify_folder
from toolkit.errors import GongmuError
from toolkit.recipe import load_recipe
from toolkit.stages import ORDER as STAGES
from toolkit.train.trainer import check_full_finetune_fits


@pytest.fixture(scope="module")
def full_run(tiny_model, tmp_path_factory):
    from toolkit.stages import ORDER, run_stage
    folder = tmp_path_factory.mktemp("full")
    recipe = load_recipe(write_recipe(folder, tiny_model, name="full"),
                         ["train.method=full", "train.learning_rate=1e-3", "tracking.enabled=false"])
    for stage in ORDER:
        run_stage(recipe, stage)
    return recipe


def _weights(folder):
    tensors = {}
    for shard in sorted(folder.glob("*.safetensors")):
        tensors.update(load_file(shard))
    return tensors


@pytest.mark.slow
def test_full_finetuning_trains_and_saves_every_weight(full_run, tiny_model):
    folder = full_run.stage_dir("train")
    figures = read_json(folder / "manifest.json")["figures"]
    assert figures["method"] == "full"
    assert figures["trainable_parameters"] == figures["total_parameters"]
    assert figures["loss_last"] < figures["loss_first"]
    assert not (folder / "adapter").exists()
    assert not list(folder.rglob("*.bin")) and not list(folder.rglob("*.pt"))
    base, trained = _weights(tiny_model), _weights(folder / "model")
    assert trained.keys() == base.keys()
    unchanged = [k for k in base if (trained[k].float() - base[k].float()).abs().max() == 0]
    assert unchanged == []  # embeddings, norms and lm_head too, not only the linear layers
    saved = sum(t.double().abs().sum().item() for t in trained.values())
    assert saved == pytest.approx(figures["trained_abs_sum"], rel=1e-5)


@pytest.mark.slow
def test_eval_scores_the_trained_checkpoint_not_the_base(full_run):
    from toolkit.models import load_trained_tokenizer
    from toolkit.eval.suite import load_suite
    from toolkit.generation import generate
    from toolkit.eval.scoring import suite_prompts
    from toolkit.models import load_model

    folder = full_run.stage_dir("eval")
    base = read_jsonl(folder / "outputs" / "quickstart.base.jsonl")
    tuned = read_jsonl(folder / "outputs" / "quickstart.tuned.jsonl")
    assert [r["prompt_hash"] for r in base] == [r["prompt_hash"] for r in tuned]
    assert [r["output"] for r in base] != [r["output"] for r in tuned]
    # The tuned outputs are the saved checkpoint's own greedy continuations.
    tok = load_trained_tokenizer(full_run.stage_dir("train"))
    suite = load_suite(full_run.eval.suites[0], full_run.stage_dir("corpus"))
    prompts = suite_prompts(tok, suite)[:4]
    model = load_model(full_run.model, path=full_run.stage_dir("train") / "model")
    again = generate(model, tok, prompts, batch_size=4,
                     max_new_tokens=suite.spec.max_new_tokens or full_run.eval.max_new_tokens,
                     stop=suite.spec.stop)
    assert again == [r["output"] for r in tuned[:4]]


@pytest.mark.slow
def test_export_of_a_full_checkpoint_matches_it_and_has_no_adapter(full_run):
    export_dir = full_run.stage_dir("export")
    figures = read_json(export_dir / "manifest.json")["figures"]
    verification = read_json(export_dir / "verification.json")
    assert verification["passed"] and verification["greedy_identical"]
    assert verification["max_abs_logit_diff"] <= 1e-4
    assert figures["adapter"].startswith("none")
    assert not (export_dir / "adapter").exists() and not (export_dir / "serve_adapter.sh").exists()
    assert (export_dir / "serve.sh").is_file() and figures["gguf_files"]
    exported = _weights(export_dir / "model")
    trained = _weights(full_run.stage_dir("train") / "model")
    assert max((exported[k] - trained[k]).abs().max().item() for k in trained) == 0.0
    assert "full fine-tuning" in (export_dir / "model" / "README.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_report_and_every_manifest_of_a_full_run_verify(full_run):
    for stage in STAGES:
        assert verify_folder(full_run.stage_dir(stage)) == [], stage
    html = (full_run.stage_dir("report") / "report.html").read_text(encoding="utf-8")
    assert "전체 미세조정(모든 가중치 학습)" in html and "r=16" not in html  # the Korean report


def test_full_finetuning_that_cannot_fit_one_device_is_refused_before_training():
    with pytest.raises(GongmuError, match=r"7\.62B parameters needs about 122 GB .* has 80 GB"):
        check_full_finetune_fits(7_615_616_512, sharded=False, available=80 * 10**9,
                                 device="the GPU")
    # Sharded states (ZeRO-3, FSDP) are split over the ranks: the estimate is recorded.
    assert check_full_finetune_fits(7_615_616_512, sharded=True) == pytest.approx(121.85)
    assert check_full_finetune_fits(494_032_768, sharded=False, available=80 * 10**9) == pytest.approx(7.9)
