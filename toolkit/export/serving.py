"""What a serving stack needs beside the weights: vLLM launch scripts, an Ollama
Modelfile, and the model card."""

from __future__ import annotations

import json
from pathlib import Path

# Ranks vLLM accepts for --max-lora-rank.
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)

_SCRIPT_HEAD = """#!/usr/bin/env bash
# {what}
# Needs vLLM (pip install vllm) on a machine with a GPU; extra arguments go to vllm serve.
set -euo pipefail
HERE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
"""


def vllm_merged_script(name: str, max_model_len: int) -> str:
    return _SCRIPT_HEAD.format(what=f"Serve the merged model '{name}' with vLLM's OpenAI-compatible server.") + (
        f'exec vllm serve "$HERE/model" \\\n'
        f"  --served-model-name {name} \\\n"
        f"  --max-model-len {max_model_len} \\\n"
        f'  "$@"\n'
    )


def adapter_serving(adapter_config: dict) -> tuple[bool, str]:
    """Whether vLLM can serve this PEFT adapter beside its base, and why not."""
    if adapter_config.get("modules_to_save"):
        return False, (f"the adapter trains whole modules ({', '.join(adapter_config['modules_to_save'])}) "
                       f"through modules_to_save, which vLLM's LoRA serving cannot load; serve the "
                       f"merged model instead")
    if adapter_config.get("use_dora"):
        return False, "vLLM does not serve DoRA adapters; serve the merged model instead"
    if adapter_config.get("r", 0) > VLLM_LORA_RANKS[-1]:
        return False, f"rank {adapter_config['r']} is above vLLM's largest LoRA rank {VLLM_LORA_RANKS[-1]}"
    return True, ""


def vllm_adapter_script(name: str, base_path: Path, rank: int, max_model_len: int) -> str:
    max_rank = next(r for r in VLLM_LORA_RANKS if r >= rank)
    return _SCRIPT_HEAD.format(what=f"Serve the base model with the '{name}' LoRA adapter beside it.") + (
        f'BASE="${{BASE_MODEL:-{base_path}}}"  # the base the adapter was trained on\n'
        f'exec vllm serve "$BASE" \\\n'
        f"  --enable-lora \\\n"
        f'  --lora-modules {name}="$HERE/adapter" \\\n'
        f"  --max-lora-rank {max_rank} \\\n"
        f"  --max-model-len {max_model_len} \\\n"
        f'  "$@"\n'
    )


# Ollama templates are Go templates, not Jinja: one per chat format we recognise.
_OLLAMA_FORMATS = {
    "chatml": ("<|im_start|>", (
        "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n"
        "{{ end }}<|im_start|>assistant\n"), ["<|im_end|>", "<|endoftext|>"]),
    "llama3": ("<|start_header_id|>", (
        "<|begin_of_text|>{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n"
        "{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n"),
        ["<|eot_id|>", "<|end_of_text|>"]),
    "gemma": ("<start_of_turn>", (
        "{{- range .Messages }}<start_of_turn>{{ if eq .Role \"assistant\" }}model"
        "{{ else }}{{ .Role }}{{ end }}\n{{ .Content }}<end_of_turn>\n{{ end }}<start_of_turn>model\n"),
        ["<end_of_turn>"]),
}


def chat_format(chat_template: str) -> str | None:
    for name, (marker, _, _) in _OLLAMA_FORMATS.items():
        if marker in chat_template:
            return name
    return None


def ollama_modelfile(gguf_file: str, chat_template: str, vocab: dict[str, int]) -> str | None:
    """A Modelfile for `gguf_file`, or None when the chat format has no Go template here."""
    fmt = chat_format(chat_template)
    if fmt is None:
        return None
    _, template, stops = _OLLAMA_FORMATS[fmt]
    lines = [f"FROM ./{gguf_file}", f'TEMPLATE """{template}"""']
    lines += [f'PARAMETER stop "{s}"' for s in stops if s in vocab]
    lines.append("PARAMETER temperature 0")
    return "\n".join(lines) + "\n"


def model_card(*, name: str, base: str, method: dict, corpus: dict, evaluation: dict | None,
               verification: dict, data_card: str | None) -> str:
    """README.md in the Hugging Face model-card layout."""
    lora = method.get("lora", {})
    full = method["method"] == "full"
    how = ("every weight was fine-tuned, and the saved checkpoint checked against the trained "
           "model" if full else "the adapter was merged into the base weights in fp32 and the "
           "result checked against the adapter model")
    method_line = ("- Method: full fine-tuning (every weight trained)" if full else
                   f"- Method: {method['method']} (r={lora.get('r')}, alpha={lora.get('alpha')}, "
                   f"target modules: {lora.get('target_modules')})")
    lines = [
        "---",
        f"base_model: {json.dumps(base, ensure_ascii=False)}",
        "library_name: transformers",
        "language:\n- ko",
        "pipeline_tag: text-generation",
        f"tags:\n- gongmu\n- {method['method']}\n- korean\n- public-administration",
        "---",
        "",
        f"# {name}",
        "",
        f"A Korean public-administration assistant fine-tuned with gongmu: {how}.",
        "",
        "## Model details",
        "",
        f"- Base model: `{base}`",
        method_line,
        f"- Training: {method.get('steps')} steps, learning rate {method.get('learning_rate')}, "
        f"max sequence length {method.get('max_seq_len')}",
        "",
        "## Training data",
        "",
        f"- {corpus.get('documents_train')} training documents, {corpus.get('records_train')} "
        f"instruction examples; {corpus.get('documents_eval')} documents held out for evaluation.",
        f"- Data card: {data_card}" if data_card else "- Data card: see the corpus stage's manifest.",
        "",
        "## Evaluation",
        "",
    ]
    if evaluation:
        lines += ["| suite | metric | base | tuned |", "| --- | --- | --- | --- |"]
        for suite, entry in evaluation.items():
            for metric in entry["metrics"]:
                b = entry["models"]["base"]["scores"][metric]
                t = entry["models"]["tuned"]["scores"][metric]
                lines.append(f"| {suite} | {metric} | {b:.4f} | {t:.4f} |")
    else:
        lines.append("Not evaluated before export (run `gongmu eval` first to include scores).")
    lines += [
        "",
        "## Intended use",
        "",
        "Drafting and checking Korean administrative text (공문서, regulation lookup, summaries) "
        "for public officials, with a person reviewing every output. Serve it on infrastructure "
        "the organisation controls.",
        "",
        "## Limitations",
        "",
        "- Outputs can be wrong or out of date; cited laws and articles must be checked against "
        "the official text.",
        "- The model saw only the documents in its corpus; it knows nothing after their dates.",
        "- Do not enter personal data in prompts; the corpus was built to exclude it.",
        "",
        "## Files and verification",
        "",
        f"- Exported logits vs. the trained model: max |Δ| = {verification['max_abs_logit_diff']:.3g} "
        f"on {verification['probes']} probes ({verification['dtype']}); bf16 cast: "
        f"{verification.get('max_abs_logit_diff_bf16', float('nan')):.3g}.",
        f"- Greedy generations identical: {verification['greedy_identical']}.",
        "- Every file's sha256 is in the export's manifest.json: `gongmu export verify DIR`.",
        "",
    ]
    return "\n".join(lines)
