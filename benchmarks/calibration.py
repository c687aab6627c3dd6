"""Score calibration on medquad: expected calibration error and Brier score of raw cosine against the fitted maps.

Fits on the dev split's top-10 results, measures on the test split's (500 sampled queries each, with their relevant
passages and 5000 others), for the default int8 artifact; writes a reliability diagram.

    python benchmarks/calibration.py            # about 5 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import default_int8_artifact, write_result  # noqa: E402

from edge_embed.lifecycle.calibrate import calibrate_artifact, reliability_diagram  # noqa: E402
from edge_embed.tables import format_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "medquad"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/edge-embed-bench/drift"))  # shares drift's int8
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "calibration.json")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)

    int8 = default_int8_artifact(args.workdir)
    results, rows = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for method in ("isotonic", "platt"):
            result = calibrate_artifact(int8, args.data, Path(tmp) / method, method=method, sample=args.sample)
            q = result.quality
            results[method] = asdict(q)
            rows.append(
                [
                    method,
                    q.pairs,
                    f"{q.ece_raw:.4f}",
                    f"{q.ece_calibrated:.4f}",
                    f"{q.brier_raw:.4f}",
                    f"{q.brier_calibrated:.4f}",
                ]
            )
            if method == "isotonic":
                plot = reliability_diagram(result, args.out.with_name("calibration_reliability.png"))
    print(format_table(["method", "test pairs", "ECE raw", "ECE calibrated", "Brier raw", "Brier calibrated"], rows))
    checks = {f"{m}: ECE below raw cosine's": r["ece_calibrated"] < r["ece_raw"] for m, r in results.items()}
    for check, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {check}")
    print(f"reliability diagram: {plot}")
    write_result(args.out, "calibration", {"sample": args.sample, "results": results, "checks": checks})


if __name__ == "__main__":
    main()
