"""Training pairs and triplets from the formats users have: BEIR qrels, JSONL, CSV/TSV and Parquet files.

Every problem is reported with the file and line; duplicates are removed and counted; each file's sha256 is kept
so a run record can name exactly what it was trained on.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_embed.data.beir import iter_jsonl, load_corpus, load_qrels, load_queries
from edge_embed.errors import InputError
from edge_embed.lineage.hashing import sha256_file
from edge_embed.records.sources import DataFile

# Accepted column names, first match wins: (anchor, positive, negative).
_COLUMN_SETS = (
    ("anchor", "positive", "negative"),
    ("query", "positive", "negative"),
    ("query", "passage", "negative"),
    ("question", "answer", "negative"),
    ("sentence1", "sentence2", "negative"),
)


@dataclass
class PairSet:
    """Anchor/positive(/negative) texts plus where they came from and what was dropped."""

    anchors: list[str] = field(default_factory=list)
    positives: list[str] = field(default_factory=list)
    negatives: list[str] | None = None
    dropped: dict[str, int] = field(default_factory=lambda: {"duplicates": 0, "empty": 0})

    def __len__(self) -> int:
        return len(self.anchors)

    def extend(self, rows: Iterable[tuple[str, str, str | None]]) -> None:
        """Add rows, skipping empty texts and exact duplicates (both counted)."""
        negatives: list[str | None] = list(self.negatives) if self.negatives is not None else [None] * len(self)
        seen = set(zip(self.anchors, self.positives, negatives, strict=True))
        for anchor, positive, negative in rows:
            if not anchor.strip() or not positive.strip() or (negative is not None and not negative.strip()):
                self.dropped["empty"] += 1
                continue
            if (anchor, positive, negative) in seen:
                self.dropped["duplicates"] += 1
                continue
            seen.add((anchor, positive, negative))
            if negative is not None and self.negatives is None:
                if self.anchors:
                    raise InputError("cannot mix triplet files with pair files; give all negatives or none")
                self.negatives = []
            elif negative is None and self.negatives is not None:
                raise InputError("cannot mix pair files with triplet files; give all negatives or none")
            self.anchors.append(anchor)
            self.positives.append(positive)
            if negative is not None and self.negatives is not None:
                self.negatives.append(negative)

    def columns(self) -> dict[str, list[str]]:
        """The pairs as columns, named as sentence-transformers' losses expect them."""
        data = {"anchor": self.anchors, "positive": self.positives}
        if self.negatives is not None:
            data["negative"] = self.negatives
        return data


def pairs_from_beir(
    folder: str | Path, split: str = "train"
) -> tuple[list[tuple[str, str, str | None]], list[DataFile]]:
    """(query, relevant passage) pairs of a BEIR split, and the fingerprints of the files read.

    Raises:
        InputError: If the split is empty or names ids missing from the corpus or queries.
    """
    folder = Path(folder)
    corpus, queries, qrels = load_corpus(folder), load_queries(folder), load_qrels(folder, split)
    if not qrels:
        raise InputError(f"{folder}/qrels/{split}.tsv has no relevant pairs: the training split is empty")
    unknown = sorted(
        {q for q in qrels if q not in queries} | {c for cs in qrels.values() for c in cs if c not in corpus}
    )
    if unknown:
        raise InputError(f"{folder}/qrels/{split}.tsv names unknown ids: {', '.join(unknown[:5])}")
    rows: list[tuple[str, str, str | None]] = [
        (queries[q], corpus[c], None) for q in sorted(qrels) for c in sorted(qrels[q])
    ]
    files = [fingerprint_file(folder / name) for name in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv")]
    return rows, files


def read_pair_file(path: str | Path) -> list[tuple[str, str, str | None]]:
    """Read a JSONL, CSV/TSV or Parquet file of anchor/positive[/negative] (or query/passage) rows.

    Raises:
        InputError: If the file cannot be read, a required column is missing, a row is malformed (naming the
            line), or every text of a column is empty.
    """
    path = Path(path)
    rows: list[tuple[str, str, str | None]] = []
    names: tuple[str, str, str] = ("anchor", "positive", "negative")
    for line, record in _records(path):
        if not rows:
            names = _pick_columns(path, list(record))
        rows.append(_row(path, line, record, names))
    if not rows:
        raise InputError(f"{path} has no rows")
    for index, column in enumerate(names[:2]):
        if all(not str(row[index]).strip() for row in rows):
            raise InputError(f"{path}: column {column!r} is empty in every row")
    return rows


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise InputError(f"pair file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return iter_jsonl(path)
    if suffix in (".csv", ".tsv"):
        return _csv_records(path, "\t" if suffix == ".tsv" else ",")
    if suffix == ".parquet":
        return _parquet_records(path)
    raise InputError(f"{path}: unsupported pair file type {suffix!r}; use .jsonl, .csv, .tsv or .parquet")


def _row(path: Path, line: int, record: dict[str, Any], names: tuple[str, str, str]) -> tuple[str, str, str | None]:
    anchor, positive, negative = (record.get(name) for name in names)
    for column, value in zip(names, (anchor, positive, negative), strict=True):
        if value is not None and not isinstance(value, str):
            raise InputError(f"{path} line {line}: column {column!r} is {type(value).__name__}, not text")
    if not isinstance(anchor, str) or not isinstance(positive, str):
        raise InputError(f"{path} line {line}: missing {names[0]!r} or {names[1]!r}")
    return anchor, positive, negative if isinstance(negative, str) else None


def _pick_columns(path: Path, found: list[str]) -> tuple[str, str, str]:
    for names in _COLUMN_SETS:
        if names[0] in found and names[1] in found:
            return names
    raise InputError(
        f"{path}: needs columns anchor/positive[/negative] or query/passage (found {', '.join(found) or 'none'})"
    )


def _csv_records(path: Path, delimiter: str) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        handle = open(path, encoding="utf-8", newline="")
        with handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            for record in reader:
                if None in record:
                    raise InputError(f"{path} line {reader.line_num}: more fields than the header has")
                yield reader.line_num, dict(record)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: invalid UTF-8 near byte {exc.start}; convert the file to UTF-8") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def _parquet_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises its own error types for damaged files
        raise InputError(f"cannot read {path}: {exc}") from None
    yield from enumerate(table.to_pylist(), start=1)


def fingerprint_file(path: str | Path) -> DataFile:
    """Where a data file is, its sha256 and size, for the run record."""
    path = Path(path)
    return DataFile(str(path), sha256_file(path), path.stat().st_size)
