"""Retrieval metrics with exact numpy search: one implementation for the quantization gate, the trainer's
reports and the benchmark. Names and definitions follow sentence-transformers' InformationRetrievalEvaluator
(binary relevance; ``map@k`` divides by ``min(k, number of relevant passages)``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

PRIMARY_METRIC = "ndcg@10"
GREATER_IS_BETTER = True


@dataclass(frozen=True)
class Cutoffs:
    """The ranks at which each metric is reported."""

    ndcg: tuple[int, ...] = (10,)
    mrr: tuple[int, ...] = (10,)
    recall: tuple[int, ...] = (1, 10, 100)
    map: tuple[int, ...] = (100,)

    @property
    def deepest(self) -> int:
        """How many hits a query needs for every metric."""
        return max((*self.ndcg, *self.mrr, *self.recall, *self.map))


DEFAULT_CUTOFFS = Cutoffs()


def top_k(
    query_embeddings: np.ndarray, corpus_embeddings: np.ndarray, k: int, chunk: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine search: the ``k`` best corpus rows for each query, best first.

    Args:
        query_embeddings: ``(n_queries, dim)``.
        corpus_embeddings: ``(n_corpus, dim)``.
        k: Hits per query (capped at the corpus size).
        chunk: Queries scored at a time (bounds memory to ``chunk * n_corpus`` floats).

    Returns:
        ``(indices, scores)``, each ``(n_queries, k)``.
    """
    queries = _unit(query_embeddings)
    corpus = _unit(corpus_embeddings)
    k = min(k, len(corpus))
    indices = np.empty((len(queries), k), dtype=np.int64)
    scores = np.empty((len(queries), k), dtype=np.float32)
    for start in range(0, len(queries), chunk):
        block = queries[start : start + chunk] @ corpus.T
        part = (
            np.argpartition(-block, k - 1, axis=1)[:, :k]
            if k < block.shape[1]
            else np.tile(np.arange(block.shape[1]), (len(block), 1))
        )
        part_scores = np.take_along_axis(block, part, axis=1)
        order = np.argsort(-part_scores, axis=1, kind="stable")
        indices[start : start + chunk] = np.take_along_axis(part, order, axis=1)
        scores[start : start + chunk] = np.take_along_axis(part_scores, order, axis=1)
    return indices, scores


def ranking_metrics(
    ranked: Mapping[str, Sequence[str]], relevant_docs: Mapping[str, set[str]], cutoffs: Cutoffs = DEFAULT_CUTOFFS
) -> dict[str, float]:
    """Average NDCG@k, MRR@k, Recall@k and MAP@k over queries.

    Args:
        ranked: For each query id, corpus ids best first (at least ``cutoffs.deepest`` of them where possible).
        relevant_docs: For each query id, its relevant corpus ids.
        cutoffs: The ranks to report.

    Returns:
        ``{"ndcg@10": ..., "mrr@10": ..., "recall@1": ..., ..., "map@100": ...}``.
    """
    totals: dict[str, float] = {}
    for qid, relevant in relevant_docs.items():
        hits = [cid in relevant for cid in ranked.get(qid, ())]
        for k in cutoffs.ndcg:
            _add(totals, f"ndcg@{k}", _ndcg(hits, len(relevant), k))
        for k in cutoffs.mrr:
            first = next((rank for rank, hit in enumerate(hits[:k]) if hit), None)
            _add(totals, f"mrr@{k}", 0.0 if first is None else 1.0 / (first + 1))
        for k in cutoffs.recall:
            _add(totals, f"recall@{k}", sum(hits[:k]) / len(relevant))
        for k in cutoffs.map:
            found, precision_sum = 0, 0.0
            for rank, hit in enumerate(hits[:k]):
                if hit:
                    found += 1
                    precision_sum += found / (rank + 1)
            _add(totals, f"map@{k}", precision_sum / min(k, len(relevant)))
    n = max(len(relevant_docs), 1)
    return {name: value / n for name, value in totals.items()}


def per_query_ndcg(
    ranked: Mapping[str, Sequence[str]], relevant_docs: Mapping[str, set[str]], k: int = 10
) -> dict[str, float]:
    """NDCG@k of each query (what :func:`ranking_metrics` averages), for paired comparisons of two rankings."""
    return {
        qid: _ndcg([cid in relevant for cid in ranked.get(qid, ())], len(relevant), k)
        for qid, relevant in relevant_docs.items()
    }


def rank_corpus(
    query_embeddings: np.ndarray,
    corpus_embeddings: np.ndarray,
    query_ids: Sequence[str],
    corpus_ids: Sequence[str],
    k: int,
) -> dict[str, list[str]]:
    """The ``k`` best corpus ids of each query by exact cosine search, best first."""
    indices, _ = top_k(query_embeddings, corpus_embeddings, k)
    return {qid: [corpus_ids[i] for i in row] for qid, row in zip(query_ids, indices, strict=True)}


def evaluate_embeddings(
    query_embeddings: np.ndarray,
    corpus_embeddings: np.ndarray,
    query_ids: Sequence[str],
    corpus_ids: Sequence[str],
    relevant_docs: Mapping[str, set[str]],
    cutoffs: Cutoffs = DEFAULT_CUTOFFS,
) -> dict[str, float]:
    """Search the corpus for every query and score the ranking.

    Args:
        query_embeddings: One row per id in ``query_ids``.
        corpus_embeddings: One row per id in ``corpus_ids``.
        query_ids: Query ids, in row order.
        corpus_ids: Corpus ids, in row order.
        relevant_docs: Relevant corpus ids per query id.
        cutoffs: The ranks to report.

    Returns:
        The metrics, as :func:`ranking_metrics` names them.
    """
    ranked = rank_corpus(query_embeddings, corpus_embeddings, query_ids, corpus_ids, cutoffs.deepest)
    return ranking_metrics(ranked, {q: relevant_docs[q] for q in query_ids}, cutoffs)


def _ndcg(hits: Sequence[bool], relevant: int, k: int) -> float:
    dcg = sum(1.0 / np.log2(rank + 2) for rank, hit in enumerate(hits[:k]) if hit)
    ideal = sum(1.0 / np.log2(rank + 2) for rank in range(min(relevant, k)))
    return float(dcg / ideal)


def _add(totals: dict[str, float], name: str, value: float) -> None:
    totals[name] = totals.get(name, 0.0) + float(value)


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
