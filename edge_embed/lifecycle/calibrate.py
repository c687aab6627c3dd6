"""Make a calibrated child artifact: fit on one split, measure ECE and Brier before/after on another."""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from edge_embed.data.beir import RetrievalDataset, load_beir
from edge_embed.errors import InputError
from edge_embed.lifecycle.calibration import (
    CALIBRATION_OPTION,
    Calibration,
    CalibrationMethod,
    brier_score,
    expected_calibration_error,
    retrieved_pairs,
)
from edge_embed.lineage.atomic import atomic_dir
from edge_embed.lineage.manifest import hash_artifact_files, manifest_sha256, read_verified_manifest, verify_files
from edge_embed.runtime.embedder import Embedder


@dataclass(frozen=True)
class CalibrationQuality:
    """ECE and Brier score of raw cosine (min-max scaled to [0, 1]) and of the calibrated probabilities."""

    split: str
    pairs: int
    ece_raw: float
    ece_calibrated: float
    brier_raw: float
    brier_calibrated: float


@dataclass(frozen=True)
class CalibrationResult:
    """The child artifact, its map, and how well it is calibrated on the held-out split."""

    path: Path
    calibration: Calibration
    quality: CalibrationQuality
    scores: np.ndarray  # held-out scores and labels, for a reliability diagram
    labels: np.ndarray


def scored_pairs(embedder: Embedder, dataset: RetrievalDataset, depth: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Cosine scores and labels of every query's top ``depth`` passages of the dataset."""
    query_ids, corpus_ids = list(dataset.queries), list(dataset.corpus)
    queries = embedder.embed([dataset.queries[q] for q in query_ids], kind="query")
    corpus = embedder.embed([dataset.corpus[c] for c in corpus_ids])
    return retrieved_pairs(queries, corpus, query_ids, corpus_ids, dataset.relevant_docs, depth)


def calibrate_artifact(
    parent: str | Path,
    data: str | Path,
    output: str | Path,
    *,
    split: str = "dev",
    test_split: str = "test",
    method: CalibrationMethod | str = CalibrationMethod.ISOTONIC,
    sample: int | None = None,
    overwrite: bool = False,
) -> CalibrationResult:
    """Fit a score calibration on ``split`` and write it into a child of ``parent`` (model files copied).

    Raises:
        InputError: If the splits are the same or too small to fit.
        IntegrityError: If the parent does not verify.
    """
    if split == test_split:
        raise InputError(f"fit and test on different splits (both are {split!r}): the test numbers would flatter")
    parent = Path(parent)
    parent_manifest = read_verified_manifest(parent)
    verify_files(parent, parent_manifest)
    fit_data, test_data = load_beir(data, split), load_beir(data, test_split)
    if sample:
        fit_data, test_data = fit_data.sample(sample, 10 * sample), test_data.sample(sample, 10 * sample)
    embedder = Embedder.load(parent)
    scores, labels = scored_pairs(embedder, fit_data)
    calibration = Calibration.fit(scores, labels, method, f"{fit_data.name}/{split}")
    test_scores, test_labels = scored_pairs(embedder, test_data)
    low, high = float(scores.min()), float(scores.max())
    raw = np.clip((test_scores - low) / max(high - low, 1e-12), 0.0, 1.0)
    calibrated = calibration.apply(test_scores)
    quality = CalibrationQuality(
        split=f"{test_data.name}/{test_split}",
        pairs=len(test_scores),
        ece_raw=expected_calibration_error(raw, test_labels),
        ece_calibrated=expected_calibration_error(calibrated, test_labels),
        brier_raw=brier_score(raw, test_labels),
        brier_calibrated=brier_score(calibrated, test_labels),
    )
    with atomic_dir(output, overwrite=overwrite) as tmp:
        for name in parent_manifest.files:
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(parent / name, tmp / name)
        from edge_embed.lineage.manifest import write_manifest

        write_manifest(
            tmp,
            parent_manifest.replace(
                files=hash_artifact_files(tmp),
                parent={
                    "manifest_sha256": manifest_sha256(parent),
                    "path": str(parent.absolute()),
                    "precision": parent_manifest.graph.precision,
                },
                options={**parent_manifest.options, CALIBRATION_OPTION: calibration.to_dict()},
                checks={**parent_manifest.checks, "score_calibration": asdict(quality)},
                created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            ),
        )
    return CalibrationResult(Path(output), calibration, quality, test_scores, test_labels)


def reliability_diagram(result: CalibrationResult, path: str | Path, bins: int = 10) -> Path:
    """A PNG of observed relevance against predicted probability, raw (min-max) and calibrated (needs [plot])."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    low, high = float(result.scores.min()), float(result.scores.max())
    raw = np.clip((result.scores - low) / max(high - low, 1e-12), 0, 1)
    calibrated = result.calibration.apply(result.scores)
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect")
    for name, probabilities in (("raw cosine (min-max)", raw), (f"{result.calibration.method.value}", calibrated)):
        which = np.minimum((probabilities * bins).astype(int), bins - 1)
        xs = [probabilities[which == b].mean() for b in range(bins) if (which == b).any()]
        ys = [result.labels[which == b].mean() for b in range(bins) if (which == b).any()]
        axis.plot(xs, ys, marker="o", label=name)
    axis.set(xlabel="predicted probability of relevance", ylabel="observed share relevant", xlim=(0, 1), ylim=(0, 1))
    axis.set_title(f"reliability on {result.quality.split} ({result.quality.pairs} pairs)")
    axis.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return Path(path)
