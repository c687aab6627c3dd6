"""Run a pipeline: train -> export -> quantize -> bench -> report, skipping every stage whose inputs (content
hashes) and output are unchanged since it last ran."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge_embed.choices import Choice
from edge_embed.errors import GateError
from edge_embed.lineage.atomic import atomic_write_bytes
from edge_embed.lineage.hashing import sha256_file
from edge_embed.lineage.manifest import MANIFEST_NAME
from edge_embed.pipeline.config import PipelineConfig, quantization_config
from edge_embed.records.bench import REPORT_FILE, BenchReport
from edge_embed.registry import Registry

if TYPE_CHECKING:
    from edge_embed.pipeline.refresh import RefreshComparison, RefreshPlan

logger = logging.getLogger(__name__)


class StageStatus(Choice):
    """What happened to one pipeline stage."""

    DONE = "done"
    CACHED = "cached"  # its inputs and settings were unchanged: the earlier output was reused
    SKIPPED = "skipped"
    GIVEN = "given"  # the config named an existing output (e.g. a checkpoint to export)
    GATE_FAILED = "gate-failed"  # a quantization its accuracy gate refused


@dataclass
class Stage:
    """What one stage did."""

    name: str
    status: StageStatus
    output: str | None = None
    seconds: float = 0.0
    detail: str = ""


@dataclass
class PipelineResult:
    """Every stage and the paths a user needs next."""

    config: PipelineConfig
    stages: list[Stage] = field(default_factory=list)
    run_dir: Path | None = None
    artifacts: dict[str, Path] = field(default_factory=dict)  # name -> folder, fp32 first
    report_dir: Path | None = None
    deployable: Path | None = None
    deploy_reason: str = ""
    refresh: RefreshComparison | None = None  # a refresh run: the new deployable against the artifact it refreshes


class _State:
    """``<workspace>/.edge-embed/pipelines/<name>.json``: each stage's input key and output identity."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.stages: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            self.stages = {}

    def cached(self, stage: str, key: str, output: Path) -> bool:
        entry = self.stages.get(stage)
        return bool(entry and entry["key"] == key and _identity(output) == entry["identity"])

    def record(self, stage: str, key: str, output: Path) -> None:
        self.stages[stage] = {"key": key, "output": str(output), "identity": _identity(output)}
        atomic_write_bytes(self.path, json.dumps(self.stages, indent=2).encode())


def run_pipeline(config: PipelineConfig, show_progress: bool = True) -> PipelineResult:
    """Run (or resume) the pipeline a config describes.

    With ``config.refresh`` the run is a refresh: its outputs are named after the artifact it refreshes, training
    starts from that artifact's checkpoint on the old data plus the feedback, and the bench measures the old
    artifact beside the new ones.

    Returns:
        The stages with their status and outputs, and the deployable artifact.

    Raises:
        EdgeEmbedError: From any stage except a failed accuracy gate (recorded, and that artifact left out).
    """
    plan = None
    if config.refresh is not None:
        from edge_embed.pipeline.refresh import plan_refresh

        plan = plan_refresh(config)
        config = plan.config
    workspace = config.workspace
    state = _State(workspace / ".edge-embed" / "pipelines" / f"{config.name}.json")
    result = PipelineResult(config)
    source = _train(config, result, show_progress, plan)
    fp32 = _export(config, state, result, source)
    for entry in config.quantize:
        _quantize(config, state, result, fp32, entry)
    _drift_profiles(config, state, result)
    _bench(config, state, result, show_progress, [plan.target.artifact] if plan else [])
    _choose_deployable(result)
    if plan is not None and result.deployable is not None and result.report_dir is not None:
        from edge_embed.pipeline.refresh import compare_refresh

        report = BenchReport.read(result.report_dir)
        result.refresh = compare_refresh(plan, report, result.deployable, result.report_dir)
    with Registry.for_workspace(workspace) as registry:
        for path in [result.run_dir, *result.artifacts.values(), result.report_dir]:
            if path is not None:
                registry.add(path)
    if config.mlflow:
        _mlflow(config, state, result)
    return result


def _timed(result: PipelineResult, name: str, work: Callable[[], Path], status: StageStatus = StageStatus.DONE) -> Path:
    total = 4 + len(result.config.quantize)  # train, export, each quantization, drift profiles, bench
    logger.info("stage %d/%d: %s", min(len(result.stages) + 1, total), total, name)
    start = time.time()
    output = work()
    result.stages.append(Stage(name, status, str(output), time.time() - start))
    return output


def _train(config: PipelineConfig, result: PipelineResult, show_progress: bool, plan: RefreshPlan | None) -> Path:
    """The folder to export: the run (trained or cached), a given checkpoint, or the bundled base model; for a
    refresh, always a run from the deployed checkpoint."""
    if plan is None and "checkpoint" in config.train:
        result.stages.append(Stage("train", StageStatus.GIVEN, config.train["checkpoint"]))
        return Path(config.train["checkpoint"])
    if plan is None and config.train.get("skip"):
        from edge_embed.train.trainer import base_model_folder

        base = base_model_folder(config.train.get("base_model"))
        result.stages.append(Stage("train", StageStatus.SKIPPED, str(base), detail="exporting the base model"))
        return base
    from edge_embed.train.data import load_run_data, run_folder

    train_config = plan.train_config if plan else config.train_config()
    run_dir = run_folder(train_config, load_run_data(train_config))
    result.run_dir = run_dir
    record = run_dir / "run.json"
    if record.is_file() and json.loads(record.read_text()).get("status") == "finished":
        result.stages.append(Stage("train", StageStatus.CACHED, str(run_dir)))
        return run_dir
    from edge_embed._extras import require_build

    require_build("pipeline training", ("torch", "transformers", "sentence_transformers", "datasets", "accelerate"))
    from edge_embed.train.trainer import train

    refresh = plan.record() if plan else None
    return _timed(result, "train", lambda: train(train_config, show_progress=show_progress, refresh=refresh))


def _export(config: PipelineConfig, state: _State, result: PipelineResult, source: Path) -> Path:
    output = config.workspace / "artifacts" / f"{config.name}-fp32"
    key = _key(_identity(source), config.export)
    result.artifacts["fp32"] = output
    if state.cached("export", key, output):
        result.stages.append(Stage("export", StageStatus.CACHED, str(output)))
        return output
    from edge_embed._extras import require_build

    require_build("pipeline export")
    from edge_embed.export import export_artifact

    def work() -> Path:
        return export_artifact(
            source,
            output,
            max_seq_length=config.export.get("max_seq_length"),
            external_data=not config.export.get("single_file", False),
            overwrite=True,
        )

    _timed(result, "export", work)
    state.record("export", key, output)
    return output


def _quantize(config: PipelineConfig, state: _State, result: PipelineResult, fp32: Path, entry: dict[str, Any]) -> None:
    name = entry.get("name") or entry["method"]
    stage = f"quantize {name}"
    output = config.workspace / "artifacts" / f"{config.name}-{name}"
    calibrate = entry.get("calibration", entry["method"] in ("static-int8", "openvino-int8"))
    gate_folder, gate_split = config.eval_split(entry.get("gate_split", config.data["dev_split"]), result.run_dir)
    if gate_folder == config.data_path:
        key = _key(_identity(fp32), entry, _data_identity(gate_folder, [config.data["train_split"], gate_split]))
    else:  # the gate reads the run's carved slice; calibration still reads the data's training split
        train = _data_identity(config.data_path, [config.data["train_split"]])
        key = _key(_identity(fp32), entry, train, _data_identity(gate_folder, [gate_split]))
    if state.cached(stage, key, output):
        result.stages.append(Stage(stage, StageStatus.CACHED, str(output)))
        result.artifacts[name] = output
        return
    from edge_embed._extras import require_build

    require_build("pipeline quantization", ("onnx",))
    from edge_embed.data.beir import load_beir
    from edge_embed.data.texts import TextSample, read_domain_texts
    from edge_embed.quantize.quantizer import quantize_artifact

    qconfig = quantization_config(entry)
    calibration = (
        read_domain_texts(config.data_path, qconfig.calibration_size, split=config.data["train_split"])
        if calibrate
        else None
    )
    dataset = load_beir(gate_folder, gate_split)
    if entry.get("gate_sample"):
        dataset = dataset.sample(entry["gate_sample"], 10 * entry["gate_sample"])

    def read_calibration(size: int) -> TextSample:
        return read_domain_texts(config.data_path, size, split=config.data["train_split"])

    def work() -> Path:
        options = dict(max_drop=entry.get("max_drop", 0.01), auto=entry.get("auto", False), overwrite=True)
        if entry.get("fallback", True):
            from edge_embed.quantize.fallback import quantize_with_fallback

            result = quantize_with_fallback(fp32, output, qconfig, dataset, read_calibration, **options)
            for tried in result.candidates[:-1]:
                logger.info("%s: %s %s", stage, tried.recipe, tried.outcome())
            return result.path
        return quantize_artifact(fp32, output, qconfig, calibration=calibration, eval_dataset=dataset, **options).path

    try:
        _timed(result, stage, work)
    except GateError as exc:
        result.stages.append(Stage(stage, StageStatus.GATE_FAILED, None, detail=str(exc)))
        return
    state.record(stage, key, output)
    result.artifacts[name] = output


def _drift_profiles(config: PipelineConfig, state: _State, result: PipelineResult) -> None:
    """``<workspace>/profiles/<artifact>.npz`` for every artifact: the reference side of ``edge-embed drift``, a
    seeded sample of the domain corpus embedded by that artifact, so a device needs no reference texts."""
    output = config.workspace / "profiles"
    files = [output / f"{artifact.name}.npz" for artifact in result.artifacts.values()]
    key = _key([_identity(p) for p in result.artifacts.values()], _data_identity(config.data_path, []))
    stage = "drift profiles"
    if state.cached(stage, key, output) and all(f.is_file() for f in files):
        result.stages.append(Stage(stage, StageStatus.CACHED, str(output)))
        return
    from edge_embed.lifecycle.profile import DriftProfile, read_sample
    from edge_embed.runtime.embedder import Embedder

    def work() -> Path:
        for artifact, file in zip(result.artifacts.values(), files, strict=True):
            sample = read_sample(Embedder.load(artifact), config.data_path)
            DriftProfile.of(artifact, sample, str(config.data_path)).save(file)
        return output

    _timed(result, stage, work)
    state.record(stage, key, output)


def _bench(
    config: PipelineConfig, state: _State, result: PipelineResult, show_progress: bool, others: list[Path]
) -> None:
    """Benchmark the pipeline's artifacts (and ``others``, measured beside them but never recommended)."""
    from edge_embed.bench import BenchSettings

    bench = config.bench
    output = config.workspace / "reports" / config.name
    result.report_dir = output
    measured = [*result.artifacts.values(), *others]
    folder, split = config.eval_split(bench["split"], result.run_dir)
    key = _key([_identity(p) for p in measured], bench, _data_identity(folder, [split]))
    if state.cached("bench", key, output):
        result.stages.append(Stage("bench", StageStatus.CACHED, str(output)))
        return
    from edge_embed.bench import recommend, run_bench, write_report
    from edge_embed.data.beir import load_beir

    settings = BenchSettings(
        **{
            k: bench[k]
            for k in ("rounds", "latency_queries", "throughput_texts", "batch_size", "threads", "cold_start")
            if k in bench
        }
    )
    dataset = load_beir(folder, split)
    if bench.get("sample"):
        dataset = dataset.sample(bench["sample"], 10 * bench["sample"])

    def work() -> Path:
        report = run_bench(
            measured,
            dataset,
            dims=bench.get("dims", ()),
            settings=settings,
            reference=bench.get("reference", False),
            show_progress=show_progress,
        )
        choice = recommend(
            _own_rows(report, result),
            bench.get("budget_ms"),
            bench.get("budget_mb"),
            bench.get("min_ndcg"),
            baseline=result.artifacts["fp32"],
        )
        report = replace(
            report,
            dataset=replace(report.dataset, path=str(folder)),
            recommendation=choice,
            pipeline={"name": config.name, "config": str(config.source)},
        )
        return write_report(report, output, overwrite=True)

    _timed(result, "bench", work)
    state.record("bench", key, output)


def _choose_deployable(result: PipelineResult) -> None:
    """The benchmark's recommendation (budgets if given, else the fastest within 1% NDCG@10 of fp32)."""
    if result.report_dir is None or not (result.report_dir / REPORT_FILE).is_file():
        return
    from edge_embed.bench import recommend

    report = BenchReport.read(result.report_dir)
    # A report cached before bench recorded the baseline rule gets the same rule here.
    choice = report.recommendation or recommend(_own_rows(report, result), baseline=result.artifacts["fp32"])
    if choice is not None and choice.label is not None and choice.path is not None:
        result.deployable, result.deploy_reason = Path(choice.path), choice.reason


def _own_rows(report: BenchReport, result: PipelineResult) -> list[Any]:
    """The report's rows of this pipeline's artifacts (not of an artifact a refresh measured beside them)."""
    own = {Path(p).resolve() for p in result.artifacts.values()}
    return [row for row in report.rows if Path(row.path).resolve() in own]


def _mlflow(config: PipelineConfig, state: _State, result: PipelineResult) -> None:
    from edge_embed.pipeline.tracking import log_to_mlflow

    assert result.report_dir is not None
    key = _key([_identity(p) for p in [result.run_dir, *result.artifacts.values(), result.report_dir] if p])
    if state.cached("mlflow", key, result.report_dir):
        result.stages.append(Stage("mlflow", StageStatus.CACHED, (config.mlflow or {}).get("tracking_uri")))
        return
    start = time.time()
    run_id = log_to_mlflow(config, result)
    result.stages.append(Stage("mlflow", StageStatus.DONE, run_id, time.time() - start))
    state.record("mlflow", key, result.report_dir)


def _identity(path: Path | None) -> str | None:
    """What a stage's output or input is, by content: a manifest, run record, report or weights sha256."""
    if path is None or not path.exists():
        return None
    for name in (MANIFEST_NAME, "run.json", "report.json", "model.safetensors", "pytorch_model.bin"):
        if (path / name).is_file():
            return sha256_file(path / name)
    return sha256_file(path) if path.is_file() else None


def _data_identity(folder: Path, splits: list[str]) -> list[str | None]:
    files = [folder / "corpus.jsonl", folder / "queries.jsonl", *(folder / "qrels" / f"{s}.tsv" for s in splits)]
    return [sha256_file(f) if f.is_file() else None for f in files]


def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
