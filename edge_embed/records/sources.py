"""What a training run read: each data source with its files' sha256, as ``run.json``'s ``data`` holds it.

The trainer writes these records, and lineage and the bench report print them, through one pair of
``to_dict``/``from_dict`` methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edge_embed.errors import ArtifactError
from edge_embed.records.fields import count, number


@dataclass(frozen=True)
class DataFile:
    """One file a run read: where it was, its sha256 and its size."""

    path: str
    sha256: str
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object, where: str) -> DataFile:
        """Raises: ArtifactError: If ``data`` lacks a path, a sha256 or a size (``where`` names it)."""
        if not isinstance(data, Mapping):
            raise ArtifactError(f"{where} must be an object with path, sha256 and bytes")
        path, sha256 = data.get("path"), data.get("sha256")
        if not isinstance(path, str) or not isinstance(sha256, str):
            raise ArtifactError(f"{where} must have a path and a sha256")
        return cls(path, sha256, count(data.get("bytes"), f"{where}.bytes"))


@dataclass(frozen=True)
class QueryLogCounts:
    """What a query log gave: distinct queries, passages searched, queries labelled, and the margin used."""

    queries: int
    passages: int
    labelled: int
    margin: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object, where: str) -> QueryLogCounts:
        """Raises: ArtifactError: If a count or the margin is missing (``where`` names the record)."""
        if not isinstance(data, Mapping):
            raise ArtifactError(f"{where} must be an object")
        margin = number(data.get("margin"), f"{where}.margin")
        queries, passages, labelled = (count(data.get(k), f"{where}.{k}") for k in ("queries", "passages", "labelled"))
        return cls(queries, passages, labelled, margin)


@dataclass(frozen=True)
class RunSource:
    """One data source of a training run.

    ``split`` is the qrels split of a BEIR folder read for labelled pairs (None for a pair file, a corpus read by
    a corpus-only method, or a query log); ``corpus_only`` counts the pairs each corpus-only method made and
    ``sibling_negatives`` how many of them took a negative from the same title;
    ``query_log`` is set on the source that is a query log.
    """

    path: str
    files: tuple[DataFile, ...]
    pairs: int
    license: str | None = None
    split: str | None = None
    corpus_only: Mapping[str, int] | None = None
    query_log: QueryLogCounts | None = None
    sibling_negatives: int | None = None

    @property
    def kind(self) -> str:
        """What the source was read as, in words."""
        if self.query_log is not None:
            return "query log"
        if self.corpus_only is not None:
            return "corpus: " + ", ".join(self.corpus_only)
        return f"split {self.split}" if self.split else "pair file"

    def describe(self) -> str:
        """One line: the path, what it was read as, its licence and its files' sha256 prefixes."""
        files = ", ".join(f"{Path(f.path).name} {f.sha256[:12]}" for f in self.files)
        return f"{self.path} ({self.kind}, licence {self.license or 'not given'}): {files}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "split": self.split,
            "license": self.license,
            "files": [f.to_dict() for f in self.files],
            "pairs": self.pairs,
        }
        if self.corpus_only is not None:
            out["corpus_only"] = dict(self.corpus_only)
        if self.sibling_negatives is not None:
            out["sibling_negatives"] = self.sibling_negatives
        if self.query_log is not None:
            out["query_log"] = self.query_log.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: object, where: str) -> RunSource:
        """Read one entry of ``run.json``'s ``data``.

        Raises:
            ArtifactError: If a field is missing or of the wrong type (``where`` names the entry).
        """
        if not isinstance(data, Mapping) or not isinstance(data.get("path"), str):
            raise ArtifactError(f"{where} must be an object with a path")
        files = data.get("files", [])
        if not isinstance(files, list):
            raise ArtifactError(f"{where}.files must be a list")
        for name in ("license", "split"):
            if data.get(name) is not None and not isinstance(data.get(name), str):
                raise ArtifactError(f"{where}.{name} must be a string or null")
        corpus_only = data.get("corpus_only")
        if corpus_only is not None and not isinstance(corpus_only, Mapping):
            raise ArtifactError(f"{where}.corpus_only must count pairs per method")
        query_log = data.get("query_log")
        return cls(
            path=data["path"],
            files=tuple(DataFile.from_dict(f, f"{where}.files[{i}]") for i, f in enumerate(files)),
            pairs=count(data.get("pairs", 0), f"{where}.pairs"),
            license=data.get("license"),
            split=data.get("split"),
            corpus_only=None
            if corpus_only is None
            else {str(k): count(n, f"{where}.corpus_only.{k}") for k, n in corpus_only.items()},
            query_log=None if query_log is None else QueryLogCounts.from_dict(query_log, f"{where}.query_log"),
            sibling_negatives=None
            if data.get("sibling_negatives") is None
            else count(data["sibling_negatives"], f"{where}.sibling_negatives"),
        )


def read_sources(data: object, where: str) -> tuple[RunSource, ...]:
    """``run.json``'s ``data`` list as records.

    Raises:
        ArtifactError: If it is not a list of sources (``where`` names the field).
    """
    if not isinstance(data, list):
        raise ArtifactError(f"{where} must be a list of data sources")
    return tuple(RunSource.from_dict(entry, f"{where}[{i}]") for i, entry in enumerate(data))


def describe_sources(data: object, where: str) -> list[str]:
    """One line per source of ``run.json``'s ``data`` (:meth:`RunSource.describe`), for printing a lineage; a
    damaged list gives one line saying so instead of an error, as a printout should still show the rest."""
    try:
        return [source.describe() for source in read_sources(data, where)]
    except ArtifactError as exc:
        return [f"unreadable ({exc})"]
