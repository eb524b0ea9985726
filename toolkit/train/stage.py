"""The train stage: LoRA, DoRA and QLoRA through PEFT, or full fine-tuning, with TRL's
SFTTrainer; the loss on assistant tokens only.

    gongmu train R [--resume] [--launcher torchrun|accelerate]

Reads <run>/corpus/train.jsonl, writes <run>/train/{adapter/ (or model/ for full
fine-tuning), tokenizer/, loss_curve.jsonl, base_model.json}. `run` reads top to
bottom: `_setup_data`, `_setup_model`, `_setup_trainer`, training, `_publish`.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.artifacts import StageOutput
from toolkit.recipe import Recipe
from toolkit.stages import Stage

STAGE = Stage(
    name="train",
    command="train",
    summary="Fine-tune (LoRA, DoRA, QLoRA or full) on the corpus stage's train split.",
    sections=("seed", "model", "train"),
    upstream=("corpus",),
    outputs=("adapter/ or model/", "tokenizer/", "loss_curve.jsonl", "base_model.json"),
    module=__name__,
)


def check_paths(recipe: Recipe) -> list[str]:
    from toolkit.models import model_path_problems

    from toolkit.train.launch import deepspeed_config_path

    problems = model_path_problems(recipe)
    ds = recipe.train.deepspeed
    if ds is not None and not deepspeed_config_path(ds).is_file():
        problems.append(f"{recipe.where('train', 'deepspeed')}: train.deepspeed {ds} does not "
                        f"exist (give a JSON file, or zero2, zero3 or zero3_offload).")
    return problems


@dataclass
class _Data:
    tokenizer: object
    rows: list[dict]
    counts: dict
    template_checked: int


@dataclass
class _Model:
    model: object
    trainable: int
    total: int
    attn: str
    full_state_gb: float | None


@dataclass
class _Progress:
    curve: list[dict] = field(default_factory=list)
    tokens_before: int = 0
    resume_from: str | None = None


def run(recipe: Recipe, resume: bool = False) -> StageOutput | None:
    """Fine-tune `recipe.model` on the corpus stage's train split; with `resume`, continue
    from the newest complete checkpoint of the same run. In a distributed run every
    process trains and only the main one publishes (the others return None)."""
    from transformers import PrinterCallback, set_seed

    from toolkit.console import progress
    from toolkit.errors import GongmuError
    from toolkit.stages import stage_run
    from toolkit.train.trainer import (
        distributed_strategy,
        is_main_process,
        requested_strategy,
        reset_peak_memory,
        sharded_parameters,
        trainable_abs_sum,
    )

    main = is_main_process()
    with stage_run(recipe, "train", main_process=main) as stage:
        corpus = stage.inputs["corpus"]
        wanted = requested_strategy(recipe)
        set_seed(recipe.seed)
        data = _setup_data(recipe, corpus)
        state = _setup_checkpoints(recipe, corpus, resume, main)
        model = _setup_model(recipe, wanted)
        with progress() as bar:
            task = bar.add_task("train", total=None, info="")
            trainer = _setup_trainer(recipe, data, model, state, stage.tracking, bar, task)
            trainer.remove_callback(PrinterCallback)  # progress goes to our bar
            bar.update(task, total=trainer.state.max_steps or None)
            reset_peak_memory()
            started = time.time()
            result = trainer.train(resume_from_checkpoint=state.resume_from)
            seconds = time.time() - started
        # Every rank takes part: under ZeRO-3 the weights are gathered from all of them
        # (saving the bare model there would write an empty adapter).
        final = _checkpoint_dir(recipe) / "final-adapter"
        trainer.save_model(str(final))
        ran = distributed_strategy(trainer)
        figures = {
            "trained_abs_sum": trainable_abs_sum(model.model),
            "sharded_parameters": sharded_parameters(model.model),
            "distributed": ran,
        }
        if not ran.startswith(wanted):
            raise GongmuError(
                f"The launch asked for {wanted} but the Trainer ran {ran}; nothing was saved. "
                f"Check the accelerate config and the launcher (gongmu train --launcher ...)."
            )
        if not main:
            return None
        _publish(stage, recipe, data, model, state, trainer, result, seconds, final, figures)
    return stage.output


def _checkpoint_dir(recipe: Recipe) -> Path:
    from toolkit.train.trainer import checkpoint_dir

    return checkpoint_dir(recipe)


def _setup_data(recipe: Recipe, corpus) -> _Data:
    """The tokenizer, and the train split tokenized with the loss on assistant tokens;
    refused when it overlaps the held-out splits, when its chat template would not match
    serving, or when too many examples are cut at max_seq_len."""
    from toolkit.artifacts import read_jsonl
    from toolkit.errors import GongmuError
    from toolkit.models import load_tokenizer
    from toolkit.train.data import check_template_matches_serving, tokenize_records
    from toolkit.train.trainer import refuse_overlap

    cfg = recipe.train
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
    return _Data(tok, rows, counts, checked)


def _setup_checkpoints(recipe: Recipe, corpus, resume: bool, main: bool) -> _Progress:
    """Where checkpoints go, and with --resume the newest complete one and the loss curve
    up to it; a fresh run clears stale checkpoints so they are never resumed later."""
    from toolkit.train.trainer import _curve_row, _run_stamp, last_checkpoint

    state = _Progress()
    checkpoints = _checkpoint_dir(recipe)
    state.resume_from = last_checkpoint(recipe, corpus) if resume else None
    if not resume and checkpoints.exists() and main:
        shutil.rmtree(checkpoints)
    if recipe.train.save_steps and main:
        checkpoints.mkdir(parents=True, exist_ok=True)
        (checkpoints / "gongmu_run.json").write_text(json.dumps(_run_stamp(recipe, corpus)))
    if state.resume_from:
        saved = json.loads((Path(state.resume_from) / "trainer_state.json").read_text())
        state.curve += [_curve_row(h) for h in saved["log_history"] if "loss" in h]
        state.tokens_before = int(saved.get("num_input_tokens_seen") or 0)
    return state


def _setup_model(recipe: Recipe, wanted: str) -> _Model:
    """The base (4-bit for QLoRA, fp32 master weights for full fine-tuning) with the
    adapter attached, or the whole model trainable."""
    from peft import get_peft_model

    from toolkit.models import load_model
    from toolkit.train.trainer import check_full_finetune_fits, lora_config, training_attention

    cfg = recipe.train
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
    state_gb = None
    if cfg.method == "full":
        state_gb = check_full_finetune_fits(sum(p.numel() for p in model.parameters()),
                                            sharded=wanted.startswith(("deepspeed", "fsdp")))
    else:
        model = get_peft_model(model, lora_config(recipe))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return _Model(model, trainable, total, attn, state_gb)


def _setup_trainer(recipe: Recipe, data: _Data, model: _Model, state: _Progress, run, bar, task):
    """TRL's SFTTrainer over the tokenized rows (padding-free packing by default), with
    the callback that records the loss curve and stops on non-finite values."""
    import torch
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from toolkit.train.launch import deepspeed_config_path
    from toolkit.train.trainer import _callback, _compute_dtype

    cfg = recipe.train
    args = SFTConfig(
        output_dir=str(_checkpoint_dir(recipe)),
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
        deepspeed=str(deepspeed_config_path(cfg.deepspeed)) if cfg.deepspeed else None,
    )
    return SFTTrainer(
        model=model.model,
        args=args,
        train_dataset=Dataset.from_list(data.rows),
        processing_class=data.tokenizer,
        callbacks=[_callback(run, state.curve, bar, task, model.model)],
    )


def _publish(stage, recipe: Recipe, data: _Data, model: _Model, state: _Progress, trainer,
             result, seconds: float, final: Path, figures: dict) -> None:
    """The trained weights (checked finite), tokenizer, loss curve and base fingerprint
    into the stage folder, with the run's figures; checkpoints removed afterwards."""
    from toolkit.artifacts import write_json, write_jsonl
    from toolkit.errors import GongmuError
    from toolkit.models import model_fingerprint, trained_weights_dir
    from toolkit.train.throughput import matmul_peak_flops, model_flops_per_token
    from toolkit.train.trainer import (
        _is_weight_file,
        deepspeed_config_name,
        nonfinite_weight_files,
        peak_memory_mb,
    )

    cfg = recipe.train
    corpus = stage.inputs["corpus"]
    if not state.curve:
        raise GongmuError("Training logged no loss; nothing was saved.")
    bad = nonfinite_weight_files(final)
    if bad:
        raise GongmuError(f"The trained weights hold NaN or inf ({', '.join(bad[:5])}); "
                          f"nothing was saved. Lower train.learning_rate or check the data.")
    peak = matmul_peak_flops()
    with stage.publish() as out:
        weights = out.path / trained_weights_dir(cfg.method)
        weights.mkdir()
        for path in sorted(final.iterdir()):
            if _is_weight_file(path.name):
                shutil.copy2(path, weights / path.name)
        data.tokenizer.save_pretrained(out.path / "tokenizer")
        write_jsonl(out.path / "loss_curve.jsonl", state.curve)
        write_json(out.path / "base_model.json", model_fingerprint(recipe.model.path))
        steps = result.global_step
        world = int(os.environ.get("WORLD_SIZE", "1"))
        per_step = cfg.batch_size * cfg.gradient_accumulation_steps * world
        epochs = cfg.epochs if cfg.max_steps < 0 else steps * per_step / max(len(data.rows), 1)
        tokens = trainer.state.num_input_tokens_seen - state.tokens_before
        out.figures.update({
            **{f"data_{k}": v for k, v in data.counts.items()},
            "template_checked_records": data.template_checked,
            "steps": steps,
            "epochs": round(float(epochs), 3),
            "processes": world,
            "deepspeed": deepspeed_config_name(cfg),
            "loss_first": state.curve[0]["loss"],
            "loss_last": state.curve[-1]["loss"],
            "train_loss_mean": float(result.training_loss),
            "method": cfg.method,
            "distributed": figures["distributed"],
            "sharded_parameters": figures["sharded_parameters"],
            "full_state_estimate_gb": model.full_state_gb,
            "packing": cfg.packing,
            "attn_implementation": model.attn,
            "trainable_parameters": model.trainable,
            "total_parameters": model.total,
            "trained_abs_sum": figures["trained_abs_sum"],
            "train_seconds": round(seconds, 2),
            "non_pad_tokens_seen": int(trainer.state.num_input_tokens_seen),
            "tokens_per_second": round(tokens / max(seconds, 1e-9), 1),
            "resumed_from": Path(state.resume_from).name if state.resume_from else None,
            "peak_memory_mb": peak_memory_mb(),
            "matmul_peak_gflops": round(peak / 1e9, 1),
            "mfu": round(tokens * model_flops_per_token(model.total,
                                                        adapter_only=cfg.method != "full")
                         / max(seconds, 1e-9) / (peak * world), 4),
        })
    shutil.rmtree(_checkpoint_dir(recipe), ignore_errors=True)
    stage.tracking.log_dataset("corpus", corpus.manifest_sha256, str(corpus.path / "train.jsonl"))
    stage.tracking.log_artifact(stage.output.path / weights.name, weights.name)
