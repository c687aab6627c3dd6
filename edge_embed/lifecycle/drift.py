"""Drift of incoming texts against the texts an artifact was built for, measured on its own embeddings (numpy only).

Tests, each on a reference and a current sample of embeddings:

- **MMD²** with an RBF kernel (median-heuristic bandwidth on the pooled sample), unbiased estimator, and a
  permutation-test p-value: the verdict's test.
- **Domain classifier**: logistic regression (Newton steps on the top principal components) trained to tell the
  samples apart on one half, ROC AUC on the other; the threshold is the 95th percentile of the AUC with shuffled
  labels (Evidently's model-based method). An AUC near 1 means the current texts are plainly of another kind.
- **Centroid shift** (1 - cosine of the means), **share of drifted components** (per-component two-sample
  Kolmogorov-Smirnov test at 0.05), **nearest-neighbour similarity** of current texts to the reference, relative to
  the reference's own, and from the tokenizer the **unknown-token** and **fragmentation** (tokens per word) rates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from edge_embed.errors import InputError
from edge_embed.runtime.pooling import normalize

MIN_TEXTS = 20  # fewer texts per side give a test with almost no power


class Verdict(str, Enum):
    """What the drift check concludes."""

    STABLE = "stable"
    DRIFTING = "drifting"
    REFRESH = "refresh recommended"


@dataclass(frozen=True)
class DriftThresholds:
    """When the check says drifting, and when it recommends a refresh."""

    p_value: float = 0.01  # MMD permutation p below this: drifting
    refresh_auc: float = 0.9  # drifting and the classifier separates the samples this well: refresh
    permutations: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.p_value < 1:
            raise InputError(f"p_value must be in (0, 1), got {self.p_value}")
        if not 0.5 <= self.refresh_auc <= 1:
            raise InputError(f"refresh_auc must be in [0.5, 1], got {self.refresh_auc}")
        if self.permutations < 20:
            raise InputError(f"permutations must be at least 20, got {self.permutations}")


@dataclass(frozen=True)
class TokenStats:
    """How the tokenizer sees a sample: new vocabulary shows as unknown tokens and words cut into more pieces."""

    unknown_rate: float  # unknown tokens per token
    tokens_per_word: float

    @classmethod
    def of(cls, encodings: Sequence[Any], unknown_id: int | None) -> TokenStats:
        """From encodings (special tokens left out; words as the tokenizer's pre-tokenizer splits them, counted
        within the kept tokens so truncation does not bias the rate)."""
        tokens = unknown = words = 0
        for encoding in encodings:
            kept = [
                (token_id, word)
                for token_id, word, special in zip(
                    encoding.ids, encoding.word_ids, encoding.special_tokens_mask, strict=True
                )
                if not special
            ]
            tokens += len(kept)
            words += len({word for _, word in kept if word is not None})
            unknown += sum(1 for token_id, _ in kept if token_id == unknown_id)
        return cls(unknown / max(tokens, 1), tokens / max(words, 1))


@dataclass(frozen=True)
class Sample:
    """Embeddings of one side of the comparison, with the texts (when known) and their token statistics."""

    vectors: np.ndarray
    tokens: TokenStats
    texts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or len(self.vectors) < MIN_TEXTS:
            raise InputError(
                f"a drift sample needs at least {MIN_TEXTS} texts, got {len(self.vectors)}; give more texts"
            )


@dataclass(frozen=True)
class DriftReport:
    """The statistics, the verdict with its reasons, and the current texts that lie farthest from the reference."""

    verdict: Verdict
    reasons: tuple[str, ...]
    mmd2: float
    mmd_p_value: float
    classifier_auc: float
    classifier_threshold: float
    centroid_shift: float
    drifted_components: float
    nn_similarity: float
    reference_nn_similarity: float
    reference_tokens: TokenStats
    current_tokens: TokenStats
    reference_size: int
    current_size: int
    farthest: tuple[tuple[float, str], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        data = asdict(self)
        data["verdict"] = self.verdict.value
        data["farthest"] = [{"similarity": s, "text": t} for s, t in self.farthest]
        return data


def detect_drift(reference: Sample, current: Sample, thresholds: DriftThresholds | None = None) -> DriftReport:
    """Compare two samples of an artifact's embeddings.

    Raises:
        InputError: If the samples have different widths or too few texts.
    """
    thresholds = thresholds or DriftThresholds()
    x, y = _unit(reference.vectors), _unit(current.vectors)
    if x.shape[1] != y.shape[1]:
        raise InputError(f"reference vectors are {x.shape[1]}-wide but current ones {y.shape[1]}-wide")
    rng = np.random.default_rng(thresholds.seed)
    mmd2, p_value = mmd_test(x, y, thresholds.permutations, rng)
    auc, auc_threshold = classifier_test(x, y, rng)
    nearest = (y @ x.T).max(axis=1)
    half = len(x) // 2
    reference_nn = float((x[half:] @ x[:half].T).max(axis=1).mean())
    shift = 1.0 - float((_unit(x.mean(axis=0, keepdims=True)) @ _unit(y.mean(axis=0, keepdims=True)).T)[0, 0])
    drifted = float((ks_p_values(x, y) < 0.05).mean())
    reasons = [f"MMD² {mmd2:.4f}, permutation p = {p_value:.4f} (drifting below {thresholds.p_value})"]
    verdict = Verdict.DRIFTING if p_value < thresholds.p_value else Verdict.STABLE
    if verdict is Verdict.DRIFTING and auc >= thresholds.refresh_auc:
        verdict = Verdict.REFRESH
        reasons.append(f"a classifier tells current from reference texts apart (ROC AUC {auc:.3f})")
    if current.tokens.unknown_rate > 2 * reference.tokens.unknown_rate + 1e-3:
        reasons.append(
            f"unknown tokens rose from {reference.tokens.unknown_rate:.2%} to {current.tokens.unknown_rate:.2%}"
        )
    if current.tokens.tokens_per_word > 1.15 * reference.tokens.tokens_per_word:
        reasons.append(
            f"words are cut into more pieces: {current.tokens.tokens_per_word:.2f} tokens per word, "
            f"{reference.tokens.tokens_per_word:.2f} in the reference"
        )
    order = np.argsort(nearest)[:10]
    farthest = tuple((float(nearest[i]), current.texts[i]) for i in order) if current.texts else ()
    return DriftReport(
        verdict=verdict,
        reasons=tuple(reasons),
        mmd2=mmd2,
        mmd_p_value=p_value,
        classifier_auc=auc,
        classifier_threshold=auc_threshold,
        centroid_shift=shift,
        drifted_components=drifted,
        nn_similarity=float(nearest.mean()),
        reference_nn_similarity=reference_nn,
        reference_tokens=reference.tokens,
        current_tokens=current.tokens,
        reference_size=len(x),
        current_size=len(y),
        farthest=farthest,
    )


def _unit(x: np.ndarray) -> np.ndarray:
    """Unit rows (the runtime's normalize), in float64 for the kernel sums."""
    return normalize(np.asarray(x, dtype=np.float32)).astype(np.float64)


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise squared Euclidean distances."""
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def median_bandwidth(z: np.ndarray) -> float:
    """The median pairwise distance of a sample (the RBF kernel's median heuristic)."""
    d = squared_distances(z, z)
    upper = d[np.triu_indices(len(z), k=1)]
    median = float(np.sqrt(np.median(upper))) if len(upper) else 1.0
    return median if median > 0 else 1.0


def rbf_kernel(d2: np.ndarray, bandwidth: float) -> np.ndarray:
    """``exp(-d² / (2 σ²))``."""
    return np.exp(-d2 / (2.0 * bandwidth * bandwidth))


def mmd2_unbiased(kernel: np.ndarray, m: int) -> float:
    """Unbiased MMD² from the pooled kernel matrix whose first ``m`` rows are the reference."""
    kxx, kyy, kxy = kernel[:m, :m], kernel[m:, m:], kernel[:m, m:]
    n = len(kernel) - m
    xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(xx + yy - 2.0 * kxy.mean())


def mmd_test(x: np.ndarray, y: np.ndarray, permutations: int, rng: np.random.Generator) -> tuple[float, float]:
    """MMD² of ``x`` against ``y`` and its permutation p-value ``(1 + #{null >= observed}) / (1 + permutations)``."""
    z = np.vstack([x, y])
    kernel = rbf_kernel(squared_distances(z, z), median_bandwidth(z))
    m = len(x)
    observed = mmd2_unbiased(kernel, m)
    exceed = 0
    for _ in range(permutations):
        order = rng.permutation(len(z))
        exceed += mmd2_unbiased(kernel[np.ix_(order, order)], m) >= observed
    return observed, (1 + exceed) / (1 + permutations)


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count one half)."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels).astype(bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        raise InputError("ROC AUC needs both classes")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # average ranks over ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[labels].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def logistic_fit(features: np.ndarray, labels: np.ndarray, l2: float = 1e-2, steps: int = 25) -> np.ndarray:
    """Weights (bias last) of an L2-regularised logistic regression, by Newton's method."""
    a = np.hstack([features, np.ones((len(features), 1))])
    w = np.zeros(a.shape[1])
    penalty = l2 * np.eye(a.shape[1])
    penalty[-1, -1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(a @ w, -30, 30)))
        gradient = a.T @ (p - labels) + penalty @ w
        hessian = (a * (p * (1 - p))[:, None]).T @ a + penalty
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(w)), gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def classifier_test(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator, components: int = 32, shuffles: int = 30
) -> tuple[float, float]:
    """Held-out ROC AUC of a classifier telling ``y`` from ``x``, and the 95th percentile AUC with shuffled labels."""
    z = np.vstack([x, y])
    labels = np.r_[np.zeros(len(x)), np.ones(len(y))]
    centred = z - z.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    features = centred @ vt[: min(components, vt.shape[0])].T
    features /= np.maximum(features.std(axis=0), 1e-12)

    def held_out_auc(y_labels: np.ndarray) -> float:
        train = np.zeros(len(z), dtype=bool)
        for cls in (0, 1):  # stratified halves
            members = rng.permutation(np.flatnonzero(y_labels == cls))
            train[members[: len(members) // 2]] = True
        w = logistic_fit(features[train], y_labels[train])
        scores = np.hstack([features[~train], np.ones(((~train).sum(), 1))]) @ w
        return roc_auc(scores, y_labels[~train])

    auc = held_out_auc(labels)
    null = [held_out_auc(rng.permutation(labels)) for _ in range(shuffles)]
    return auc, float(np.percentile(null, 95))


def ks_p_values(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Asymptotic two-sample Kolmogorov-Smirnov p-value of every component (column)."""
    m, n = len(x), len(y)
    pooled = np.sort(np.vstack([x, y]), axis=0)
    xs, ys = np.sort(x, axis=0), np.sort(y, axis=0)
    statistics = np.empty(x.shape[1])
    for j in range(x.shape[1]):
        cdf_x = np.searchsorted(xs[:, j], pooled[:, j], side="right") / m
        cdf_y = np.searchsorted(ys[:, j], pooled[:, j], side="right") / n
        statistics[j] = np.abs(cdf_x - cdf_y).max()
    effective = math.sqrt(m * n / (m + n))
    lam = (effective + 0.12 + 0.11 / effective) * statistics
    k = np.arange(1, 101)[:, None]
    series = 2.0 * ((-1.0) ** (k - 1) * np.exp(-2.0 * (k**2) * lam[None, :] ** 2)).sum(axis=0)
    # The series converges slowly near 0, where the Kolmogorov tail is 1 to many digits (Q(0.3) > 0.99999).
    return np.where(lam < 0.3, 1.0, np.clip(series, 0.0, 1.0))
