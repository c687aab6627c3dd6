"""Assemble a run's training pairs and evaluation splits from its data sources (validated before training)."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_embed.data.beir import RetrievalDataset, load_beir
from edge_embed.data.leakage import check_leakage
from edge_embed.data.pairs import PairSet, fingerprint_file, pairs_from_beir, read_pair_file
from edge_embed.data.pii import PiiScrubber
from edge_embed.errors import InputError
from edge_embed.train.config import CorpusMethod, TrainConfig

logger = logging.getLogger(__name__)


@dataclass
class RunData:
    """Training pairs, evaluation splits and the record of where everything came from."""

    pairs: PairSet
    dev: RetrievalDataset
    test: RetrievalDataset | None
    sources: list[dict[str, Any]]
    pii: dict[str, int]
    leakage: list[dict[str, Any]]


def run_folder(config: TrainConfig, data: RunData) -> Path:
    """``<output_dir>/<run_id>``: the run id derives from the settings and the data's sha256, so the same recipe
    on the same data always finds the same folder."""
    fingerprint = config.fingerprint([f for s in data.sources for f in s["files"]])
    return Path(config.output_dir) / (config.run_id or f"{data.dev.name}-{config.preset}-{fingerprint[:10]}")


def load_run_data(config: TrainConfig) -> RunData:
    """Read every source, scrub PII if asked, check licences and leakage.

    Raises:
        InputError: For a missing or malformed source, an empty training set, a missing licence when licences
            are required, or evaluation data without a dev split.
    """
    pairs, sources = _read_sources(config)
    pii = _scrub(pairs) if config.pii_scrub else {}
    eval_folder = config.eval_data or next((s.path for s in config.data if Path(s.path).is_dir()), None)
    if eval_folder is None:
        raise InputError("no evaluation data: pass --eval-data BEIR_FOLDER with dev (and test) qrels")
    dev = load_beir(eval_folder, config.dev_split)
    has_test = (Path(eval_folder) / "qrels" / f"{config.test_split}.tsv").is_file()
    test = load_beir(eval_folder, config.test_split) if has_test else None
    leakage = []
    for split in (dev, test):
        if split is not None:
            report = check_leakage(pairs, split)
            leakage.append(report.to_dict())
            if report.leaked:
                warnings.warn(report.describe(), stacklevel=3)
    return RunData(pairs, dev, test, sources, pii, leakage)


def _read_sources(config: TrainConfig) -> tuple[PairSet, list[dict[str, Any]]]:
    pairs, sources = PairSet(), []
    for source in config.data:
        path = Path(source.path)
        if not source.license:
            message = f"data source {path} has no license; record it (e.g. --license 'CC-BY-4.0') for governance"
            if config.require_license:
                raise InputError(message)
            warnings.warn(message, stacklevel=4)
        made: dict[str, int] | None = None
        rows: list[tuple[str, str, str | None]]
        if config.unsupervised:
            rows, files, made = _corpus_rows(path, config)
        elif path.is_dir():
            rows, files = pairs_from_beir(path, source.split)
        else:
            rows, files = read_pair_file(path), [fingerprint_file(path)]
        before = len(pairs)
        pairs.extend(rows)
        sources.append(
            {
                "path": str(path),
                "split": source.split if path.is_dir() and made is None else None,
                "license": source.license,
                "files": files,
                "pairs": len(pairs) - before,
                **({"corpus_only": made} if made is not None else {}),
            }
        )
    if not len(pairs):
        raise InputError("the training data has no usable pairs (all empty or duplicates)")
    return pairs, sources


def _corpus_rows(
    path: Path, config: TrainConfig
) -> tuple[list[tuple[str, str, str | None]], list[dict[str, Any]], dict[str, int]]:
    """Pairs made from the passages of ``path`` alone (no queries read), the files read, and the count per method."""
    from edge_embed.index.documents import read_documents
    from edge_embed.train.corpus_pairs import corpus_pairs

    corpus = path / "corpus.jsonl" if path.is_dir() else path
    made = corpus_pairs(read_documents(path), CorpusMethod.parse(config.unsupervised), seed=config.seed)
    logger.info("corpus-only pairs from %s: %s", corpus, ", ".join(f"{m} {n}" for m, n in made.made.items()))
    return list(made.rows), [fingerprint_file(corpus)], made.made


def _scrub(pairs: PairSet) -> dict[str, int]:
    """Replace personal data in every text of the pairs; return what was replaced, per kind."""
    scrub = PiiScrubber()
    pairs.anchors = [scrub(t) for t in pairs.anchors]
    pairs.positives = [scrub(t) for t in pairs.positives]
    if pairs.negatives is not None:
        pairs.negatives = [scrub(t) for t in pairs.negatives]
    return dict(scrub.counts)
