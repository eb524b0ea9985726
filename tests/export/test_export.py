"""Export: merged checkpoints equal the adapter model (LoRA, DoRA, QLoRA on Llama and
Qwen2), verification catches corruption, GGUF reads back, serving files are right,
signatures verify."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.helpers import DOCS, ec_key_pair, gongmu
from toolkit.models import load_model, load_tokenizer
from toolkit.recipe import ExportSection, ModelSection, QloraSection
from toolkit.tiny_model import build_tiny_model

PROBES = [
    [{"role": "user", "content": "「서울특별시 업무용 인공지능 활용 지침」 제4조의 내용은?"},
     {"role": "assistant", "content": "개인정보 및 민감정보를 입력해서는 아니 된다."}],
    [{"role": "user", "content": "다음 문서의 종류는?"}, {"role": "assistant", "content": "공문"}],
]
QLORA = QloraSection(compute_dtype="float32")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-arches")
    out = {}
    for arch in ("llama", "qwen2"):
        build_tiny_model(DOCS, root / arch, arch=arch, hidden_size=128, layers=2, vocab_size=1024)
        out[arch] = root / arch
    return out


def make_adapter(model_dir, method, out, modules_to_save=None):
    from peft import LoraConfig, get_peft_model

    section = ModelSection(path=model_dir)
    torch.manual_seed(1)
    base = load_model(section, dtype="float32", qlora=QLORA if method == "qlora" else None)
    config = LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", init_lora_weights=False,
                        use_dora=method == "dora", modules_to_save=modules_to_save)
    get_peft_model(base, config).save_pretrained(out)
    return out


def export_and_verify(model_dir, adapter, tmp_path, merge_base="original", qlora=None):
    from toolkit.export.merge import merge_adapter
    from toolkit.export.verify import max_logit_diff, verify_export

    section = ModelSection(path=model_dir)
    tok = load_tokenizer(section)
    adapter_model, merged = merge_adapter(section, adapter, merge_base, qlora)
    in_memory = max_logit_diff(adapter_model, merged, tok, PROBES)
    out = tmp_path / f"model-{merge_base}"
    merged.save_pretrained(out)
    tok.save_pretrained(out)
    return adapter_model, out, verify_export(out, adapter_model, tok, PROBES, ExportSection(), in_memory)


@pytest.mark.parametrize("method", ["lora", "dora", "qlora"])
@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_merged_export_equals_the_adapter_model(tiny, arch, method, tmp_path):
    from toolkit.export.verify import max_logit_diff

    model_dir = tiny[arch]
    adapter = make_adapter(model_dir, method, tmp_path / "adapter")
    qlora = QLORA if method == "qlora" else None
    adapter_model, out, report = export_and_verify(model_dir, adapter, tmp_path, qlora=qlora)
    assert report["passed"], report["failures"]
    assert report["max_abs_logit_diff"] <= 1e-4 and report["greedy_identical"]
    assert report["max_abs_logit_diff_bf16"] > report["max_abs_logit_diff"]
    tok = load_tokenizer(ModelSection(path=model_dir))
    # The adapter (non-zero init: B != 0) really changes the model, so equality above means
    # something; with the default B = 0 init, merged == base and the check would prove nothing.
    assert max_logit_diff(adapter_model, load_model(ModelSection(path=model_dir)), tok, PROBES) > 1e-2


def test_qlora_merge_base_dequantized_matches_the_4bit_adapter_model(tiny, tmp_path):
    from peft import PeftModel

    from toolkit.export.verify import max_logit_diff

    model_dir = tiny["llama"]
    adapter = make_adapter(model_dir, "qlora", tmp_path / "adapter")
    section = ModelSection(path=model_dir)
    tok = load_tokenizer(section)
    four_bit = PeftModel.from_pretrained(load_model(section, dtype="float32", qlora=QLORA), adapter).eval()
    original, _, report_o = export_and_verify(model_dir, adapter, tmp_path, "original", QLORA)
    dequant, _, report_d = export_and_verify(model_dir, adapter, tmp_path, "dequantized", QLORA)
    assert report_o["passed"] and report_d["passed"]
    # Merging into the dequantised weights reproduces what the adapter was trained on;
    # merging into the original weights differs by the quantisation error.
    assert max_logit_diff(four_bit, dequant, tok, PROBES) < 1e-3
    assert max_logit_diff(four_bit, original, tok, PROBES) > 10 * max_logit_diff(four_bit, dequant, tok, PROBES)


@torch.no_grad()
def test_4bit_weights_stored_as_floats_for_fsdp_compute_the_same(tiny):
    """FSDP-QLoRA packs the 4-bit data in the compute dtype (FSDP shards only floats);
    the model must compute exactly what the uint8-packed one does."""
    import bitsandbytes as bnb

    section = ModelSection(path=tiny["llama"])
    packed = load_model(section, dtype="float32", qlora=QLORA)
    floats = load_model(section, dtype="float32", qlora=QLORA, quant_storage="float32")
    layers = [m for m in floats.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert layers and all(m.weight.dtype == torch.float32 for m in layers)
    ids = torch.arange(3, 40)[None]
    assert torch.equal(packed(input_ids=ids).logits, floats(input_ids=ids).logits)


def test_verification_fails_on_a_flipped_weight_and_on_a_dropped_chat_template(tiny, tmp_path):
    from toolkit.export.verify import verify_export

    model_dir = tiny["llama"]
    adapter = make_adapter(model_dir, "lora", tmp_path / "adapter")
    adapter_model, out, report = export_and_verify(model_dir, adapter, tmp_path)
    assert report["passed"]
    tok = load_tokenizer(ModelSection(path=model_dir))
    weights_path = out / "model.safetensors"
    pristine = weights_path.read_bytes()
    weights = load_file(weights_path)
    weights["model.layers.0.mlp.down_proj.weight"][0, 0] += 1.0
    save_file(weights, weights_path, metadata={"format": "pt"})
    bad = verify_export(out, adapter_model, tok, PROBES, ExportSection(), 0.0)
    assert not bad["passed"] and any("exceeds" in f for f in bad["failures"])

    weights_path.write_bytes(pristine)
    (out / "chat_template.jinja").unlink()
    bad = verify_export(out, adapter_model, tok, PROBES, ExportSection(), 0.0)
    assert not bad["passed"]
    assert "chat_template.jinja is missing from the export" in bad["failures"]
    assert "the exported tokenizer has no chat template" in bad["failures"]


@pytest.mark.parametrize("qtype", ["f16", "bf16", "q8_0"])
@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_gguf_reads_back_with_every_tensor_shape_and_metadata(tiny, arch, qtype, tmp_path):
    import gguf

    from toolkit.export.gguf import check_gguf, write_gguf

    path = tmp_path / f"m-{qtype}.gguf"
    info = write_gguf(tiny[arch], path, qtype, "tiny")
    assert info["pre_tokenizer"] == "gpt-2" and info["kept_f16"] == []
    assert check_gguf(path, tiny[arch]) == []
    reader = gguf.GGUFReader(path)
    types = {t.tensor_type.name for t in reader.tensors}
    assert {"F32", {"f16": "F16", "bf16": "BF16", "q8_0": "Q8_0"}[qtype]} <= types
    tok = load_tokenizer(ModelSection(path=tiny[arch]))
    assert reader.fields["tokenizer.chat_template"].contents() == tok.chat_template
    # The read-back check is not blind: the other architecture's weights fail it.
    other = tiny["qwen2" if arch == "llama" else "llama"]
    assert check_gguf(path, other)


def test_ollama_modelfile_uses_a_go_template_and_the_chat_stops(tiny):
    from toolkit.export.serving import chat_format, ollama_modelfile

    tok = load_tokenizer(ModelSection(path=tiny["llama"]))
    text = ollama_modelfile("tiny-q8_0.gguf", tok.chat_template, tok.get_vocab())
    assert text.startswith("FROM ./tiny-q8_0.gguf\n")
    assert "{{ .Content }}<|im_end|>" in text and "{%" not in text
    assert 'PARAMETER stop "<|im_end|>"' in text and 'PARAMETER stop "<|endoftext|>"' in text
    assert chat_format("<|start_header_id|>{{ x }}") == "llama3"
    assert ollama_modelfile("x.gguf", "{{ messages }}", {}) is None


def test_vllm_adapter_serving_refuses_modules_to_save_and_dora(tiny, tmp_path):
    from toolkit.export.serving import adapter_serving, vllm_adapter_script

    for method, modules, reason in (("lora", ["lm_head"], "modules_to_save"), ("dora", None, "DoRA")):
        folder = make_adapter(tiny["llama"], method, tmp_path / method, modules_to_save=modules)
        ok, why = adapter_serving(json.loads((folder / "adapter_config.json").read_text()))
        assert not ok and reason in why
    plain = make_adapter(tiny["llama"], "lora", tmp_path / "plain")
    assert adapter_serving(json.loads((plain / "adapter_config.json").read_text())) == (True, "")
    script = vllm_adapter_script("q", tiny["llama"], rank=12, max_model_len=1024)
    assert "--enable-lora" in script and "--max-lora-rank 16" in script
    assert 'q="$HERE/adapter"' in script


def test_signed_export_verifies_and_a_changed_manifest_does_not(tmp_path):
    from toolkit.artifacts import stage_folder
    from toolkit.recipe import load_recipe
    from toolkit.signing import sign_manifest
    from toolkit.stages import section_data

    ec_key_pair(tmp_path)
    (tmp_path / "r.yaml").write_text("name: r\n", encoding="utf-8")
    recipe = load_recipe(tmp_path / "r.yaml")
    with stage_folder(recipe, "export", section_data(recipe, "export"), seal=lambda f: sign_manifest(f, tmp_path / "key.pem")) as out:
        (out.path / "weights.bin").write_bytes(b"\x01\x02")
    folder = recipe.stage_dir("export")
    args = ["export", "verify", str(folder), "--signature", "--public-key", str(tmp_path / "pub.pem")]
    assert gongmu(*args).returncode == 0
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["figures"]["note"] = "edited"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    proc = gongmu(*args)
    assert proc.returncode == 1 and "signature does not verify" in proc.stderr


@pytest.mark.llamacpp
@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_llama_cpp_logits_match_transformers(tiny, arch, tmp_path, record_property):
    """Opt-in (`make test-llamacpp`): load the GGUF with llama.cpp and compare its logits
    and tokenization with transformers on the merged checkpoint."""
    from llama_cpp import Llama

    from toolkit.export.gguf import write_gguf

    model_dir = tiny[arch]
    section = ModelSection(path=model_dir)
    tok = load_tokenizer(section)
    model = load_model(section)
    text = tok.apply_chat_template(PROBES[0], tokenize=False)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        want = model(torch.tensor([ids])).logits[0].numpy()
    figures = {}
    for qtype, bound in (("f16", 1e-2), ("q8_0", None)):
        path = write_gguf(model_dir, tmp_path / f"{qtype}.gguf", qtype, "tiny")["file"]
        llm = Llama(model_path=str(tmp_path / path), n_ctx=512, logits_all=True, verbose=False,
                    n_threads=2, use_extra_bufts=False)
        assert llm.tokenize(text.encode("utf-8"), add_bos=False, special=True) == ids
        llm.eval(ids)
        got = np.array(llm.scores[: len(ids)])
        figures[qtype] = float(np.abs(got - want).max())
        if bound is not None:
            assert figures[qtype] <= bound, figures
    record_property("max_abs_logit_diff", figures)
    print(f"\nllama.cpp vs transformers, {arch}: max |logit delta| {figures}")
