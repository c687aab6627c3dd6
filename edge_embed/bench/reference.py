"""The reference row: the same checkpoint run the way a user would without edge-embed (sentence-transformers on
PyTorch). Build side: imported only when ``bench --reference`` is asked for."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edge_embed.prompts import kind_prompts


class SentenceTransformersReference:
    """A sentence-transformers model on CPU, with the :class:`~edge_embed.eval.retrieval.TextEmbedder` interface."""

    def __init__(self, model_dir: str | Path, threads: int | None = None) -> None:
        """Load ``model_dir`` on CPU with ``threads`` intra-op threads (all CPUs when None)."""
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        self.model_dir = Path(model_dir)
        self.model = SentenceTransformer(str(model_dir), device="cpu")

    @property
    def dim(self) -> int:
        """Width of the embeddings."""
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(dimension() or 0)

    def embed(
        self, texts: Sequence[str], batch_size: int = 32, kind: str = "document", show_progress: bool = False
    ) -> np.ndarray:
        """Float32 embeddings as ``SentenceTransformer.encode`` returns them, with the model's prompt for ``kind``."""
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            prompt=kind_prompts(self.model.prompts).get(kind),
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def size_mb(self) -> float:
        """Size of the weights file(s) in MB."""
        files = [*self.model_dir.glob("*.safetensors"), *self.model_dir.glob("pytorch_model.bin")]
        return sum(f.stat().st_size for f in files) / 1e6
