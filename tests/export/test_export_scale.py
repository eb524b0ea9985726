"""Export at real scale: the shard-wise merge writes exactly what PEFT's whole-model
merge computes (LoRA, rsLoRA, DoRA with modules_to_save, Llama and Qwen2), never holding
more than a shard's worth of the model beyond the output; bf16 and fp16 exports are
verified on the saved files against the adapter model computed in the same dtype, and a
bf16 export corrupted after saving fails; the export stage records peak memory and takes
serve.sh's --max-model-len from the recipe."""

from __future__ import annotations

import json
import shutil
import struct
import tempfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.helpers import DOCS, write_recipe
from toolkit.artifacts import read_json
from toolkit.errors import ArtifactError
from toolkit.export.merge import PeakMemory, merge_shards
from toolkit.export.verify import verify_export
from toolkit.recipe import ExportSection, load_recipe
from toolkit.stages import run_stage
from toolkit.tiny_model import build_tiny_model

PROBES = [
    [{"role": "user", "content": "「서울특별시 업무용 인공지능 활용 지침」 제4조의 내용은?"},
     {"role": "assistant", "content": "개인정보 및 민감정보를 입력해서는 아니 된다."}],
    [{"role": "user", "content": "다음 문서의 종류는?"}, {"role": "assistant", "content": "공문"}],
    [{"role": "user", "content": "민원 처리 기한은?"}, {"role": "assistant", "content": "7일 이내입니다."}],
]
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale-models")
    for arch in ("llama", "qwen2"):
        build_tiny_model(DOCS, root / arch, arch=arch, hidden_size=128, layers=2, vocab_size=1024)
    return root


def _adapter(model_dir, out, **lora):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(3)
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    config = LoraConfig(**{"r": 8, "lora_alpha": 16, "target_modules": "all-linear",
                           "init_lora_weights": False, **lora})
    get_peft_model(base, config).save_pretrained(out)
    return out


def _adapter_model(model_dir, adapter, dtype="float32"):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=DTYPES[dtype])
    return PeftModel.from_pretrained(base, adapter, autocast_adapter_dtype=False).eval()


def _with_tokenizer(model_dir, out):
    from transformers import AutoTokenizer

    AutoTokenizer.from_pretrained(model_dir).save_pretrained(out)
    return out


@pytest.mark.parametrize("lora", [{}, {"use_rslora": True, "r": 4},
                                  {"use_dora": True, "modules_to_save": ["lm_head"]}],
                         ids=["lora", "rslora", "dora+modules_to_save"])
@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_shard_wise_merge_writes_what_peft_merge_and_unload_computes(models, arch, lora, tmp_path):
    from transformers import AutoModelForCausalLM

    model_dir = models / arch
    adapter = _adapter(model_dir, tmp_path / "adapter", **lora)
    figures = merge_shards(model_dir, adapter, tmp_path / "merged", "float32", max_shard_size="1MB")
    assert figures["merge"] == "shard-wise" and figures["shards"] > 1
    assert figures["tensors_merged"] == 14 and figures["tensors_replaced"] == ("modules_to_save" in lora)
    ours = AutoModelForCausalLM.from_pretrained(tmp_path / "merged", dtype=torch.float32).state_dict()
    theirs = _adapter_model(model_dir, adapter).merge_and_unload().state_dict()
    assert ours.keys() == theirs.keys()
    assert max((ours[k] - theirs[k]).abs().max().item() for k in ours) <= 1e-6
    index = json.loads((tmp_path / "merged" / "model.safetensors.index.json").read_text())
    assert set(index["weight_map"]) == set(ours)


def test_the_shard_wise_merge_holds_about_one_shard_not_the_model(tmp_path):
    """A 33M-parameter model (134 MB in fp32) in 8 MB shards: the merge holds one tensor
    at a time (read, merged in fp32, cast), so its resident memory rises by a few times
    the largest tensor (the 16 MB embedding), far below a copy of the model (the
    whole-model merge holds two fp32 copies and more: scripts/bench/merge_memory.py
    measures both)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=8000, hidden_size=512, intermediate_size=1376,
                         num_hidden_layers=8, num_attention_heads=8, num_key_value_heads=8)
    model = LlamaForCausalLM(config)
    model.save_pretrained(tmp_path / "base", max_shard_size="8MB")
    model_bytes = sum(p.numel() * 4 for p in model.parameters())
    largest = max(p.numel() * 4 for p in model.parameters())
    adapter = _adapter(tmp_path / "base", tmp_path / "adapter")
    del model
    with PeakMemory() as peak:
        merge_shards(tmp_path / "base", adapter, tmp_path / "merged", "bfloat16", max_shard_size="8MB")
    rise = peak.figures()["peak_rss_above_start_bytes"]
    assert rise < 3 * largest + (8 << 20) < 0.5 * model_bytes, (rise, largest, model_bytes)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_a_half_precision_export_is_verified_on_its_files_in_its_own_dtype(models, dtype, tmp_path):
    model_dir = models / "llama"
    adapter = _adapter(model_dir, tmp_path / "adapter")
    out = tmp_path / "export"
    merge_shards(model_dir, adapter, out, dtype, max_shard_size="1MB")
    _with_tokenizer(model_dir, out)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    cfg = ExportSection(dtype=dtype)
    report = verify_export(out, _adapter_model(model_dir, adapter, dtype), tok, PROBES, cfg)
    assert report["passed"], report["failures"]
    assert report["compared_in"] == dtype and report["max_abs_logit_diff_in_memory_merge"] is None
    share = cfg.max_logit_diff_bfloat16 if dtype == "bfloat16" else cfg.max_logit_diff_float16
    assert report["max_logit_diff_relative"] == share
    assert report["max_logit_diff_allowed"] == pytest.approx(share * report["logit_scale"])
    assert 0 < report["max_abs_logit_diff"] <= report["max_logit_diff_allowed"]
    agree, total = map(int, report["greedy_agreement"].split("/"))
    assert total == len(PROBES) and 0 <= agree <= total


def _corrupt(folder, name_part: str) -> str:
    """Flip the top exponent bit of the first 256 values of one bf16 weight in a saved
    shard (a bit error in a block of the file: each value is scaled by 2^128 or 2^-128),
    and rewrite the shard."""
    for shard in sorted(folder.glob("*.safetensors")):
        tensors = load_file(shard)
        key = next((k for k in tensors if name_part in k), None)
        if key is None:
            continue
        raw = bytearray(tensors[key].contiguous().view(torch.int16).numpy().tobytes())
        for i in range(0, 512, 2):
            (value,) = struct.unpack_from("<H", raw, i)
            struct.pack_into("<H", raw, i, value ^ 0x4000)
        tensors[key] = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16).reshape(tensors[key].shape).clone()
        save_file(tensors, shard, metadata={"format": "pt"})
        return key
    raise AssertionError(f"no {name_part} weight")


def test_a_bf16_export_corrupted_after_saving_fails_verification(models, tmp_path):
    from transformers import AutoTokenizer

    model_dir = models / "llama"
    adapter = _adapter(model_dir, tmp_path / "adapter")
    out = tmp_path / "export"
    merge_shards(model_dir, adapter, out, "bfloat16", max_shard_size="1MB")
    _with_tokenizer(model_dir, out)
    tok = AutoTokenizer.from_pretrained(model_dir)
    reference = _adapter_model(model_dir, adapter, "bfloat16")
    assert verify_export(out, reference, tok, PROBES, ExportSection(dtype="bfloat16"))["passed"]
    _corrupt(out, "layers.1.mlp.down_proj")
    report = verify_export(out, reference, tok, PROBES, ExportSection(dtype="bfloat16"))
    assert not report["passed"]
    assert any("bfloat16, both sides" in f or "NaN or infinite" in f for f in report["failures"])


@pytest.fixture(scope="module")
def trained(tiny_model):
    """corpus and train once; the export tests run variants of the export on it. The
    folder's path is short: the corpus stage keeps its workers' Unix sockets under the
    run folder, and a socket path has at most 107 bytes."""
    folder = Path(tempfile.mkdtemp(prefix="gm-", dir="/tmp"))
    path = write_recipe(folder, tiny_model)
    recipe = load_recipe(path)
    for stage in ("corpus", "train"):
        run_stage(recipe, stage)
    yield path
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_the_export_stage_merges_shard_wise_in_bf16_and_records_peak_memory(trained):
    recipe = load_recipe(trained, ["export.dtype=bfloat16", "export.max_model_len=512",
                                   "export.gguf=[]"])
    run_stage(recipe, "export")
    folder = recipe.stage_dir("export")
    figures = read_json(folder / "manifest.json")["figures"]
    assert figures["merge"] == "shard-wise" and figures["dtype"] == "bfloat16"
    for key in ("merge_peak_rss_bytes", "verify_peak_rss_bytes", "merge_peak_rss_above_start_bytes"):
        assert figures[key] > 0
    assert figures["serve_max_model_len"] == 512
    assert "--max-model-len 512" in (folder / "serve.sh").read_text()
    verification = read_json(folder / "verification.json")
    assert verification["passed"] and verification["compared_in"] == "bfloat16"
    assert verification["max_abs_logit_diff"] <= verification["max_logit_diff_allowed"]
    config = json.loads((folder / "model" / "config.json").read_text())
    assert config["dtype"] == "bfloat16"
    assert all(t.dtype == torch.bfloat16 for shard in (folder / "model").glob("*.safetensors")
               for t in load_file(shard).values())


@pytest.mark.slow
def test_the_export_stage_refuses_a_bf16_export_corrupted_after_saving(trained, monkeypatch):
    from toolkit.export import merge as merge_module

    real = merge_module.merge_shards

    def merge_then_corrupt(base, adapter, out, *args, **kwargs):
        figures = real(base, adapter, out, *args, **kwargs)
        _corrupt(out, "layers.0.self_attn.o_proj")
        return figures

    monkeypatch.setattr(merge_module, "merge_shards", merge_then_corrupt)
    recipe = load_recipe(trained, ["export.dtype=bfloat16", "export.gguf=[]", "export.probes=8"])
    manifest = recipe.stage_dir("export") / "manifest.json"
    before = manifest.read_bytes() if manifest.is_file() else None
    with pytest.raises(ArtifactError, match="does not match the trained model"):
        run_stage(recipe, "export")
    # Nothing new was published: the folder a previous export left (if any) is untouched.
    assert (manifest.read_bytes() if manifest.is_file() else None) == before


@pytest.mark.slow
def test_serve_sh_caps_the_context_by_default(trained):
    recipe = load_recipe(trained, ["export.gguf=[]", "export.adapter=false"])
    run_stage(recipe, "export")
    folder = recipe.stage_dir("export")
    # The tiny model's own context (1024) is below the 8192 cap.
    assert "--max-model-len 1024" in (folder / "serve.sh").read_text()
    assert read_json(folder / "verification.json")["compared_in"] == "float32"
