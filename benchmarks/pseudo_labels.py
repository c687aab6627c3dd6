"""How good are pseudo-labels from a query log: precision and coverage per margin, against medquad's train labels.

``edge-embed train --query-log`` pairs each logged query with the passage the base model ranks first, where that
passage leads the second by a margin (``edge_embed.train.pseudo_labels``). Here medquad's train queries play the
query log (their qrels are read only to score the labels, never to make them): for each margin, coverage is the
share of queries labelled and precision the share of labels that name a passage the qrels call relevant. Passages
searched: the whole corpus, as a run on the folder searches it. The default margin is chosen here, on train.

    python benchmarks/pseudo_labels.py [--data ../shared/data/medquad] [--margins 0,0.02,0.05,0.1]
        [--max-seq-length 128]

Writes ``results/pseudo_labels.json`` and prints the table.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result  # noqa: E402

from edge_embed.data.beir import load_beir  # noqa: E402
from edge_embed.data.leakage import normalize_text  # noqa: E402
from edge_embed.errors import InputError  # noqa: E402
from edge_embed.tables import format_table  # noqa: E402
from edge_embed.train.pseudo_labels import LabelModel, base_label_model, pseudo_label  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "medquad"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--margins", default="0,0.01,0.02,0.03,0.05,0.08,0.1,0.15")
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "pseudo_labels.json")
    args = parser.parse_args()
    if not (args.data / "qrels" / "train.tsv").is_file():
        sys.exit(f"no medquad train split at {args.data}")
    train = load_beir(args.data, "train")
    relevant: dict[str, set[str]] = {}  # normalized query text -> relevant passage texts
    for qid, query in train.queries.items():
        relevant.setdefault(normalize_text(query), set()).update(train.corpus[d] for d in train.relevant_docs[qid])
    queries = list(dict.fromkeys(train.queries.values()))
    passages = list(train.corpus.values())
    started = time.perf_counter()
    model = base_label_model(None, args.max_seq_length)
    memo = LabelModel(model.weights_sha256, _memoized(model.encode))
    rows = []
    for margin in (float(m) for m in args.margins.split(",")):
        try:
            labelled = pseudo_label(queries, passages, memo, margin)
        except InputError as error:
            print(f"margin {margin}: {error}")  # noqa: T201
            continue
        right = sum(passage in relevant[normalize_text(query)] for query, passage in labelled.rows)
        rows.append(
            {
                "margin": margin,
                "labelled": len(labelled.rows),
                "coverage": len(labelled.rows) / len(queries),
                "precision": right / len(labelled.rows),
                "correct_pairs": right,
            }
        )
    print(  # noqa: T201
        format_table(
            ["margin", "labelled", "coverage", "precision", "correct pairs"],
            [[r["margin"], r["labelled"], r["coverage"], r["precision"], r["correct_pairs"]] for r in rows],
        )
    )
    write_result(
        args.output,
        "pseudo_labels",
        {
            "data": str(args.data),
            "queries": len(queries),
            "passages": len(passages),
            "max_seq_length": args.max_seq_length,
            "seconds": time.perf_counter() - started,
            "margins": rows,
        },
    )


def _memoized(encode: Callable[[list[str]], np.ndarray]) -> Callable[[list[str]], np.ndarray]:
    """Encode each distinct list of texts once (every margin re-reads the same queries and passages)."""

    @functools.cache
    def cached(texts: tuple[str, ...]) -> np.ndarray:
        return encode(list(texts))

    return lambda texts: cached(tuple(texts))


if __name__ == "__main__":
    main()
