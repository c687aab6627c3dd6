"""The output of a corpus embedding job: ``OUT.parquet`` (columns ``id`` and ``embedding``, corpus order, the
artifact's manifest sha256 in the file's metadata), built from per-shard part files that make a job resumable.

While a job runs, finished shards lie in ``.OUT.parquet.parts/`` beside the output (each written atomically, named
by the job's key, so parts of another corpus or artifact are never mixed in). ``OUT.parquet`` appears only when
every shard is done, in one atomic rename; the parts folder is then removed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge_embed.errors import InputError

META_KEY = b"edge_embed"


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError("corpus embedding writes Parquet: pip install 'edge-embed[scale]' (pyarrow)") from None
    return pa, pq


@dataclass(frozen=True)
class JobKey:
    """What a job's parts depend on: the corpus ids, the artifact and the settings that change the vectors."""

    manifest_sha256: str
    ids_sha256: str
    shard_size: int
    dim: int | None

    @property
    def digest(self) -> str:
        payload = json.dumps([self.manifest_sha256, self.ids_sha256, self.shard_size, self.dim]).encode()
        return hashlib.sha256(payload).hexdigest()[:16]

    @classmethod
    def of(cls, manifest_sha256: str, ids: list[str], shard_size: int, dim: int | None) -> JobKey:
        return cls(manifest_sha256, hashlib.sha256("\n".join(ids).encode()).hexdigest(), shard_size, dim)


class PartsFolder:
    """The finished shards of one job."""

    def __init__(self, output: Path, key: JobKey) -> None:
        self.output = output
        self.key = key
        self.folder = output.parent / f".{output.name}.parts"

    def part(self, shard: int) -> Path:
        return self.folder / f"{self.key.digest}-{shard:06d}.parquet"

    def done(self, shards: int) -> set[int]:
        """The shards whose part file is complete (a half-written one never has its final name)."""
        return {s for s in range(shards) if self.part(s).is_file()}

    def write(self, shard: int, ids: list[str], vectors: np.ndarray) -> None:
        """Write one shard's part atomically."""
        pa, pq = _pyarrow()
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.part(shard)
        temporary = final.with_name(f".{final.name}.partial")
        pq.write_table(_table(pa, ids, vectors), temporary)
        temporary.replace(final)

    def finish(self, shards: int, metadata: dict[str, Any]) -> Path:
        """Concatenate every part into the output (atomic rename) and remove the parts folder."""
        pa, pq = _pyarrow()
        tables = [pq.read_table(self.part(s)) for s in range(shards)]
        table = pa.concat_tables(tables)
        table = table.replace_schema_metadata({META_KEY: json.dumps(metadata).encode()})
        temporary = self.output.with_name(f".{self.output.name}.partial")
        self.output.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, temporary)
        temporary.replace(self.output)
        shutil.rmtree(self.folder, ignore_errors=True)
        return self.output


def _table(pa: Any, ids: list[str], vectors: np.ndarray) -> Any:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    flat = pa.array(vectors.reshape(-1), type=pa.float32())
    embedding = pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1])
    return pa.table({"id": pa.array(ids, type=pa.string()), "embedding": embedding})


@dataclass(frozen=True)
class CorpusVectors:
    """An embedded corpus read back: ids, vectors and what made them."""

    ids: list[str]
    vectors: np.ndarray
    metadata: dict[str, Any]

    def aligned_to(self, ids: Sequence[str], manifest_sha256: str) -> np.ndarray:
        """The vectors in the order of ``ids``, checked to come from the artifact whose manifest hashes to
        ``manifest_sha256`` and to cover exactly these ids.

        Raises:
            InputError: If another artifact made them, or an id is missing or extra.
        """
        made_by = self.metadata.get("manifest_sha256")
        if made_by != manifest_sha256:
            raise InputError(
                f"these vectors were made by the artifact with manifest sha256 {str(made_by)[:12]}, not by this "
                f"one ({manifest_sha256[:12]}); embed the corpus again with it"
            )
        row = {pid: i for i, pid in enumerate(self.ids)}
        missing = [pid for pid in ids if pid not in row]
        extra = len(row) - (len(set(ids)) - len(missing))
        problems = [f"{len(missing)} passage(s) without a vector (first: {missing[0]!r})"] if missing else []
        problems += [f"{extra} vector(s) for ids not in the corpus"] if extra else []
        if problems:
            raise InputError(f"the vectors do not match the corpus: {'; '.join(problems)}")
        return self.vectors[[row[pid] for pid in ids]]


def read_corpus_vectors(path: str | Path) -> CorpusVectors:
    """Read an ``embed-corpus`` output.

    Raises:
        InputError: If the file is not Parquet or lacks the ``id``/``embedding`` columns.
    """
    _, pq = _pyarrow()
    path = Path(path)
    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path} as Parquet: {exc}") from None
    if "id" not in table.column_names or "embedding" not in table.column_names:
        raise InputError(f"{path} has no id and embedding columns; it is not an edge-embed embed-corpus output")
    column = table.column("embedding").combine_chunks()
    width = column.type.list_size if hasattr(column.type, "list_size") else len(column[0])
    vectors = np.asarray(column.flatten().to_numpy(zero_copy_only=False), dtype=np.float32).reshape(-1, width)
    raw = (table.schema.metadata or {}).get(META_KEY)
    return CorpusVectors(table.column("id").to_pylist(), vectors, json.loads(raw) if raw else {})
