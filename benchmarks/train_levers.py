"""What each training lever gives on medquad: dev and test NDCG@10 and CPU time of one recipe per lever.

Every lever is one ``edge-embed train`` recipe on medquad's train pairs, a preset with at most a setting or two
changed (in-batch negatives, lr 5e-5 and dev-sample checkpoint selection unless said):

    default          the recipe as it ships: 128 tokens, 2 epochs, batch 32, frozen word embeddings, fp32, Matryoshka
                     loss over 384/256/128/64 dims
    no-matryoshka    the default without Matryoshka (the default before it was measured)
    cpu-30m          no-matryoshka stopped at 30 minutes
    cpu-30m-bf16     cpu-30m with bf16 autocast (as it shipped before fp32 was measured): against no-matryoshka,
                     what autocast costs (both run all 720 steps)
    long             3 epochs, batch 64, 256 tokens, bf16 autocast (the default until fp32 was measured)
    reference        long at lr 2e-5 (the GPU reference recipe, 0.957 on test there)
    hard-negatives   one epoch of long, each pair with one hard negative mined by the base model (ranked 11th or
                     lower, at most 95% of the positive's score)
    fp32-1-epoch     one epoch of long in fp32
    three-epochs     no-matryoshka for 3 epochs (the schedule's linear decay stretched over them)
    cached-mnrl      default with CachedMultipleNegativesRankingLoss, 256 pairs per step in mini-batches of 32

Selection is on dev (the full dev split, 1409 queries); test is for the report. A recipe takes hours on a 2-core
CPU, so each is trained only when ``--work/runs`` has no finished run of it (the run folder is named by the recipe
and the data's sha256, so the same command resumes and reuses), and ``--from LEVER=RECORD`` takes a lever from an
earlier run record (``results/train_default.json``, the ``long`` recipe's run) instead of training it again.

    python benchmarks/train_levers.py --levers default,long,hard-negatives [--work /tmp/ee-levers]
        [--from long=benchmarks/results/train_default.json]

Prints the table and writes ``results/train_levers.json``; lever runs are logged to ``--work/train_levers.log``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result  # noqa: E402

from edge_embed.errors import ArtifactError  # noqa: E402
from edge_embed.records.run import RunRecord  # noqa: E402
from edge_embed.tables import format_table  # noqa: E402
from edge_embed.train import DataSource, preset, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# As the README's train commands spell it (run from the repository root): a run's id includes the data path as
# written, so the same spelling finds the runs those commands made.
DATA = Path("../shared/data/medquad")
LICENSE = "CC-BY-4.0"  # medquad's
EVAL_SAMPLE = 300  # dev queries for checkpoint selection, as the README's default command


@dataclass(frozen=True)
class Lever:
    """One recipe: a preset and the settings changed from it."""

    preset: str
    changes: Mapping[str, Any] = field(default_factory=dict)
    what: str = ""


# Epochs as floats, as the command line gives them: 1 and 1.0 are different run ids (the settings are hashed as JSON).
LEVERS = {
    "default": Lever("default", {}, "128 tokens, 2 epochs, batch 32, fp32, Matryoshka 384/256/128/64"),
    # Measured as cpu-30m with its stop lifted (results/train_cpu30m_fp32.json): the same settings and run id.
    "no-matryoshka": Lever("cpu-30m", {"time_budget_s": 4 * 3600.0}, "the default without Matryoshka"),
    "cpu-30m": Lever("cpu-30m", {}, "no-matryoshka stopped at 30 min"),
    "cpu-30m-bf16": Lever("cpu-30m", {"bf16": "auto"}, "cpu-30m with bf16 autocast"),
    "long": Lever("long", {}, "3 epochs, batch 64, 256 tokens, bf16 autocast"),
    "reference": Lever("reference", {}, "long at lr 2e-5 (the GPU reference recipe)"),
    "hard-negatives": Lever("long", {"epochs": 1.0, "hard_negatives": 1}, "1 epoch of long, 1 mined hard negative"),
    "fp32-1-epoch": Lever("long", {"epochs": 1.0, "bf16": "no"}, "1 epoch of long in fp32"),
    "three-epochs": Lever("default", {"epochs": 3.0, "matryoshka_dims": ()}, "no-matryoshka for 3 epochs"),
    "default-256": Lever("default", {"max_seq_length": 256}, "the default trained and scored at 256 tokens"),
    "cached-mnrl": Lever(
        "default", {"loss": "cached-mnrl", "batch_size": 256, "mini_batch_size": 32}, "CachedMNRL, 256 pairs/step"
    ),
}


@dataclass(frozen=True)
class LeverRow:
    """What one lever's run measured."""

    lever: str
    what: str
    dev_ndcg10: float
    test_ndcg10: float
    test_ndcg10_at_128: float | None  # Matryoshka-trained runs only
    base_test_ndcg10: float
    train_s: float
    epochs: float
    steps: int | None
    run_id: str
    source: str  # "trained here" or the earlier record it was read from
    note: str | None = None


def run_lever(name: str, data: Path, runs: Path) -> Path:
    """Train lever ``name`` (or find its finished run in ``runs``) and return the run folder."""
    lever = LEVERS[name]
    changes = {"eval_sample": EVAL_SAMPLE, **lever.changes}
    config = preset(lever.preset, data=(DataSource(str(data), license=LICENSE),), output_dir=str(runs), **changes)
    return train(config, show_progress=True)


def read_record(path: Path) -> tuple[RunRecord, str | None]:
    """A run record (a run folder's ``run.json`` or a results copy of one) and the note on its wall time."""
    try:
        data = json.loads((path / "run.json" if path.is_dir() else path).read_text())
        wall = data.get("wall_time_s") if isinstance(data, dict) else None
        note = wall.pop("note", None) if isinstance(wall, dict) else None
        return RunRecord.from_dict(data, str(path)), note
    except (OSError, ValueError, ArtifactError) as exc:
        raise SystemExit(f"{path} is not a readable run record: {exc}") from None


def lever_row(name: str, path: Path, source: str) -> LeverRow:
    """The row a finished run (or its record) gives."""
    record, note = read_record(path)
    if record.wall_time is None or not {"dev", "test"} <= set(record.finetuned_metrics):
        raise SystemExit(f"{path} is not a finished run with dev and test metrics; finish it or leave the lever out")
    tuned, base = record.finetuned_metrics, record.base_metrics
    full = max(tuned["test"], key=int)
    return LeverRow(
        lever=name,
        what=LEVERS[name].what,
        dev_ndcg10=tuned["dev"][full]["ndcg@10"],
        test_ndcg10=tuned["test"][full]["ndcg@10"],
        test_ndcg10_at_128=tuned["test"]["128"]["ndcg@10"] if "128" in tuned["test"] else None,
        base_test_ndcg10=base["test"][full]["ndcg@10"],
        train_s=record.wall_time.training,
        epochs=float(record.extra.get("epochs_done", 0.0)),
        steps=record.extra.get("global_step"),
        run_id=record.run_id,
        source=source,
        note=note,
    )


def earlier_records(pairs: list[str]) -> dict[str, Path]:
    """``--from LEVER=RECORD`` arguments, checked."""
    out = {}
    for pair in pairs:
        name, _, path = pair.partition("=")
        if name not in LEVERS or not path:
            raise SystemExit(f"--from {pair!r}: give LEVER=RECORD with LEVER one of {', '.join(LEVERS)}")
        if not Path(path).is_file():
            raise SystemExit(f"--from {pair!r}: {path} is not a file")
        out[name] = Path(path)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--work", type=Path, default=Path("/tmp/ee-levers"))
    parser.add_argument("--levers", default="default,long", help=f"comma-separated: {', '.join(LEVERS)}")
    parser.add_argument("--from", dest="earlier", action="append", default=[], metavar="LEVER=RECORD")
    args = parser.parse_args()
    if not (args.data / "corpus.jsonl").is_file():
        raise SystemExit(f"no BEIR folder at {args.data}: pass --data (medquad lives in ../shared/data/medquad)")
    names = [n for n in args.levers.split(",") if n]
    unknown = [n for n in names if n not in LEVERS]
    if unknown or not names:
        raise SystemExit(f"--levers {args.levers!r}: unknown {unknown}; choose from {', '.join(LEVERS)}")
    earlier = earlier_records(args.earlier)
    runs = args.work / "runs"
    args.work.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=args.work / "train_levers.log", level=logging.INFO, force=True)

    rows = []
    for name in names:
        if name in earlier:
            rows.append(lever_row(name, earlier[name], str(earlier[name])))
            continue
        print(f"{name}: {LEVERS[name].what}", file=sys.stderr)
        rows.append(lever_row(name, run_lever(name, args.data, runs), "trained here"))

    reference = next((r for r in rows if r.lever == "default"), None)
    table = [
        [
            r.lever,
            r.what,
            f"{r.dev_ndcg10:.4f}",
            f"{r.test_ndcg10:.4f}",
            "-" if reference is None else f"{r.test_ndcg10 - reference.test_ndcg10:+.4f}",
            "-" if r.test_ndcg10_at_128 is None else f"{r.test_ndcg10_at_128:.4f}",
            f"{r.train_s / 60:.0f}",
            f"{r.epochs:.3g}",
        ]
        for r in rows
    ]
    headers = ["lever", "recipe", "dev NDCG@10", "test NDCG@10", "vs default", "test @128", "train min", "epochs"]
    print(format_table(headers, table))
    for r in rows:
        if r.note:
            print(f"{r.lever}: {r.note}")
    write_result(
        ROOT / "benchmarks" / "results" / "train_levers.json",
        "train_levers",
        {"data": str(args.data), "eval_sample": EVAL_SAMPLE, "levers": [asdict(r) for r in rows]},
    )


if __name__ == "__main__":
    main()
