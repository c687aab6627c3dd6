"""Exact search over stored vectors in numpy: float32, int8 (scalar-quantized) and binary with float rescoring.

Queries stay float32 (asymmetric search, as sentence-transformers' quantized retrieval does): int8 documents are
scored as their dequantized values without materializing them all; binary documents by Hamming distance, then the
best ``rescore_multiplier * k`` again with the float query against their int8 codes, which stay on disk (memory
mapped: only the candidates' rows are read), as sentence-transformers' binary + int8 rescoring recipe does. Rows are
scored in bounded chunks so a large index needs no copy of itself in float32.
"""

from __future__ import annotations

import numpy as np

from edge_embed.choices import Choice
from edge_embed.runtime.precision import Precision, quantize

_CHUNK_ROWS = 65_536
# Binary indexes rescore this many candidates per hit: 20 keeps recall@10 0.975 of exact float32 search on
# medquad with MiniLM (4: 0.887, 10: 0.950, 40: 0.989; benchmarks/index_scale.py) for ~10% more search time.
RESCORE_MULTIPLIER = 20
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


class StoredPrecision(Choice):
    """How an index stores its vectors: 4, 1 or 1/8 byte per dimension."""

    FLOAT32 = "float32"
    INT8 = "int8"
    BINARY = "binary"

    @property
    def bytes_per_dim(self) -> float:
        return {"float32": 4.0, "int8": 1.0, "binary": 0.125}[self.value]


def encode(vectors: np.ndarray, precision: StoredPrecision, ranges: np.ndarray | None) -> np.ndarray:
    """Unit float vectors as the index stores them."""
    if precision is StoredPrecision.FLOAT32:
        return np.ascontiguousarray(vectors, dtype=np.float32)
    if precision is StoredPrecision.INT8:
        return quantize(vectors, Precision.INT8, ranges)
    return quantize(vectors, Precision.UBINARY)


def dequantize(codes: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """The float value each int8 code stands for: the middle of its level in the dimension's range."""
    return (ranges[0] + (codes.astype(np.float32) + 128.5) * _steps(ranges)).astype(np.float32)


def _steps(ranges: np.ndarray) -> np.ndarray:
    return (ranges[1] - ranges[0]) / 255


def scores(
    queries: np.ndarray, stored: np.ndarray, precision: StoredPrecision, ranges: np.ndarray | None
) -> np.ndarray:
    """``(n_queries, n_rows)`` similarity of unit float queries to every stored row (higher is closer)."""
    out = np.empty((len(queries), len(stored)), dtype=np.float32)
    if precision is StoredPrecision.INT8:
        assert ranges is not None
        steps = _steps(ranges)
        # q . dequantize(code) = q . (start + (code + 128.5) * step) = (q * step) . code + q . (start + 128.5 * step)
        weights = (queries * steps).astype(np.float32)
        offset = queries @ (ranges[0] + 128.5 * steps)
    for start in range(0, len(stored), _CHUNK_ROWS):
        block = stored[start : start + _CHUNK_ROWS]
        if precision is StoredPrecision.FLOAT32:
            out[:, start : start + len(block)] = queries @ block.T
        elif precision is StoredPrecision.INT8:
            out[:, start : start + len(block)] = weights @ block.T.astype(np.float32) + offset[:, None]
        else:
            out[:, start : start + len(block)] = -_hamming(quantize(queries, Precision.UBINARY), block)
    return out


def top_k(
    queries: np.ndarray,
    stored: np.ndarray,
    precision: StoredPrecision,
    ranges: np.ndarray | None,
    k: int,
    rescore: np.ndarray | None = None,
    rescore_multiplier: int = RESCORE_MULTIPLIER,
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices and scores of the ``k`` best rows per query, best first (``rescore``: the int8 codes of a
    binary index, with its ``ranges``)."""
    k = min(k, len(stored))
    if k == 0:
        return np.zeros((len(queries), 0), dtype=np.int64), np.zeros((len(queries), 0), dtype=np.float32)
    similarity = scores(queries, stored, precision, ranges if precision is StoredPrecision.INT8 else None)
    if precision is not StoredPrecision.BINARY:
        return _best(similarity, k)
    candidates, hamming = _best(similarity, min(len(stored), k * max(rescore_multiplier, 1)))
    if rescore is None:
        return candidates[:, :k], hamming[:, :k]
    rows, row_scores = rerank(queries, list(candidates), stored, precision, ranges, k, rescore)
    return np.vstack(rows), np.vstack(row_scores).astype(np.float32)


def rerank(
    queries: np.ndarray,
    candidates: list[np.ndarray],
    stored: np.ndarray,
    precision: StoredPrecision,
    ranges: np.ndarray | None,
    k: int,
    rescore: np.ndarray | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The ``k`` best of each query's candidate rows, scored exactly (a binary index by its int8 ``rescore`` codes)."""
    rows, row_scores = [], []
    for query, picked in zip(queries, candidates, strict=True):
        picked = np.sort(picked)
        if precision is StoredPrecision.BINARY and rescore is not None:
            exact = scores(query[None], np.asarray(rescore[picked]), StoredPrecision.INT8, ranges)[0]
        else:
            exact = scores(query[None], np.asarray(stored[picked]), precision, ranges)[0]
        order = np.argsort(-exact, kind="stable")[:k]
        rows.append(picked[order])
        row_scores.append(exact[order])
    return rows, row_scores


def _best(similarity: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    part = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    part_scores = np.take_along_axis(similarity, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(part_scores, order, axis=1)


def _hamming(query_codes: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Bits that differ between each packed query and each packed row."""
    out = np.empty((len(query_codes), len(block)), dtype=np.float32)
    for i, code in enumerate(query_codes):
        differing = np.bitwise_xor(block, code)
        counts = np.bitwise_count(differing) if hasattr(np, "bitwise_count") else _POPCOUNT[differing]
        out[i] = counts.sum(axis=1, dtype=np.int32)
    return out
