"""What a serving stack needs beside the weights: vLLM launch scripts, an Ollama
Modelfile, and the model card."""

from __future__ import annotations

import json
import re
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
    """serve.sh: the merged model under its recipe's name, with the context the export
    chose (`export.max_model_len`, else the model's capped at 8192), and how to evaluate it."""
    return _SCRIPT_HEAD.format(what=f"Serve the merged model '{name}' with vLLM's OpenAI-compatible server.") + (
        f"# --max-model-len: export.max_model_len, else the model's context capped at 8192.\n"
        f"# Evaluate what it serves with the recipe's suites: add the eval candidate\n"
        f'#   {{name: served, kind: openai, base_url: "http://127.0.0.1:8000/v1", model: {name}}}\n'
        f"# then run `gongmu eval R` and `gongmu eval compare` on its eval folder (README: Export).\n"
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
        "<bos>{{- range .Messages }}<start_of_turn>{{ if eq .Role \"assistant\" }}model"
        "{{ else }}{{ .Role }}{{ end }}\n{{ .Content }}<end_of_turn>\n{{ end }}<start_of_turn>model\n"),
        ["<end_of_turn>"]),
}
# The context Ollama allocates when the Modelfile does not say: too small for prompts
# with retrieved articles. The GGUF keeps the model's trained context (131072 for Llama
# 3.1, as llama.cpp's converter writes it), which would be a KV cache of gigabytes.
OLLAMA_MIN_NUM_CTX = 8192
# Conversations every Go template is checked on, beside the caller's: a system prompt or
# none, one turn or several.
TEMPLATE_PROBES = [
    [{"role": "user", "content": "주민등록 등본 발급 절차를 알려 주세요."}],
    [{"role": "system", "content": "서울시 행정 비서입니다."},
     {"role": "user", "content": "민원 처리 기간은?"}],
    [{"role": "system", "content": "서울시 행정 비서입니다."},
     {"role": "user", "content": "문서 종류는?"}, {"role": "assistant", "content": "공문"},
     {"role": "user", "content": "담당부서는?"}],
]


def chat_format(chat_template: str) -> str | None:
    for name, (marker, _, _) in _OLLAMA_FORMATS.items():
        if marker in chat_template:
            return name
    return None


def ollama_template(chat_template: str) -> str | None:
    """The Go template for the chat format of a Jinja `chat_template`, or None."""
    fmt = chat_format(chat_template)
    return None if fmt is None else _OLLAMA_FORMATS[fmt][1]


def ollama_num_ctx(max_position_embeddings: int, max_seq_len: int) -> int:
    """The context the Modelfile asks Ollama for: what the model was fine-tuned on, at
    least OLLAMA_MIN_NUM_CTX, never more than the model's own context."""
    return min(max_position_embeddings, max(OLLAMA_MIN_NUM_CTX, max_seq_len))


def ollama_modelfile(gguf_file: str, chat_template: str, vocab: dict[str, int],
                     num_ctx: int | None = None) -> str | None:
    """A Modelfile for `gguf_file`, or None when the chat format has no Go template here.
    Check the template first (`ollama_template_problem`)."""
    fmt = chat_format(chat_template)
    if fmt is None:
        return None
    _, template, stops = _OLLAMA_FORMATS[fmt]
    lines = [f"FROM ./{gguf_file}", f'TEMPLATE """{template}"""']
    lines += [f'PARAMETER stop "{s}"' for s in stops if s in vocab]
    if num_ctx is not None:
        lines.append(f"PARAMETER num_ctx {num_ctx}")
    lines.append("PARAMETER temperature 0")
    return "\n".join(lines) + "\n"


def ollama_template_problem(tok, conversations: list[list[dict]] = (),
                            template: str | None = None) -> str | None:
    """How Ollama's rendering of prompts with the Go `template` (by default the one
    `ollama_modelfile` writes for this tokenizer) differs from the Jinja chat template
    the model was trained with, or None when they agree. Compared on TEMPLATE_PROBES and
    `conversations` (each without its last assistant turn, with the generation prompt):
    the GGUF adds no BOS, so the two strings must be equal, special tokens included."""
    template = template if template is not None else ollama_template(tok.chat_template or "")
    if template is None:
        return "no Go template here for this chat format"
    for messages in [*TEMPLATE_PROBES, *conversations]:
        prompt = messages[:-1] if messages[-1]["role"] == "assistant" else messages
        want = tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        got = render_go_template(template, prompt)
        if got != want:
            k = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            roles = "/".join(m["role"] for m in prompt)
            return (f"for a {roles} conversation Ollama's template renders "
                    f"{got[max(0, k - 20):k + 40]!r} where the chat template the model was trained "
                    f"with renders {want[max(0, k - 20):k + 40]!r}")
    return None


# ---------------------------------------------------------------- Go templates

_GO_ACTION = re.compile(r"\{\{(-\s)?\s*(.*?)\s*(\s-)?\}\}", re.DOTALL)
_GO_EQ = re.compile(r'eq \.(\w+) "([^"]*)"')


def render_go_template(template: str, messages: list[dict]) -> str:
    """`template` rendered for `messages` as Ollama's Go text/template renders it, for
    the forms written here: `{{ range .Messages }}…{{ end }}`, `{{ .Role }}`,
    `{{ .Content }}`, `{{ if eq .Role "x" }}…{{ else }}…{{ end }}` and the `{{-`/`-}}`
    trim markers. Raises ValueError on anything else."""
    pieces: list[tuple[str, str]] = []
    pos, trim_next = 0, False
    for m in _GO_ACTION.finditer(template):
        text = template[pos:m.start()]
        if trim_next:
            text = text.lstrip(" \t\r\n")
        if m.group(1):
            text = text.rstrip(" \t\r\n")
        pieces += [("text", text), ("action", m.group(2))]
        pos, trim_next = m.end(), bool(m.group(3))
    tail = template[pos:]
    pieces.append(("text", tail.lstrip(" \t\r\n") if trim_next else tail))
    nodes, _, stop = _go_parse(pieces, 0)
    if stop is not None:
        raise ValueError(f"unexpected {{{{ {stop} }}}} in the Go template")
    env = {"Messages": [{"Role": m["role"], "Content": m["content"]} for m in messages]}
    return _go_render(nodes, env)


def _go_parse(pieces, i):
    """Nodes up to a closing `end`/`else` (returned as the stop word) or the end."""
    nodes = []
    while i < len(pieces):
        kind, value = pieces[i]
        i += 1
        if kind == "text":
            nodes.append(("text", value))
        elif value in ("end", "else"):
            return nodes, i, value
        elif value == "range .Messages":
            body, i, stop = _go_parse(pieces, i)
            if stop != "end":
                raise ValueError("{{ range .Messages }} without {{ end }}")
            nodes.append(("range", body))
        elif value.startswith("if "):
            cond = _GO_EQ.fullmatch(value[3:].strip())
            if not cond:
                raise ValueError(f"unsupported condition {{{{ {value} }}}}")
            then, i, stop = _go_parse(pieces, i)
            other = []
            if stop == "else":
                other, i, stop = _go_parse(pieces, i)
            if stop != "end":
                raise ValueError(f"{{{{ {value} }}}} without {{{{ end }}}}")
            nodes.append(("if", cond.group(1), cond.group(2), then, other))
        elif re.fullmatch(r"\.\w+", value):
            nodes.append(("field", value[1:]))
        else:
            raise ValueError(f"unsupported Go template action {{{{ {value} }}}}")
    return nodes, i, None


def _go_render(nodes, dot: dict) -> str:
    out = []
    for node in nodes:
        if node[0] == "text":
            out.append(node[1])
        elif node[0] == "field":
            out.append(str(dot[node[1]]))
        elif node[0] == "range":
            out += [_go_render(node[1], item) for item in dot["Messages"]]
        else:
            _, field, value, then, other = node
            out.append(_go_render(then if dot[field] == value else other, dot))
    return "".join(out)


def training_data_line(corpus: dict) -> str:
    """The model card's data line from the corpus manifest's figures (documents by split:
    `documents_by_split`; examples: `records_<split>`)."""
    docs = corpus.get("documents_by_split") or {}
    held = docs.get("validation", 0) + docs.get("test", 0)
    return (f"- {docs.get('train', 0)} training documents, {corpus.get('records_train', 0)} "
            f"instruction examples; {held} documents held out (validation "
            f"{docs.get('validation', 0)}, test {docs.get('test', 0)}), never trained on.")


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
        training_data_line(corpus),
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
