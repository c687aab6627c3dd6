"""An evaluator for sentence-transformers' trainer that scores with edge-embed's own numpy metrics, so the numbers
chosen for checkpoint selection and written to the run record are the ones the gate and benchmark compute."""

from __future__ import annotations

from typing import Any

import numpy as np

from edge_embed.data.beir import RetrievalDataset
from edge_embed.eval.metrics import PRIMARY_METRIC, evaluate_embeddings
from edge_embed.prompts import kind_prompts
from edge_embed.runtime.pooling import truncate_dim
from edge_embed.train.compat import SentenceEvaluator


class RetrievalEvaluator(SentenceEvaluator):  # type: ignore[misc]
    """Exact-search retrieval metrics at the full width and at each Matryoshka width."""

    def __init__(
        self, dataset: RetrievalDataset, name: str = "dev", dims: tuple[int, ...] = (), batch_size: int = 32
    ) -> None:
        """Keep the dataset; nothing is embedded until the evaluator is called."""
        super().__init__()
        self.dataset, self.name, self.dims, self.batch_size = dataset, name, dims, batch_size
        self.primary_metric = PRIMARY_METRIC
        self.greater_is_better = True

    def embed_corpus(self, model: Any) -> np.ndarray:
        """Corpus embeddings from a SentenceTransformer (document prompt as the model defines it)."""
        corpus = model.encode(
            list(self.dataset.corpus.values()),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            show_progress_bar=False,
            prompt=kind_prompts(getattr(model, "prompts", None)).get("document"),
        )
        return np.asarray(corpus, dtype=np.float32)

    def embed_queries(self, model: Any) -> np.ndarray:
        """Query embeddings from a SentenceTransformer (query prompt as the model defines it)."""
        queries = model.encode(
            list(self.dataset.queries.values()),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            show_progress_bar=False,
            prompt=kind_prompts(getattr(model, "prompts", None)).get("query"),
        )
        return np.asarray(queries, dtype=np.float32)

    def score(self, model: Any, corpus: np.ndarray | None = None) -> dict[int, dict[str, float]]:
        """``{dim: metrics}`` for the full width and each Matryoshka width.

        Args:
            model: The SentenceTransformer.
            corpus: This dataset's corpus embeddings, if already computed (dev and test share the corpus).
        """
        queries = self.embed_queries(model)
        corpus = self.embed_corpus(model) if corpus is None else corpus
        full = queries.shape[1]
        results = {}
        for dim in (full, *[d for d in self.dims if d != full]):
            q = queries if dim == full else truncate_dim(queries, dim, renormalize=True)
            c = corpus if dim == full else truncate_dim(corpus, dim, renormalize=True)
            results[dim] = evaluate_embeddings(
                q, c, list(self.dataset.queries), list(self.dataset.corpus), self.dataset.relevant_docs
            )
        return results

    def __call__(
        self, model: Any, output_path: str | None = None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        """Metrics named ``<name>_ndcg@10`` (full width) and ``<name>_dim<d>_ndcg@10``, as the trainer logs them."""
        results = self.score(model)
        full = max(results)
        metrics = dict(results[full])
        for dim, values in results.items():
            if dim != full:
                metrics.update({f"dim{dim}_{k}": v for k, v in values.items()})
        metrics = self.prefix_name_to_metrics(metrics, self.name)
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics

    def get_config_dict(self) -> dict[str, Any]:
        """What this evaluator was configured with (for the model card and run record)."""
        return {
            "queries": len(self.dataset.queries),
            "corpus": len(self.dataset.corpus),
            "dims": list(self.dims),
            "sampled": self.dataset.sampled,
        }
