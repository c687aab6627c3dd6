"""Quantize an artifact folder into a new sibling artifact that links to its parent."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edge_embed.data.beir import RetrievalDataset
from edge_embed.data.texts import TextSample
from edge_embed.errors import GateError, InputError
from edge_embed.lineage.atomic import atomic_dir
from edge_embed.lineage.manifest import (
    EXTERNAL_DATA_FILE,
    MODEL_FILE,
    Backend,
    InferencePrecision,
    Manifest,
    hash_artifact_files,
    manifest_sha256,
    read_manifest,
    verify_files,
    write_manifest,
)
from edge_embed.quantize.config import GraphOptimization, Method, QuantizationConfig
from edge_embed.quantize.gate import GateResult, run_gate
from edge_embed.quantize.graph import check_optimized, optimize_graph, quantize_graph, single_file_copy
from edge_embed.quantize.openvino import IR_FILE, IR_WEIGHTS_FILE
from edge_embed.runtime.embedder import Embedder
from edge_embed.runtime.precision import RANGES_CHECK, ranges_record
from edge_embed.versions import package_versions

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TriedCandidate:
    """One recipe the fallback chain tried: skipped (and why), or gated (its drop, interval, verdict, fidelity)."""

    method: str
    auto: bool = False
    passed: bool = False
    skipped: str | None = None
    relative_drop: float | None = None
    drop_interval: tuple[float, float] | None = None
    verdict: str | None = None
    mean_cosine: float | None = None

    @classmethod
    def gated(cls, method: str, auto: bool, gate: dict[str, Any] | None, passed: bool) -> TriedCandidate:
        """A candidate that ran, from its gate record (``GateResult.to_dict``; None when it failed before one)."""
        if gate is None:
            return cls(method, auto, passed)
        low, high = gate["drop_interval"]
        cosine = (gate.get("fidelity") or {}).get("mean_cosine")
        return cls(method, auto, passed, None, gate["relative_drop"], (low, high), gate["verdict"], cosine)

    @property
    def recipe(self) -> str:
        return f"{self.method}{' --auto' if self.auto else ''}"

    def outcome(self) -> str:
        """What became of it, in a few words."""
        if self.skipped is not None:
            return f"skipped ({self.skipped})"
        if self.relative_drop is not None:
            return f"{'passed' if self.passed else 'failed its gate'} (drop {self.relative_drop:+.2%} {self.verdict})"
        return "passed" if self.passed else "failed"

    def to_dict(self) -> dict[str, Any]:
        """The manifest's ``checks.candidates`` entry."""
        if self.skipped is not None:
            return {"method": self.method, "auto": self.auto, "skipped": self.skipped}
        record: dict[str, Any] = {"method": self.method, "auto": self.auto, "passed": self.passed}
        if self.relative_drop is not None and self.drop_interval is not None:
            record.update(
                relative_drop=self.relative_drop,
                drop_interval=list(self.drop_interval),
                verdict=self.verdict,
                mean_cosine=self.mean_cosine,
            )
        return record


@dataclass(frozen=True)
class QuantizeResult:
    """What ``quantize_artifact`` produced."""

    path: Path
    manifest: Manifest
    gate: GateResult | None = None
    auto: dict[str, Any] = field(default_factory=dict)
    candidates: tuple[TriedCandidate, ...] = ()  # with fallback: every recipe tried, the published one last


def quantize_artifact(
    parent: str | Path,
    output: str | Path,
    config: QuantizationConfig,
    *,
    calibration: TextSample | None = None,
    eval_dataset: RetrievalDataset | None = None,
    max_drop: float = 0.01,
    auto: bool = False,
    force: bool = False,
    overwrite: bool = False,
    batch_size: int = 32,
) -> QuantizeResult:
    """Quantize an fp32 artifact into a new artifact folder, optionally gated on retrieval quality.

    The child has the parent's layout and manifest, with ``graph.precision`` set, ``parent`` holding the parent's
    manifest sha256, and ``options.quantization`` the full recipe. With ``eval_dataset``, parent and child are
    scored with the lean runtime; if the child's NDCG@10 falls more than ``max_drop`` (relative) below the
    parent's, nothing is written (unless ``auto`` finds layers to keep in fp32 until it passes).

    Args:
        parent: The artifact to quantize (normally an fp32 export).
        output: The artifact folder to create.
        config: The recipe (see ``QuantizationConfig.for_target``).
        calibration: Domain texts for ``static-int8``.
        eval_dataset: Retrieval data for the accuracy gate.
        max_drop: Largest allowed relative drop of NDCG@10.
        auto: When the gate fails, keep the most sensitive nodes in fp32 until it passes.
        force: Quantize even if the parent is already quantized.
        overwrite: Replace ``output`` once the new artifact is complete.
        batch_size: Texts per onnxruntime call while evaluating.

    Returns:
        The new artifact, its manifest, and the gate's numbers.

    Raises:
        InputError: Bad options or parent (already quantized, missing calibration, ...), before any work.
        GateError: If the gate fails (the message holds both numbers); nothing is written.
        IntegrityError: If the parent's files do not match its manifest.
    """
    parent = Path(parent)
    parent_manifest = read_manifest(parent)
    verify_files(parent, parent_manifest)
    _check_request(parent_manifest, config, calibration, eval_dataset, max_drop, auto, force)
    config = config.resolve_optimization(parent_manifest.source.get("architecture") or {})
    if not config.target_supported:
        for note in config.notes:
            warnings.warn(
                f"{note}; the artifact is built for {config.target.value} anyway and records it", stacklevel=2
            )
    parent_embedder = Embedder.load(parent, verify=False)
    texts = calibration.texts if calibration else None
    with atomic_dir(output, overwrite=overwrite) as tmp:
        shutil.copy(parent / parent_manifest.tokenizer.file, tmp / parent_manifest.tokenizer.file)
        child = _ChildRequest(parent, parent_manifest, parent_embedder, tmp, texts, calibration)
        if config.method.openvino:
            manifest, gate, auto_report = _openvino_child(child, config, eval_dataset, max_drop, auto, batch_size)
        else:
            manifest, gate, auto_report = _onnx_child(child, config, eval_dataset, max_drop, auto, batch_size)
        if gate is not None and not gate.passed:
            raise GateError(
                f"accuracy gate failed: {gate.describe()}; no artifact was written "
                "(try --auto, another --method, or a larger --max-drop)",
                gate.to_dict(),
            )
        checks = {"gate": gate.to_dict()} if gate else {}
        if auto_report:
            checks["auto"] = auto_report
        if eval_dataset is not None:  # int8/binary output precision on the device reads these ranges
            passages = list(eval_dataset.corpus.values())[:_RANGE_PASSAGES]
            vectors = Embedder(tmp, verify=False).embed(passages, batch_size=batch_size)
            checks[RANGES_CHECK] = ranges_record(vectors, f"{eval_dataset.name}/{eval_dataset.split} passages")
        manifest = manifest.replace(checks=checks)
        write_manifest(tmp, manifest)
    return QuantizeResult(path=Path(output), manifest=manifest, gate=gate, auto=auto_report)


_RANGE_PASSAGES = 512  # passages of the gate's data the output ranges are calibrated on


@dataclass(frozen=True)
class _ChildRequest:
    """What every way of building a child artifact starts from."""

    parent: Path
    parent_manifest: Manifest
    parent_embedder: Embedder
    folder: Path  # the child's temporary folder (tokenizer already copied)
    texts: list[str] | None
    calibration: TextSample | None


def _onnx_child(
    child: _ChildRequest,
    config: QuantizationConfig,
    eval_dataset: RetrievalDataset | None,
    max_drop: float,
    auto: bool,
    batch_size: int,
) -> tuple[Manifest, GateResult | None, dict[str, Any]]:
    """An onnxruntime child: the parent's graph fused (where it helps), quantized by onnxruntime, gated; with
    ``auto``, the nodes the gate cannot afford kept in fp32."""
    parent, parent_manifest, tmp = child.parent, child.parent_manifest, child.folder
    scratch = tmp / ".work"
    scratch.mkdir()
    source = scratch / "source.onnx"
    if config.optimize is GraphOptimization.NONE:
        single_file_copy(parent / parent_manifest.graph.file, source)
    else:
        optimize_graph(
            parent / parent_manifest.graph.file,
            source,
            config.optimize,
            parent_manifest.source.get("architecture") or {},
            separate_projections=config.per_token,
        )
        check_optimized(child.parent_embedder, source)

    def build(cfg: QuantizationConfig) -> Manifest:
        logger.info("quantizing %s: %s", parent, cfg.precision)
        quantize_graph(source, scratch / "quantized.onnx", cfg, child.texts, child.parent_embedder)
        _publish_graph(scratch / "quantized.onnx", tmp)
        manifest = _child_manifest(child, tmp, cfg)
        write_manifest(tmp, manifest)
        return manifest

    manifest = build(config)
    gate: GateResult | None = None
    auto_report: dict[str, Any] = {}
    if eval_dataset is not None:
        gate = run_gate(parent, tmp, eval_dataset, max_drop, batch_size)
        logger.info("gate: %s", gate.describe())
        if not gate.passed and auto:
            from edge_embed.quantize.auto import keep_sensitive_nodes

            _, gate, auto_report = keep_sensitive_nodes(
                source,
                parent,
                tmp,
                config,
                child.parent_embedder,
                eval_dataset,
                max_drop,
                batch_size,
                rebuild=build,
            )
        manifest = read_manifest(tmp)  # --auto may have rebuilt the child with another recipe
    shutil.rmtree(scratch)
    return manifest, gate, auto_report


def _openvino_child(
    child: _ChildRequest,
    config: QuantizationConfig,
    eval_dataset: RetrievalDataset | None,
    max_drop: float,
    auto: bool,
    batch_size: int,
) -> tuple[Manifest, GateResult | None, dict[str, Any]]:
    """An OpenVINO child: the parent's fp32 graph as IR (f32/bf16), or NNCF int8 calibrated on domain texts; with
    ``auto``, NNCF's accuracy control gives layers back to fp32 until the gate's metric is within ``max_drop``."""
    from edge_embed.quantize.openvino import build_openvino_graph, inference_precision

    check = None
    if auto and eval_dataset is not None:
        check = _compiled_model_metric(child.parent_embedder, eval_dataset, batch_size)
    logger.info("building %s from %s", config.precision, child.parent)
    report = build_openvino_graph(
        child.parent / child.parent_manifest.graph.file,
        child.folder,
        config,
        child.texts,
        child.parent_embedder,
        accuracy_check=check,
        max_drop=max_drop,
    )
    manifest = _child_manifest(child, child.folder, config, inference_precision(config.method))
    write_manifest(child.folder, manifest)
    gate = None
    if eval_dataset is not None:
        gate = run_gate(child.parent, child.folder, eval_dataset, max_drop, batch_size)
        logger.info("gate: %s", gate.describe())
    return manifest, gate, report


def _compiled_model_metric(parent: Embedder, dataset: RetrievalDataset, batch_size: int) -> Callable[[Any], float]:
    """The gate's primary metric of an OpenVINO compiled model, run with the parent's tokenizer and recipe."""
    from edge_embed.eval.metrics import PRIMARY_METRIC
    from edge_embed.eval.retrieval import evaluate_artifact
    from edge_embed.runtime.openvino import OpenVinoRunner

    def metric(compiled: Any) -> float:
        embedder = Embedder._from_parts(
            parent.folder, parent.manifest, OpenVinoRunner(compiled), parent._tokenizer, parent._dim
        )
        return float(evaluate_artifact(embedder, dataset, batch_size=batch_size)[embedder.dim][PRIMARY_METRIC])

    return metric


def _check_request(
    manifest: Manifest,
    config: QuantizationConfig,
    calibration: TextSample | None,
    eval_dataset: RetrievalDataset | None,
    max_drop: float,
    auto: bool,
    force: bool,
) -> None:
    if manifest.graph.backend is Backend.STATIC:
        raise InputError(
            "this is a static embedding table (edge-embed distill), not a graph to quantize; quantize the fp32 "
            "transformer artifact instead"
        )
    if manifest.graph.precision != "fp32" and not force:
        raise InputError(
            f"the artifact is already quantized ({manifest.graph.precision}); quantize its fp32 parent instead, "
            "or pass --force"
        )
    if config.method.needs_calibration and calibration is None:
        raise InputError(
            f"{config.method.value} needs calibration texts: pass --calibration DATA (a BEIR folder, .txt or .jsonl)"
        )
    if config.method.openvino and manifest.graph.backend is not Backend.ONNXRUNTIME:
        raise InputError("OpenVINO artifacts are made from an ONNX (onnxruntime) artifact; give its fp32 parent")
    if not 0 <= max_drop < 1:
        raise InputError(f"max_drop must be in [0, 1), got {max_drop}")
    if auto and eval_dataset is None:
        raise InputError("--auto needs --eval DATASET: it measures which layers the gate cannot afford to quantize")
    if auto and config.method not in (Method.DYNAMIC_INT8, Method.INT4_WEIGHTS, Method.OPENVINO_INT8):
        raise InputError(f"--auto supports dynamic-int8, int4-weights and openvino-int8, not {config.method.value}")


def _publish_graph(quantized: Path, folder: Path) -> None:
    """Move a quantized graph into the artifact as model.onnx + model.onnx_data (memory-mapped on load)."""
    import onnx

    from edge_embed.graph_io import save_graph

    for name in (MODEL_FILE, EXTERNAL_DATA_FILE):
        (folder / name).unlink(missing_ok=True)
    save_graph(onnx.load(str(quantized)), folder, external_data=True)
    quantized.unlink()


def _child_manifest(
    child: _ChildRequest,
    folder: Path,
    config: QuantizationConfig,
    precision: InferencePrecision | None = None,
) -> Manifest:
    """The child's manifest: the parent's, with the new graph, its recipe and a link to the parent."""
    parent_manifest, calibration = child.parent_manifest, child.calibration
    if config.method.openvino:
        graph = dataclasses.replace(
            parent_manifest.graph,
            precision=config.precision,
            file=IR_FILE,
            external_data=IR_WEIGHTS_FILE,
            backend=Backend.OPENVINO,
            inference_precision=precision,
            batch_invariant=config.batch_invariant,
        )
    else:
        import onnx

        onnx_graph = onnx.load(str(folder / MODEL_FILE), load_external_data=False)
        graph = dataclasses.replace(
            parent_manifest.graph,
            precision=config.precision,
            # A graph whose every tensor is under save_graph's size threshold keeps no side file.
            external_data=EXTERNAL_DATA_FILE if (folder / EXTERNAL_DATA_FILE).is_file() else None,
            input_names=tuple(i.name for i in onnx_graph.graph.input),
            batch_invariant=config.batch_invariant,
        )
    options: dict[str, Any] = {"quantization": config.to_dict()}
    if calibration is not None:
        options["calibration"] = {
            "source": calibration.source,
            "texts": len(calibration.texts),
            "available": calibration.total,
            "skipped_lines": len(calibration.skipped_lines),
        }
    return parent_manifest.replace(
        graph=graph,
        files={k: v for k, v in hash_artifact_files(folder).items() if not k.startswith(".work/")},
        sizes={},  # write_manifest records the child's own
        parent={
            "manifest_sha256": manifest_sha256(child.parent),
            "path": str(child.parent.absolute()),
            "precision": parent_manifest.graph.precision,
        },
        versions=package_versions(),
        options=options,
        checks={},
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
