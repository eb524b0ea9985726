"""The recipe schema: every section and key a recipe may hold, with defaults, bounds and
descriptions. This is the one place a contributor adds a key; loading, `extends`,
overrides and error text live in `toolkit.recipe.load`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from pydantic_core import PydanticCustomError

from toolkit import plugins
from toolkit.recipe.fields import Locations, content_hash, map_paths, written_at


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- secrets

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY_PREFIX = re.compile(r"(sk|pk|rk|hf|ghp|gho|gsk|xox[abprs]|glpat|AIza)[-_]", re.IGNORECASE)
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_RESERVED_HEADERS = frozenset({"content-type", "content-length", "host", "transfer-encoding",
                               "connection"})


def looks_like_a_key(value: str) -> bool:
    """Whether `value`, where an environment variable's name belongs, is rather a key
    pasted in its place: not a variable name at all, a known key prefix (sk-, hf_, ghp_,
    ...), or a segment of 16+ characters between underscores that mixes cases or holds
    digits (a variable name is short words: OPENAI_API_KEY, vendor_token_2)."""
    if not _VARIABLE_NAME.fullmatch(value):
        return True
    if _KEY_PREFIX.match(value) and len(value) >= 12:
        return True
    for segment in value.split("_"):
        mixed = any(c.islower() for c in segment) and any(c.isupper() for c in segment)
        if len(segment) >= 16 and (mixed or any(c.isdigit() for c in segment)):
            return True
    return False


def _variable_name(value: Any, key: str) -> str:
    """`value` when it names an environment variable; else an error that never repeats
    it (it may be the key itself)."""
    if not isinstance(value, str) or looks_like_a_key(value):
        raise PydanticCustomError(
            "secret_like", f"must name an environment variable (letters, digits and _, such "
            f"as VENDOR_API_KEY); the value given is not such a name, or looks like it may "
            f"be the key itself, so it is not repeated here. Put the key in an environment variable "
            f"(export VENDOR_API_KEY=...) and write that variable's name under {key}")
    return value


def _api_key_env(value: Any) -> Any:
    return None if value is None else _variable_name(value, "api_key_env")


def _headers_env(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    for name, variable in value.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise PydanticCustomError(
                "secret_like", "a header name (letters, digits and -, such as X-Api-Key) "
                "maps to the environment variable holding its value; one name given is not a "
                "header name")
        if name.lower() in _RESERVED_HEADERS:
            raise PydanticCustomError(
                "value_error", f"header {name} is set by gongmu itself; remove it from "
                "headers_env")
        _variable_name(variable, f"headers_env.{name}")
    return value


def _no_key_in(value: Any, where: str) -> None:
    """Refuse strings in `value` that look like keys (they would be stored in the
    manifest and MLflow): keys go in headers_env or api_key_env."""
    if isinstance(value, dict):
        for k, v in value.items():
            _no_key_in(v, f"{where}.{k}")
    elif isinstance(value, list):
        for k, v in enumerate(value):
            _no_key_in(v, f"{where}.{k}")
    elif isinstance(value, str) and (
            value.lower().startswith(("bearer ", "basic "))
            or (" " not in value and len(value) >= 20 and _KEY_PREFIX.match(value))):
        raise PydanticCustomError(
            "secret_like", f"{where} looks like a key or credential (not repeated here): "
            "whatever is in the recipe is stored in every manifest and MLflow run. Put the "
            "key in an environment variable and name it in api_key_env (Bearer) or "
            "headers_env ({Header-Name: VARIABLE}) instead")


HeadersEnv = Annotated[dict[str, str], BeforeValidator(_headers_env), Field(
    default_factory=dict, description="Headers sent with every request, each header name "
    "mapped to the environment variable holding its value (for non-Bearer auth, e.g. "
    "{X-Api-Key: VENDOR_KEY}); values are read at request time, never stored, and "
    "scrubbed to ‹key› from replies and errors.")]
MaxReplyBytes = Annotated[int, Field(
    1 << 20, gt=0, le=1 << 30, description="Largest reply accepted, in bytes (default 1 MiB): "
    "a longer one is refused without being read whole.")]


# --------------------------------------------------------------------------- schema


class CorpusSource(_Section):
    """One input of the corpus stage."""

    type: str = Field(
        "documents",
        description="The reader: documents: .md/.txt with YAML front matter (제목, 문서종류, "
        "담당부서); statutes: a legalize-kr checkout (<법령명>/<구분>.md); rulings: "
        "precedent-kr rulings; ordinances: ordinance-kr files; text: plain .md/.txt; jsonl: "
        "one record per line (options.field_map); hwpx: 한글 HWPX files; pdf: PDF text "
        "layers; or a reader a plug-in package registers (`gongmu plugins` lists them).",
        json_schema_extra={"examples": ["documents", "statutes", "rulings", "ordinances",
                                        "text", "jsonl", "hwpx", "pdf"]},
    )
    options: dict[str, Any] = Field(
        default_factory=dict, validate_default=True,
        description="The reader's own options, checked by its options model (jsonl: "
        "field_map, our field -> the file's key: `text` is required; `id`, `title` and "
        "other entries are copied into the document's metadata).",
    )
    path: Path = Field(description="Folder holding the files.")
    glob: str | None = Field(None, description="Which files under `path` to read; default by type.")
    name: str | None = Field(None, description="Source name in counts; default: folder name.")
    follow_symlinks: bool = Field(
        False, description="Read files that symbolic links under `path` point to outside it. "
        "Off by default: such a link is quarantined with its reason, as are dangling links "
        "and link loops.",
    )
    profile: str | None = Field(
        None, description="Quality profile (a key of corpus.profiles); default: the reader's "
        "(legal for statutes/rulings/ordinances, document otherwise).",
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
        return self.glob or plugins.load(plugins.READERS, self.type).glob

    @property
    def profile_name(self) -> str:
        """Legal text is trusted and never goes through web-quality filters: each reader
        says which profile its sources get when the recipe names none."""
        return self.profile or plugins.load(plugins.READERS, self.type).profile

    @field_validator("type")
    @classmethod
    def _registered_reader(cls, value: str) -> str:
        return plugins.check_name(plugins.READERS, value)

    @field_validator("options")
    @classmethod
    def _reader_options(cls, value: dict, info: ValidationInfo) -> dict:
        if "type" not in info.data:  # the type is wrong: reported on its own
            return value
        return plugins.validate_options(plugins.READERS, info.data["type"], value)


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
    shards: int = Field(16, gt=0, le=100_000, description="Shards of the read/clean/redact step.")
    sbatch_args: dict[str, str] = Field(default_factory=dict)


class RaySection(_Section):
    address: str | None = Field(None, description="Ray cluster address; default: start or join a local one.")
    shards: int = Field(16, gt=0, le=100_000, description="Shards of the read/clean/redact step.")
    cpus_per_task: int = Field(1, gt=0, le=1024)


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
    templated_families: list[str] = Field(
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
    families: list[str] = Field(default_factory=lambda: ["explain"])
    timeout_s: float = Field(60.0, gt=0, le=3600, description="Seconds for one whole request "
                             "(connect to last byte), not per socket read.")
    api_key_env: Annotated[str | None, BeforeValidator(_api_key_env)] = Field(
        "OPENAI_API_KEY", description="Environment variable whose value, when set, is sent as "
        "the Bearer key (never the key itself).")
    headers_env: HeadersEnv
    max_reply_bytes: MaxReplyBytes


# An instruction family registered in the gongmu.families entry points (built-in or plug-in).
FamilyName = Annotated[str, AfterValidator(lambda name: plugins.check_name(plugins.FAMILIES, name))]


class CorpusSection(_Section):
    sources: list[CorpusSource] = Field(default_factory=list)
    executor: Literal["local", "slurm", "ray"] = Field(
        "local", description="local: in-process with `workers` processes; slurm / ray: the "
        "same datatrove pipeline on a cluster.",
    )
    workers: int = Field(
        2, gt=0, le=1024, description="Local processes for the read/clean/redact step "
        "(capped at the CPU count, with a warning).",
    )
    slurm: SlurmSection = Field(default_factory=SlurmSection)
    ray: RaySection = Field(default_factory=RaySection)
    profiles: dict[str, QualityProfile] = Field(default_factory=_default_profiles)
    families: list[FamilyName] = Field(
        default_factory=lambda: ["title", "doc_type", "department", "article"],
        description="Instruction families built from each document: title, doc_type, "
        "department, article (documents); lookup, explain, summarise, route, draft, refuse "
        "(statutes, rulings, ordinances); or a family a plug-in package registers "
        "(`gongmu plugins` lists them).",
    )
    family_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, validate_default=True,
        description="Options of the named families, {family: {option: value}}, each checked "
        "by its family's options model (defaults filled in for every family that has one).",
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
        "answers of the named families (cached, capped). Off by default.",
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

    @property
    def plugins(self) -> dict[str, list[str]]:
        """The registered readers and families this corpus uses, {group: names}: what
        `toolkit.plugins.plugins_used` turns into the manifest's record."""
        return {plugins.READERS: [s.type for s in self.sources],
                plugins.FAMILIES: list(self.families)}

    @field_validator("family_options")
    @classmethod
    def _family_options(cls, value: dict, info: ValidationInfo) -> dict:
        families = info.data.get("families")
        if families is None:  # the families are wrong: reported on their own
            return value
        for name in value:
            if name not in families:
                raise ValueError(f"'{name}' is not one of corpus.families "
                                 f"({', '.join(families)}); name it there too")
        return {name: plugins.validate_options(plugins.FAMILIES, name, value.get(name),
                                               at=(name,))
                for name in families
                if name in value or plugins.load(plugins.FAMILIES, name).options is not None}

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
    eos_token: str | None = Field(
        None, description="The token that ends an assistant turn, when it is not the "
        "tokenizer's eos (Gemma 2: <end_of_turn>). Training labels end with it, generation "
        "stops at it, and the trained and exported tokenizers name it as eos.",
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
    learning_rate: float = Field(2e-4, gt=0, le=1.0)
    epochs: float = Field(1.0, gt=0, le=10_000)
    max_steps: int = Field(
        -1, ge=-1, le=100_000_000, description="Stop after this many optimiser steps (-1: run `epochs`)."
    )

    @field_validator("max_steps")
    @classmethod
    def _steps_not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("max_steps must be -1 (train for `epochs`) or a positive number")
        return value
    batch_size: int = Field(8, gt=0, le=65_536, description="Sequences per device per step.")
    gradient_accumulation_steps: int = Field(1, gt=0, le=65_536)
    max_seq_len: int = Field(512, gt=8, le=1_048_576)
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
    deepspeed: Union[Literal["zero2", "zero3", "zero3_offload"], Path, None] = Field(
        None, description="DeepSpeed config: a built-in one by name (zero2, zero3, "
        "zero3_offload) or a JSON file; used under `gongmu train --launcher "
        "torchrun|accelerate`.",
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


CandidateName = Annotated[str, Field(
    pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", max_length=64,
    description="Names the candidate in results.json, outputs/<suite>.<name>.jsonl and the "
    "compare table (letters, digits, _ and -).")]


class HfCandidate(_Section):
    """A local Hugging Face model directory (safetensors), scored in this process."""

    name: CandidateName
    kind: Literal["hf"]
    path: Path | None = Field(None, description="The model folder; default: model.path.")
    chat_template: Path | None = Field(
        None, description="A Jinja chat template file instead of the model's own.")
    trust_remote_code: bool = Field(False, description="Run Python code shipped with the model.")


class AdapterCandidate(_Section):
    """A base model with a PEFT adapter folder, scored in this process."""

    name: CandidateName
    kind: Literal["adapter"]
    adapter: Path = Field(description="The PEFT adapter folder (adapter_config.json).")
    base: Path | None = Field(None, description="The base model folder; default: model.path.")
    chat_template: Path | None = Field(
        None, description="A Jinja chat template file; default: the adapter folder's "
        "tokenizer when it has one, else the base's.")


class StageCandidate(_Section):
    """This recipe's own model: `base` (model.path), `train` (the tuned model of the train
    stage folder) or `export` (the merged model of the export stage folder)."""

    name: CandidateName
    kind: Literal["stage"]
    stage: Literal["base", "train", "export"] = Field(
        "train", description="base: model.path, prompts rendered with the tokenizer the "
        "train stage saved when a train candidate is evaluated too; train: base + adapter "
        "(or the full checkpoint); export: the exported model folder.")


class OpenAICandidate(_Section):
    """An OpenAI-compatible chat-completions endpoint (vLLM, transformers serve, a vendor
    API). The key is read from the environment variable `api_key_env` at request time and
    never written anywhere."""

    name: CandidateName
    kind: Literal["openai"]
    base_url: str = Field(description="e.g. http://127.0.0.1:8000/v1 (the path before "
                          "/chat/completions).")
    model: str = Field(description="The model name the server serves.")
    api_key_env: Annotated[str | None, BeforeValidator(_api_key_env)] = Field(
        None, description="Name of the environment variable holding the API key, sent as a "
        "Bearer token (never the key: a value that looks like one is refused unrepeated).")
    headers_env: HeadersEnv
    max_concurrency: int = Field(4, gt=0, le=256, description="Requests in flight at once.")
    requests_per_minute: float | None = Field(
        None, gt=0, description="Spacing of request starts; default: no limit.")
    timeout: float = Field(120.0, gt=0, le=3600, description="Seconds for one whole request "
                           "(connect to last byte), not per socket read.")
    suite_timeout: float | None = Field(
        3600.0, gt=0, le=7 * 24 * 3600, description="Seconds for all of one suite's requests; "
        "after it the endpoint counts as down for that suite and its unsent items fail "
        "unanswered (endpoint_down, scored as the worst), the reason recorded. Answers "
        "received are cached: a re-run asks only the rest. null: no overall deadline.")
    max_reply_bytes: MaxReplyBytes
    retries: int = Field(
        4, ge=0, le=20, description="Retries of a request after a 429, a 5xx, a timeout, a "
        "dropped connection or a malformed reply, with exponential backoff.")
    backoff_s: float = Field(1.0, ge=0, le=600, description="First retry pause (doubles).")
    extra_body: dict[str, Any] = Field(
        default_factory=dict, description="Extra keys of every request body "
        "(e.g. {top_k: 1}); model, messages and prompt cannot be overridden.")
    price_per_1k_input_tokens: float | None = Field(None, ge=0, description="For the cost figure.")
    price_per_1k_output_tokens: float | None = Field(None, ge=0, description="For the cost figure.")
    choice_scoring: Literal["auto", "logprobs", "letter"] = Field(
        "auto", description="Multiple choice: logprobs (log-likelihood of each choice from "
        "/completions with echo and logprobs, as vLLM offers; needs `tokenizer`), letter "
        "(the model answers with the choice's letter; flagged in results.json: not "
        "comparable with log-likelihood accuracies) or auto (logprobs when `tokenizer` is "
        "set and the endpoint returns them, else letter).")
    tokenizer: Path | None = Field(
        None, description="A local folder with the served model's tokenizer and chat "
        "template, to render the prompt text that logprobs scoring sends to /completions.")
    allow_remote_pii: bool = Field(
        False, description="Send items holding personal data (found by scan-pii) to this "
        "endpoint although it is not on this machine. The pii suites' synthetic contexts "
        "are always sent.")

    @field_validator("extra_body")
    @classmethod
    def _no_reserved_keys(cls, value: dict) -> dict:
        reserved = sorted({"model", "messages", "prompt"} & set(value))
        if reserved:
            raise ValueError(f"extra_body cannot set {', '.join(reserved)}: gongmu sends them")
        _no_key_in(value, "extra_body")
        return value

    @model_validator(mode="after")
    def _one_authorization(self):
        if self.api_key_env and any(h.lower() == "authorization" for h in self.headers_env):
            raise ValueError("api_key_env sends the Authorization header (Bearer); set "
                             "either it or headers_env.Authorization, not both")
        return self


Candidate = Annotated[Union[HfCandidate, AdapterCandidate, StageCandidate, OpenAICandidate],
                      Field(discriminator="kind")]


def _default_candidates() -> list:
    return [StageCandidate(name="base", kind="stage", stage="base"),
            StageCandidate(name="tuned", kind="stage", stage="train")]


class EvalSection(_Section):
    suites: list[Path] = Field(
        default_factory=list, description="Suite folders, each with a suite.yaml."
    )
    batch_size: int = Field(8, gt=0, le=65_536)
    max_new_tokens: int = Field(64, gt=0, le=1_048_576)
    candidates: list[Candidate] = Field(
        default_factory=_default_candidates, min_length=1,
        description="What is evaluated, each {name, kind, ...}: kind hf (a local model "
        "folder), adapter (a base plus a PEFT adapter), stage (this recipe's base, train or "
        "export) or openai (an OpenAI-compatible endpoint). All see the same items, prompts "
        "and scoring. Default: base (stage base) and tuned (stage train).",
    )
    reference: str | None = Field(
        None, description="The candidate the others are compared with in results.json and "
        "`gongmu eval compare` (paired intervals); default: the first candidate.")
    device: str = Field(
        "auto", pattern=r"^(auto|cpu|cuda(:\d+)?|mps)$",
        description="Where local candidates run: auto (every GPU with device_map=auto, else "
        "the CPU), cpu, cuda, cuda:N or mps.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="dtype of local candidates: auto is bfloat16 on a GPU, float32 on "
        "the CPU.")
    backend: Literal["transformers", "vllm"] = Field(
        "transformers", description="Generation of local candidates: transformers (batched "
        "greedy decoding, batch-invariant), or vllm (needs vLLM and a GPU; same items, "
        "prompts and scoring).")
    max_model_len: int | None = Field(
        None, gt=0, le=1_048_576, description="vllm backend: the context length to reserve "
        "(default: the model's, capped at 8192).")
    item_secret_env: Annotated[str | None, BeforeValidator(
        lambda v: None if v is None else _variable_name(v, "item_secret_env"))] = Field(
        None, description="The environment variable holding a secret that picks, orders and words "
        "the builder suites' items (which documents, distractors and question wording): "
        "with it the items cannot be rebuilt from public data. The secret is never written "
        "anywhere; results.json records its fingerprint only.")

    @model_validator(mode="after")
    def _candidate_names(self) -> "EvalSection":
        names = [c.name for c in self.candidates]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"candidate name(s) {', '.join(repeated)} appear more than once; "
                             f"each candidate needs its own name")
        if self.reference is not None and self.reference not in names:
            raise ValueError(f"reference '{self.reference}' is not a candidate "
                             f"({', '.join(names)})")
        return self

    @property
    def reference_name(self) -> str:
        return self.reference or self.candidates[0].name


class ExportSection(_Section):
    dtype: Literal["float32", "bfloat16", "float16"] = Field(
        "float32", description="Dtype of the saved merged weights (the merge itself is fp32, "
        "one shard at a time)."
    )
    max_logit_diff: float = Field(
        1e-4, gt=0, description="Largest |merged - adapter| logit allowed (fp32)."
    )
    max_logit_diff_bfloat16: float = Field(
        0.1, gt=0, le=1, description="Largest |exported - adapter model| logit allowed for a "
        "bfloat16 export, both computed in bfloat16, as a share of the adapter model's "
        "largest |logit| on the probes (8 mantissa bits: the merged weight is rounded once, "
        "the adapter model's sum in every layer)."
    )
    max_logit_diff_float16: float = Field(
        0.02, gt=0, le=1, description="The same share for a float16 export (11 mantissa bits)."
    )
    device: str = Field(
        "auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$",
        description="Where the merge and the checks compute: auto (the GPU when there is one).")
    max_model_len: int | None = Field(
        None, gt=0, le=1_048_576, description="serve.sh's --max-model-len; default: the "
        "model's context length capped at 8192 (131072 for Llama-3.1 would not fit a 24 GB GPU).")
    probes: int = Field(8, gt=0, le=10_000, description="How many corpus prompts to check logits on.")
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


class NonInferiority(_Section):
    reference: str = Field(description="The candidate compared with (e.g. base, or the "
                           "model now in service).")
    margin: float = Field(ge=0, description="The largest tolerated shortfall of the primary "
                          "metric against the reference (e.g. 0.02).")


class AcceptanceCriterion(_Section):
    """One suite's acceptance criterion, judged on the 95% interval bound, never the mean."""

    metric: str | None = Field(None, description="Default: the suite's primary metric.")
    minimum: float | None = Field(None, description="The interval's lower bound must reach it.")
    maximum: float | None = Field(
        None, description="For a lower-is-better metric (pii_leak): the interval's upper bound "
        "must stay at or under it.")
    non_inferiority: NonInferiority | None = Field(
        None, description="Candidate - reference (paired interval) must not fall below -margin.")

    @model_validator(mode="after")
    def _one_kind(self) -> "AcceptanceCriterion":
        given = [k for k in ("minimum", "maximum", "non_inferiority") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of minimum, maximum or non_inferiority "
                             f"(got {', '.join(given) or 'none'})")
        return self


class ReportSection(_Section):
    title: str | None = None
    language: Literal["ko", "en"] = Field(
        "ko", description="ko: the report in Korean (default); en: the same content in English.")
    acceptance: dict[str, AcceptanceCriterion] = Field(
        default_factory=dict, description="Per suite name: {minimum: x}, {maximum: x} or "
        "{non_inferiority: {reference: NAME, margin: x}}. A suite without one is judged on "
        "its suite.yaml thresholds, if any.")
    pdf: Union[bool, Literal["auto"]] = Field(
        True, description="true: also print report.pdf with headless Chromium and the "
        "NanumGothic font (scripts/setup/install_browser.sh installs both), checked before the "
        "first stage starts; auto: print it where they are installed, else write report.html "
        "alone and say how to get the PDF; false: report.html alone.")
    samples_per_task: int = Field(2, ge=0, le=50, description="Sample outputs shown per task.")
    reviewer: str | None = Field(None, description="Pre-printed in the signature box.")
    organisation: str | None = Field(None, description="Pre-printed in the signature box.")
    signing_key: Path | None = Field(
        None, description="PEM elliptic-curve private key signing the report folder's manifest "
        "(default: signing_key, else export.signing_key).")


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
    seed: int = Field(42, ge=0, le=2**32 - 1, description="Split, initialisation and data order.")
    output_dir: Path = Field(Path("runs"), description="Stage folders go to <output_dir>/<name>/.")
    corpus: CorpusSection = Field(default_factory=CorpusSection)
    model: ModelSection = Field(default_factory=ModelSection)
    train: TrainSection = Field(default_factory=TrainSection)
    eval: EvalSection = Field(default_factory=EvalSection)
    export: ExportSection = Field(default_factory=ExportSection)
    report: ReportSection = Field(default_factory=ReportSection)
    tracking: TrackingSection = Field(default_factory=TrackingSection)
    signing_key: Path | None = Field(
        None, description="PEM elliptic-curve private key: every stage folder's manifest.json is "
        "signed into manifest.sig (check with `gongmu verify DIR --signature --public-key PEM`).",
    )

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
        map_paths(data, type(self), lambda p: os.path.relpath(p, base))
        return data

    def hash(self) -> str:
        return content_hash(self.portable())

    def where(self, *key: Any) -> str:
        """'file:line' where `key` (or its nearest written parent) was set."""
        return written_at(self._locations, tuple(key), self._file)


