"""NaN never ships: an adapter gone NaN (a diverged run) or a weight that is infinite in
the exported files fails export verification, naming what is not finite (issue 15,
item 3). `max(worst, nan)` used to drop the NaN and report a difference of 0."""

from __future__ import annotations

import json

import torch
from safetensors.torch import load_file, save_file

from toolkit.models import load_model, load_tokenizer
from toolkit.recipe import ExportSection, ModelSection

PROBES = [
    [{"role": "user", "content": "「서울특별시 업무용 인공지능 활용 지침」 제4조의 내용은?"},
     {"role": "assistant", "content": "개인정보 및 민감정보를 입력해서는 아니 된다."}],
    [{"role": "user", "content": "다음 문서의 종류는?"}, {"role": "assistant", "content": "공문"}],
]


def lora_adapter(model_dir, out, fill=None):
    """A LoRA adapter on every linear layer (B != 0, so it changes the model); with `fill`,
    every adapter weight is set to that value, as a diverged run leaves them."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(1)
    config = LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", init_lora_weights=False)
    get_peft_model(load_model(ModelSection(path=model_dir), dtype="float32"), config).save_pretrained(out)
    if fill is not None:
        weights = load_file(out / "adapter_model.safetensors")
        save_file({k: torch.full_like(v, fill) for k, v in weights.items()},
                  out / "adapter_model.safetensors", metadata={"format": "pt"})
    return out


def merge_save_verify(model_dir, adapter, out):
    from toolkit.export.merge import merge_adapter
    from toolkit.export.verify import max_logit_diff, verify_export

    section = ModelSection(path=model_dir)
    tok = load_tokenizer(section)
    adapter_model, merged = merge_adapter(section, adapter)
    in_memory = max_logit_diff(adapter_model, merged, tok, PROBES)
    merged.save_pretrained(out)
    tok.save_pretrained(out)
    return adapter_model, tok, verify_export(out, adapter_model, tok, PROBES, ExportSection(),
                                             in_memory)


def test_an_all_nan_adapter_fails_export_verification(tiny_model, tmp_path):
    adapter = lora_adapter(tiny_model, tmp_path / "adapter", fill=float("nan"))
    _, _, report = merge_save_verify(tiny_model, adapter, tmp_path / "model")
    assert not report["passed"]
    failures = "; ".join(report["failures"])
    assert "the exported model has NaN or infinite weights in model.layers.0." in failures
    assert "the trained model has NaN or infinite weights in base_model.model." in failures
    assert "the exported model gives NaN or infinite logits on 2 of 2 probe conversations" in failures
    assert "the fp32 merge's logits or the trained model's are NaN or infinite" in failures
    # The report stays valid JSON: no NaN figure, null instead of a 0 that looks like a pass.
    assert report["max_abs_logit_diff"] is None and report["max_abs_logit_diff_in_memory_merge"] is None
    json.dumps(report, allow_nan=False)


def test_one_infinite_exported_weight_fails_verification_in_any_dtype(tiny_model, tmp_path):
    from toolkit.export.verify import verify_export

    adapter = lora_adapter(tiny_model, tmp_path / "adapter")
    adapter_model, tok, report = merge_save_verify(tiny_model, adapter, tmp_path / "model")
    assert report["passed"], report["failures"]
    path = tmp_path / "model" / "model.safetensors"
    weights = load_file(path)
    weights["model.layers.1.mlp.up_proj.weight"][3, 5] = float("inf")
    save_file(weights, path, metadata={"format": "pt"})
    # bfloat16 exports skip the logit-difference bound; the finiteness check does not.
    bad = verify_export(tmp_path / "model", adapter_model, tok, PROBES,
                        ExportSection(dtype="bfloat16"), 0.0)
    assert not bad["passed"]
    assert ("the exported model has NaN or infinite weights in model.layers.1.mlp.up_proj.weight"
            in bad["failures"])
