"""An int8 artifact on every domain: when the asked-for recipe fails its gate, try the next ones before giving up.

The order runs from fastest to most conservative, each a different way to keep accuracy:

1. OpenVINO int8 (NNCF): calibrated activation scales, with SmoothQuant and bias correction, where OpenVINO and
   NNCF are installed;
2. static int8 (onnxruntime QDQ) calibrated on more domain texts;
3. mixed precision: dynamic int8 with ``--auto`` keeping the most damaging MatMuls in fp32.

Every candidate passes the same gate; the first that passes is published and the manifest records each one tried
(``checks.candidates``), so a user sees what failed, by how much, and what passed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from edge_embed.data.beir import RetrievalDataset
from edge_embed.data.texts import TextSample
from edge_embed.errors import GateError, InputError
from edge_embed.lineage.manifest import read_manifest, write_manifest
from edge_embed.quantize.config import Method, QuantizationConfig
from edge_embed.quantize.quantizer import QuantizeResult, TriedCandidate, quantize_artifact

logger = logging.getLogger(__name__)

FALLBACK_CALIBRATION = 512  # static int8's texts when it comes in as a fallback (its own default is 128)


@dataclass(frozen=True)
class Candidate:
    """One recipe to try."""

    config: QuantizationConfig
    auto: bool = False
    needs: tuple[str, ...] = ()  # modules it needs beyond the build side


def fallback_chain(first: QuantizationConfig, auto: bool = False) -> list[Candidate]:
    """The asked-for recipe, then the fallbacks (those not already it), in the module's order."""
    target = first.target
    chain = [
        Candidate(first, auto),
        Candidate(QuantizationConfig.for_target(Method.OPENVINO_INT8, target), needs=("openvino", "nncf")),
        Candidate(QuantizationConfig.for_target(Method.STATIC_INT8, target, calibration_size=FALLBACK_CALIBRATION)),
        Candidate(QuantizationConfig.for_target(Method.DYNAMIC_INT8, target), auto=True),
    ]
    seen: set[tuple[str, bool]] = set()
    out = []
    for candidate in chain:
        identity = (candidate.config.method.value, candidate.auto)
        if identity not in seen:
            seen.add(identity)
            out.append(candidate)
    return out


def quantize_with_fallback(
    parent: str | Path,
    output: str | Path,
    config: QuantizationConfig,
    eval_dataset: RetrievalDataset,
    read_calibration: Callable[[int], TextSample | None],
    *,
    max_drop: float = 0.01,
    auto: bool = False,
    force: bool = False,
    overwrite: bool = False,
    batch_size: int = 32,
) -> QuantizeResult:
    """:func:`quantize_artifact` with ``config``, then each fallback whose gate might still pass, until one does.

    Args:
        read_calibration: Domain texts for calibrated candidates, given how many are wanted (None: no source, so
            calibrated candidates are skipped).
        Others: as for :func:`quantize_artifact`.

    Returns:
        The first candidate that passed, with ``manifest.checks["candidates"]`` listing every one tried.

    Raises:
        GateError: If every candidate failed (the message names each with its drop); nothing is written.
    """
    tried: list[TriedCandidate] = []
    for candidate in fallback_chain(config, auto):
        cfg = candidate.config
        missing = [m for m in candidate.needs if find_spec(m) is None]
        calibration = read_calibration(cfg.calibration_size) if cfg.method.needs_calibration else None
        if missing or (cfg.method.needs_calibration and calibration is None):
            why = f"needs {', '.join(missing)}" if missing else "no calibration texts"
            tried.append(TriedCandidate(cfg.method.value, candidate.auto, skipped=why))
            logger.info("skipping %s: %s", cfg.method.value, why)
            continue
        try:
            result = quantize_artifact(
                parent,
                output,
                cfg,
                calibration=calibration,
                eval_dataset=eval_dataset,
                max_drop=max_drop,
                auto=candidate.auto,
                force=force,
                overwrite=overwrite,
                batch_size=batch_size,
            )
        except GateError as exc:
            tried.append(TriedCandidate.gated(cfg.method.value, candidate.auto, exc.gate, passed=False))
            logger.info("%s failed its gate; trying the next candidate", cfg.precision)
            continue
        except InputError as exc:  # e.g. a recipe this parent cannot take
            tried.append(TriedCandidate(cfg.method.value, candidate.auto, skipped=str(exc)))
            continue
        gate_record = result.gate.to_dict() if result.gate else None
        tried.append(TriedCandidate.gated(cfg.method.value, candidate.auto, gate_record, passed=True))
        manifest = read_manifest(result.path)
        manifest = manifest.replace(checks={**manifest.checks, "candidates": [t.to_dict() for t in tried]})
        write_manifest(result.path, manifest)
        return QuantizeResult(result.path, manifest, result.gate, result.auto, tuple(tried))
    summary = "; ".join(f"{t.recipe}: {t.outcome()}" for t in tried)
    raise GateError(f"no candidate passed the accuracy gate ({summary}); no artifact was written")
