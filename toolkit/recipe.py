"""Recipes: the typed schema, loading with `extends`, `key=value` overrides, and errors that
name the file, the line and the nearest valid key.

A recipe is YAML. Relative paths in a recipe are resolved against the file that names
them (so a recipe runs the same from any working directory); paths given as command-line
overrides are resolved against the working directory.
"""

from __future__ import annotations

import difflib
import os
import hashlib
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from toolkit.errors import RecipeError

STAGES = ("corpus", "train", "eval", "export", "report")

# Where each key of a recipe was written: dotted key path -> (file, line).
Locations = dict[tuple, tuple[str, int]]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# --------------------------------------------------------------------------- schema


SourceType = Literal["documents", "statutes", "rulings", "ordinances", "text", "jsonl", "hwpx", "pdf"]

# The glob each source type reads when the recipe names none.
DEFAULT_GLOBS = {
    "documents": "*.md", "statutes": "**/*.md", "rulings": "**/*.md", "ordinances": "*.md",
    "text": "**/*.txt", "jsonl": "**/*.jsonl", "hwpx": "**/*.hwpx", "pdf": "**/*.pdf",
}
# The quality profile each source type gets when the recipe names none: legal text is
# trusted and never goes through web-quality filters.
DEFAULT_PROFILES = {
    "documents": "document", "statutes": "legal", "rulings": "legal", "ordinances": "legal",
    "text": "document", "jsonl": "document", "hwpx": "document", "pdf": "document",
}


class CorpusSource(_Section):
    """One input of the corpus stage."""

    type: SourceType = Field(
        "documents",
        description="documents: .md/.txt with YAML front matter (제목, 문서종류, 담당부서); "
        "statutes: a legalize-kr checkout (<법령명>/<구분>.md); rulings: precedent-kr rulings; "
        "ordinances: ordinance-kr files; text: plain .md/.txt; jsonl: one record per line "
        "(see field_map); hwpx: 한글 HWPX files; pdf: PDF text layers.",
    )
    path: Path = Field(description="Folder holding the files.")
    glob: str | None = Field(None, description="Which files under `path` to read; default by type.")
    name: str | None = Field(None, description="Source name in counts; default: folder name.")
    profile: str | None = Field(
        None, description="Quality profile (a key of corpus.profiles); default: legal for "
        "statutes/rulings/ordinances, document otherwise.",
    )
    field_map: dict[str, str] = Field(
        default_factory=lambda: {"text": "text"},
        description="jsonl only: our field -> the file's key. `text` is required; `id`, "
        "`title` and any other entries are copied into the document's metadata.",
    )
    license: str | None = Field(None, description="Licence of the source, for the data card.")
    origin: str | None = Field(
        None, description="Where the source comes from (repository and commit), for the data card."
    )

    @property
    def source_name(self) -> str:
        return self.name or self.path.name

    @property
    def file_glob(self) -> str:
        return self.glob or DEFAULT_GLOBS[self.type]

    @property
    def profile_name(self) -> str:
        return self.profile or DEFAULT_PROFILES[self.type]


class QualityProfile(_Section):
    """What cleaning and filtering a source gets."""

    min_chars: int = Field(50, ge=0, description="Documents with fewer characters are dropped.")
    max_chars: int = Field(2_000_000, gt=0, description="Longer documents are dropped.")
    min_hangul_ratio: float = Field(
        0.3, ge=0, le=1, description="Share of Hangul among letters below which a document is dropped."
    )
    strip_amendment_notes: bool = Field(
        False, description="Remove notes such as <개정 2022.1.11> and [본조신설 2020.1.1]."
    )
    redact_pii: bool = Field(True, description="Replace personal data with typed placeholders.")
    web_filters: bool = Field(
        False, description="Also apply datatrove's Gopher repetition filter (for untrusted web "
        "text only: it rejects real statutes).",
    )


# Built-in profiles; a recipe's `corpus.profiles.<name>` changes only the keys it names.
BUILTIN_PROFILES = {
    "legal": {"min_chars": 100, "min_hangul_ratio": 0.5, "strip_amendment_notes": True},
    "document": {},
    "web": {"min_chars": 200, "min_hangul_ratio": 0.5, "web_filters": True},
}


def _default_profiles() -> dict[str, QualityProfile]:
    return {name: QualityProfile(**keys) for name, keys in BUILTIN_PROFILES.items()}


class SlurmSection(_Section):
    partition: str | None = None
    time: str = "04:00:00"
    cpus_per_task: int = Field(4, gt=0)
    mem_per_cpu_gb: int = Field(4, gt=0)
    tasks: int = Field(16, gt=0, description="Shards of the read/clean/redact step.")
    sbatch_args: dict[str, str] = Field(default_factory=dict)


class RaySection(_Section):
    address: str | None = Field(None, description="Ray cluster address; default: start or join a local one.")
    tasks: int = Field(16, gt=0, description="Shards of the read/clean/redact step.")
    cpus_per_task: int = Field(1, gt=0)


class MinhashSection(_Section):
    enabled: bool = True
    shingle_chars: int = Field(
        5, ge=2, description="Shingles are runs of this many Hangul/Latin/digit characters, "
        "spaces and punctuation removed (Korean spacing varies, and particles attach to words).",
    )
    num_buckets: int = Field(14, gt=0, description="LSH bands.")
    hashes_per_bucket: int = Field(8, gt=0, description="Rows per band.")
    seed: int = 1


class DedupSection(_Section):
    exact: bool = Field(True, description="Drop documents whose normalised text hash repeats.")
    minhash: MinhashSection = Field(default_factory=MinhashSection)
    instructions: bool = Field(
        True, description="Deduplicate the synthesised instructions too (exact + MinHash)."
    )
    templated_tasks: list[str] = Field(
        default_factory=lambda: ["refuse"],
        description="Families whose examples share a template by design (refusals): only "
        "exact duplicates are dropped, and they are built for training documents only "
        "(their held-out measure is an eval suite with other templates).",
    )


class DecontaminationSection(_Section):
    ngram: int = Field(13, gt=0, description="n of the word n-grams compared.")
    threshold: float = Field(
        0.5, gt=0, le=1, description="A training example is dropped when this share of its "
        "n-grams (or of the eval item's) appears in one eval item.",
    )
    suites: list[Path] = Field(
        default_factory=list, description="Eval suite folders (evals/<suite>) whose items "
        "training examples must not overlap; the corpus's own test split always counts.",
    )


class TeacherSection(_Section):
    base_url: str = Field(description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1.")
    model: str
    max_calls: int = Field(1000, ge=0)
    temperature: float = 0.0
    tasks: list[str] = Field(default_factory=lambda: ["explain"])
    timeout_s: float = 60.0


TaskName = Literal[
    "title", "doc_type", "department", "article",
    "lookup", "explain", "summarise", "route", "draft", "refuse",
]


class CorpusSection(_Section):
    sources: list[CorpusSource] = Field(default_factory=list)
    executor: Literal["local", "slurm", "ray"] = Field(
        "local", description="local: in-process with `workers` processes; slurm / ray: the "
        "same datatrove pipeline on a cluster.",
    )
    workers: int = Field(2, gt=0, description="Local processes for the read/clean/redact step.")
    slurm: SlurmSection = Field(default_factory=SlurmSection)
    ray: RaySection = Field(default_factory=RaySection)
    profiles: dict[str, QualityProfile] = Field(default_factory=_default_profiles)
    tasks: list[TaskName] = Field(
        default_factory=lambda: ["title", "doc_type", "department", "article"],
        description="Instruction families built from each document.",
    )
    validation_fraction: float = Field(
        0.0, ge=0, lt=1, description="Share of documents held out for validation."
    )
    test_fraction: float = Field(
        0.25, gt=0, lt=1, description="Share of documents held out for testing (eval)."
    )
    max_answer_chars: int = Field(
        400, gt=0, description="Longer answers (article texts) are cut at a sentence end."
    )
    max_source_chars: int = Field(
        2000, gt=0, description="Longest source passage put into a prompt (ruling texts)."
    )
    max_per_doc: int = Field(8, gt=0, description="Most examples of one family per document.")
    dedup: DedupSection = Field(default_factory=DedupSection)
    decontamination: DecontaminationSection = Field(default_factory=DecontaminationSection)
    views: list[Literal["alpaca", "sharegpt"]] = Field(
        default_factory=list, description="Also write train/validation/test in these layouts."
    )
    teacher: TeacherSection | None = Field(
        None, description="Optional LLM behind an OpenAI-compatible endpoint that rewrites "
        "answers of the named tasks (cached, capped). Off by default.",
    )
    card: Path | None = Field(
        None, description="Also write the data card here (e.g. data_cards/<corpus>.md)."
    )
    license: str | None = Field(None, description="Licence of the built corpus, for the data card.")
    tokenizer: Path | None = Field(
        None, description="A tokenizer folder (e.g. the base model's) for the data card's "
        "token-length histogram; default: model.path when it has one, else characters.",
    )

    @field_validator("profiles", mode="before")
    @classmethod
    def _over_builtin_profiles(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        merged: dict[str, Any] = {k: dict(v) for k, v in BUILTIN_PROFILES.items()}
        for name, keys in value.items():
            if isinstance(keys, dict) and name in merged:
                merged[name] = {**merged[name], **keys}
            else:
                merged[name] = keys
        return merged

    @model_validator(mode="after")
    def _sources_name_known_profiles(self) -> "CorpusSection":
        for i, src in enumerate(self.sources):
            if src.profile_name not in self.profiles:
                raise ValueError(
                    f"sources[{i}].profile '{src.profile_name}' is not one of "
                    f"{', '.join(sorted(self.profiles))} (corpus.profiles)"
                )
        return self


class ModelSection(_Section):
    path: Path | None = Field(
        None, description="Local Hugging Face model directory. gongmu never downloads models."
    )
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    trust_remote_code: bool = Field(
        False, description="Run Python code shipped with the model. Off unless you opt in."
    )
    chat_template: Path | None = Field(
        None, description="A Jinja chat template file to use instead of the model's own."
    )
    attn_implementation: Literal["auto", "sdpa", "eager", "flash_attention_2"] = Field(
        "auto",
        description="auto: per-sample attention for packed training (flash_attention_2 on a "
        "GPU where flash-attn is installed), sdpa otherwise.",
    )


class LoraSection(_Section):
    r: int = Field(8, gt=0)
    alpha: int = Field(16, gt=0)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: Union[Literal["all-linear"], list[str]] = "all-linear"
    modules_to_save: list[str] = Field(
        default_factory=list,
        description="Modules trained in full beside the adapter (embed_tokens, lm_head when "
        "tokens were added). vLLM cannot serve such adapters; the merged export works.",
    )


class QloraSection(_Section):
    quant_type: Literal["nf4", "fp4"] = "nf4"
    double_quant: bool = True
    compute_dtype: Literal["bfloat16", "float16", "float32"] = Field(
        "bfloat16", description="dtype of the matmuls on the 4-bit weights (float32 on CPU)."
    )


class TrainSection(_Section):
    method: Literal["lora", "dora", "qlora", "full"] = Field(
        "lora", description="lora; dora (weight-decomposed LoRA); qlora (LoRA on a 4-bit NF4 base); "
        "full (every weight trained, fp32 master weights: for small models, about 16 bytes "
        "per parameter before activations)."
    )
    lora: LoraSection = Field(default_factory=LoraSection)
    qlora: QloraSection = Field(default_factory=QloraSection)
    learning_rate: float = Field(2e-4, gt=0)
    epochs: float = Field(1.0, gt=0)
    max_steps: int = Field(
        -1, ge=-1, description="Stop after this many optimiser steps (-1: run `epochs`)."
    )

    @field_validator("max_steps")
    @classmethod
    def _steps_not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("max_steps must be -1 (train for `epochs`) or a positive number")
        return value
    batch_size: int = Field(8, gt=0, description="Sequences per device per step.")
    gradient_accumulation_steps: int = Field(1, gt=0)
    max_seq_len: int = Field(512, gt=8)
    max_truncated_fraction: float = Field(
        0.05, ge=0, le=1,
        description="Fail when more than this share of examples is longer than max_seq_len.",
    )
    warmup_ratio: float = Field(0.0, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "linear"
    logging_steps: int = Field(1, gt=0)
    save_steps: int = Field(
        0, ge=0,
        description="Checkpoint every N steps (adapter, optimizer, scheduler, RNG, data "
        "position) for `gongmu train R --resume`; 0: no checkpoints.",
    )
    save_total_limit: int = Field(2, gt=0, description="Checkpoints kept on disk.")
    deepspeed: Path | None = Field(
        None, description="DeepSpeed JSON config (recipes/deepspeed/zero2.json, zero3.json, "
        "zero3_offload.json); used under `gongmu train --launcher torchrun|accelerate`.",
    )
    packing: bool = Field(
        True,
        description="Padding-free packing: each batch is one row of whole samples, positions "
        "restart per sample and attention stays within each sample.",
    )
    group_by_length: bool = Field(
        True, description="Batch sequences of similar length together (less padding)."
    )
    gradient_checkpointing: bool = Field(
        False, description="Trade compute for memory; turn on for multi-billion models."
    )


class EvalSection(_Section):
    suites: list[Path] = Field(
        default_factory=list, description="Suite folders, each with a suite.yaml."
    )
    batch_size: int = Field(8, gt=0)
    max_new_tokens: int = Field(64, gt=0)


class ExportSection(_Section):
    dtype: Literal["float32", "bfloat16", "float16"] = Field(
        "float32", description="Dtype of the saved merged weights (the merge itself is fp32)."
    )
    max_logit_diff: float = Field(
        1e-4, gt=0, description="Largest |merged - adapter| logit allowed (fp32)."
    )
    probes: int = Field(8, gt=0, description="How many corpus prompts to check logits on.")
    max_shard_size: str = Field("5GB", description="Largest safetensors shard of the merged model.")
    merge_base: Literal["original", "dequantized"] = Field(
        "original",
        description="QLoRA only: merge into the original full-precision weights, or into the "
        "4-bit weights dequantised (what the adapter was trained against).",
    )
    gguf: list[Literal["f16", "bf16", "q8_0"]] = Field(
        default_factory=list, description="GGUF files for llama.cpp / Ollama (Llama, Qwen2)."
    )
    vllm: bool = Field(True, description="Write serve.sh (and serve_adapter.sh) for vLLM.")
    adapter: bool = Field(True, description="Also export the PEFT adapter alone.")
    signing_key: Path | None = Field(
        None, description="PEM elliptic-curve private key; signs manifest.json (manifest.sig)."
    )


class ReportSection(_Section):
    title: str | None = None


class TrackingSection(_Section):
    enabled: bool = True
    uri: str | None = Field(
        None,
        description="MLflow tracking URI (http://host:5000). Default: a local store in "
        "<output_dir>/mlflow, no server.",
    )
    experiment: str | None = Field(None, description="Default: the recipe name.")


class Recipe(_Section):
    """A gongmu recipe: one file drives corpus, train, eval, export and report."""

    extends: Union[str, list[str], None] = Field(
        None, description="Recipe file(s) this one is based on (deep merge, this file wins)."
    )
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str | None = None
    seed: int = 42
    output_dir: Path = Field(Path("runs"), description="Stage folders go to <output_dir>/<name>/.")
    corpus: CorpusSection = Field(default_factory=CorpusSection)
    model: ModelSection = Field(default_factory=ModelSection)
    train: TrainSection = Field(default_factory=TrainSection)
    eval: EvalSection = Field(default_factory=EvalSection)
    export: ExportSection = Field(default_factory=ExportSection)
    report: ReportSection = Field(default_factory=ReportSection)
    tracking: TrackingSection = Field(default_factory=TrackingSection)

    _file: Path | None = PrivateAttr(None)
    _locations: Locations = PrivateAttr(default_factory=dict)

    # ---- derived

    @property
    def file(self) -> Path | None:
        return self._file

    @property
    def run_dir(self) -> Path:
        return self.output_dir / self.name

    def stage_dir(self, stage: str) -> Path:
        return self.run_dir / stage

    def resolved(self) -> dict:
        """The recipe as plain data, defaults included (what `recipe show` prints)."""
        data = self.model_dump(mode="json", exclude={"extends"})
        return data

    def portable(self) -> dict:
        """`resolved()` with paths relative to the recipe file's folder: the same wherever
        the checkout lies, so hashes of it hold across machines and workspaces."""
        base = self._file.parent if self._file else Path.cwd()
        data = self.resolved()
        _map_paths(data, type(self), lambda p: os.path.relpath(p, base))
        return data

    def hash(self) -> str:
        return content_hash(self.portable())

    def where(self, *key: Any) -> str:
        """'file:line' where `key` (or its nearest written parent) was set."""
        return _where(self._locations, tuple(key), self._file)


def content_hash(data: Any) -> str:
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- loading


def load_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    """Load, merge (`extends`), override and validate a recipe. Raises RecipeError."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(
            f"Recipe file {path} does not exist. Give the path to a recipe YAML file, "
            f"for example recipes/quickstart.yaml."
        )
    data, locations = _load_with_extends(path.resolve(), stack=())
    for item in overrides:
        _apply_override(data, locations, item)
    data.pop("extends", None)
    # The default output folder, like every path, is relative to the recipe file.
    data.setdefault("output_dir", str(path.resolve().parent / "runs"))
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(_explain(exc, locations, path)) from None
    recipe._file = path.resolve()
    recipe._locations = locations
    return recipe


def _load_yaml(path: Path) -> tuple[dict, Locations]:
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RecipeError(
            f"{path}{line}: this is not valid YAML ({problem}). Check indentation and "
            f"quoting on that line."
        ) from None
    if data is None:
        data, node = {}, None
    if not isinstance(data, dict):
        raise RecipeError(
            f"{path}:1: a recipe must be a YAML mapping of keys (name:, corpus:, train: …), "
            f"not a {type(data).__name__}."
        )
    locations: Locations = {}
    if node is not None:
        _collect_lines(node, (), locations, str(path))
    return data, locations


def _collect_lines(node: yaml.Node, key: tuple, out: Locations, file: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for k_node, v_node in node.value:
            name = k_node.value
            line = k_node.start_mark.line + 1
            if name in seen:
                raise RecipeError(
                    f"{file}:{line}: key '{_dotted(key + (name,))}' is set twice "
                    f"(first at line {seen[name]}). Keep one."
                )
            seen[name] = line
            out[key + (name,)] = (file, line)
            _collect_lines(v_node, key + (name,), out, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[key + (i,)] = (file, item.start_mark.line + 1)
            _collect_lines(item, key + (i,), out, file)


def _load_with_extends(path: Path, stack: tuple[Path, ...]) -> tuple[dict, Locations]:
    if path in stack:
        chain = " -> ".join(str(p) for p in stack + (path,))
        raise RecipeError(f"Recipes extend each other in a cycle: {chain}. Break the cycle.")
    data, locations = _load_yaml(path)
    _resolve_paths(data, Recipe, path.parent)
    parents = data.get("extends") or []
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise RecipeError(
            f"{_where(locations, ('extends',), path)}: 'extends' must be a file path or a "
            f"list of file paths."
        )
    merged: dict = {}
    merged_loc: Locations = {}
    for parent in parents:
        parent_path = (path.parent / parent).resolve()
        if not parent_path.is_file():  # a missing file or a folder
            raise RecipeError(
                f"{_where(locations, ('extends',), path)}: 'extends' names {parent}, but "
                f"{parent_path} does not exist. Paths in 'extends' are relative to the file "
                f"that names them."
            )
        p_data, p_loc = _load_with_extends(parent_path, stack + (path,))
        _deep_merge(merged, merged_loc, p_data, p_loc, ())
    _deep_merge(merged, merged_loc, data, locations, ())
    return merged, merged_loc


def _deep_merge(base: dict, base_loc: Locations, top: dict, top_loc: Locations, key: tuple):
    """Merge `top` into `base` in place: mappings merge, anything else is replaced."""
    for name, value in top.items():
        here = key + (name,)
        if isinstance(value, dict) and isinstance(base.get(name), dict):
            _deep_merge(base[name], base_loc, value, top_loc, here)
        else:
            base[name] = value
            for stale in [k for k in base_loc if k[: len(here)] == here]:
                del base_loc[stale]
            base_loc.update({k: v for k, v in top_loc.items() if k[: len(here)] == here})
        if here in top_loc:
            base_loc[here] = top_loc[here]


def _apply_override(data: dict, locations: Locations, item: str) -> None:
    """Apply one `dotted.key=value` override, typed later by the schema."""
    if "=" not in item:
        raise RecipeError(
            f"Override '{item}' is not of the form key=value (for example "
            f"train.learning_rate=1e-4)."
        )
    dotted, raw = item.split("=", 1)
    parts: list[Any] = [int(p) if p.isdigit() else p for p in dotted.strip().split(".")]
    if parts[0] == "extends":
        raise RecipeError(
            f"Override '{item}': 'extends' cannot be overridden; name the base recipe in the "
            f"recipe file."
        )
    if not raw.strip():
        raise RecipeError(
            f"Override '{item}' has an empty value. Give a value, or {dotted}=null to unset it."
        )
    # Walk the schema first, so a misspelled key fails before anything changes.
    cls: Any = Recipe
    annotation: Any = None
    for depth, part in enumerate(parts):
        if isinstance(part, int):
            annotation = _list_item(annotation)
            cls = _field_model(annotation)
            continue
        if cls is None:
            raise RecipeError(f"Override '{item}': '{_dotted(parts[:depth])}' has no keys.")
        if part not in cls.model_fields:
            raise RecipeError(
                f"Override '{item}': unknown key '{_dotted(parts[: depth + 1])}'."
                f"{_nearest_hint(part, cls)}"
            )
        annotation = cls.model_fields[part].annotation
        cls = _field_model(annotation)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        value = raw
    accepted = _accepted_types(annotation)
    if str in accepted and not isinstance(value, accepted):
        value = raw  # `name=007`, `report.title=no`: the schema says text, keep the text
    value = _resolve_value_paths(value, annotation, Path.cwd())
    target: Any = data
    for depth, part in enumerate(parts[:-1]):
        if isinstance(target, list):
            if part >= len(target):
                raise RecipeError(f"Override '{item}': '{_dotted(parts[:depth])}' has no item {part}.")
            target = target[part]
        else:
            if not isinstance(target.get(part), (dict, list)):
                target[part] = [] if isinstance(parts[depth + 1], int) else {}
            target = target[part]
    last = parts[-1]
    if isinstance(target, list):
        if not isinstance(last, int) or last > len(target):
            raise RecipeError(f"Override '{item}': no list item {last} to set.")
        target[last:last + 1] = [value]
    else:
        target[last] = value
    here = tuple(parts)
    for stale in [k for k in locations if k[: len(here)] == here]:
        del locations[stale]
    locations[here] = ("<command line>", 0)


def _accepted_types(annotation: Any) -> tuple[type, ...]:
    """Python types a value of `annotation` may have as parsed YAML."""
    out: set[type] = set()
    for t in _unwrap(annotation):
        origin = typing.get_origin(t)
        if t in (str, Path):
            out.add(str)
        elif origin is Literal:
            out.update(type(a) for a in typing.get_args(t))
        elif t is float:
            out.update((int, float))
        elif t in (int, bool):
            out.add(t)
        elif t is type(None):
            out.add(type(None))
        elif origin is list:
            out.add(list)
        elif origin is dict or (isinstance(t, type) and issubclass(t, BaseModel)):
            out.add(dict)
    return tuple(out)


def _resolve_value_paths(value: Any, annotation: Any, base: Path) -> Any:
    """Make the paths inside an override value absolute (plain, list or nested sections)."""
    holder = {"v": value}

    class _Holder(BaseModel):
        v: annotation  # type: ignore[valid-type]

    _resolve_paths(holder, _Holder, base)
    return holder["v"]


def _list_item(annotation: Any) -> Any:
    for t in _unwrap(annotation):
        if typing.get_origin(t) is list:
            return typing.get_args(t)[0]
    return None


# --------------------------------------------------------------------------- paths


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation admits (Optional/Union/Annotated unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            out += _unwrap(arg)
        return out
    return [annotation]


def _field_model(annotation: Any) -> Any:
    for t in _unwrap(annotation):
        if isinstance(t, type) and issubclass(t, BaseModel):
            return t
        if typing.get_origin(t) is list:
            inner = typing.get_args(t)[0]
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


def _map_paths(raw: Any, cls: type[BaseModel], fn: typing.Callable[[str], str]) -> None:
    """Apply `fn` to every Path-typed string value in `raw` (in place), guided by `cls`."""
    if not isinstance(raw, dict):
        return
    for name, field in cls.model_fields.items():
        if name not in raw or raw[name] is None:
            continue
        for t in _unwrap(field.annotation):
            if t is Path and isinstance(raw[name], str):
                raw[name] = fn(raw[name])
            elif typing.get_origin(t) is list:
                inner = typing.get_args(t)[0]
                if isinstance(raw[name], list):
                    for i, item in enumerate(raw[name]):
                        if inner is Path and isinstance(item, str):
                            raw[name][i] = fn(item)
                        elif isinstance(inner, type) and issubclass(inner, BaseModel):
                            _map_paths(item, inner, fn)
            elif isinstance(t, type) and issubclass(t, BaseModel):
                _map_paths(raw[name], t, fn)


def _resolve_paths(raw: Any, cls: type[BaseModel], base: Path) -> None:
    """Make the Path-typed values in `raw` absolute, relative to `base` (in place)."""
    _map_paths(raw, cls, lambda p: str((base / Path(p).expanduser()).resolve()))


def check_paths(recipe: Recipe, stages: typing.Iterable[str]) -> None:
    """Fail before any heavy work when a path the given stages need does not exist."""
    stages = set(stages)
    problems: list[str] = []
    if "corpus" in stages:
        for i, src in enumerate(recipe.corpus.sources):
            if not src.path.is_dir():
                problems.append(
                    f"{recipe.where('corpus', 'sources', i, 'path')}: corpus.sources[{i}].path "
                    f"{src.path} is not a folder."
                )
        if not recipe.corpus.sources:
            problems.append(
                f"{recipe.where('corpus')}: corpus.sources is empty; name at least one "
                f"source folder."
            )
    if stages & {"train", "eval", "export"}:
        mp = recipe.model.path
        if mp is None:
            problems.append(f"{recipe.where('model')}: model.path is not set.")
        elif not (mp / "config.json").is_file():
            problems.append(_missing_model_message(recipe, mp))
        elif not any(mp.glob("*.safetensors")):
            problems.append(
                f"{recipe.where('model', 'path')}: model.path {mp} has no .safetensors weights. "
                f"gongmu loads safetensors only (pickle weights can run code when loaded); "
                f"convert the checkpoint first."
            )
        if recipe.model.chat_template and not recipe.model.chat_template.is_file():
            problems.append(
                f"{recipe.where('model', 'chat_template')}: model.chat_template "
                f"{recipe.model.chat_template} does not exist."
            )
    if "eval" in stages:
        if not recipe.eval.suites:
            problems.append(f"{recipe.where('eval')}: eval.suites is empty; name at least one suite folder.")
        for i, suite in enumerate(recipe.eval.suites):
            if not (suite / "suite.yaml").is_file():
                problems.append(
                    f"{recipe.where('eval', 'suites', i)}: eval.suites[{i}] {suite} has no "
                    f"suite.yaml."
                )
    if problems:
        raise RecipeError(" ".join(problems))


def _missing_model_message(recipe: Recipe, path: Path) -> str:
    where = recipe.where("model", "path")
    if path.is_dir():
        return (
            f"{where}: model.path {path} exists but has no config.json, so it is not a "
            f"Hugging Face model directory."
        )
    hint = ""
    # `org/name` under a folder that exists: most likely a Hub id, not a local path.
    if path.parent.parent.is_dir() and not path.parent.exists() and "." not in path.parent.name:
        hint = (
            f" If '{path.parent.name}/{path.name}' is a Hub model id: gongmu never downloads "
            f"models; download it beforehand on a machine with access, copy it here and point "
            f"model.path at the folder."
        )
    if path.exists():
        return f"{where}: model.path {path} is a file, not a model folder."
    return (
        f"{where}: model.path {path} does not exist. Point model.path at a local model "
        f"directory (for a test model: gongmu model tiny --corpus DOCS --out {path}).{hint}"
    )


# --------------------------------------------------------------------------- errors


def _dotted(key: typing.Sequence[Any]) -> str:
    out = ""
    for part in key:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _where(locations: Locations, key: tuple, file: Path | str | None) -> str:
    for n in range(len(key), -1, -1):
        if key[:n] in locations:
            f, line = locations[key[:n]]
            return f if line == 0 else f"{f}:{line}"
    return str(file) if file else "<recipe>"


def _model_at(key: tuple) -> Any:
    cls: Any = Recipe
    for part in key:
        if isinstance(part, int):
            continue
        if cls is None or part not in getattr(cls, "model_fields", {}):
            return None
        cls = _field_model(cls.model_fields[part].annotation)
    return cls


def _nearest_hint(name: str, cls: Any) -> str:
    if cls is None:
        return ""
    valid = list(cls.model_fields)
    close = difflib.get_close_matches(str(name), valid, n=1, cutoff=0.5)
    near = f" Did you mean '{close[0]}'?" if close else ""
    return f"{near} Valid keys here: {', '.join(valid)}."


def _explain(exc: ValidationError, locations: Locations, file: Path) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        where = _where(locations, loc, file)
        dotted = _dotted(loc)
        if err["type"] == "extra_forbidden":
            lines.append(
                f"{where}: unknown key '{dotted}'.{_nearest_hint(loc[-1], _model_at(loc[:-1]))}"
            )
        elif err["type"] == "missing":
            lines.append(f"{where}: required key '{dotted}' is missing.")
        else:
            expected = _expected_type(loc)
            lines.append(
                f"{where}: key '{dotted}' {err['msg'][0].lower()}{err['msg'][1:]}"
                f"{f' (expected {expected})' if expected else ''}; got {err.get('input')!r}."
            )
    return "Recipe is not valid. " + " ".join(lines)


def _expected_type(loc: tuple) -> str:
    parent = _model_at(loc[:-1])
    name = loc[-1] if loc else None
    if parent is None or name not in getattr(parent, "model_fields", {}):
        return ""
    ann = parent.model_fields[name].annotation
    names = []
    for t in _unwrap(ann):
        if typing.get_origin(t) is Literal:
            names.append(" | ".join(repr(a) for a in typing.get_args(t)))
        else:
            names.append(getattr(t, "__name__", None) or str(t).replace("typing.", ""))
    return " or ".join(names)


def recipe_json_schema() -> dict:
    """JSON Schema of recipes, for editor completion (yaml-language-server)."""
    schema = Recipe.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "gongmu recipe"
    return schema


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
