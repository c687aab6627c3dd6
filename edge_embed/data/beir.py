"""Read (and write) BEIR-format retrieval datasets (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``).

The shapes follow sentence-transformers' InformationRetrievalEvaluator: ``queries: {qid: text}``,
``corpus: {cid: text}``, ``relevant_docs: {qid: {cid, ...}}``. Passages are ``"title. text"`` when a title exists,
everywhere (evaluation, calibration, benchmarks).
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_embed.errors import InputError
from edge_embed.lineage.atomic import atomic_dir

SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class RetrievalDataset:
    """One split of a retrieval dataset, in the evaluator's shapes."""

    queries: dict[str, str]
    corpus: dict[str, str]
    relevant_docs: dict[str, set[str]]
    name: str = ""
    split: str = ""
    sampled: dict[str, Any] | None = field(default=None)

    def sample(self, n_queries: int, n_distractors: int, seed: int = 13) -> RetrievalDataset:
        """A deterministic subset: ``n_queries`` queries, all their relevant passages, and seeded distractors.

        Args:
            n_queries: How many queries to keep (all if fewer exist).
            n_distractors: How many other passages to add to the corpus.
            seed: Seed for the choice of queries and distractors.

        Returns:
            The smaller dataset; its ``sampled`` field records how it was made.
        """
        rng = random.Random(seed)
        qids = sorted(self.queries)
        chosen = sorted(rng.sample(qids, min(n_queries, len(qids))))
        relevant = sorted({cid for qid in chosen for cid in self.relevant_docs[qid]})
        others = sorted(set(self.corpus) - set(relevant))
        distractors = rng.sample(others, min(n_distractors, len(others)))
        corpus_ids = sorted(set(relevant) | set(distractors))
        return RetrievalDataset(
            queries={q: self.queries[q] for q in chosen},
            corpus={c: self.corpus[c] for c in corpus_ids},
            relevant_docs={q: set(self.relevant_docs[q]) for q in chosen},
            name=self.name,
            split=self.split,
            sampled={
                "queries": len(chosen),
                "distractors": len(distractors),
                "seed": seed,
                "of_queries": len(self.queries),
                "of_corpus": len(self.corpus),
            },
        )


def passage_text(record: dict[str, Any]) -> str:
    """The text embedded for a passage: ``"title. text"`` when it has a title, else ``text``."""
    title = record.get("title")
    title, text = (title.strip() if isinstance(title, str) else ""), record.get("text") or ""
    return f"{title}. {text}" if title else text


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for each non-blank line of a JSON-lines file.

    Raises:
        InputError: If the file is missing, not UTF-8, or a line is not a JSON object (naming the line).
    """
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise InputError(f"{path} line {number}: invalid UTF-8") from None
            except json.JSONDecodeError as exc:
                raise InputError(f"{path} line {number}: invalid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise InputError(f"{path} line {number}: expected a JSON object")
            yield number, record


def load_corpus(folder: Path) -> dict[str, str]:
    """Read ``corpus.jsonl`` as ``{id: "title. text"}``.

    Raises:
        InputError: If the file is missing or malformed, or an id repeats.
    """
    path = Path(folder) / "corpus.jsonl"
    corpus: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, record in iter_jsonl(path):
        cid = record.get("_id")
        if not isinstance(cid, str) or not isinstance(record.get("text"), str):
            raise InputError(f"{path} line {number}: needs string fields '_id' and 'text'")
        if record.get("title") is not None and not isinstance(record["title"], str):
            raise InputError(f"{path} line {number}: 'title' must be a string, got {type(record['title']).__name__}")
        if cid in corpus:
            raise InputError(f"{path} line {number}: duplicate _id {cid!r} (first on line {lines[cid]})")
        corpus[cid] = passage_text(record)
        lines[cid] = number
    return corpus


def load_queries(folder: Path) -> dict[str, str]:
    """Read ``queries.jsonl`` as ``{id: text}``.

    Raises:
        InputError: If the file is missing or malformed, or an id repeats (naming both lines).
    """
    path = Path(folder) / "queries.jsonl"
    queries: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, record in iter_jsonl(path):
        qid, text = record.get("_id"), record.get("text")
        if not isinstance(qid, str) or not isinstance(text, str):
            raise InputError(f"{path} line {number}: needs string fields '_id' and 'text'")
        if qid in queries:
            raise InputError(
                f"{path} line {number}: duplicate query _id {qid!r} (first on line {lines[qid]}); "
                "each query id must appear once"
            )
        queries[qid] = text
        lines[qid] = number
    return queries


def load_qrels(folder: Path, split: str) -> dict[str, set[str]]:
    """Read ``qrels/<split>.tsv`` (header ``query-id corpus-id score``) as ``{qid: {cid with score > 0}}``.

    Raises:
        InputError: If the file is missing or a row is malformed (naming the line).
    """
    path = Path(folder) / "qrels" / f"{split}.tsv"
    if not path.is_file():
        available = sorted(p.stem for p in (Path(folder) / "qrels").glob("*.tsv"))
        raise InputError(f"{path} not found; splits available: {', '.join(available) or 'none'}")
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise InputError(f"{path} line {line}: invalid UTF-8") from None
    rows = csv.reader(io.StringIO(text, newline=""), delimiter="\t")
    try:
        return _relevant_pairs(path, rows)
    except csv.Error as exc:
        raise InputError(f"{path} line {rows.line_num}: not a TSV row ({exc})") from None


def _relevant_pairs(path: Path, rows: Iterator[list[str]]) -> dict[str, set[str]]:
    relevant: dict[str, set[str]] = {}
    for number, row in enumerate(rows, start=1):
        if number == 1 and row and row[0] == "query-id":
            continue
        if not row:
            continue
        if len(row) < 3:
            raise InputError(f"{path} line {number}: expected 'query-id<TAB>corpus-id<TAB>score'")
        try:
            score = float(row[2])
        except ValueError:
            raise InputError(f"{path} line {number}: score {row[2]!r} is not a number") from None
        if score > 0:
            relevant.setdefault(row[0], set()).add(row[1])
    return relevant


def load_beir(folder: str | Path, split: str = "test") -> RetrievalDataset:
    """Load one split of a BEIR folder, checking that every id in the qrels exists.

    Args:
        folder: The dataset folder.
        split: The qrels file to use (``train``, ``dev``, ``test``, or any ``qrels/<name>.tsv``).

    Returns:
        The split's queries, the full corpus, and the relevant passages of each query.

    Raises:
        InputError: If a file is missing or malformed, the split is empty, or the qrels name unknown ids.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"dataset folder {folder} does not exist")
    corpus, all_queries = load_corpus(folder), load_queries(folder)
    relevant = load_qrels(folder, split)
    if not relevant:
        raise InputError(f"{folder}/qrels/{split}.tsv has no relevant pairs: the split is empty")
    missing_queries = sorted(set(relevant) - set(all_queries))
    missing_docs = sorted({cid for cids in relevant.values() for cid in cids} - set(corpus))
    if missing_queries or missing_docs:
        parts = []
        if missing_queries:
            parts.append(f"{len(missing_queries)} query ids not in queries.jsonl ({', '.join(missing_queries[:5])})")
        if missing_docs:
            parts.append(f"{len(missing_docs)} corpus ids not in corpus.jsonl ({', '.join(missing_docs[:5])})")
        raise InputError(f"{folder}/qrels/{split}.tsv names unknown ids: {'; '.join(parts)}")
    return RetrievalDataset(
        queries={qid: all_queries[qid] for qid in sorted(relevant)},
        corpus=corpus,
        relevant_docs=relevant,
        name=folder.name,
        split=split,
    )


def write_beir(target: str | Path, splits: Sequence[RetrievalDataset]) -> Path:
    """Write splits as one BEIR folder (their passages and queries pooled, ``qrels/<split>.tsv`` each), readable by
    :func:`load_beir`; the folder appears only when complete.

    Raises:
        InputError: If ``target`` exists, or two splits give one id different texts.
    """
    corpus: dict[str, str] = {}
    queries: dict[str, str] = {}
    for split in splits:
        for pooled, part, kind in ((corpus, split.corpus, "passage"), (queries, split.queries, "query")):
            for key, text in part.items():
                if pooled.setdefault(key, text) != text:
                    raise InputError(f"{kind} id {key!r} has different texts in two splits; cannot pool them")
    with atomic_dir(target) as folder:
        (folder / "qrels").mkdir()
        for name, pooled in (("corpus.jsonl", corpus), ("queries.jsonl", queries)):
            lines = (json.dumps({"_id": key, "text": text}, ensure_ascii=False) for key, text in pooled.items())
            (folder / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        for split in splits:
            rows = ["query-id\tcorpus-id\tscore"]
            rows += [f"{qid}\t{cid}\t1" for qid, cids in split.relevant_docs.items() for cid in sorted(cids)]
            (folder / "qrels" / f"{split.split}.tsv").write_text("\n".join(rows) + "\n")
    return Path(target)
