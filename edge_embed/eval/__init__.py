"""Retrieval evaluation with exact numpy search (lean)."""

from edge_embed.eval.metrics import PRIMARY_METRIC, Cutoffs, evaluate_embeddings, ranking_metrics, top_k
from edge_embed.eval.retrieval import evaluate_artifact

__all__ = ["PRIMARY_METRIC", "Cutoffs", "evaluate_artifact", "evaluate_embeddings", "ranking_metrics", "top_k"]
