"""Where an artifact's time goes inside onnxruntime: batch size, threads, session options, operator profile.

The onnxruntime session alone (no tokenizer, no pooling), on random token ids of a fixed length:

    python benchmarks/session_profile.py ARTIFACT [--length 256] [--batches 1,4,8,32]

Prints sequences/s per batch size, one thread against all, each session option tried against the defaults
(rounds interleaved, medians), and the share of kernel time per operator type at one batch size.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from edge_embed.lineage.manifest import read_manifest
from edge_embed.runtime.session import default_threads

OPTIONS = {  # session config entries tried against the defaults
    "flush denormals": {"session.set_denormal_as_zero": "1"},
    "dynamic block base 4": {"session.dynamic_block_base": "4"},
    "no spinning": {"session.intra_op.allow_spinning": "0"},
}


def session(
    model: Path, threads: int, entries: dict[str, str] | None = None, profile: str | None = None
) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    for key, value in (entries or {}).items():
        options.add_session_config_entry(key, value)
    if profile:
        options.enable_profiling = True
        options.profile_file_prefix = profile
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


def feed(sess: ort.InferenceSession, batch: int, length: int) -> dict[str, np.ndarray]:
    ids = np.random.default_rng(0).integers(1000, 20000, size=(batch, length), dtype=np.int64)
    values = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    return {i.name: values[i.name] for i in sess.get_inputs()}


def rates(sessions: dict[str, ort.InferenceSession], batch: int, length: int, rounds: int) -> dict[str, float]:
    """Median sequences/s of each session, interleaved per round."""
    feeds = {name: feed(s, batch, length) for name, s in sessions.items()}
    calls = max(2, 64 // batch)
    samples: dict[str, list[float]] = {name: [] for name in sessions}
    for name, s in sessions.items():
        s.run(None, feeds[name])
    for r in range(rounds):
        names = list(sessions)[r % len(sessions) :] + list(sessions)[: r % len(sessions)]
        for name in names:
            start = time.perf_counter()
            for _ in range(calls):
                sessions[name].run(None, feeds[name])
            samples[name].append(batch * calls / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in samples.items()}


def operator_profile(model: Path, threads: int, batch: int, length: int) -> dict[str, float]:
    """Share of kernel time per operator type."""
    with tempfile.TemporaryDirectory() as tmp:
        sess = session(model, threads, profile=str(Path(tmp) / "profile"))
        inputs = feed(sess, batch, length)
        for _ in range(5):
            sess.run(None, inputs)
        events = json.loads(Path(sess.end_profiling()).read_text())
    totals: collections.Counter[str] = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            totals[event["args"]["op_name"]] += event["dur"]
    all_time = sum(totals.values())
    return {op: duration / all_time for op, duration in totals.most_common()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifact", type=Path)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--batches", default="1,4,8,32")
    parser.add_argument("--profile-batch", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    model = args.artifact / read_manifest(args.artifact).graph.file
    threads = default_threads()
    default = session(model, threads)
    print(f"{model}, {args.length} tokens, {threads} threads")
    for batch in (int(b) for b in args.batches.split(",")):
        rate = rates({"default": default}, batch, args.length, args.rounds)["default"]
        print(f"  batch {batch:3d}: {rate:6.1f} seq/s")
    batch = args.profile_batch
    scaling = rates({"all": default, "one": session(model, 1)}, batch, args.length, args.rounds)
    print(f"threads at batch {batch}: one {scaling['one']:.1f} seq/s, {threads} {scaling['all']:.1f} seq/s")
    tried = {"defaults": default, **{name: session(model, threads, entries) for name, entries in OPTIONS.items()}}
    for name, rate in rates(tried, batch, args.length, args.rounds).items():
        print(f"  session option {name}: {rate:.1f} seq/s")
    print(f"operator time at batch {batch}:")
    for op, share in operator_profile(model, threads, batch, args.length).items():
        if share >= 0.005:
            print(f"  {op:30s} {100 * share:5.1f}%")


if __name__ == "__main__":
    main()
