"""What each runtime lever gives on this CPU: graph recipes and batching, one interleaved run, ratios to a baseline.

All configurations run all-MiniLM-L6-v2 at max_seq_length 256 through the same lean runtime (``Embedder``, its
tokenizer and pooling), in one process, on the same medquad texts, several rounds in a rotated order:

    graph levers (token budget 2048, the runtime's default)
        st-int8            the int8 file sentence-transformers exports for this CPU (per-tensor weights)
        raw-int8           the raw Optimum export, dynamic int8, per-channel weights
        O2-int8            the O2-fused graph (Attention, SkipLayerNorm, BiasGelu), dynamic int8: the default
        O2-fastgelu-int8   as O2-int8 with GELU replaced by its tanh approximation
    batching levers (on O2-int8)
        fixed-32           32 texts per call whatever their length (what the peers do)
        budget-1024/4096   other token budgets
        2-streams          two calls at once from two Python threads, one onnxruntime thread each
    tokenization lever: the runtime's head-only tokenization of the long passages against reading them whole

Each row: docs/s (the longest test passages, all truncated to 256 tokens), short texts/s (queries), batch-1
query p50, and, for graph levers, NDCG@10 on a sample of the test split. Ratios are to ``fixed-32`` on the
st-int8 graph (what a sentence-transformers ONNX user runs), paired per round.

    python benchmarks/levers.py [--rounds 7] [--sample 300]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result  # noqa: E402
from peers import prepare  # noqa: E402

from edge_embed import Embedder  # noqa: E402
from edge_embed.data.beir import load_beir  # noqa: E402
from edge_embed.eval.metrics import evaluate_embeddings  # noqa: E402
from edge_embed.runtime.steps import with_graph  # noqa: E402
from edge_embed.tables import format_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "medquad"
BASELINE = "st-int8 fixed-32"

Embed = Callable[[list[str], str], np.ndarray]


def fastgelu_graph(fp32: Path, out: Path) -> Path:
    """The O2 recipe with GELU approximated (onnxruntime's FastGelu), then dynamic int8 per-channel."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    options.enable_gelu_approximation = True
    fused = optimize_model(
        str(fp32 / "model.onnx"), "bert", num_heads=12, hidden_size=384, optimization_options=options, opt_level=0
    )
    fused_path = out.with_suffix(".fused.onnx")
    fused.save_model_to_file(str(fused_path), use_external_data_format=False)
    onnx.save_model(SymbolicShapeInference.infer_shapes(onnx.load(str(fused_path)), auto_merge=True), str(fused_path))
    quantize_dynamic(
        str(fused_path),
        str(out),
        per_channel=True,
        weight_type=QuantType.QInt8,
        extra_options={"MatMulConstBOnly": True},
    )
    return out


def configurations(work: Path) -> tuple[dict[str, Embed], dict[str, Embedder]]:
    """Every configuration as an ``embed(texts, kind)`` function; graph levers also by embedder for accuracy."""
    models = prepare(work)
    subprocess_quantize(work / "edge-embed-fp32", work / "raw-int8", "none")
    default = Embedder.load(models["edge-embed"])
    st_folder, st_name = models["st-onnx-int8"].split("::")
    fastgelu = work / "o2-fastgelu-int8.onnx"
    if not fastgelu.is_file():
        fastgelu_graph(work / "edge-embed-fp32", fastgelu)
    graphs = {
        "st-int8": with_graph(default, Path(st_folder) / st_name),
        "raw-int8": Embedder.load(work / "raw-int8"),
        "O2-int8": default,
        "O2-fastgelu-int8": with_graph(default, fastgelu),
    }
    single = Embedder.load(models["edge-embed"], threads=1)
    pool = ThreadPoolExecutor(2)

    def two_streams(texts: list[str], kind: str) -> np.ndarray:
        halves = [texts[: len(texts) // 2], texts[len(texts) // 2 :]]
        return np.concatenate(list(pool.map(lambda part: single.embed(part, batch_size=32, kind=kind), halves)))

    configs: dict[str, Embed] = {
        BASELINE: lambda t, k: graphs["st-int8"].embed(t, batch_size=32, kind=k, max_batch_tokens=None),
        **{f"{name}": _budget(embedder, 2048) for name, embedder in graphs.items()},
        "O2-int8 fixed-32": lambda t, k: default.embed(t, batch_size=32, kind=k, max_batch_tokens=None),
        "O2-int8 budget-1024": _budget(default, 1024),
        "O2-int8 budget-4096": _budget(default, 4096),
        "O2-int8 2-streams": two_streams,
    }
    return configs, graphs


def _budget(embedder: Embedder, tokens: int) -> Embed:
    return lambda texts, kind: embedder.embed(texts, batch_size=32, kind=kind, max_batch_tokens=tokens)


def subprocess_quantize(parent: Path, out: Path, optimize: str) -> None:
    import subprocess

    if not out.is_dir():
        cli = [sys.executable, "-m", "edge_embed.cli.main", "quantize", str(parent), "-o", str(out)]
        subprocess.run([*cli, "--optimize", optimize], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--docs", type=int, default=48, help="long passages per configuration per round")
    parser.add_argument("--short", type=int, default=256, help="queries per configuration per round")
    parser.add_argument("--queries", type=int, default=60, help="batch-1 queries per configuration per round")
    parser.add_argument("--sample", type=int, default=300, help="NDCG@10 on N test queries (+ 10N distractors)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "edge-embed-peers")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "levers.json")
    args = parser.parse_args()

    configs, graphs = configurations(args.work)
    test = load_beir(args.data, "test")
    passages = sorted(test.corpus.values(), key=len, reverse=True)[: args.docs * args.rounds]
    queries = sorted(test.queries.values())
    names = list(configs)
    samples: dict[str, dict[str, list[float]]] = {n: {"docs": [], "short": [], "p50": []} for n in names}
    for name in names:  # warm-up
        configs[name](passages[:8], "document")
    for r in range(args.rounds):
        docs = passages[r * args.docs : (r + 1) * args.docs]
        short = [queries[(r * args.short + i) % len(queries)] for i in range(args.short)]
        single = [queries[(r * args.queries + i) % len(queries)] for i in range(args.queries)]
        for name in names[r % len(names) :] + names[: r % len(names)]:
            embed, s = configs[name], samples[name]
            s["docs"].append(len(docs) / _seconds(embed, docs, "document"))
            s["short"].append(len(short) / _seconds(embed, short, "query"))
            s["p50"].append(1000 * statistics.median(_seconds(embed, [q], "query") for q in single))
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr)

    tokenize = tokenization_lever(graphs["O2-int8"], passages[: args.docs], args.rounds)
    dataset = test.sample(args.sample, 10 * args.sample)
    ndcg = {}
    for name, embedder in graphs.items():
        corpus_ids, query_ids = list(dataset.corpus), list(dataset.queries)
        q = embedder.embed([dataset.queries[i] for i in query_ids], kind="query")
        c = embedder.embed([dataset.corpus[i] for i in corpus_ids], kind="document")
        ndcg[name] = evaluate_embeddings(q, c, query_ids, corpus_ids, dataset.relevant_docs)["ndcg@10"]

    base = samples[BASELINE]
    rows, results = [], {}
    for name in names:
        s = samples[name]
        ratio = {
            key: statistics.median(a / b for a, b in zip(s[key], base[key], strict=True))
            for key in ("docs", "short", "p50")
        }
        graph = name.split()[0]
        results[name] = {
            "docs_per_s": statistics.median(s["docs"]),
            "short_per_s": statistics.median(s["short"]),
            "query_p50_ms": statistics.median(s["p50"]),
            "ratios_to_baseline": ratio,
            "ndcg@10": ndcg.get(graph) if name == graph or name == BASELINE else None,
            "rounds": s,
        }
        row = results[name]
        rows.append(
            [
                name,
                f"{row['docs_per_s']:.1f} ({ratio['docs']:.2f}x)",
                f"{row['short_per_s']:.0f} ({ratio['short']:.2f}x)",
                f"{row['query_p50_ms']:.2f} ({ratio['p50']:.2f}x)",
                f"{row['ndcg@10']:.4f}" if row["ndcg@10"] is not None else "",
            ]
        )
    print(format_table(["configuration", "docs/s", "short texts/s", "query p50 ms", "NDCG@10"], rows))
    print(
        f"tokenizing {args.docs} long passages: whole texts {tokenize['whole_ms']:.0f} ms, heads only "
        f"{tokenize['head_ms']:.0f} ms ({tokenize['whole_ms'] / tokenize['head_ms']:.1f}x less)"
    )
    results["tokenization"] = tokenize
    write_result(
        args.out,
        "levers",
        {"settings": vars(args) | {"data": str(args.data), "work": str(args.work), "out": str(args.out)}, **results},
    )


def tokenization_lever(embedder: Embedder, texts: list[str], rounds: int) -> dict[str, float]:
    """Milliseconds to tokenize ``texts`` whole (what the peers do) and head-only (the runtime), interleaved."""
    from tokenizers import Tokenizer

    whole = Tokenizer.from_file(str(embedder.folder / embedder.manifest.tokenizer.file))
    whole.no_padding()
    whole.enable_truncation(max_length=embedder.manifest.max_seq_length)
    times: dict[str, list[float]] = {"whole_ms": [], "head_ms": []}
    for _ in range(rounds):
        start = time.perf_counter()
        expected = whole.encode_batch(texts)
        times["whole_ms"].append(1000 * (time.perf_counter() - start))
        start = time.perf_counter()
        got = embedder.tokenize(texts)
        times["head_ms"].append(1000 * (time.perf_counter() - start))
        assert [e.ids for e in got] == [e.ids for e in expected]
    return {key: statistics.median(values) for key, values in times.items()}


def _seconds(embed: Embed, texts: list[str], kind: str) -> float:
    start = time.perf_counter()
    embed(texts, kind)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
