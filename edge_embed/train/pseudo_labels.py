"""Training pairs from an unlabelled query log: each query's best passage under the base model, kept only where it
beats the runner-up by a margin (self-training on the user's own questions; no label is read).

The base model embeds the logged queries and every passage of the run's data; a query whose top passage scores at
least ``margin`` (cosine) above its second becomes a pair with it. A wider margin keeps fewer, surer pairs:
``benchmarks/pseudo_labels.py`` measures precision and coverage per margin against medquad's train labels.
Labels depend on the base weights, the passages, the log, the margin and the sequence length only, so they are
cached per output folder (``.pseudo-labels/``) like the base model's scores.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_embed.data.leakage import normalize_text
from edge_embed.data.texts import read_domain_texts
from edge_embed.errors import InputError
from edge_embed.lineage.atomic import atomic_write_bytes
from edge_embed.records.sources import QueryLogCounts

logger = logging.getLogger(__name__)

MIN_PAIRS = 64  # as for corpus-only methods: two batches of the smallest preset
CACHE_DIR = ".pseudo-labels"
_QUERY_CHUNK = 1024  # queries scored against all passages at once (bounds the score matrix)


@dataclass(frozen=True)
class QueryLogPairs:
    """The pseudo-labelled pairs and what made them (recorded in ``run.json``)."""

    rows: list[tuple[str, str]]  # (query, passage)
    queries: int  # distinct queries in the log
    passages: int  # distinct passages searched
    margin: float

    @property
    def counts(self) -> QueryLogCounts:
        """What the run record keeps of the labelling."""
        return QueryLogCounts(self.queries, self.passages, len(self.rows), self.margin)


@dataclass(frozen=True)
class LabelModel:
    """The model that labels: its weights' sha256 (None when unknown: nothing is cached) and its encoder, which
    returns L2-normalized float32 rows."""

    weights_sha256: str | None
    encode: Callable[[list[str]], np.ndarray]


def read_query_log(path: str | Path) -> list[str]:
    """Distinct queries (case and spacing folded, first spelling kept) of a ``.txt`` file (one per line), a
    ``.jsonl`` file (field ``text``) or a BEIR folder's ``queries.jsonl``.

    Raises:
        InputError: If the path does not exist or holds no readable query.
    """
    path = Path(path)
    source = path / "queries.jsonl" if path.is_dir() else path
    if path.is_dir() and not source.is_file():
        raise InputError(f"query log folder {path} has no queries.jsonl; give a BEIR folder, a .txt or a .jsonl")
    if not source.is_file():
        raise InputError(f"query log {path} does not exist; give a .txt (one query per line), .jsonl or BEIR folder")
    sample = read_domain_texts(source, limit=10**9)
    if sample.skipped_lines:
        logger.warning("query log %s: skipped %d unreadable lines", source, len(sample.skipped_lines))
    distinct: dict[str, str] = {}
    for text in sample.texts:
        if text.strip():
            distinct.setdefault(normalize_text(text), text.strip())
    return list(distinct.values())


def pseudo_label(queries: Sequence[str], passages: Sequence[str], model: LabelModel, margin: float) -> QueryLogPairs:
    """Pair each query with its top passage where that beats the second by ``margin`` (see the module doc).

    Raises:
        InputError: If ``margin`` is outside [0, 2), there are fewer than two passages, or fewer than
            :data:`MIN_PAIRS` queries clear the margin (naming how many did).
    """
    if not 0 <= margin < 2:
        raise InputError(f"pseudo-label margin must be in [0, 2) (a cosine difference), got {margin}")
    passages = list(dict.fromkeys(passages))
    if len(passages) < 2:
        raise InputError(f"pseudo-labelling needs at least 2 passages to search, the data has {len(passages)}")
    logger.info("pseudo-labelling %d logged queries against %d passages", len(queries), len(passages))
    passage_vectors = model.encode(passages)
    rows: list[tuple[str, str]] = []
    for start in range(0, len(queries), _QUERY_CHUNK):
        chunk = list(queries[start : start + _QUERY_CHUNK])
        scores = model.encode(chunk) @ passage_vectors.T
        top2 = np.argpartition(-scores, 1, axis=1)[:, :2]
        pair_scores = np.take_along_axis(scores, top2, axis=1)
        best = np.argmax(pair_scores, axis=1)
        gap = np.abs(pair_scores[:, 0] - pair_scores[:, 1])
        for query, winner, clear in zip(chunk, top2[np.arange(len(chunk)), best], gap >= margin, strict=True):
            if clear:
                rows.append((query, passages[int(winner)]))
    labelled = QueryLogPairs(rows, len(queries), len(passages), margin)
    if len(rows) < MIN_PAIRS:
        raise InputError(
            f"the query log gave {len(rows)} pseudo-labelled pairs of {len(queries)} queries at margin {margin}; "
            f"at least {MIN_PAIRS} needed: log more queries or lower --pseudo-label-margin"
        )
    return labelled


def cached_pseudo_labels(
    queries: Sequence[str],
    passages: Sequence[str],
    model: LabelModel,
    margin: float,
    max_seq_length: int,
    output_dir: str | Path,
) -> QueryLogPairs:
    """:func:`pseudo_label`, read from ``<output_dir>/.pseudo-labels/`` when the same labels were made before."""
    cache = _cache_path(queries, passages, model, margin, max_seq_length, Path(output_dir))
    if cache is not None and cache.is_file():
        logger.info("pseudo-labels from %s", cache)
        stored = json.loads(cache.read_text())
        return QueryLogPairs([(q, p) for q, p in stored["rows"]], stored["queries"], stored["passages"], margin)
    labelled = pseudo_label(queries, passages, model, margin)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        payload = {"rows": labelled.rows, "queries": labelled.queries, "passages": labelled.passages}
        atomic_write_bytes(cache, json.dumps(payload).encode())
    return labelled


def _cache_path(
    queries: Sequence[str],
    passages: Sequence[str],
    model: LabelModel,
    margin: float,
    max_seq_length: int,
    output_dir: Path,
) -> Path | None:
    if model.weights_sha256 is None:
        return None
    payload = json.dumps([model.weights_sha256, max_seq_length, margin, list(queries), list(passages)])
    return output_dir / CACHE_DIR / f"{hashlib.sha256(payload.encode()).hexdigest()[:16]}.json"


def base_label_model(base_model: str | None, max_seq_length: int) -> LabelModel:
    """The run's base model as a labeller (build side: loads sentence-transformers)."""
    from sentence_transformers import SentenceTransformer

    from edge_embed.export.source import resolve_source
    from edge_embed.train.trainer import base_model_folder

    folder = base_model_folder(base_model)
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    model.max_seq_length = max_seq_length

    def encode(texts: list[str]) -> np.ndarray:
        vectors = model.encode(
            texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=len(texts) > 2000
        )
        return np.asarray(vectors, dtype=np.float32)

    return LabelModel(resolve_source(folder).describe()["weights_sha256"], encode)
