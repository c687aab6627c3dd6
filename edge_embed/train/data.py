"""Assemble a run's training pairs and evaluation splits from its data sources (validated before training)."""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from edge_embed.data.beir import RetrievalDataset, load_beir, load_corpus
from edge_embed.data.leakage import LeakageReport, check_leakage
from edge_embed.data.pairs import PairSet, fingerprint_file, pairs_from_beir, read_pair_file
from edge_embed.data.pii import PiiScrubber
from edge_embed.errors import InputError
from edge_embed.records.sources import DataFile, QueryLogCounts, RunSource
from edge_embed.train.config import CorpusMethod, DataSource, TrainConfig
from edge_embed.train.holdout import HeldOut, KeyedPair, carve

if TYPE_CHECKING:
    from edge_embed.train.pseudo_labels import LabelModel

logger = logging.getLogger(__name__)


@dataclass
class RunData:
    """Training pairs, evaluation splits and the record of where everything came from."""

    pairs: PairSet
    dev: RetrievalDataset
    test: RetrievalDataset | None
    sources: list[RunSource]
    pii: dict[str, int]
    leakage: list[LeakageReport]  # one per held-out split (dev, then test when there is one)
    held_out: HeldOut | None = None  # set when dev/test were carved from the training data

    def fingerprint(self, config: TrainConfig) -> str:
        """The run's fingerprint: ``config``'s settings and the sha256 of every file read."""
        return config.fingerprint([f for s in self.sources for f in s.files])


@dataclass
class _SourceRows:
    """One source's pairs before they are pooled, with how they were read."""

    source: DataSource
    pairs: list[KeyedPair]
    files: list[DataFile]
    corpus_only: dict[str, int] | None
    query_log: QueryLogCounts | None = None
    passages: list[str] | None = None  # a corpus source's every passage, kept for a query log to search
    sibling_negatives: int | None = None  # corpus-only pairs whose negative is of the same title


def run_folder(config: TrainConfig, data: RunData) -> Path:
    """``<output_dir>/<run_id>``: the run id derives from the settings and the data's sha256, so the same recipe
    on the same data always finds the same folder."""
    name = config.run_id or f"{data.dev.name}-{config.preset}-{data.fingerprint(config)[:10]}"
    return Path(config.output_dir) / name


def load_run_data(config: TrainConfig, label_model: LabelModel | None = None) -> RunData:
    """Read every source, scrub PII if asked, check licences and leakage.

    Without evaluation data (no ``eval_data``, no BEIR source with dev qrels) a held-out slice of the training data
    becomes the dev and test splits (:mod:`edge_embed.train.holdout`). With a ``query_log`` its pseudo-labelled
    pairs join the training pairs (never the held-out slice; a pair whose passage was held out is dropped), labelled
    by ``label_model`` (the base model when None).

    Raises:
        InputError: For a missing or malformed source, an empty training set, a missing licence when licences
            are required, named evaluation data without a dev split, data too small to carve a held-out slice, or
            a query log that labels too few pairs.
    """
    read = [_read_source(source, config) for source in config.data]
    eval_folder = config.eval_data or next(
        (s.path for s in config.data if (Path(s.path) / "qrels" / f"{config.dev_split}.tsv").is_file()), None
    )
    held_out = None
    if eval_folder is not None:
        dev = load_beir(eval_folder, config.dev_split)
        has_test = (Path(eval_folder) / "qrels" / f"{config.test_split}.tsv").is_file()
        test = load_beir(eval_folder, config.test_split) if has_test else None
        rows = [[p.row for p in r.pairs] for r in read]
    else:
        grouped_by = "corpus document" if config.unsupervised else "positive passage"
        carved = carve([p for r in read for p in r.pairs], _data_name(config), grouped_by, seed=config.seed)
        dev, test, held_out = carved.dev, carved.test, carved.held_out
        kept = set(carved.rows)
        if config.sibling_negatives:  # a held-out passage stays unseen: not even a negative
            held = _relevant_passages(dev, test)
            kept = {row for row in kept if row[2] not in held}
        rows = [[p.row for p in r.pairs if p.row in kept] for r in read]
        logger.info("no dev split: held out %s", held_out.to_dict())
    if config.query_log:
        logged = _query_log_rows(config, read, label_model)
        held = _relevant_passages(dev, test) if held_out is not None else set()
        read.append(logged)
        rows.append([p.row for p in logged.pairs if p.target not in held])
    pairs, sources = _pool(read, rows)
    pii = _scrub(pairs) if config.pii_scrub else {}
    if held_out is not None and config.pii_scrub:  # carved from the same data: scored on what training read
        scrub = functools.cache(PiiScrubber())  # dev and test search the same passages: each is scrubbed once
        dev, test = _scrub_split(dev, scrub), None if test is None else _scrub_split(test, scrub)
    leakage = [check_leakage(pairs, split) for split in (dev, test) if split is not None]
    for report in leakage:
        if report.leaked:
            warnings.warn(report.describe(), stacklevel=3)
    return RunData(pairs, dev, test, sources, pii, leakage, held_out)


def _read_source(source: DataSource, config: TrainConfig) -> _SourceRows:
    path = Path(source.path)
    if not source.license:
        message = f"data source {path} has no license; record it (e.g. --license 'CC-BY-4.0') for governance"
        if config.require_license:
            raise InputError(message)
        warnings.warn(message, stacklevel=5)
    if config.unsupervised:
        return _corpus_rows(path, source, config)
    if path.is_dir():
        rows, files = pairs_from_beir(path, source.split)
    else:
        rows, files = read_pair_file(path), [fingerprint_file(path)]
    return _SourceRows(source, [KeyedPair(a, p, n, group=p, target=p) for a, p, n in rows], files, None)


def _pool(read: list[_SourceRows], rows: list[list[tuple[str, str, str | None]]]) -> tuple[PairSet, list[RunSource]]:
    """The training pairs of every source in one set (deduplicated), and each source's record."""
    pairs, sources = PairSet(), []
    for source_rows, kept in zip(read, rows, strict=True):
        path, before = Path(source_rows.source.path), len(pairs)
        pairs.extend(kept)
        labelled = path.is_dir() and source_rows.corpus_only is None and source_rows.query_log is None
        sources.append(
            RunSource(
                path=str(path),
                files=tuple(source_rows.files),
                pairs=len(pairs) - before,
                license=source_rows.source.license,
                split=source_rows.source.split if labelled else None,
                corpus_only=source_rows.corpus_only,
                query_log=source_rows.query_log,
                sibling_negatives=source_rows.sibling_negatives,
            )
        )
    if not len(pairs):
        raise InputError("the training data has no usable pairs (all empty or duplicates)")
    return pairs, sources


def _data_name(config: TrainConfig) -> str:
    """The first source's folder or file name, for the held-out splits and the run id."""
    path = Path(config.data[0].path)
    return path.name if path.is_dir() else path.stem


def _corpus_rows(path: Path, source: DataSource, config: TrainConfig) -> _SourceRows:
    """Pairs made from the passages of ``path`` alone (no queries read), the files read, and the count per method."""
    from edge_embed.index.documents import read_documents
    from edge_embed.train.corpus_pairs import corpus_pairs

    corpus = path / "corpus.jsonl" if path.is_dir() else path
    documents = read_documents(path)
    made = corpus_pairs(
        documents, CorpusMethod.parse(config.unsupervised), seed=config.seed, sibling_negatives=config.sibling_negatives
    )
    logger.info("corpus-only pairs from %s: %s", corpus, ", ".join(f"{m} {n}" for m, n in made.made.items()))
    keyed = [
        KeyedPair(a, p, n, group=documents[i].id, target=documents[i].embedded_text)
        for (a, p, n), i in zip(made.rows, made.origins, strict=True)
    ]
    passages = [document.embedded_text for document in documents]
    siblings = made.siblings if config.sibling_negatives else None
    return _SourceRows(
        source, keyed, [fingerprint_file(corpus)], made.made, passages=passages, sibling_negatives=siblings
    )


def _query_log_rows(config: TrainConfig, read: list[_SourceRows], label_model: LabelModel | None) -> _SourceRows:
    """The query log's pseudo-labelled pairs, searched among every passage of the sources."""
    from edge_embed.train.pseudo_labels import base_label_model, cached_pseudo_labels, read_query_log

    assert config.query_log is not None
    queries = read_query_log(config.query_log)
    passages = [text for source_rows in read for text in _passages(source_rows)]
    model = label_model or base_label_model(config.base_model, config.max_seq_length)
    labelled = cached_pseudo_labels(
        queries, passages, model, config.pseudo_label_margin, config.max_seq_length, config.output_dir
    )
    logger.info("query log %s: %s", config.query_log, labelled.counts)
    path = Path(config.query_log)
    log_file = path / "queries.jsonl" if path.is_dir() else path
    keyed = [KeyedPair(q, p, None, group=p, target=p) for q, p in labelled.rows]
    return _SourceRows(DataSource(str(path)), keyed, [fingerprint_file(log_file)], None, labelled.counts)


def _relevant_passages(*splits: RetrievalDataset | None) -> set[str]:
    """The texts of the passages relevant to any query of the splits."""
    return {s.corpus[d] for s in splits if s is not None for docs in s.relevant_docs.values() for d in docs}


def _passages(source_rows: _SourceRows) -> list[str]:
    """What a query log searches in a source: a corpus's every passage (a BEIR folder's or a corpus file's), else
    the pair file's positives."""
    if source_rows.passages is not None:  # read with the corpus-only pairs
        return source_rows.passages
    path = Path(source_rows.source.path)
    if path.is_dir() and (path / "corpus.jsonl").is_file():
        return list(load_corpus(path).values())
    return [p.target for p in source_rows.pairs]


def _scrub_split(split: RetrievalDataset, scrub: Callable[[str], str]) -> RetrievalDataset:
    """A carved split with PII scrubbed from its queries and passages, as from the training pairs."""
    return replace(
        split,
        queries={k: scrub(t) for k, t in split.queries.items()},
        corpus={k: scrub(t) for k, t in split.corpus.items()},
    )


def _scrub(pairs: PairSet) -> dict[str, int]:
    """Replace personal data in every text of the pairs; return what was replaced, per kind."""
    scrub = PiiScrubber()
    pairs.anchors = [scrub(t) for t in pairs.anchors]
    pairs.positives = [scrub(t) for t in pairs.positives]
    if pairs.negatives is not None:
        pairs.negatives = [scrub(t) for t in pairs.negatives]
    return dict(scrub.counts)
