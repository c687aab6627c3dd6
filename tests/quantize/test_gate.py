"""The accuracy gate's decision: a paired bootstrap interval of the drop over queries, and embedding fidelity
where the interval cannot tell. Lean: pure numpy on per-query values."""

import numpy as np
import pytest

from edge_embed.quantize.gate import (
    BOOTSTRAP_SAMPLES,
    BOOTSTRAP_SEED,
    CONFIDENCE,
    Fidelity,
    GateResult,
    GateVerdict,
    drop_interval,
)


def per_query(values):
    return {f"q{i:04d}": float(v) for i, v in enumerate(values)}


def gate(parent, child, max_drop, fidelity=None):
    p, c = per_query(parent), per_query(child)
    return GateResult(
        parent={"ndcg@10": float(np.mean(parent))},
        child={"ndcg@10": float(np.mean(child))},
        max_drop=max_drop,
        dataset={"name": "d", "split": "dev"},
        drop_interval=drop_interval(p, c),
        fidelity=fidelity,
    )


def test_interval_is_the_paired_bootstrap_of_the_relative_drop():
    rng = np.random.default_rng(0)
    parent = rng.uniform(0.3, 1.0, 150)
    child = np.clip(parent - rng.normal(0.01, 0.05, 150), 0, 1)
    low, high = drop_interval(per_query(parent), per_query(child))
    # The same resampling written the obvious way: one resample of query indices at a time.
    generator = np.random.default_rng(BOOTSTRAP_SEED)
    drops = []
    for _ in range(BOOTSTRAP_SAMPLES // 250):
        rows = generator.integers(0, 150, (250, 150))
        for row in rows:
            drops.append((parent[row].mean() - child[row].mean()) / parent[row].mean())
    tail = (1 - CONFIDENCE) / 2 * 100
    assert (low, high) == pytest.approx(tuple(np.percentile(drops, [tail, 100 - tail])), abs=1e-12)
    point = (parent.mean() - child.mean()) / parent.mean()
    assert low < point < high


def test_pairing_makes_the_interval_narrow_when_the_child_tracks_the_parent():
    rng = np.random.default_rng(1)
    parent = rng.uniform(0, 1, 100)  # very different queries: unpaired, the interval would be wide
    child = parent * 0.995  # but the child loses 0.5% on every one of them
    low, high = drop_interval(per_query(parent), per_query(child))
    assert high - low < 1e-9 and low == pytest.approx(0.005)


def test_verdicts_and_the_fidelity_tie_break():
    rng = np.random.default_rng(2)
    parent = rng.uniform(0.2, 1.0, 100)
    same = gate(parent, parent * 0.999, 0.01)
    assert same.verdict is GateVerdict.WITHIN and same.passed
    worse = gate(parent, parent * 0.9, 0.01)
    assert worse.verdict is GateVerdict.BEYOND and not worse.passed
    assert not gate(parent, parent * 0.9, 0.01, Fidelity(0.9999, 0.999, 256)).passed  # beyond is beyond
    # Noise around a 1.5% drop: the interval holds 1%, so too few queries to tell.
    noisy = np.clip(parent * 0.985 + rng.normal(0, 0.1, 100), 0, 1)
    unsure = gate(parent, noisy, 0.01)
    assert unsure.verdict is GateVerdict.INCONCLUSIVE
    point_ok = unsure.relative_drop <= 0.01
    assert not point_ok  # a 2.2% point drop: the point rule alone would refuse it
    assert unsure.passed is point_ok  # no fidelity measured: the point estimate decides
    assert gate(parent, noisy, 0.01, Fidelity(0.998, 0.99, 256)).passed  # the same model, computed faithfully
    assert gate(parent, noisy, 0.01, Fidelity(0.97, 0.90, 256)).passed is point_ok
    record = gate(parent, noisy, 0.01, Fidelity(0.998, 0.99, 256)).to_dict()
    assert record["verdict"] == "inconclusive" and record["passed"] and len(record["drop_interval"]) == 2
    assert "interval [" in unsure.describe() and "inconclusive" in unsure.describe()
