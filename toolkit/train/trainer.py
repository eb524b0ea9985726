"""What the train stage (`toolkit.train.stage`) is made of: the LoRA config, the
callback that records the loss curve and stops on a non-finite loss or weight,
checkpoints and resume, the distributed strategy asked for and the one that ran,
memory and the full fine-tuning footprint check."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import torch

from toolkit import tracking
from toolkit.errors import GongmuError
from toolkit.recipe import Recipe


def lora_config(recipe: Recipe):
    from peft import LoraConfig

    cfg = recipe.train.lora
    return LoraConfig(
        r=cfg.r,
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules=cfg.target_modules,
        modules_to_save=cfg.modules_to_save or None,
        use_dora=recipe.train.method == "dora",
        task_type="CAUSAL_LM",
    )


def _curve_row(logs: dict) -> dict:
    row = {"step": logs["step"], "epoch": round(logs.get("epoch") or 0, 4)}
    for key in ("loss", "learning_rate", "grad_norm"):
        if key in logs:
            row[key] = float(logs[key])
    return row


def _callback(run: tracking.StageRun, curve: list[dict], bar, task, model):
    from transformers import TrainerCallback

    class Record(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            bar.update(task, completed=state.global_step)
            # Every step, not only logging steps: a non-finite update poisons the weights
            # at once, and nothing after it may be saved.
            bad = nonfinite_trainable(model)
            if bad:
                raise GongmuError(
                    f"Training weights became non-finite at step {state.global_step} "
                    f"({bad}). Lower train.learning_rate or check the data; nothing was saved."
                )
            if state.global_step >= state.max_steps:
                control.should_log = True  # the curve always ends at the last step

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or "loss" not in logs:
                return
            row = _curve_row({**logs, "step": state.global_step, "epoch": state.epoch})
            for key in ("loss", "grad_norm"):
                if key in row and not torch.isfinite(torch.tensor(row[key])):
                    raise GongmuError(
                        f"Training {key.replace('_', ' ')} became {row[key]} at step "
                        f"{state.global_step}. Lower train.learning_rate or check the data; "
                        f"nothing was saved."
                    )
            curve.append(row)
            run.log_metrics({f"train/{k}": v for k, v in row.items() if k != "step"},
                            step=state.global_step)
            bar.update(task, info=f"loss {row['loss']:.4f}")

    return Record()


@torch.no_grad()
def nonfinite_trainable(model) -> str | None:
    """The first trained parameter (this process's shard of it) holding NaN or inf."""
    from torch.distributed.tensor import DTensor

    for name, p in model.named_parameters():
        if not p.requires_grad or p.numel() == 0:
            continue
        local = p.to_local() if isinstance(p, DTensor) else p
        if not torch.isfinite(local).all():
            return name
    return None


def nonfinite_weight_files(folder: Path) -> list[str]:
    """Tensors holding NaN or inf in the safetensors files of `folder`."""
    from safetensors import safe_open

    bad = []
    for path in sorted(Path(folder).glob("*.safetensors")):
        with safe_open(str(path), framework="pt") as fh:
            for key in fh.keys():
                tensor = fh.get_tensor(key)
                if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                    bad.append(f"{path.name}:{key}")
    return bad


def checkpoint_dir(recipe: Recipe):
    """Where checkpoints live: beside the stage folder, since a stage's own folder only
    appears when it completes."""
    return recipe.run_dir / ".train-checkpoints"


def last_checkpoint(recipe: Recipe, corpus) -> str:
    """The newest complete checkpoint of this recipe's training, or GongmuError."""
    folder = checkpoint_dir(recipe)
    stamp = folder / "gongmu_run.json"
    if not stamp.is_file():
        raise GongmuError(
            f"Nothing to resume: {folder} holds no checkpoints of this run. Set "
            f"train.save_steps and run `gongmu train {recipe.file}` first."
        )
    recorded = json.loads(stamp.read_text(encoding="utf-8"))
    expected = _run_stamp(recipe, corpus)
    if recorded.get("corpus_manifest_sha256") != expected["corpus_manifest_sha256"]:
        raise GongmuError(
            f"The checkpoints in {folder} were trained on another corpus than the one now in "
            f"{corpus.path} (it was rebuilt since); resuming would mix two trainings. Put the "
            f"earlier corpus folder back to resume, or run `gongmu train {recipe.file}` "
            f"without --resume to start afresh, which discards these checkpoints."
        )
    if recorded.get("section_hash") != expected["section_hash"]:
        raise GongmuError(_changed_values_message(recipe, folder, recorded.get("section"),
                                                  expected["section"]))
    last = newest_complete_checkpoint(folder)
    if last is None:
        raise GongmuError(f"Nothing to resume: {folder} holds no complete checkpoint yet.")
    return str(last)


def newest_complete_checkpoint(folder: Path) -> Path | None:
    """The newest `checkpoint-N` whose save finished. transformers writes a checkpoint in
    place, its `trainer_state.json` after the weights, optimizer and RNG states; a folder
    without it (or without weights) is what a kill during the save left, and is skipped."""
    found = []
    for path in Path(folder).glob("checkpoint-*"):
        step = path.name.split("-", 1)[1]
        if step.isdigit() and path.is_dir():
            found.append((int(step), path))
    for _, path in sorted(found, reverse=True):
        state = path / "trainer_state.json"
        weights = [p for p in path.iterdir() if p.name.endswith(".safetensors")]
        try:
            json.loads(state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if weights:
            return path
    return None


def _run_stamp(recipe: Recipe, corpus) -> dict:
    from toolkit.recipe import content_hash
    from toolkit.stages import section_data

    section = section_data(recipe, "train")
    return {"section_hash": content_hash(section), "section": section,
            "corpus_manifest_sha256": corpus.manifest_sha256}


def _changed_values_message(recipe: Recipe, folder: Path, was: dict | None, now: dict) -> str:
    """Which recipe values differ from the checkpoints' run (old -> new) and the command
    that resumes with the old ones."""
    import shlex

    from toolkit.tracking import leaves

    file = shlex.quote(str(recipe.file))
    head = (f"The checkpoints in {folder} were written with other recipe values than this "
            f"run's; resuming with these would mix two trainings.")
    fresh = (f"Or run `gongmu train {file}` without --resume to start afresh, which "
             f"discards these checkpoints.")
    if was is None:  # a stamp from before the values were recorded
        return f"{head} Resume with the values that run used. {fresh}"
    old, new = leaves(was), leaves(now)
    keys = [k for k in sorted(set(old) | set(new)) if old.get(k, ...) != new.get(k, ...)]

    def shown(value) -> str:
        return "-" if value is ... else json.dumps(value, ensure_ascii=False)

    changed = ", ".join(f"{k} ({shown(old.get(k, ...))} -> {shown(new.get(k, ...))})"
                        for k in keys)
    overrides = " ".join(shlex.quote(f"{k}={json.dumps(old[k], ensure_ascii=False)}")
                         for k in keys if k in old)
    return (f"{head} Changed: {changed}. To resume, pass the checkpoints' values: "
            f"`gongmu train {file} {overrides} --resume` (with the other overrides "
            f"that run had). {fresh}")


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def trainable_abs_sum(model) -> float:
    """Sum of |w| over the trained weights as this process sees them whole (gathered
    under ZeRO-3 and FSDP; a collective call there). Compared with the saved adapter or
    model, it shows the file holds the weights that were trained, not an empty or partial
    copy."""
    from torch.distributed.tensor import DTensor
    from transformers.integrations import is_deepspeed_zero3_enabled

    params = [p for p in model.parameters() if p.requires_grad]

    def total() -> float:
        whole = (p.full_tensor() if isinstance(p, DTensor) else p for p in params)
        return float(sum(w.detach().float().abs().sum() for w in whole))

    if is_deepspeed_zero3_enabled():
        import deepspeed

        with deepspeed.zero.GatheredParameters(params):
            return total()
    return total()


def refuse_overlap(train_records: list[dict], eval_records: list[dict], where) -> None:
    """Training on held-out documents or examples makes every eval score meaningless."""
    train_docs = {(r.get("meta") or {}).get("doc_id") for r in train_records} - {None}
    shared = sorted(train_docs & {(r.get("meta") or {}).get("doc_id") for r in eval_records})
    train_texts = {json.dumps(r["messages"], ensure_ascii=False, sort_keys=True) for r in train_records}
    same = [r["id"] for r in eval_records
            if json.dumps(r["messages"], ensure_ascii=False, sort_keys=True) in train_texts]
    if shared or same:
        raise GongmuError(
            f"The eval split in {where} overlaps the train split: "
            f"{len(shared)} documents on both sides ({', '.join(shared[:5])}) and {len(same)} "
            f"identical examples ({', '.join(same[:5])}). Rebuild the corpus so that no document "
            f"is on both sides."
        )


def reset_peak_memory() -> None:
    """Start the peak-memory figure here, so that it measures training, not model loading
    (loading a base before quantising it to 4 bits holds both copies for a moment)."""
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
        return
    with contextlib.suppress(OSError):  # Linux: "5" resets this process's VmHWM
        Path("/proc/self/clear_refs").write_text("5")


def peak_memory_mb() -> float:
    """Peak GPU memory allocated since `reset_peak_memory`, or on CPU this process's peak
    resident memory since then (since it started, where /proc does not tell)."""
    if torch.cuda.is_available():
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# Files of a trained model folder: the adapter or the full checkpoint, and the code of a
# remote-code model. Never Trainer's pickled training_args.bin, never tokenizer files.
WEIGHT_FILES = {"adapter_config.json", "config.json", "generation_config.json"}


def _is_weight_file(name: str) -> bool:
    return name in WEIGHT_FILES or name.endswith((".safetensors", ".safetensors.index.json", ".py"))


# fp32 weights (4 bytes), their gradients (4) and AdamW's two moments (8).
FULL_STATE_BYTES_PER_PARAMETER = 16


def check_full_finetune_fits(parameters: int, sharded: bool, available: int | None = None,
                             device: str = "") -> float:
    """The weights-gradients-optimizer footprint of full fine-tuning in GB; GongmuError
    when it alone exceeds the device's memory and nothing shards it (ZeRO or FSDP), so
    the run fails before loading data rather than out of memory an hour in."""
    need = FULL_STATE_BYTES_PER_PARAMETER * parameters
    if not sharded:
        if available is None:
            if torch.cuda.is_available():
                available = torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory
                device = f"the GPU ({torch.cuda.get_device_name()})"
            else:
                available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
                device = "this machine's memory"
        if need > available:
            raise GongmuError(
                f"Full fine-tuning of {parameters / 1e9:.2f}B parameters needs about "
                f"{need / 1e9:.0f} GB for fp32 weights, gradients and AdamW states "
                f"({FULL_STATE_BYTES_PER_PARAMETER} bytes per parameter) before activations; "
                f"{device} has {available / 1e9:.0f} GB. Use train.method=lora or qlora, or "
                f"shard the states across GPUs (train.deepspeed=zero3, "
                f"or --launcher accelerate --accelerate-config fsdp)."
            )
    return round(need / 1e9, 2)


def deepspeed_config_name(cfg) -> str | None:
    """The DeepSpeed config in use: train.deepspeed, or the one an accelerate config named."""
    from toolkit.train.launch import deepspeed_config_path

    path = (deepspeed_config_path(cfg.deepspeed) if cfg.deepspeed
            else os.environ.get("ACCELERATE_DEEPSPEED_CONFIG_FILE"))
    return Path(path).name if path else None


def refuse_fsdp_without_accelerator() -> None:
    if not torch.accelerator.is_available():
        raise GongmuError(
            "The accelerate config asks for FSDP (distributed_type: FSDP), but this machine has "
            "no GPU: accelerate shards with FSDP only on GPUs and other accelerators, and would "
            "train full unsharded copies instead. On CPU, use --launcher torchrun (DDP) or "
            "DeepSpeed ZeRO (train.deepspeed=zero3)."
        )


def requested_strategy(recipe: Recipe) -> str:
    """What the launch asks for (single, ddp, deepspeed-zero<stage>, fsdp), from the recipe
    and the environment torchrun or accelerate launch set; GongmuError for FSDP without an
    accelerator, since accelerate would quietly train unsharded DDP copies instead."""
    if recipe.train.deepspeed or os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true":
        stage = None
        if recipe.train.deepspeed:
            from toolkit.train.launch import deepspeed_config_path

            config = json.loads(deepspeed_config_path(recipe.train.deepspeed).read_text(encoding="utf-8"))
            stage = (config.get("zero_optimization") or {}).get("stage")
        return f"deepspeed-zero{stage}" if stage is not None else "deepspeed"
    if os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true":
        refuse_fsdp_without_accelerator()
        return "fsdp"
    return "ddp" if int(os.environ.get("WORLD_SIZE", "1")) > 1 else "single"


def distributed_strategy(trainer) -> str:
    """How the Trainer actually ran: single, ddp, deepspeed-zero<stage> or fsdp<version>."""
    state = trainer.accelerator.state
    kind = state.distributed_type.name
    if kind == "DEEPSPEED":
        return f"deepspeed-zero{state.deepspeed_plugin.zero_stage}"
    if kind == "FSDP":
        return f"fsdp{getattr(state.fsdp_plugin, 'fsdp_version', 1)}"
    return "ddp" if kind.startswith("MULTI_") else "single"


def sharded_parameters(model) -> int:
    """Parameters held as DTensor shards (FSDP2): evidence that sharding took place."""
    from torch.distributed.tensor import DTensor

    return sum(1 for p in model.parameters() if isinstance(p, DTensor))


def training_attention(recipe: Recipe) -> str:
    """The attention implementation for training: per-sample attention when packing."""
    chosen = recipe.model.attn_implementation
    if chosen != "auto":
        return chosen
    if not recipe.train.packing:
        return "sdpa"
    if torch.cuda.is_available():
        import importlib.util

        if importlib.util.find_spec("flash_attn") is not None:
            return "flash_attention_2"
    from toolkit.train.packing import register_segment_attention

    return register_segment_attention()


def _compute_dtype(recipe: Recipe) -> str:
    return recipe.train.qlora.compute_dtype if recipe.train.method == "qlora" else recipe.model.dtype


