"""Calibrated scores: a monotonic map from cosine similarity to the probability that a passage is relevant.

Fitted on the (query, retrieved passage) pairs of a labelled split: every query's top passages from the whole
corpus, labelled by the qrels, which is what a search on the device returns. Two methods (numpy only):

- **isotonic** regression by pool-adjacent-violators, predicted by linear interpolation between its knots and
  clipped at the ends (as scikit-learn's ``IsotonicRegression(out_of_bounds="clip")``);
- **platt** scaling: a logistic curve ``1 / (1 + exp(-(a·s + b)))``.

The map is stored in the artifact's manifest (``options.score_calibration``) and applied by the runtime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

from edge_embed.errors import ArtifactError, InputError

CALIBRATION_OPTION = "score_calibration"  # the manifest options key ("calibration" names static int8 texts)


class CalibrationMethod(str, Enum):
    """How scores are mapped to probabilities."""

    ISOTONIC = "isotonic"
    PLATT = "platt"


def isotonic_fit(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Non-decreasing least-squares fit of ``y`` on ``x``: its knots ``(x, fitted y)`` after pool-adjacent-violators.

    Ties in ``x`` are first merged into their weighted mean; knots inside a flat run are dropped, keeping its ends.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    order = np.lexsort((y, x))
    x, y, w = x[order], y[order], w[order]
    unique, start = np.unique(x, return_index=True)
    weight = np.add.reduceat(w, start)
    value = np.add.reduceat(w * y, start) / weight
    # Pool adjacent violators over blocks: [first index, last index, weighted mean, weight].
    blocks: list[list[float]] = []
    for i, (v, wt) in enumerate(zip(value, weight, strict=True)):
        blocks.append([i, i, v, wt])
        while len(blocks) > 1 and blocks[-2][2] >= blocks[-1][2]:
            popped = blocks.pop()
            merged = blocks[-1]
            total = merged[3] + popped[3]
            merged[2] = (merged[2] * merged[3] + popped[2] * popped[3]) / total
            merged[1], merged[3] = popped[1], total
    fitted = np.empty(len(unique))
    for first, end, mean, _ in blocks:
        fitted[int(first) : int(end) + 1] = mean
    keep = np.ones(len(unique), dtype=bool)  # inner points of a flat run change nothing under interpolation
    if len(unique) > 2:
        keep[1:-1] = (fitted[1:-1] != fitted[:-2]) | (fitted[1:-1] != fitted[2:])
    return unique[keep], fitted[keep]


def platt_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """``(a, b)`` of the logistic curve ``1 / (1 + exp(-(a·x + b)))`` fitted by maximum likelihood (Newton)."""
    from edge_embed.lifecycle.drift import logistic_fit

    w = logistic_fit(np.asarray(x, dtype=np.float64)[:, None], np.asarray(y, dtype=np.float64), l2=1e-6, steps=50)
    return float(w[0]), float(w[1])


@dataclass(frozen=True)
class Calibration:
    """A fitted score-to-probability map, as stored in a manifest."""

    method: CalibrationMethod
    knots_x: tuple[float, ...] = ()
    knots_y: tuple[float, ...] = ()
    slope: float = 0.0
    intercept: float = 0.0
    fitted_on: str = ""
    pairs: int = 0

    @classmethod
    def fit(
        cls, scores: np.ndarray, labels: np.ndarray, method: CalibrationMethod | str, fitted_on: str
    ) -> Calibration:
        """Fit on cosine scores and 0/1 relevance labels.

        Raises:
            InputError: If there are too few pairs or only one class.
        """
        method = CalibrationMethod(method)
        labels = np.asarray(labels, dtype=np.float64)
        if len(scores) < 50 or labels.min() == labels.max():
            raise InputError(
                f"calibration needs at least 50 scored pairs with both relevant and other passages, got {len(scores)}"
            )
        if method is CalibrationMethod.ISOTONIC:
            kx, ky = isotonic_fit(scores, labels)
            return cls(method, tuple(map(float, kx)), tuple(map(float, ky)), fitted_on=fitted_on, pairs=len(scores))
        a, b = platt_fit(scores, labels)
        return cls(method, slope=a, intercept=b, fitted_on=fitted_on, pairs=len(scores))

    def apply(self, scores: np.ndarray | float) -> np.ndarray:
        """Probabilities of relevance for cosine ``scores`` (any shape)."""
        scores = np.asarray(scores, dtype=np.float64)
        if self.method is CalibrationMethod.ISOTONIC:
            return np.interp(scores, self.knots_x, self.knots_y)  # clipped to the end values outside the knots
        return 1.0 / (1.0 + np.exp(-(self.slope * scores + self.intercept)))

    def to_dict(self) -> dict[str, Any]:
        """For the manifest's ``options.score_calibration``."""
        return {
            "method": self.method.value,
            "knots_x": list(self.knots_x),
            "knots_y": list(self.knots_y),
            "slope": self.slope,
            "intercept": self.intercept,
            "fitted_on": self.fitted_on,
            "pairs": self.pairs,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Calibration:
        """Read a manifest's ``options.score_calibration``.

        Raises:
            ArtifactError: If it is malformed (not increasing knots, unknown method, wrong types).
        """
        try:
            calibration = cls(
                method=CalibrationMethod(data["method"]),
                knots_x=tuple(float(v) for v in data.get("knots_x", [])),
                knots_y=tuple(float(v) for v in data.get("knots_y", [])),
                slope=float(data.get("slope", 0.0)),
                intercept=float(data.get("intercept", 0.0)),
                fitted_on=str(data.get("fitted_on", "")),
                pairs=int(data.get("pairs", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"manifest options.score_calibration is invalid ({exc})") from None
        if calibration.method is CalibrationMethod.ISOTONIC and (
            len(calibration.knots_x) < 1
            or len(calibration.knots_x) != len(calibration.knots_y)
            or np.any(np.diff(calibration.knots_x) <= 0)
            or np.any(np.diff(calibration.knots_y) < 0)
        ):
            raise ArtifactError("manifest options.score_calibration has isotonic knots that are not increasing")
        return calibration


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """ECE over equal-width probability bins: the weighted mean |accuracy - confidence|."""
    probabilities, labels = np.asarray(probabilities, dtype=np.float64), np.asarray(labels, dtype=np.float64)
    which = np.minimum((probabilities * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            error += members.mean() * abs(labels[members].mean() - probabilities[members].mean())
    return float(error)


def brier_score(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean squared error of the probabilities."""
    return float(np.mean((np.asarray(probabilities, dtype=np.float64) - np.asarray(labels, dtype=np.float64)) ** 2))


def retrieved_pairs(
    query_vectors: np.ndarray,
    corpus_vectors: np.ndarray,
    query_ids: Sequence[str],
    corpus_ids: Sequence[str],
    relevant: dict[str, set[str]],
    depth: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, labels)`` of every query's top ``depth`` passages from the whole corpus: what search returns."""
    from edge_embed.eval.metrics import top_k

    indices, scores = top_k(query_vectors, corpus_vectors, depth)
    labels = np.array(
        [[corpus_ids[i] in relevant.get(q, set()) for i in row] for q, row in zip(query_ids, indices, strict=True)]
    )
    return np.asarray(scores, dtype=np.float64).ravel(), labels.astype(np.float64).ravel()
