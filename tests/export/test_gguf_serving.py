"""GGUF and Ollama serving (issue 15, item 11): a Llama 3.1-style model ("llama3" RoPE
scaling) gets llama.cpp's rope_freqs tensor, and read-back checks it against the scaled
frequencies transformers computes; the trained context stays in llama.context_length as
llama.cpp's converter writes it, and the Modelfile sets num_ctx; the Ollama Go template is
rendered and compared with the Jinja chat template, so a wrong one is caught."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.helpers import write_recipe
from toolkit.models import load_tokenizer
from toolkit.recipe import ModelSection

LLAMA3_ROPE = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
               "high_freq_factor": 4.0, "original_max_position_embeddings": 8192,
               "rope_theta": 500000.0}
# Qwen2.5-Instruct's way: a default system turn when the conversation has none.
DEFAULT_SYSTEM_CHATML = (
    "{% if messages[0]['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant."
    "<|im_end|>\n{% endif %}{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.fixture(scope="module")
def llama31(tiny_model, tmp_path_factory):
    """The tiny Llama with Llama 3.1's RoPE scaling and context length."""
    out = tmp_path_factory.mktemp("llama31") / "model"
    shutil.copytree(tiny_model, out)
    config = json.loads((out / "config.json").read_text())
    config.update(max_position_embeddings=131072, rope_parameters=LLAMA3_ROPE)
    (out / "config.json").write_text(json.dumps(config))
    return out


def scaled_frequency_divisors(model_dir) -> np.ndarray:
    """Base RoPE frequencies over the ones the transformers model itself uses."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True)
    scaled = model.model.rotary_emb.inv_freq.to(torch.float64)
    dim = model.config.head_dim
    base = 1.0 / (500000.0 ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    return (base / scaled).numpy()


def test_llama31_gguf_has_rope_freqs_and_its_trained_context(llama31, tmp_path):
    import gguf

    from toolkit.export.gguf import check_gguf, write_gguf

    path = tmp_path / "m.gguf"
    write_gguf(llama31, path, "f16", "t")
    assert check_gguf(path, llama31) == []
    reader = gguf.GGUFReader(path)
    freqs = {t.name: t for t in reader.tensors}["rope_freqs.weight"]
    factors = np.asarray(freqs.data, dtype=np.float64)
    assert np.allclose(factors, scaled_frequency_divisors(llama31), rtol=1e-5)
    assert factors.min() == 1.0 and factors.max() == 8.0 and ((factors > 1) & (factors < 8)).any()
    assert reader.fields["llama.context_length"].contents() == 131072
    assert reader.fields["llama.rope.freq_base"].contents() == 500000.0


def test_read_back_catches_missing_or_wrong_rope_freqs(llama31, tiny_model, tmp_path, monkeypatch):
    from toolkit.export import gguf as gguf_export

    plain = tmp_path / "plain.gguf"
    gguf_export.write_gguf(tiny_model, plain, "f16", "t")  # the same weights, no scaling
    problems = gguf_export.check_gguf(plain, llama31)
    assert "metadata llama.context_length is 1024, expected 131072" in problems
    assert any(p.startswith("tensor rope_freqs.weight is missing") for p in problems)
    monkeypatch.setattr(gguf_export, "llama3_rope_factors",
                        lambda config: np.ones(config.head_dim // 2, dtype=np.float32))
    wrong = tmp_path / "wrong.gguf"
    gguf_export.write_gguf(llama31, wrong, "f16", "t")
    assert any(p.startswith("tensor rope_freqs.weight does not match the model's llama3")
               for p in gguf_export.check_gguf(wrong, llama31))


def test_modelfile_asks_for_a_bounded_context():
    from toolkit.export.serving import ollama_modelfile, ollama_num_ctx

    assert ollama_num_ctx(131072, 2048) == 8192
    assert ollama_num_ctx(131072, 16384) == 16384
    assert ollama_num_ctx(1024, 2048) == 1024
    text = ollama_modelfile("m.gguf", "<|im_start|>", {"<|im_end|>": 1}, num_ctx=8192)
    assert "PARAMETER num_ctx 8192\n" in text


def test_go_templates_render_as_ollama_does():
    from toolkit.export.serving import render_go_template

    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"},
                {"role": "assistant", "content": "A"}]
    template = ("<bos>\n{{- range .Messages }}[{{ if eq .Role \"assistant\" }}model{{ else }}"
                "{{ .Role }}{{ end }}] {{ .Content }}\n{{ end -}}\n  <end>")
    assert render_go_template(template, messages) == "<bos>[system] S\n[user] U\n[model] A\n<end>"
    with pytest.raises(ValueError, match=r"unsupported Go template action \{\{ \.Tools \| json \}\}"):
        render_go_template("{{ .Tools | json }}", messages)


def test_the_go_template_is_compared_with_the_jinja_template(tiny_model):
    from toolkit.export.serving import _OLLAMA_FORMATS, ollama_template_problem

    tok = load_tokenizer(ModelSection(path=tiny_model))
    assert ollama_template_problem(tok) is None
    wrong = _OLLAMA_FORMATS["chatml"][1].replace("{{ .Role }}\n", "{{ .Role }}: ")
    problem = ollama_template_problem(tok, template=wrong)
    assert problem.startswith("for a user conversation Ollama's template renders "
                              "'<|im_start|>user: ")
    tok.chat_template = DEFAULT_SYSTEM_CHATML
    assert "You are a helpful assistant" in ollama_template_problem(tok)


def test_export_writes_no_modelfile_whose_template_disagrees(tiny_model, tmp_path):
    from toolkit.export.merge import export_gguf
    from toolkit.recipe import load_recipe

    recipe = load_recipe(write_recipe(tmp_path, tiny_model), ["export.gguf=[f16]"])
    tok = load_tokenizer(recipe.model)
    figures = export_gguf(recipe, tiny_model, tmp_path / "gguf", tok)
    assert figures["ollama_modelfile"] and "ollama_modelfile_refusal" not in figures
    modelfile = (tmp_path / "gguf" / "Modelfile").read_text(encoding="utf-8")
    assert "PARAMETER num_ctx 1024\n" in modelfile  # the tiny model's own context is smaller
    tok.chat_template = DEFAULT_SYSTEM_CHATML
    figures = export_gguf(recipe, tiny_model, tmp_path / "gguf-2", tok)
    assert not figures["ollama_modelfile"] and not (tmp_path / "gguf-2" / "Modelfile").exists()
    assert "You are a helpful assistant" in figures["ollama_modelfile_refusal"]
