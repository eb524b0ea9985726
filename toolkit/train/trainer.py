"""The train stage: LoRA, DoRA and QLoRA through PEFT, or full fine-tuning, with TRL's
SFTTrainer; the loss on assistant tokens only.

Reads <run>/corpus/train.jsonl, writes <run>/train/{adapter/ (or model/ for full
fine-tuning), tokenizer/, loss_curve.jsonl, base_model.json}.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path

import torch

from toolkit import tracking
from toolkit.artifacts import (
    StageOutput,
    open_upstream,
    read_jsonl,
    stage_folder,
    write_json,
    write_jsonl,
)
from toolkit.console import progress
from toolkit.errors import GongmuError
from toolkit.recipe import Recipe, check_paths
from toolkit.train.data import check_template_matches_serving, tokenize_records
from toolkit.train.model import load_model, load_tokenizer, model_fingerprint, trained_weights_dir
from toolkit.train.throughput import matmul_peak_flops, model_flops_per_token


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


def _callback(run: tracking.StageRun, curve: list[dict], bar, task):
    from transformers import TrainerCallback

    class Record(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            bar.update(task, completed=state.global_step)
            if state.global_step >= state.max_steps:
                control.should_log = True  # the curve always ends at the last step

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or "loss" not in logs:
                return
            row = _curve_row({**logs, "step": state.global_step, "epoch": state.epoch})
            if not torch.isfinite(torch.tensor(row["loss"])):
                raise GongmuError(
                    f"Training loss became {row['loss']} at step {state.global_step}. Lower "
                    f"train.learning_rate or check the data; nothing was saved."
                )
            curve.append(row)
            run.log_metrics({f"train/{k}": v for k, v in row.items() if k != "step"},
                            step=state.global_step)
            bar.update(task, info=f"loss {row['loss']:.4f}")

    return Record()


def checkpoint_dir(recipe: Recipe):
    """Where checkpoints live: beside the stage folder, since a stage's own folder only
    appears when it completes."""
    return recipe.run_dir / ".train-checkpoints"


def last_checkpoint(recipe: Recipe, corpus) -> str:
    """The newest complete checkpoint of this recipe's training, or GongmuError."""
    from transformers.trainer_utils import get_last_checkpoint

    folder = checkpoint_dir(recipe)
    stamp = folder / "gongmu_run.json"
    if not stamp.is_file():
        raise GongmuError(
            f"Nothing to resume: {folder} holds no checkpoints of this run. Set "
            f"train.save_steps and run `gongmu train {recipe.file}` first."
        )
    recorded = json.loads(stamp.read_text(encoding="utf-8"))
    expected = _run_stamp(recipe, corpus)
    if recorded != expected:
        raise GongmuError(
            f"The checkpoints in {folder} were written by a run with other recipe values or "
            f"another corpus; resuming would mix two trainings. Start afresh (without --resume)."
        )
    last = get_last_checkpoint(str(folder))
    if last is None:
        raise GongmuError(f"Nothing to resume: {folder} holds no complete checkpoint yet.")
    return last


def _run_stamp(recipe: Recipe, corpus) -> dict:
    from toolkit.artifacts import section_data
    from toolkit.recipe import content_hash

    return {"section_hash": content_hash(section_data(recipe, "train")),
            "corpus_manifest_sha256": corpus.manifest_sha256}


def train(recipe: Recipe, resume: bool = False) -> StageOutput:
    """Fine-tune `recipe.model` (LoRA, DoRA, QLoRA or full) on the corpus stage's train
    split; with `resume`, continue from the newest checkpoint of the same run."""
    from datasets import Dataset
    from peft import get_peft_model
    from transformers import PrinterCallback, set_seed
    from trl import SFTConfig, SFTTrainer

    check_paths(recipe, ["train"])
    corpus = open_upstream(recipe, "corpus")
    cfg = recipe.train
    wanted = requested_strategy(recipe)
    set_seed(recipe.seed)
    tok = load_tokenizer(recipe.model)
    records = read_jsonl(corpus.path / "train.jsonl")
    held_out = [r for side in ("validation", "test") if (corpus.path / f"{side}.jsonl").is_file()
                for r in read_jsonl(corpus.path / f"{side}.jsonl")]
    refuse_overlap(records, held_out, corpus.path)
    checked = check_template_matches_serving(tok, records)
    rows, counts = tokenize_records(tok, records, cfg.max_seq_len)
    share = counts["truncated_to_max_seq_len"] / max(counts["records"], 1)
    if share > cfg.max_truncated_fraction:
        raise GongmuError(
            f"{counts['truncated_to_max_seq_len']} of {counts['records']} training examples "
            f"({share:.1%}) are longer than train.max_seq_len={cfg.max_seq_len} tokens, above "
            f"train.max_truncated_fraction={cfg.max_truncated_fraction}. Raise max_seq_len, or "
            f"raise the threshold if cutting them is acceptable."
        )
    if not rows:
        raise GongmuError(f"{corpus.path / 'train.jsonl'} gives no trainable sequences.")
    resume_from = last_checkpoint(recipe, corpus) if resume else None
    checkpoints = checkpoint_dir(recipe)
    if not resume and checkpoints.exists() and is_main_process():
        shutil.rmtree(checkpoints)  # a fresh run: stale checkpoints must not be resumed later
    if cfg.save_steps and is_main_process():
        checkpoints.mkdir(parents=True, exist_ok=True)
        (checkpoints / "gongmu_run.json").write_text(json.dumps(_run_stamp(recipe, corpus)))
    attn = training_attention(recipe)
    if cfg.method == "qlora":
        from peft import prepare_model_for_kbit_training

        model = load_model(recipe.model, dtype=cfg.qlora.compute_dtype, qlora=cfg.qlora,
                           attn_implementation=attn,
                           quant_storage=cfg.qlora.compute_dtype if wanted == "fsdp" else None)
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=cfg.gradient_checkpointing)
    elif cfg.method == "full":
        # fp32 master weights whatever model.dtype says; bf16/fp16 run as autocast on a GPU.
        model = load_model(recipe.model, dtype="float32", attn_implementation=attn)
    else:
        model = load_model(recipe.model, attn_implementation=attn)
    # A KV cache would ignore the restarted position_ids of packed rows.
    model.config.use_cache = False
    if cfg.method == "full":
        state_gb = check_full_finetune_fits(sum(p.numel() for p in model.parameters()),
                                            sharded=wanted.startswith(("deepspeed", "fsdp")))
    else:
        model = get_peft_model(model, lora_config(recipe))
        state_gb = None
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())

    curve: list[dict] = []
    tokens_before = 0
    if resume_from:
        # The loss curve up to the checkpoint, as the interrupted run logged it.
        state = json.loads((Path(resume_from) / "trainer_state.json").read_text())
        curve += [_curve_row(h) for h in state["log_history"] if "loss" in h]
        tokens_before = int(state.get("num_input_tokens_seen") or 0)
    main = is_main_process()
    with tracking.stage_run(recipe, "train") if main else contextlib.nullcontext(
            tracking.StageRun()) as run:
        args = SFTConfig(
            output_dir=str(checkpoints),
            per_device_train_batch_size=cfg.batch_size,
            gradient_accumulation_steps=cfg.gradient_accumulation_steps,
            learning_rate=cfg.learning_rate,
            num_train_epochs=cfg.epochs,
            max_steps=cfg.max_steps,
            lr_scheduler_type=cfg.lr_scheduler,
            warmup_steps=cfg.warmup_ratio,
            weight_decay=cfg.weight_decay,
            logging_steps=cfg.logging_steps,
            # Sequences are already cut to max_seq_len; padding-free rows are longer.
            max_length=None if cfg.packing else cfg.max_seq_len,
            padding_free=cfg.packing,
            seed=recipe.seed,
            data_seed=recipe.seed,
            save_strategy="steps" if cfg.save_steps else "no",
            save_steps=cfg.save_steps or 500,
            save_total_limit=cfg.save_total_limit,
            eval_strategy="no",
            report_to="none",
            disable_tqdm=True,
            use_cpu=not torch.cuda.is_available(),
            bf16=_compute_dtype(recipe) == "bfloat16" and torch.cuda.is_available(),
            fp16=_compute_dtype(recipe) == "float16" and torch.cuda.is_available(),
            dataloader_num_workers=0,
            gradient_checkpointing=cfg.gradient_checkpointing,
            train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
            include_num_input_tokens_seen="non_padding",
            deepspeed=str(cfg.deepspeed) if cfg.deepspeed else None,
        )
        with progress() as bar:
            task = bar.add_task("train", total=None, info="")
            trainer = SFTTrainer(
                model=model,
                args=args,
                train_dataset=Dataset.from_list(rows),
                processing_class=tok,
                callbacks=[_callback(run, curve, bar, task)],
            )
            trainer.remove_callback(PrinterCallback)  # progress goes to our bar
            bar.update(task, total=trainer.state.max_steps or None)
            reset_peak_memory()
            started = time.time()
            result = trainer.train(resume_from_checkpoint=resume_from)
            seconds = time.time() - started
        # Every rank takes part: under ZeRO-3 the weights are gathered from all of them
        # (saving the bare model there would write an empty adapter).
        final = checkpoints / "final-adapter"
        trainer.save_model(str(final))
        rank0_sum = trainable_abs_sum(model)
        shards = sharded_parameters(model)
        ran = distributed_strategy(trainer)
        if not ran.startswith(wanted):
            raise GongmuError(
                f"The launch asked for {wanted} but the Trainer ran {ran}; nothing was saved. "
                f"Check the accelerate config and the launcher (gongmu train --launcher ...)."
            )
        if not main:
            return None
        if not curve:
            raise GongmuError("Training logged no loss; nothing was saved.")
        peak = matmul_peak_flops()
        with stage_folder(recipe, "train", [corpus]) as out:
            weights = out.path / trained_weights_dir(cfg.method)
            weights.mkdir()
            for path in sorted(final.iterdir()):
                if _is_weight_file(path.name):
                    shutil.copy2(path, weights / path.name)
            tok.save_pretrained(out.path / "tokenizer")
            write_jsonl(out.path / "loss_curve.jsonl", curve)
            write_json(out.path / "base_model.json", model_fingerprint(recipe.model.path))
            steps = result.global_step
            world = int(os.environ.get("WORLD_SIZE", "1"))
            per_step = cfg.batch_size * cfg.gradient_accumulation_steps * world
            epochs = cfg.epochs if cfg.max_steps < 0 else steps * per_step / max(len(rows), 1)
            tokens = trainer.state.num_input_tokens_seen - tokens_before
            out.figures.update({
                **{f"data_{k}": v for k, v in counts.items()},
                "template_checked_records": checked,
                "steps": steps,
                "epochs": round(float(epochs), 3),
                "processes": world,
                "deepspeed": deepspeed_config_name(cfg),
                "loss_first": curve[0]["loss"],
                "loss_last": curve[-1]["loss"],
                "train_loss_mean": float(result.training_loss),
                "method": cfg.method,
                "distributed": ran,
                "sharded_parameters": shards,
                "full_state_estimate_gb": state_gb,
                "packing": cfg.packing,
                "attn_implementation": attn,
                "trainable_parameters": trainable,
                "total_parameters": total,
                "trained_abs_sum": rank0_sum,
                "train_seconds": round(seconds, 2),
                "non_pad_tokens_seen": int(trainer.state.num_input_tokens_seen),
                "tokens_per_second": round(tokens / max(seconds, 1e-9), 1),
                "resumed_from": Path(resume_from).name if resume_from else None,
                "peak_memory_mb": peak_memory_mb(),
                "matmul_peak_gflops": round(peak / 1e9, 1),
                "mfu": round(tokens * model_flops_per_token(total, adapter_only=cfg.method != "full")
                             / max(seconds, 1e-9)
                             / (peak * world), 4),
            })
        shutil.rmtree(checkpoints, ignore_errors=True)
        run.log_stage(out)
        run.log_dataset("corpus", corpus.manifest_sha256, str(corpus.path / "train.jsonl"))
        run.log_artifact(out.path / weights.name, weights.name)
    return out


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
                f"shard the states across GPUs (train.deepspeed=recipes/deepspeed/zero3.json, "
                f"or --launcher accelerate --accelerate-config fsdp)."
            )
    return round(need / 1e9, 2)


def deepspeed_config_name(cfg) -> str | None:
    """The DeepSpeed config in use: train.deepspeed, or the one an accelerate config named."""
    path = cfg.deepspeed or os.environ.get("ACCELERATE_DEEPSPEED_CONFIG_FILE")
    return Path(path).name if path else None


def refuse_fsdp_without_accelerator() -> None:
    if not torch.accelerator.is_available():
        raise GongmuError(
            "The accelerate config asks for FSDP (distributed_type: FSDP), but this machine has "
            "no GPU: accelerate shards with FSDP only on GPUs and other accelerators, and would "
            "train full unsharded copies instead. On CPU, use --launcher torchrun (DDP) or "
            "DeepSpeed ZeRO (train.deepspeed=recipes/deepspeed/zero3.json)."
        )


def requested_strategy(recipe: Recipe) -> str:
    """What the launch asks for (single, ddp, deepspeed-zero<stage>, fsdp), from the recipe
    and the environment torchrun or accelerate launch set; GongmuError for FSDP without an
    accelerator, since accelerate would quietly train unsharded DDP copies instead."""
    if recipe.train.deepspeed or os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true":
        stage = None
        if recipe.train.deepspeed:
            config = json.loads(Path(recipe.train.deepspeed).read_text(encoding="utf-8"))
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


