"""A static embedding table as an artifact's engine: numpy alone, for devices too small for a transformer.

The table is a model2vec distillation of the user's (finetuned) model (``edge-embed distill``): one vector per
token of the vocabulary. A text's vector is the mean of its tokens' rows, unknown tokens left out, as model2vec's
``StaticModel.encode`` computes it; the runtime then normalizes as the manifest says. ``embeddings.npz`` holds
``vectors`` (vocabulary x dim) and ``ignored_ids`` (token ids pooled over as if absent).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from edge_embed.errors import ArtifactError

STATIC_FILE = "embeddings.npz"
STATIC_OUTPUT = "sentence_embedding"


class StaticRunner:
    """Token vectors looked up and averaged in numpy."""

    input_names = ("input_ids", "attention_mask")
    input_int32 = frozenset[str]()
    output_names = (STATIC_OUTPUT,)

    def __init__(self, vectors: np.ndarray, ignored_ids: np.ndarray) -> None:
        self.vectors = vectors
        self.ignored_ids = np.asarray(ignored_ids, dtype=np.int64)

    @classmethod
    def load(cls, file: Path) -> StaticRunner:
        """Read ``vectors`` and ``ignored_ids`` from ``file``.

        Raises:
            ArtifactError: If the file is not such an archive or its arrays have the wrong shape or type.
        """
        try:
            with np.load(file, allow_pickle=False) as archive:
                vectors, ignored = archive["vectors"], archive["ignored_ids"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise ArtifactError(f"{file} is not a static embedding table (vectors, ignored_ids): {exc}") from None
        if vectors.ndim != 2 or vectors.dtype.kind != "f" or ignored.ndim != 1 or ignored.dtype.kind not in "iu":
            raise ArtifactError(
                f"{file} holds vectors {vectors.dtype}{list(vectors.shape)} and ignored_ids "
                f"{ignored.dtype}{list(ignored.shape)}; expected a float (vocabulary, dim) table and integer ids"
            )
        return cls(vectors, ignored)

    def run(self, output_name: str, feed: dict[str, np.ndarray]) -> np.ndarray:
        """The mean of each row's token vectors (``(batch, dim)`` float32), over its unmasked, known tokens."""
        ids, mask = feed["input_ids"], feed["attention_mask"].astype(bool)
        if ids.size and int(ids.max()) >= len(self.vectors):
            raise ArtifactError(
                f"token id {int(ids.max())} is outside the table's {len(self.vectors)} rows: the tokenizer does not "
                "belong to this table"
            )
        if self.ignored_ids.size:
            mask &= ~np.isin(ids, self.ignored_ids)
        weights = mask.astype(np.float32)
        sums = np.einsum("bs,bsd->bd", weights, self.vectors[ids], dtype=np.float32)
        return sums / np.maximum(weights.sum(axis=1, keepdims=True), 1.0)

    def warm_up_shapes(self, max_rows: int, max_length: int, max_tokens: int) -> list[tuple[int, int]]:
        """A lookup has nothing to prepare per shape: one short batch touches the table."""
        return [(1, min(16, max_length))]
