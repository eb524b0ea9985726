"""A gongmu eval suite as an lm-evaluation-harness task (`gongmu eval export-lm-eval`).

The export folder holds, per suite, `<task>.yaml` and `<task>.jsonl` (the items), and
one `utils.py` shared by every task in the folder: the item loader and the scoring of
every metric the suite names. Where gongmu is installed in lm-eval's environment (it is
the installable module: `pip install gongmu`), utils.py scores with gongmu's metric
registry, so every metric counts, built-in or plug-in, item-aware ones (pii_leak's
`context_pii`, citation_accuracy's `source_articles`) included: the JSONL rows carry
what they need. Without gongmu, utils.py falls back to its own copies of the portable
metrics (exact_match, chrF, character ROUGE-L: pure Python and sacrebleu, which lm-eval
installs) and says which metrics need gongmu.

Prompts match gongmu's when lm-eval runs with `--apply_chat_template`: the item's
system message becomes the task `description` (lm-eval sends it as the system turn) and
its user message the `doc_to_text`, so the rendered text is the one
`toolkit.eval.scoring.suite_prompts` scores. The stop strings are the suite's and, given
the model (`--model DIR`), the end-of-turn text of its chat template (`<|im_end|>`,
`<|eot_id|>`, `<end_of_turn>` ...) and its eos token.
"""

from __future__ import annotations

import inspect
import shlex
from pathlib import Path

import yaml

from toolkit.artifacts import read_jsonl, write_jsonl
from toolkit.errors import DataError
from toolkit.eval import metrics
from toolkit.recipe import EvalSection, content_hash
from toolkit.safe_yaml import load_yaml

LM_EVAL_VERSION = "0.4.13"  # the lm-eval this layout was checked with

# Metrics utils.py carries its own copies of (pure Python plus sacrebleu, which lm-eval
# itself requires): it scores with them when gongmu is not installed beside lm-eval. The
# others need gongmu (kiwipiepy, the PII finder, plug-ins).
PORTABLE_METRICS = ("exact_match", "chrf", "rouge_l_char")
_METRIC_SOURCES = (metrics.normalize_answer, metrics.exact_match, metrics.chrf,
                   metrics._lcs, metrics._f1, metrics.rouge_l_char)

GENERATION_TASK_TYPES = ("generation", "classification", "grounded_qa")
OFFLINE_ENV = "HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1"

_UTILS_HEADER = '''\
"""Item loading and metrics for gongmu suites exported to lm-evaluation-harness.

Written by `gongmu eval export-lm-eval`. Each item row names its suite's metrics. With
gongmu installed in this environment they are scored by gongmu's own metric registry
(every metric, plug-ins included), exactly as `gongmu eval` scores them; without it,
the portable ones below (copied from toolkit/eval/metrics.py, needing only sacrebleu,
which lm-eval installs) are used and any other metric is an error naming it.
"""

from __future__ import annotations  # the copied functions' annotations stay unevaluated

import json
import re
import unicodedata
from pathlib import Path

_SPACE = re.compile({space!r})


def load_items(data_files=None, **metadata):
    """The task's items as a DatasetDict, read from the JSONL files named in the task's
    dataset_kwargs.data_files. Names are resolved beside this file: `datasets` would
    resolve them against the working directory, so the folder could not move."""
    import datasets

    splits = {}
    for split, name in (data_files or {}).items():
        with open(Path(__file__).parent / name, encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        splits[split] = datasets.Dataset.from_list(rows)
    return datasets.DatasetDict(splits)


def _gongmu_score():
    try:
        from toolkit.eval.metrics import score
    except ImportError:
        return None
    return score


def process_results(doc, results):
    """gongmu's scores of one generated answer (stripped, as `gongmu eval` strips it)
    under each metric the item's suite names."""
    output = results[0].strip()
    item = {"context_pii": doc.get("context_pii"), "source_articles": doc.get("source_articles"),
            "meta": doc.get("meta") or {}}
    names = doc.get("metrics") or list(METRICS)
    score = _gongmu_score()
    if score is not None:
        return {name: score(name, output, doc["reference"], item) for name in names}
    missing = [name for name in names if name not in METRICS]
    if missing:
        raise ImportError(f"metric(s) {', '.join(missing)} need gongmu in this environment "
                          f"(pip install gongmu); this folder's own copies cover "
                          f"{', '.join(METRICS)}.")
    return {name: METRICS[name](output, doc["reference"]) for name in names}
'''


class _TaskDumper(yaml.SafeDumper):
    """Writes strings holding line breaks (stop strings like "\\n\\n") double-quoted, on
    one line, instead of PyYAML's folded blocks that are easy to misread."""


_TaskDumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style='"' if "\n" in text else None))


def suite_metrics(spec: dict) -> list[str]:
    """The metrics a generation-type suite scores (its `metrics`, else its task type's)."""
    from toolkit.eval.suite import DEFAULT_METRICS

    kind = spec.get("task_type", "generation")
    return list(spec.get("metrics") or DEFAULT_METRICS.get(kind, []))


def gongmu_only_metrics(spec: dict) -> list[str]:
    """The suite's metrics an exported task scores only where gongmu is installed beside
    lm-eval (see PORTABLE_METRICS)."""
    if spec.get("task_type", "generation") == "multiple_choice":
        return []
    return [m for m in suite_metrics(spec) if m not in PORTABLE_METRICS]


def chat_stop_strings(tok) -> list[str]:
    """What ends an assistant turn in `tok`'s chat template (the text the template puts
    right after an answer, up to its first line break or space: `<|im_end|>`,
    `<|eot_id|>`, `<end_of_turn>`), and its eos token."""
    marker = "\u2063GONGMU\u2063"
    text = tok.apply_chat_template([{"role": "user", "content": "?"},
                                    {"role": "assistant", "content": marker}], tokenize=False)
    after = text.split(marker, 1)[1] if marker in text else ""
    end = after.strip().split(maxsplit=1)[0] if after.strip() else ""
    return [s for s in dict.fromkeys([end, tok.eos_token or ""]) if s]


def task_name(suite_name: str) -> str:
    return "gongmu_" + suite_name.replace("-", "_")


def _where(source: Path | None, n: int) -> str:
    return f"{source}:{n}" if source else f"item {n}"


def item_row(item: dict, task_type: str, where: str) -> dict:
    """One lm-eval document: id, system (may be empty), prompt (the user turn),
    reference, and for multiple choice the choices and the answer's index."""
    messages = list(item.get("messages") or [])
    reference = item.get("reference")
    if messages and messages[-1].get("role") == "assistant":
        # Legacy items: the last message is the reference answer, not part of the prompt.
        reference = messages.pop()["content"] if reference is None else reference
    system = ""
    if messages and messages[0].get("role") == "system":
        system = messages.pop(0)["content"]
    if not item.get("id") or len(messages) != 1 or messages[0].get("role") != "user":
        roles = [m.get("role") for m in item.get("messages") or []]
        raise DataError(
            f"{where}: an lm-eval task gives the model one optional system message and one "
            f"user turn, but item {item.get('id')!r} has the messages {roles}. Export items "
            f"with an 'id' and messages [system?, user(, assistant reference)]."
        )
    prompt = messages[0]["content"]
    if item.get("context"):  # grounded_qa: the context goes before the question, as in gongmu
        context = item["context"]
        context = context if isinstance(context, str) else "\n\n".join(context)
        prompt = f"{context}\n\n{prompt}"
    row = {"id": str(item["id"]), "system": system, "prompt": prompt}
    for key in ("context_pii", "source_articles", "meta"):  # what item-aware metrics read
        if item.get(key) is not None:
            row[key] = item[key]
    if task_type == "multiple_choice":
        choices, answer = item.get("choices"), item.get("answer")
        if not isinstance(choices, list) or len(choices) < 2 or not all(
                isinstance(c, str) for c in choices):
            raise DataError(f"{where}: item {item['id']!r} needs 'choices', a list of at "
                            f"least two strings, for a multiple_choice suite.")
        if isinstance(answer, str) and answer in choices:
            answer = choices.index(answer)
        if not isinstance(answer, int) or isinstance(answer, bool) or not (
                0 <= answer < len(choices)):
            raise DataError(f"{where}: item {item['id']!r} has answer {answer!r}; give the "
                            f"index of the right choice (0-{len(choices) - 1}) or its text.")
        row.update(choices=choices, answer=answer,
                   reference=choices[answer] if reference is None else reference)
    else:
        if not isinstance(reference, str):
            raise DataError(f"{where}: item {item['id']!r} has no reference answer: give "
                            f"'reference' or end 'messages' with the assistant's answer.")
        row["reference"] = reference
    return row


def _header(name: str, spec: dict, needs_gongmu: list[str]) -> str:
    lines = [
        f"# gongmu eval suite '{spec['name']}' as an lm-evaluation-harness task, written by",
        f"# `gongmu eval export-lm-eval` (checked with lm-eval {LM_EVAL_VERSION}).",
        "# Run it offline, from any directory:",
        "#",
        "#   " + lm_eval_command(Path("THIS_FOLDER"), name, sep=" \\\n#     "),
        "#",
        "# --apply_chat_template matters: gongmu scores every model through its chat template",
        "# (system turn = `description`, user turn = `doc_to_text`); without it lm-eval feeds",
        "# bare text and the numbers are not comparable with `gongmu eval`'s.",
        "# The items are in the .jsonl beside this file; utils.py loads them from there",
        "# (`custom_dataset`), so the folder can be moved as a whole.",
    ]
    if needs_gongmu:
        lines.append(f"# Scored only where gongmu is installed beside lm-eval (pip install "
                     f"gongmu): {', '.join(needs_gongmu)}.")
    return "\n".join(lines) + "\n"


def _task_config(name: str, spec: dict, rows: list[dict], data_file: str,
                 chat_stops: list[str] = ()) -> dict:
    config = {
        "task": name,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": data_file}},
        "test_split": "test",
        "num_fewshot": 0,
        # Per item: an item's system message is sent as lm-eval's system turn.
        "description": "{{system}}",
        "doc_to_text": "prompt",
    }
    if spec.get("task_type", "generation") == "multiple_choice":
        config.update({
            "output_type": "multiple_choice",
            "doc_to_choice": "choices",
            "doc_to_target": "answer",
            # The choice follows the assistant header directly, as an answer would.
            "target_delimiter": "",
            "metric_list": [{"metric": m, "aggregation": "mean", "higher_is_better": True}
                            for m in ("acc", "acc_norm")],
        })
    else:
        stop = [*(spec.get("stop") or []), *chat_stops]
        config.update({
            "output_type": "generate_until",
            "doc_to_target": "reference",
            "generation_kwargs": {
                "until": list(dict.fromkeys(stop)),
                "max_gen_toks": spec.get("max_new_tokens")
                or EvalSection.model_fields["max_new_tokens"].default,
                "do_sample": False,
            },
            "metric_list": [{"metric": m, "aggregation": "mean",
                             "higher_is_better": metrics.higher_is_better(m)}
                            for m in suite_metrics(spec)],
        })
    config["metadata"] = {
        "version": 1.0,
        "gongmu_suite": spec["name"],
        "gongmu_items_sha256": content_hash(rows),
    }
    return config


def utils_source() -> str:
    """utils.py: the loader, process_results, and gongmu's portable metrics."""
    functions = "\n\n".join(inspect.getsource(fn) for fn in _METRIC_SOURCES)
    registry = ", ".join(f'"{m}": {m}' for m in PORTABLE_METRICS)
    header = _UTILS_HEADER.replace("{space!r}", repr(metrics._SPACE.pattern))
    return f"{header}\n\n{functions}\n\nMETRICS = {{{registry}}}\n"


def export_lm_eval(items: list[dict], spec: dict, out_dir: Path, *,
                   source: Path | None = None, tokenizer=None) -> list[Path]:
    """Write `<task>.yaml`, `<task>.jsonl` and `utils.py` for the suite `spec` with
    `items` into `out_dir`; return the paths written. Generation, classification and
    grounded_qa suites become `generate_until` tasks scored with every metric the suite
    names (see the module docstring); multiple_choice suites are scored by lm-eval's own
    acc and acc_norm. `tokenizer` (the model's) adds its chat template's end-of-turn
    stop strings. `source` (the items file) only makes error messages point at a file
    and line."""
    kind = spec.get("task_type", "generation")
    if kind not in (*GENERATION_TASK_TYPES, "multiple_choice"):
        raise DataError(f"Suite '{spec.get('name')}': task_type '{kind}' cannot be exported; "
                        f"known: {', '.join((*GENERATION_TASK_TYPES, 'multiple_choice'))}.")
    if not items:
        raise DataError(f"Suite '{spec.get('name')}' has no items to export.")
    rows = [item_row(item, kind, _where(source, n)) for n, item in enumerate(items, 1)]
    if kind != "multiple_choice":
        for row in rows:
            row["metrics"] = suite_metrics(spec)
    name = task_name(spec["name"])

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data_path, yaml_path, utils_path = (out_dir / f"{name}.jsonl", out_dir / f"{name}.yaml",
                                        out_dir / "utils.py")
    write_jsonl(data_path, rows)
    config = _task_config(name, spec, rows, data_path.name,
                          chat_stop_strings(tokenizer) if tokenizer is not None else [])
    body = yaml.dump(config, Dumper=_TaskDumper, sort_keys=False, allow_unicode=True,
                     width=88)
    # PyYAML cannot write lm-eval's `!function` tags; they are plain lines.
    functions = "custom_dataset: !function utils.load_items\n"
    if config["output_type"] == "generate_until":
        functions += "process_results: !function utils.process_results\n"
    header = _header(name, spec, gongmu_only_metrics(spec))
    yaml_path.write_text(header + body + functions, encoding="utf-8")
    utils_path.write_text(utils_source(), encoding="utf-8")
    return [yaml_path, data_path, utils_path]


def suite_items_file(suite_folder: Path, corpus_dir: Path | None = None,
                     items_file: Path | None = None) -> tuple[dict, Path]:
    """The suite's spec (suite.yaml as a dict) and the file holding its items:
    `items_file` when given, else the JSONL beside suite.yaml or the corpus split it
    names. Suites whose items a builder makes during `gongmu eval` need `items_file`."""
    spec_path = Path(suite_folder) / "suite.yaml"
    if not spec_path.is_file():
        raise DataError(f"{suite_folder} has no suite.yaml; give a suite folder.")
    try:
        spec = load_yaml(spec_path.read_text(encoding="utf-8"), str(spec_path))
    except yaml.YAMLError as exc:
        raise DataError(f"{spec_path}: not valid YAML ({str(exc).splitlines()[0]}).") from None
    if not isinstance(spec, dict) or not spec.get("name") or "items" not in spec:
        raise DataError(f"{spec_path}: a suite needs 'name' and 'items'.")
    source = spec["items"]
    if items_file is not None:
        path = Path(items_file)
    elif isinstance(source, str):
        path = Path(suite_folder) / source
    elif isinstance(source, dict) and "from_corpus" in source:
        if corpus_dir is None:
            raise DataError(f"{spec_path}: items come from the corpus stage's "
                            f"'{source['from_corpus']}' split; give the corpus folder.")
        path = Path(corpus_dir) / f"{source['from_corpus']}.jsonl"
    elif isinstance(source, dict) and "builder" in source:
        raise DataError(f"{spec_path}: items are built by '{source['builder']}' during "
                        f"`gongmu eval`; give the built file, items/{spec['name']}.jsonl in "
                        f"that eval run folder, as the items file.")
    else:
        raise DataError(f"{spec_path}: 'items' must be a JSONL file name, {{from_corpus: "
                        f"test}} or {{builder: ...}}.")
    if not path.is_file():
        raise DataError(f"{spec_path}: items file {path} does not exist.")
    return spec, path


def export_suite_folder(suite_folder: Path, out_dir: Path, corpus_dir: Path | None = None,
                        items_file: Path | None = None,
                        model_dir: Path | None = None) -> list[Path]:
    """Export the suite in `suite_folder` (items: see `suite_items_file`) with
    `export_lm_eval`; `model_dir` (a model or tokenizer folder) gives the stop strings
    of its chat template."""
    spec, path = suite_items_file(suite_folder, corpus_dir, items_file)
    return export_lm_eval(read_jsonl(path), spec, out_dir, source=path,
                          tokenizer=_tokenizer(model_dir))


def _tokenizer(model_dir: Path | None):
    if model_dir is None:
        return None
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    if not tok.chat_template:
        raise DataError(f"{model_dir}: its tokenizer has no chat template to take stop strings "
                        f"from; give the folder of the model you will evaluate (with its "
                        f"tokenizer and chat template).")
    return tok


def lm_eval_command(out_dir: Path, task: str, model_dir: str = "MODEL_DIR",
                    sep: str = " ") -> str:
    """The shell command that runs an exported task offline with gongmu's prompts;
    `sep` joins its parts (a line continuation writes it over several lines)."""
    return sep.join([
        OFFLINE_ENV,
        f"lm_eval --model hf --model_args pretrained={shlex.quote(str(model_dir))},dtype=float32",
        f"--include_path {shlex.quote(str(out_dir))} --tasks {task} --apply_chat_template",
        "--batch_size 8 --output_path lm_eval_results --log_samples",
    ])


def lm_eval_endpoint_command(out_dir: Path, task: str, base_url: str = "http://127.0.0.1:8000/v1",
                             model: str = "MODEL", sep: str = " ") -> str:
    """The same task against an OpenAI-compatible server (vLLM's serve.sh, `transformers
    serve`): lm-eval's local-chat-completions, which sends the messages gongmu sends."""
    return sep.join([
        OFFLINE_ENV,
        (f"lm_eval --model local-chat-completions --model_args "
         f"model={shlex.quote(model)},base_url={base_url.rstrip('/')}/chat/completions,"
         f"num_concurrent=4,max_retries=3,tokenized_requests=False"),
        f"--include_path {shlex.quote(str(out_dir))} --tasks {task} --apply_chat_template",
        "--output_path lm_eval_results --log_samples",
    ])


def export_lm_eval_command(suite: Path, out_dir: Path, corpus_dir: Path | None = None,
                           items_file: Path | None = None, model_dir: Path | None = None) -> int:
    """CLI entry: export, then say what was written and how to run it."""
    from rich.markup import escape

    from toolkit.console import console

    spec, path = suite_items_file(suite, corpus_dir, items_file)
    paths = export_lm_eval(read_jsonl(path), spec, out_dir, source=path,
                           tokenizer=_tokenizer(model_dir))
    task = paths[0].stem
    console.print(f"[green]ok[/] lm-eval task {task}:", highlight=False)
    for written in paths:
        console.print(f"  wrote {escape(str(written))}", highlight=False, soft_wrap=True)
    if gongmu_only_metrics(spec):
        console.print(f"[yellow]needs gongmu beside lm-eval[/] (pip install gongmu): "
                      f"{', '.join(gongmu_only_metrics(spec))}", highlight=False)
    if model_dir is None and spec.get("task_type", "generation") != "multiple_choice":
        console.print("[yellow]no --model given[/]: the task stops at the suite's stop strings "
                      "only (lm-eval's hf backend adds the tokenizer's eos itself)",
                      highlight=False)
    console.print("run it with:", highlight=False)
    console.print(lm_eval_command(Path(out_dir).resolve(), task), markup=False,
                  highlight=False, soft_wrap=True)
    console.print("or against a served model:", highlight=False)
    console.print(lm_eval_endpoint_command(Path(out_dir).resolve(), task), markup=False,
                  highlight=False, soft_wrap=True)
    return 0
