"""Drift: the statistics against reference implementations, verdicts on synthetic and toy-artifact texts, profiles."""

import json
import random

import numpy as np
import pytest

from edge_embed.cli.main import main
from edge_embed.errors import InputError
from edge_embed.lifecycle import DriftThresholds, Sample, TokenStats, Verdict, detect_drift
from edge_embed.lifecycle.drift import (
    ks_p_values,
    median_bandwidth,
    mmd2_unbiased,
    rbf_kernel,
    roc_auc,
    squared_distances,
)
from tests.helpers.toy import WORDS

NO_TOKENS = TokenStats(0.0, 1.0)


def direct_mmd2(x, y, bandwidth):
    """The unbiased MMD² written out as its definition's sums, O(n²) Python loops."""

    def k(a, b):
        return np.exp(-((a - b) ** 2).sum() / (2 * bandwidth**2))

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_mmd_matches_the_direct_definition():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(9, 4)), rng.normal(0.5, 1.0, size=(7, 4))
    z = np.vstack([x, y])
    bandwidth = median_bandwidth(z)
    fast = mmd2_unbiased(rbf_kernel(squared_distances(z, z), bandwidth), len(x))
    assert fast == pytest.approx(direct_mmd2(x, y, bandwidth), abs=1e-12)


def test_roc_auc_matches_scikit_learn_with_ties():
    metrics = pytest.importorskip("sklearn.metrics", reason="the cross-check needs scikit-learn")
    rng = np.random.default_rng(1)
    for _ in range(20):
        labels = rng.integers(0, 2, size=50)
        labels[:2] = [0, 1]
        scores = np.round(rng.normal(size=50) + labels * rng.uniform(0, 2), 1)  # rounding makes ties
        assert roc_auc(scores, labels) == pytest.approx(metrics.roc_auc_score(labels, scores), abs=1e-12)


def test_ks_p_values_match_scipy_asymptotic():
    stats = pytest.importorskip("scipy.stats", reason="the cross-check needs scipy")
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(300, 5)), rng.normal(size=(250, 5)) + np.array([0, 0.1, 0.2, 0.4, 0.0])
    ours = ks_p_values(x, y)
    theirs = [stats.ks_2samp(x[:, j], y[:, j], method="asymp").pvalue for j in range(5)]
    np.testing.assert_allclose(ours, theirs, atol=0.02)


def sample(vectors):
    return Sample(vectors=vectors, tokens=NO_TOKENS)


def test_same_distribution_is_stable_and_a_shift_is_drifting():
    rng = np.random.default_rng(3)
    base = rng.normal(size=(1, 16))
    reference = sample(base + rng.normal(size=(200, 16)))
    same = sample(base + rng.normal(size=(200, 16)))
    shifted = sample(base + rng.normal(size=(200, 16)) + 0.6 * rng.normal(size=(1, 16)))
    assert detect_drift(reference, same).verdict is Verdict.STABLE
    report = detect_drift(reference, shifted)
    assert report.verdict in (Verdict.DRIFTING, Verdict.REFRESH) and report.mmd_p_value < 0.01
    assert report.classifier_auc > report.classifier_threshold


def test_too_few_texts_and_bad_thresholds_are_refused():
    with pytest.raises(InputError, match="needs at least 20 texts, got 5"):
        sample(np.ones((5, 4)))
    with pytest.raises(InputError, match="p_value must be in"):
        DriftThresholds(p_value=1.5)


def _texts(path, words, n, seed):
    rng = random.Random(seed)
    path.write_text("".join(" ".join(rng.choices(words, k=rng.randint(3, 8))) + "\n" for _ in range(n)))
    return path


def test_cli_verdicts_on_the_toy_artifact_and_profiles(toy_artifact, tmp_path, capsys):
    machine, filler = WORDS[:9], WORDS[9:]
    reference = _texts(tmp_path / "ref.txt", machine, 200, 1)
    same = _texts(tmp_path / "same.txt", machine, 200, 2)
    other = _texts(tmp_path / "other.txt", filler + ["zzz", "qqq"], 200, 3)
    assert main(["drift", str(toy_artifact), "--reference", str(reference), "--current", str(same), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "stable"
    profile = tmp_path / "ref.npz"
    assert main(["drift", str(toy_artifact), "--reference", str(reference), "--save-profile", str(profile)]) == 0
    capsys.readouterr()
    assert main(["drift", str(toy_artifact), "--profile", str(profile), "--current", str(other), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] != "stable" and report["mmd_p_value"] < 0.01
    assert report["current_tokens"]["unknown_rate"] > report["reference_tokens"]["unknown_rate"]
    assert "unknown tokens rose" in " ".join(report["reasons"])
    # Profile-based and text-based comparisons agree.
    assert main(["drift", str(toy_artifact), "--reference", str(reference), "--current", str(other), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == report["verdict"]


def test_a_profile_from_another_artifact_is_refused(toy_artifact, tmp_path, capsys):
    from tests.helpers.toy import make_toy_artifact

    other_artifact = make_toy_artifact(tmp_path / "other", normalize=False)  # another manifest sha256
    reference = _texts(tmp_path / "ref.txt", WORDS, 50, 1)
    profile = tmp_path / "ref.npz"
    assert main(["drift", str(other_artifact), "--reference", str(reference), "--save-profile", str(profile)]) == 0
    assert main(["drift", str(toy_artifact), "--profile", str(profile), "--current", str(reference)]) == 2
    assert "embeddings of different artifacts cannot be compared" in capsys.readouterr().err


def test_bad_drift_inputs_are_one_line(toy_artifact, tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    few = _texts(tmp_path / "few.txt", WORDS, 5, 1)
    cases = [
        (["--reference", str(empty), "--current", str(few)], "has no usable text"),
        (["--reference", str(few), "--current", str(few)], "needs at least 20 texts, got 5"),
        (["--current", str(few)], "give the reference as --reference TEXTS or --profile FILE"),
        (["--reference", str(few)], "nothing to do"),
        (["--profile", str(few), "--current", str(few)], "is not a drift profile"),
    ]
    for args, message in cases:
        assert main(["drift", str(toy_artifact), *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
