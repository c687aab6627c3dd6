"""Evaluate an artifact on a retrieval dataset with the lean runtime: embed once, score every dimension."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from edge_embed.data.beir import RetrievalDataset
from edge_embed.errors import InputError
from edge_embed.eval.metrics import (
    DEFAULT_CUTOFFS,
    Cutoffs,
    evaluate_embeddings,
    per_query_ndcg,
    rank_corpus,
    ranking_metrics,
)
from edge_embed.runtime.pooling import truncate_dim


class TextEmbedder(Protocol):
    """What evaluation and benchmarks need from a model: the lean :class:`~edge_embed.Embedder`, or a
    sentence-transformers reference wrapped to look like one."""

    @property
    def dim(self) -> int:
        """Width of the returned vectors."""
        ...

    def embed(
        self, texts: Sequence[str], batch_size: int = 32, kind: str = "document", show_progress: bool = False
    ) -> np.ndarray:
        """Float32 ``(len(texts), dim)`` vectors, in input order."""
        ...


def evaluate_artifact(
    embedder: TextEmbedder,
    dataset: RetrievalDataset,
    dims: Sequence[int] | None = None,
    batch_size: int = 32,
    show_progress: bool = False,
    cutoffs: Cutoffs = DEFAULT_CUTOFFS,
) -> dict[int, dict[str, float]]:
    """Embed the corpus and queries once, then score retrieval at each dimension.

    Args:
        embedder: The artifact to evaluate (its own ``dim`` is the full width scored).
        dataset: Queries, corpus and relevant passages of one split.
        dims: Matryoshka widths to score besides the embedder's own (truncated and renormalized).
        batch_size: Texts per onnxruntime call.
        show_progress: Show progress bars while embedding.
        cutoffs: The ranks to report.

    Returns:
        ``{dim: {"ndcg@10": ..., ...}}``, the embedder's own width first.

    Raises:
        InputError: If a requested dim is wider than the embeddings.
    """
    widths = [embedder.dim] + [d for d in (dims or ()) if d != embedder.dim]
    bad = [d for d in widths if not 0 < d <= embedder.dim]
    if bad:
        raise InputError(f"dims {bad} are outside 1..{embedder.dim}")
    corpus_ids, query_ids = list(dataset.corpus), list(dataset.queries)
    corpus = embedder.embed([dataset.corpus[c] for c in corpus_ids], batch_size, "document", show_progress)
    queries = embedder.embed([dataset.queries[q] for q in query_ids], batch_size, "query", show_progress)
    results = {}
    for dim in widths:
        q = queries if dim == embedder.dim else truncate_dim(queries, dim, renormalize=True)
        c = corpus if dim == embedder.dim else truncate_dim(corpus, dim, renormalize=True)
        results[dim] = evaluate_embeddings(q, c, query_ids, corpus_ids, dataset.relevant_docs, cutoffs)
    return results


def evaluate_per_query(
    embedder: TextEmbedder, dataset: RetrievalDataset, batch_size: int = 32, show_progress: bool = False
) -> tuple[dict[str, float], dict[str, float]]:
    """The full-width metrics (as :func:`evaluate_artifact`) and each query's NDCG@10, from one embedding pass.

    Returns:
        ``(metrics, {query id: ndcg@10})``.
    """
    corpus_ids, query_ids = list(dataset.corpus), list(dataset.queries)
    corpus = embedder.embed([dataset.corpus[c] for c in corpus_ids], batch_size, "document", show_progress)
    queries = embedder.embed([dataset.queries[q] for q in query_ids], batch_size, "query", show_progress)
    ranked = rank_corpus(queries, corpus, query_ids, corpus_ids, DEFAULT_CUTOFFS.deepest)
    relevant = {q: dataset.relevant_docs[q] for q in query_ids}
    return ranking_metrics(ranked, relevant), per_query_ndcg(ranked, relevant, 10)
