"""Drift detection on real data: false alarms on same-distribution splits, and power against foreign text.

The reference and current samples are drawn from the medquad corpus (embedded once by the int8 artifact); foreign
text is the bundled industrial-maintenance sample (CC0). Printed: the verdicts on a medquad split and on
maintenance text (from texts and from a saved profile), the false-alarm rate over 20 same-distribution splits, and
the detection rate at 5%, 10% and 25% contamination of the current sample (a power curve).

    python benchmarks/drift.py            # about 5 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import default_int8_artifact, write_result  # noqa: E402

from edge_embed import Embedder  # noqa: E402
from edge_embed.data.beir import load_corpus, load_queries  # noqa: E402
from edge_embed.lifecycle import DriftThresholds, Sample, Verdict, detect_drift  # noqa: E402
from edge_embed.lifecycle.profile import DriftProfile, embed_sample  # noqa: E402
from edge_embed.samples import maintenance_dataset  # noqa: E402
from edge_embed.tables import format_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "medquad"


def subsample(pool: Sample, rows: np.ndarray) -> Sample:
    return Sample(pool.vectors[rows], pool.tokens, tuple(pool.texts[i] for i in rows))


def mixed(medical: Sample, foreign: Sample, rows: np.ndarray, foreign_rows: np.ndarray) -> Sample:
    vectors = np.vstack([medical.vectors[rows], foreign.vectors[foreign_rows]])
    texts = tuple(medical.texts[i] for i in rows) + tuple(foreign.texts[i] for i in foreign_rows)
    return Sample(vectors, medical.tokens, texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--pool", type=int, default=3000, help="medquad passages embedded once")
    parser.add_argument("--size", type=int, default=300, help="texts per side")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/edge-embed-bench/drift"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "drift.json")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)

    int8 = default_int8_artifact(args.workdir)
    embedder = Embedder.load(int8)
    rng = np.random.default_rng(0)
    corpus = list(load_corpus(args.data).values())
    pool_texts = [corpus[i] for i in rng.choice(len(corpus), args.pool, replace=False)]
    folder = maintenance_dataset()
    foreign_texts = list(load_corpus(folder).values()) + list(load_queries(folder).values())
    print(f"embedding {len(pool_texts)} medquad passages and {len(foreign_texts)} maintenance texts", flush=True)
    medical, foreign = embed_sample(embedder, pool_texts), embed_sample(embedder, foreign_texts)
    thresholds = DriftThresholds()

    def split(trial: int) -> tuple[np.ndarray, np.ndarray]:
        order = np.random.default_rng(100 + trial).permutation(len(pool_texts))
        return order[: args.size], order[args.size : 2 * args.size]

    reference_rows, current_rows = split(0)
    reference = subsample(medical, reference_rows)
    on_medquad = detect_drift(reference, subsample(medical, current_rows), thresholds)
    foreign_rows = np.arange(min(args.size, len(foreign_texts)))
    on_maintenance = detect_drift(reference, subsample(foreign, foreign_rows), thresholds)
    with tempfile.TemporaryDirectory() as tmp:  # the device's path: the reference only as a saved profile
        path = DriftProfile.of(int8, reference, "medquad sample").save(Path(tmp) / "profile.npz")
        saved = DriftProfile.load(path, int8).sample
    from_profile = [
        detect_drift(saved, subsample(medical, current_rows), thresholds).verdict,
        detect_drift(saved, subsample(foreign, foreign_rows), thresholds).verdict,
    ]

    false_alarms = 0
    for trial in range(args.trials):
        ref_rows, cur_rows = split(trial)
        report = detect_drift(subsample(medical, ref_rows), subsample(medical, cur_rows), thresholds)
        false_alarms += report.verdict is not Verdict.STABLE
    power = {}
    for share in (0.05, 0.10, 0.25):
        detected = 0
        n_foreign = int(round(share * args.size))
        for trial in range(args.trials):
            ref_rows, cur_rows = split(trial)
            picks = np.random.default_rng(500 + trial).choice(len(foreign_texts), n_foreign, replace=False)
            current = mixed(medical, foreign, cur_rows[: args.size - n_foreign], picks)
            detected += detect_drift(subsample(medical, ref_rows), current, thresholds).verdict is not Verdict.STABLE
        power[share] = detected / args.trials
        print(f"contamination {share:.0%}: detected in {detected}/{args.trials}", flush=True)

    print()
    print(
        format_table(
            ["current sample", "verdict", "MMD p", "classifier AUC", "centroid shift", "NN similarity"],
            [
                [
                    name,
                    r.verdict.value,
                    f"{r.mmd_p_value:.4f}",
                    f"{r.classifier_auc:.3f}",
                    f"{r.centroid_shift:.4f}",
                    f"{r.nn_similarity:.3f}",
                ]
                for name, r in (("medquad (another sample)", on_medquad), ("maintenance", on_maintenance))
            ],
        )
    )
    print()
    print(
        format_table(
            ["foreign share of current", "detection rate"], [[f"{s:.0%}", f"{p:.0%}"] for s, p in power.items()]
        )
    )
    rate = false_alarms / args.trials
    checks = {
        "medquad vs medquad: stable": on_medquad.verdict is Verdict.STABLE,
        "maintenance: drifting with p < 0.01": on_maintenance.verdict is not Verdict.STABLE
        and on_maintenance.mmd_p_value < 0.01,
        f"false alarms under 5% over {args.trials} same-distribution splits ({rate:.0%})": rate < 0.05,
        "profile-based verdicts equal text-based": from_profile == [on_medquad.verdict, on_maintenance.verdict],
    }
    print()
    for check, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {check}")
    write_result(
        args.out,
        "drift",
        {
            "artifact": json.loads((int8 / "edge_embed.json").read_text())["graph"]["precision"],
            "size_per_side": args.size,
            "trials": args.trials,
            "medquad_vs_medquad": on_medquad.to_dict(),
            "medquad_vs_maintenance": on_maintenance.to_dict(),
            "false_alarm_rate": rate,
            "power": {f"{s:.2f}": p for s, p in power.items()},
            "checks": checks,
        },
    )


if __name__ == "__main__":
    main()
