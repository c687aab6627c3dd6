"""A local vector index in a folder: the documents, their vectors at the chosen precision, and a manifest tying them
to the artifact that embedded them (its manifest sha256), so a query from another model is refused, not answered.

    index.json       manifest: artifact, dim, precision, int8 ranges file, document count, sha256 of each file
    vectors.npy      (n, dim) float32 | (n, dim) int8 | (n, dim / 8) uint8 (packed sign bits)
    ranges.npy       int8 and binary: the per-dimension calibration ranges (from the first build's vectors)
    rescore.npy      binary only: the int8 codes the best Hamming candidates are rescored with (memory mapped)
    ann.usearch      optional ([ann] extra): an HNSW graph proposing candidates, rescored exactly
    documents.jsonl  id, text and optional title and source, in row order

Every write (build, add) makes a complete new folder and swaps it in, so an interrupted ``add`` leaves the previous
index as it was.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from edge_embed.errors import ArtifactError, InputError
from edge_embed.index import ann as approximate
from edge_embed.index.documents import Document
from edge_embed.index.scoring import RESCORE_MULTIPLIER, StoredPrecision, dequantize, encode, rerank, top_k
from edge_embed.lifecycle.calibration import Calibration
from edge_embed.lineage.atomic import atomic_dir
from edge_embed.lineage.hashing import sha256_file
from edge_embed.lineage.manifest import manifest_sha256
from edge_embed.records.files import read_json
from edge_embed.runtime.embedder import Embedder
from edge_embed.runtime.pooling import normalize
from edge_embed.runtime.precision import calibration_ranges

INDEX_MANIFEST = "index.json"
INDEX_SCHEMA = "edge-embed.index"
INDEX_SCHEMA_VERSION = 1
_VECTORS, _RANGES, _RESCORE, _DOCUMENTS = "vectors.npy", "ranges.npy", "rescore.npy", "documents.jsonl"


@dataclass(frozen=True)
class Hit:
    """One search result: the document and its similarity to the query (cosine for float32 and int8)."""

    id: str
    score: float
    text: str
    title: str | None = None
    source: str | None = None
    probability: float | None = None  # of relevance, when the artifact has a score calibration

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "score": self.score, "text": self.text}
        if self.probability is not None:
            out["probability"] = self.probability
        if self.title:
            out["title"] = self.title
        if self.source:
            out["source"] = self.source
        return out


@dataclass(frozen=True)
class IndexManifest:
    """What ``index.json`` records."""

    artifact_sha256: str
    artifact_path: str
    dim: int
    precision: StoredPrecision
    count: int
    files: dict[str, str]
    created_at: str
    updated_at: str
    schema_version: int = INDEX_SCHEMA_VERSION

    @classmethod
    def read(cls, folder: Path) -> IndexManifest:
        path = folder / INDEX_MANIFEST
        data = read_json(path, f"{folder} is not an index; build one with edge-embed index build", "index manifest")
        if not isinstance(data, dict) or data.get("schema") != INDEX_SCHEMA:
            raise ArtifactError(f"{path} is not an edge-embed index manifest")
        version = data.get("schema_version", 1)
        if not isinstance(version, int) or version > INDEX_SCHEMA_VERSION:
            raise ArtifactError(
                f"{path} has schema_version {version!r}; this edge-embed reads up to "
                f"{INDEX_SCHEMA_VERSION}, upgrade it or rebuild the index"
            )
        try:
            return cls(
                artifact_sha256=str(data["artifact"]["manifest_sha256"]),
                artifact_path=str(data["artifact"]["path"]),
                dim=int(data["dim"]),
                precision=StoredPrecision(data["precision"]),
                count=int(data["count"]),
                files={str(k): str(v) for k, v in data["files"].items()},
                created_at=str(data["created_at"]),
                updated_at=str(data["updated_at"]),
                schema_version=int(data.get("schema_version", 1)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ArtifactError(f"{path} is damaged ({type(exc).__name__}: {exc}); rebuild the index") from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": INDEX_SCHEMA,
            "schema_version": self.schema_version,
            "artifact": {"manifest_sha256": self.artifact_sha256, "path": self.artifact_path},
            "dim": self.dim,
            "precision": self.precision.value,
            "count": self.count,
            "files": self.files,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass
class VectorIndex:
    """Documents and their vectors, searchable with the artifact that embedded them."""

    folder: Path
    manifest: IndexManifest
    vectors: np.ndarray
    documents: list[Document]
    ranges: np.ndarray | None = None
    rescore: np.ndarray | None = None  # binary indexes: int8 codes for rescoring, memory mapped once opened
    graph: Any = None  # optional usearch HNSW graph proposing candidates
    _ids: set[str] = field(default_factory=set, repr=False)

    @classmethod
    def build(
        cls,
        embedder: Embedder,
        documents: Sequence[Document],
        folder: str | Path,
        precision: StoredPrecision | str = StoredPrecision.FLOAT32,
        overwrite: bool = False,
        show_progress: bool = False,
        dim: int | None = None,
        ann: bool = False,
    ) -> VectorIndex:
        """Embed ``documents`` as passages and write a new index folder (with ``ann``, also an HNSW graph).

        Raises:
            InputError: If the folder exists (without ``overwrite``), there are no documents or an id repeats.
        """
        if not documents:
            raise InputError("no documents to index")
        _check_unique(documents, set())
        vectors = _embed_documents(embedder, documents, dim, show_progress)
        return cls.from_vectors(embedder.folder, documents, vectors, folder, precision, overwrite, ann=ann)

    @classmethod
    def from_vectors(
        cls,
        artifact: str | Path,
        documents: Sequence[Document],
        vectors: np.ndarray,
        folder: str | Path,
        precision: StoredPrecision | str = StoredPrecision.FLOAT32,
        overwrite: bool = False,
        dim: int | None = None,
        ann: bool = False,
    ) -> VectorIndex:
        """Write a new index folder from vectors ``artifact`` already made for ``documents`` (row i is document i),
        e.g. by ``edge-embed embed-corpus`` on a cluster; ``dim`` keeps their first ``dim`` components.

        Raises:
            InputError: If the rows do not match the documents, ``dim`` exceeds their width, or as :meth:`build`.
        """
        precision = StoredPrecision(precision)
        if not documents:
            raise InputError("no documents to index")
        _check_unique(documents, set())
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(documents):
            raise InputError(f"{len(documents)} documents but vectors of shape {vectors.shape}; one row per document")
        if dim is not None:
            if not 1 <= dim <= vectors.shape[1]:
                raise InputError(f"dim {dim} is out of range for {vectors.shape[1]}-dimensional vectors")
            vectors = vectors[:, :dim]
        vectors = normalize(vectors)
        ranges = calibration_ranges(vectors) if precision is not StoredPrecision.FLOAT32 else None
        now = _now()
        manifest = IndexManifest(
            artifact_sha256=manifest_sha256(artifact),
            artifact_path=str(Path(artifact).absolute()),
            dim=vectors.shape[1],
            precision=precision,
            count=len(documents),
            files={},
            created_at=now,
            updated_at=now,
        )
        rescore = encode(vectors, StoredPrecision.INT8, ranges) if precision is StoredPrecision.BINARY else None
        graph = None
        if ann:
            graph = approximate.new_graph(vectors.shape[1], precision)
            approximate.add_to_graph(graph, 0, vectors, precision)
        index = cls(Path(folder), manifest, encode(vectors, precision, ranges), list(documents), ranges, rescore, graph)
        index._write(overwrite=overwrite)
        return index

    @classmethod
    def open(cls, folder: str | Path, verify: bool = True) -> VectorIndex:
        """Read an index folder (checking each file's sha256 against its manifest unless ``verify`` is false).

        Raises:
            ArtifactError: If the folder is not an index, a file is missing, damaged or does not match.
        """
        folder = Path(folder)
        manifest = IndexManifest.read(folder)
        for name, digest in manifest.files.items():
            path = folder / name
            if not path.is_file():
                raise ArtifactError(f"{path} is missing; the index is incomplete, rebuild it")
            if verify and sha256_file(path) != digest:
                raise ArtifactError(f"{path} does not match its sha256 in {INDEX_MANIFEST}; the index is damaged")
        vectors = np.load(folder / _VECTORS, allow_pickle=False)
        ranges = np.load(folder / _RANGES, allow_pickle=False) if (folder / _RANGES).is_file() else None
        rescore = np.load(folder / _RESCORE, mmap_mode="r") if (folder / _RESCORE).is_file() else None
        graph = (
            approximate.open_graph(folder / approximate.ANN_FILE) if approximate.ANN_FILE in manifest.files else None
        )
        documents = [_document(line, folder) for line in (folder / _DOCUMENTS).read_text("utf-8").splitlines()]
        if len(documents) != manifest.count or len(vectors) != manifest.count:
            raise ArtifactError(
                f"{folder}: {len(vectors)} vectors and {len(documents)} documents, manifest says "
                f"{manifest.count}; rebuild the index"
            )
        return cls(folder, manifest, vectors, documents, ranges, rescore, graph, {d.id for d in documents})

    def __post_init__(self) -> None:
        if not self._ids:
            self._ids = {d.id for d in self.documents}

    def __len__(self) -> int:
        return len(self.documents)

    @property
    def memory_bytes(self) -> int:
        """Bytes the vectors searched in memory take (a binary index's int8 rescoring codes stay on disk)."""
        return int(self.vectors.nbytes)

    def check(self, embedder: Embedder) -> None:
        """Refuse an embedder other than the one this index was built with.

        Raises:
            InputError: Naming both manifest hashes.
        """
        given = manifest_sha256(embedder.folder)
        if given != self.manifest.artifact_sha256:
            raise InputError(
                f"index {self.folder} was built with artifact {self.manifest.artifact_sha256[:12]} "
                f"({self.manifest.artifact_path}), not {given[:12]} ({embedder.folder}); query it with that artifact "
                "or rebuild the index"
            )

    def add(self, embedder: Embedder, documents: Sequence[Document], show_progress: bool = False) -> VectorIndex:
        """Embed more documents and write the grown index in place of this one (atomically).

        Raises:
            InputError: If ``embedder`` is not the index's, or an id is already indexed or repeats.
        """
        self.check(embedder)
        if not documents:
            raise InputError("no documents to add")
        _check_unique(documents, self._ids)
        vectors = _embed_documents(embedder, documents, self.manifest.dim, show_progress)
        rescore = None
        if self.rescore is not None:
            rescore = np.concatenate([self.rescore, encode(vectors, StoredPrecision.INT8, self.ranges)])
        graph = None
        if self.graph is not None:  # a graph opened as a memory map is read-only: rebuild it with the new rows
            graph = approximate.new_graph(self.manifest.dim, self.manifest.precision)
            approximate.add_to_graph(graph, 0, self._approximate_floats(), self.manifest.precision)
            approximate.add_to_graph(graph, len(self), vectors, self.manifest.precision)
        grown = VectorIndex(
            self.folder,
            replace(self.manifest, count=len(self) + len(documents), updated_at=_now()),
            np.concatenate([self.vectors, encode(vectors, self.manifest.precision, self.ranges)]),
            [*self.documents, *documents],
            self.ranges,
            rescore,
            graph,
        )
        grown._write(overwrite=True)
        return grown

    def search(
        self, embedder: Embedder, queries: Sequence[str], k: int = 10, rescore_multiplier: int = RESCORE_MULTIPLIER
    ) -> list[list[Hit]]:
        """The ``k`` nearest documents of each query (embedded with the model's query prompt), best first.

        Raises:
            InputError: If ``embedder`` is not the index's, or ``k`` is not positive.
        """
        self.check(embedder)
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise InputError(f"k must be a positive integer, got {k!r}")
        query_vectors = normalize(embedder.embed(list(queries), kind="query", dim=self.manifest.dim))
        return self.search_vectors(query_vectors, k, rescore_multiplier, self.calibration_for(embedder))

    def calibration_for(self, embedder: Embedder) -> Calibration | None:
        """The artifact's score calibration where this index's scores are what it was fitted on (full width)."""
        return embedder.score_calibration if self.manifest.dim == embedder.manifest.embedding_dim else None

    def search_vectors(
        self,
        query_vectors: np.ndarray,
        k: int = 10,
        rescore_multiplier: int = RESCORE_MULTIPLIER,
        calibration: Calibration | None = None,
    ) -> list[list[Hit]]:
        """As :meth:`search`, for unit query vectors already embedded with this index's artifact.

        With the artifact's ``calibration``, each hit also carries its probability of relevance, where the scores
        are the cosines the map was fitted on (float32 or int8 rows at the model's full width).
        """
        if self.manifest.precision is StoredPrecision.BINARY:  # Hamming-based scores are not the fitted cosines
            calibration = None
        precision = self.manifest.precision
        if self.graph is not None:
            count = min(len(self), k * (rescore_multiplier if precision is StoredPrecision.BINARY else 4))
            candidates = approximate.candidate_rows(self.graph, query_vectors, count, precision)
            rows, row_scores = rerank(query_vectors, candidates, self.vectors, precision, self.ranges, k, self.rescore)
        else:
            found, found_scores = top_k(
                query_vectors, self.vectors, precision, self.ranges, k, self.rescore, rescore_multiplier
            )
            rows, row_scores = list(found), list(found_scores)
        return [
            [self._hit(int(row), float(score), calibration) for row, score in zip(picked, picked_scores, strict=True)]
            for picked, picked_scores in zip(rows, row_scores, strict=True)
        ]

    def _approximate_floats(self) -> np.ndarray:
        """The stored rows back as floats for a graph: exact (float32), dequantized (int8) or +-1 (binary)."""
        precision = self.manifest.precision
        if precision is StoredPrecision.FLOAT32:
            return np.asarray(self.vectors)
        if precision is StoredPrecision.BINARY:
            return np.unpackbits(self.vectors, axis=1, count=self.manifest.dim).astype(np.float32) * 2 - 1
        assert self.ranges is not None
        return dequantize(self.vectors, self.ranges)

    def _hit(self, row: int, score: float, calibration: Calibration | None = None) -> Hit:
        document = self.documents[row]
        probability = float(calibration.apply(score)) if calibration is not None else None
        return Hit(document.id, score, document.text, document.title, document.source, probability)

    def _write(self, overwrite: bool) -> None:
        with atomic_dir(self.folder, overwrite=overwrite) as tmp:
            np.save(tmp / _VECTORS, self.vectors, allow_pickle=False)
            if self.ranges is not None:
                np.save(tmp / _RANGES, self.ranges, allow_pickle=False)
            if self.rescore is not None:
                np.save(tmp / _RESCORE, np.asarray(self.rescore), allow_pickle=False)
            if self.graph is not None:
                self.graph.save(str(tmp / approximate.ANN_FILE))
            (tmp / _DOCUMENTS).write_text(
                "".join(json.dumps(d.to_dict(), ensure_ascii=False) + "\n" for d in self.documents), encoding="utf-8"
            )
            files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir())}
            self.manifest = replace(self.manifest, files=files)
            (tmp / INDEX_MANIFEST).write_text(json.dumps(self.manifest.to_dict(), indent=2) + "\n", encoding="utf-8")
        self._ids = {d.id for d in self.documents}


def _embed_documents(
    embedder: Embedder, documents: Sequence[Document], dim: int | None, show_progress: bool
) -> np.ndarray:
    texts = [d.embedded_text for d in documents]
    return normalize(embedder.embed(texts, kind="document", dim=dim, show_progress=show_progress))


def _check_unique(documents: Sequence[Document], existing: set[str]) -> None:
    seen = set(existing)
    for document in documents:
        if document.id in seen:
            where = "already in the index" if document.id in existing else "given twice"
            raise InputError(f"document id {document.id!r} is {where}; ids must be unique")
        seen.add(document.id)


def _document(line: str, folder: Path) -> Document:
    try:
        data = json.loads(line)
        return Document(str(data["id"]), str(data["text"]), data.get("title"), data.get("source"))
    except (ValueError, KeyError, TypeError):
        raise ArtifactError(f"{folder / _DOCUMENTS} has a damaged line; rebuild the index") from None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
