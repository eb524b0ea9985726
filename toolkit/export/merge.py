"""Merging and packaging for the export stage (`toolkit.export.stage`): the adapter
merged into full-precision base weights (never into 4-bit ones), the adapter alone with
its vLLM script, and GGUF files with an Ollama Modelfile.

`merge_shards` is the merge at real scale: it reads the base checkpoint shard by shard
and each tensor once (plain reads, no memory map), merges the LoRA or DoRA update of
that tensor in fp32 (on the GPU when there is one), casts it to the export dtype and
writes it straight into its planned place in the output shard: the merge holds one
tensor at a time, never a copy of a shard, let alone of the model. `merge_adapter` (both whole models in memory)
stays for the cases it does not cover (QLoRA merged into dequantized weights, adapters on
embeddings) and for tests that compare the two.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import struct
import threading
import time
from pathlib import Path

import torch

from toolkit.artifacts import write_json
from toolkit.errors import ArtifactError
from toolkit.export import serving
from toolkit.models import load_model
from toolkit.recipe import ModelSection, QloraSection, Recipe


@torch.no_grad()
def dequantized_base(section: ModelSection, qlora: QloraSection):
    """The base in fp32 with every 4-bit linear weight replaced by its dequantised value:
    the weights a QLoRA adapter was actually trained against."""
    import bitsandbytes as bnb

    quantized = load_model(section, dtype="float32", qlora=qlora)
    base = load_model(section, dtype="float32")
    modules = dict(base.named_modules())
    for name, module in quantized.named_modules():
        if isinstance(module, bnb.nn.Linear4bit):
            weight = bnb.functional.dequantize_4bit(module.weight.data, module.weight.quant_state)
            modules[name].weight.copy_(weight.to(torch.float32).reshape(modules[name].weight.shape))
    return base


@torch.no_grad()
def merge_adapter(section: ModelSection, adapter_dir: Path, merge_base: str = "original",
                  qlora: QloraSection | None = None):
    """(adapter model, merged model), both fp32: the adapter on the chosen base weights,
    and the same weights merged. Separate copies; the adapter model is kept for checks.
    Never merges into 4-bit weights (PEFT would re-quantise the merged result)."""
    from peft import PeftModel

    def base():
        if merge_base == "dequantized":
            if qlora is None:
                raise ArtifactError("export.merge_base: dequantized applies to QLoRA adapters only.")
            return dequantized_base(section, qlora)
        return load_model(section, dtype="float32")

    adapter_model = PeftModel.from_pretrained(base(), adapter_dir).eval()
    merged = PeftModel.from_pretrained(base(), adapter_dir).merge_and_unload().eval()
    return adapter_model, merged


# --------------------------------------------------------------------------- shard-wise merge


class ShardMergeUnsupported(Exception):
    """The adapter has a part `merge_shards` does not merge (the reason is the message):
    the stage falls back to the whole-model merge and records why."""


class PeakMemory:
    """The peak resident memory of this process (and the CUDA peak) inside a `with`
    block: Linux's high-water mark reset on entry (/proc/self/clear_refs), else sampled
    every 10 ms. `figures()` gives bytes."""

    def __init__(self):
        self.rss_peak = self.rss_start = 0
        self._sampler = None
        self._stop = threading.Event()

    @staticmethod
    def _status(field: str) -> int:
        text = Path("/proc/self/status").read_text()
        return int(re.search(rf"{field}:\s+(\d+) kB", text).group(1)) * 1024

    def __enter__(self):
        self.rss_start = self._status("VmRSS")
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
            self._hwm = True
        except OSError:
            self._hwm = False
            self._sampler = threading.Thread(target=self._sample, daemon=True)
            self._sampler.start()
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        return self

    def _sample(self):
        while not self._stop.wait(0.01):
            self.rss_peak = max(self.rss_peak, self._status("VmRSS"))

    def __exit__(self, *exc):
        if self._hwm:
            self.rss_peak = self._status("VmHWM")
        else:
            self._stop.set()
            self._sampler.join()
        self.cuda_peak = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else None

    def figures(self) -> dict:
        return {"peak_rss_bytes": self.rss_peak,
                "peak_rss_above_start_bytes": max(0, self.rss_peak - self.rss_start),
                "peak_cuda_bytes": self.cuda_peak}


def merge_device(name: str = "auto") -> torch.device:
    """Where merge arithmetic runs: the GPU when there is one (auto), else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _shard_files(model_dir: Path) -> list[Path]:
    index = model_dir / "model.safetensors.index.json"
    if index.is_file():
        names = json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()
        return [model_dir / n for n in sorted(set(names))]
    return [model_dir / "model.safetensors"]


_SAFETENSORS_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16,
                       "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32,
                       "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool}
_DTYPE_NAMES = {v: k for k, v in _SAFETENSORS_DTYPES.items()}


def safetensors_header(path: Path) -> tuple[int, dict]:
    """(where the data starts, {name: {"dtype", "shape", "data_offsets"}}) of a
    safetensors file, read without its data."""
    with open(path, "rb") as fh:
        size = struct.unpack("<Q", fh.read(8))[0]
        header = json.loads(fh.read(size))
    header.pop("__metadata__", None)
    for name, info in header.items():
        if info["dtype"] not in _SAFETENSORS_DTYPES:
            raise ShardMergeUnsupported(f"{path.name}: tensor {name} has dtype {info['dtype']}")
    return 8 + size, header


def read_tensor(fh, start: int, info: dict) -> torch.Tensor:
    """One tensor of an open safetensors file, read with a plain read: unlike a memory
    map, the file's pages never count as this process's memory."""
    begin, end = info["data_offsets"]
    fh.seek(start + begin)
    data = bytearray(fh.read(end - begin))
    dtype = _SAFETENSORS_DTYPES[info["dtype"]]
    tensor = torch.frombuffer(data, dtype=dtype) if data else torch.empty(0, dtype=dtype)
    return tensor.reshape(info["shape"])


def _write_shard(path: Path, plan: list[tuple[str, torch.dtype, list[int]]], produce) -> None:
    """A safetensors file of the tensors `plan` names ((name, dtype, shape), in order),
    written one at a time as `produce(name)` returns each: the header first (every size
    is known from the plan), then each tensor's bytes, so no shard is ever held whole."""
    header, offset = {}, 0
    for name, dtype, shape in plan:
        nbytes = math.prod(shape) * torch.empty(0, dtype=dtype).element_size()
        header[name] = {"dtype": _DTYPE_NAMES[dtype], "shape": list(shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps({"__metadata__": {"format": "pt"}, **header}, separators=(",", ":"))
    text += " " * (-(8 + len(text.encode("utf-8"))) % 8)  # data 8-byte aligned, as safetensors writes it
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(text.encode("utf-8"))))
        fh.write(text.encode("utf-8"))
        for name, dtype, shape in plan:
            tensor = produce(name)
            if tensor.dtype != dtype or list(tensor.shape) != list(shape):
                raise ArtifactError(f"merge: {name} came out {tensor.dtype} {list(tensor.shape)}, "
                                    f"planned {dtype} {list(shape)}")
            fh.write(tensor.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
                     if tensor.dtype == torch.bool else
                     memoryview(tensor.contiguous().reshape(-1).view(torch.uint8).numpy()))
            del tensor


_PEFT_PREFIX = "base_model.model."


def _adapter_updates(adapter_dir: Path) -> tuple[dict, dict]:
    """({base weight name: (A, B, scaling, magnitude or None, fan_in_fan_out)}, {base
    weight name: a trained full copy (modules_to_save)}) of a PEFT LoRA/DoRA adapter;
    ShardMergeUnsupported for anything else."""
    from safetensors.torch import load_file

    config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    if config.get("peft_type", "LORA") != "LORA":
        raise ShardMergeUnsupported(f"peft_type {config.get('peft_type')} is not LoRA")
    if config.get("layer_replication"):
        raise ShardMergeUnsupported("layer_replication changes the model's layers")
    weights = load_file(adapter_dir / "adapter_model.safetensors")
    modules: dict[str, dict] = {}
    saved: dict[str, torch.Tensor] = {}
    for key, tensor in weights.items():
        if not key.startswith(_PEFT_PREFIX):
            raise ShardMergeUnsupported(f"unexpected adapter tensor {key}")
        name = key[len(_PEFT_PREFIX):]
        m = re.fullmatch(r"(.+)\.(lora_A|lora_B)\.weight", name)
        if m:
            modules.setdefault(m.group(1), {})[m.group(2)] = tensor
        elif name.endswith(".lora_magnitude_vector"):
            modules.setdefault(name[: -len(".lora_magnitude_vector")], {})["magnitude"] = tensor
        elif "lora_" in name:
            raise ShardMergeUnsupported(f"{name}: only LoRA/DoRA on linear layers merge shard-wise")
        else:
            saved[name] = tensor  # modules_to_save: the trained copy replaces the base's
    alpha_pattern = config.get("alpha_pattern") or {}
    updates = {}
    for module, parts in modules.items():
        if "lora_A" not in parts or "lora_B" not in parts:
            raise ShardMergeUnsupported(f"{module} lacks lora_A or lora_B")
        rank = parts["lora_A"].shape[0]
        alpha = next((a for k, a in alpha_pattern.items()
                      if module == k or re.fullmatch(rf".*\.{k}", module)), config["lora_alpha"])
        scaling = alpha / (math.sqrt(rank) if config.get("use_rslora") else rank)
        updates[f"{module}.weight"] = (parts["lora_A"], parts["lora_B"], scaling,
                                       parts.get("magnitude"), bool(config.get("fan_in_fan_out")))
    return updates, saved


def _merged(weight: torch.Tensor, update, device: torch.device) -> torch.Tensor:
    """`weight` (fp32, on `device`) with its LoRA update, or its DoRA update, merged as
    PEFT's merge_and_unload merges it."""
    a, b, scaling, magnitude, fan_in_fan_out = update
    delta = (b.to(device, torch.float32) @ a.to(device, torch.float32)) * scaling
    if fan_in_fan_out:
        delta = delta.T
    weight = weight + delta
    if magnitude is not None:
        rows = weight.T if fan_in_fan_out else weight
        factor = magnitude.to(device, torch.float32) / torch.linalg.norm(rows, dim=1)
        weight = weight * (factor.view(1, -1) if fan_in_fan_out else factor.view(-1, 1))
    return weight


@torch.no_grad()
def merge_shards(base_dir: Path, adapter_dir: Path | None, out_dir: Path, dtype: str,
                 max_shard_size: str = "5GB", device: str = "auto") -> dict:
    """Write `base_dir`'s weights with the adapter in `adapter_dir` merged (none: a cast
    copy, for fully fine-tuned checkpoints) to `out_dir` as `dtype` safetensors shards of
    at most `max_shard_size`. The output shards are planned from the input headers, then
    each tensor is read, merged in fp32 on the merge device, cast and written before the
    next is read: the merge holds one tensor at a time, never a shard or the model.
    Config and generation config are copied (config's dtype set to `dtype`). Returns
    figures: tensors merged and replaced, shards, bytes, seconds, device. Raises
    ShardMergeUnsupported when the adapter has a part only the whole-model merge handles."""
    from transformers.utils.hub import convert_file_size_to_int

    from toolkit.models import torch_dtype

    started = time.monotonic()
    base_dir, out_dir = Path(base_dir), Path(out_dir)
    updates, saved = _adapter_updates(Path(adapter_dir)) if adapter_dir is not None else ({}, {})
    where, target = merge_device(device), torch_dtype(dtype)
    limit = convert_file_size_to_int(max_shard_size)
    # Where each base tensor is, and the plan of the output shards (input order kept).
    source: dict[str, tuple[Path, int, dict]] = {}
    parts: list[list[tuple[str, torch.dtype, list[int]]]] = [[]]
    filled = 0
    for shard in _shard_files(base_dir):
        start, header = safetensors_header(shard)
        for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
            source[name] = (shard, start, info)
            stored = _SAFETENSORS_DTYPES[info["dtype"]]
            out_dtype = target if stored.is_floating_point else stored
            nbytes = math.prod(info["shape"]) * torch.empty(0, dtype=out_dtype).element_size()
            if filled and filled + nbytes > limit:
                parts.append([])
                filled = 0
            parts[-1].append((name, out_dtype, info["shape"]))
            filled += nbytes
    missing = sorted(set(updates) - set(source)) + sorted(set(saved) - set(source))
    if missing:
        raise ShardMergeUnsupported(f"the adapter updates weights the base checkpoint does not "
                                    f"hold: {', '.join(missing[:4])}")
    counts = {"merged": 0, "replaced": 0}
    handles: dict[Path, object] = {}

    def produce(name: str) -> torch.Tensor:
        shard, start, info = source[name]
        if shard not in handles:
            for old in list(handles):  # inputs are read in order: one file open at a time
                handles.pop(old).close()
            handles[shard] = open(shard, "rb")  # noqa: SIM115 - closed at the next shard or below
        tensor = read_tensor(handles[shard], start, info)
        if name in updates:
            tensor = _merged(tensor.to(where, torch.float32), updates[name], where)
            counts["merged"] += 1
        elif name in saved:
            tensor = saved[name]
            counts["replaced"] += 1
        return (tensor.to(target) if tensor.is_floating_point() else tensor).cpu()

    out_dir.mkdir(parents=True, exist_ok=True)
    names = ["model.safetensors"] if len(parts) == 1 else [
        f"model-{k + 1:05d}-of-{len(parts):05d}.safetensors" for k in range(len(parts))]
    try:
        for plan, name in zip(parts, names):
            _write_shard(out_dir / name, plan, produce)
    finally:
        for fh in handles.values():
            fh.close()
    if len(parts) > 1:
        total = sum((out_dir / n).stat().st_size for n in names)
        weight_map = {t: n for plan, n in zip(parts, names) for t, _, _ in plan}
        write_json(out_dir / "model.safetensors.index.json",
                   {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})
    config = json.loads((base_dir / "config.json").read_text(encoding="utf-8"))
    config.pop("quantization_config", None)
    config["dtype"] = dtype
    if "torch_dtype" in config:
        config["torch_dtype"] = dtype
    write_json(out_dir / "config.json", config)
    if (base_dir / "generation_config.json").is_file():
        shutil.copy2(base_dir / "generation_config.json", out_dir / "generation_config.json")
    return {"merge": "shard-wise", "merge_device": str(where), "tensors_merged": counts["merged"],
            "tensors_replaced": counts["replaced"], "shards": len(names),
            "model_bytes": sum((out_dir / n).stat().st_size for n in names),
            "merge_seconds": round(time.monotonic() - started, 3)}


def write_script(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def export_adapter(recipe: Recipe, adapter_dir: Path, tok, out: Path, max_len: int) -> dict:
    """The PEFT adapter alone (with the training tokenizer), and a vLLM script for serving
    it beside its base, unless vLLM cannot serve it (then the reason is recorded)."""
    target = out / "adapter"
    shutil.copytree(adapter_dir, target)
    tok.save_pretrained(target)
    config = json.loads((target / "adapter_config.json").read_text(encoding="utf-8"))
    ok, reason = serving.adapter_serving(config)
    if ok and recipe.export.vllm:
        write_script(out / "serve_adapter.sh", serving.vllm_adapter_script(
            recipe.name, recipe.model.path, int(config["r"]), max_len))
    return {"adapter_vllm_servable": ok, **({"adapter_vllm_refusal": reason} if not ok else {})}


def export_gguf(recipe: Recipe, model_dir: Path, folder: Path, tok) -> dict:
    from toolkit.export.gguf import check_gguf, write_gguf

    folder.mkdir()
    written, problems = [], []
    for qtype in recipe.export.gguf:
        path = folder / f"{recipe.name}-{qtype}.gguf"
        info = write_gguf(model_dir, path, qtype, recipe.name)
        problems += [f"{path.name}: {p}" for p in check_gguf(path, model_dir)]
        written.append(info)
    if problems:
        raise ArtifactError(
            f"A GGUF file does not match the merged model: {'; '.join(problems[:6])}. Nothing "
            f"was written to {recipe.stage_dir('export')}."
        )
    # A Modelfile only when its Go template renders prompts as the model was trained.
    refusal = serving.ollama_template_problem(tok)
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    num_ctx = serving.ollama_num_ctx(config["max_position_embeddings"], recipe.train.max_seq_len)
    modelfile = None if refusal else serving.ollama_modelfile(
        written[-1]["file"], tok.chat_template, tok.get_vocab(), num_ctx=num_ctx)
    if modelfile:
        (folder / "Modelfile").write_text(modelfile, encoding="utf-8")
    write_json(folder / "gguf.json", written)
    return {"gguf_files": [w["file"] for w in written], "ollama_modelfile": bool(modelfile),
            **({"ollama_modelfile_refusal": refusal} if refusal else {})}
