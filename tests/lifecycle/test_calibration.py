"""Score calibration: PAV against scikit-learn, Platt, ECE/Brier, the calibrated child artifact and its use."""

import json

import numpy as np
import pytest

from edge_embed import Embedder
from edge_embed.cli.main import main
from edge_embed.errors import ArtifactError, InputError
from edge_embed.lifecycle.calibrate import calibrate_artifact
from edge_embed.lifecycle.calibration import (
    Calibration,
    brier_score,
    expected_calibration_error,
    isotonic_fit,
    platt_fit,
)
from edge_embed.lineage.manifest import manifest_sha256, read_manifest
from edge_embed.samples import maintenance_dataset


def test_isotonic_fit_matches_scikit_learn():
    isotonic = pytest.importorskip("sklearn.isotonic", reason="the cross-check needs scikit-learn")
    rng = np.random.default_rng(0)
    grid = np.linspace(-1.5, 1.5, 301)
    for trial in range(100):
        n = int(rng.integers(2, 400))
        x = np.round(rng.uniform(-1, 1, n), int(rng.integers(1, 4)))  # rounding makes ties
        y = (rng.uniform(size=n) < (x + 1) / 2).astype(float)
        weights = rng.uniform(0.1, 3, n) if trial % 2 else None
        knots_x, knots_y = isotonic_fit(x, y, weights)
        reference = isotonic.IsotonicRegression(out_of_bounds="clip").fit(x, y, sample_weight=weights)
        np.testing.assert_allclose(np.interp(grid, knots_x, knots_y), reference.predict(grid), atol=1e-9)


def test_platt_matches_an_unregularised_logistic_regression():
    linear = pytest.importorskip("sklearn.linear_model", reason="the cross-check needs scikit-learn")
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, 500)
    y = (rng.uniform(size=500) < 1 / (1 + np.exp(-(8 * x - 5)))).astype(float)
    a, b = platt_fit(x, y)
    reference = linear.LogisticRegression(C=1e6, tol=1e-10, max_iter=10_000).fit(x[:, None], y)
    assert a == pytest.approx(reference.coef_[0, 0], rel=1e-3)
    assert b == pytest.approx(reference.intercept_[0], rel=1e-3)


def test_ece_and_brier_on_a_worked_example():
    probabilities = np.array([0.1, 0.1, 0.9, 0.9])
    labels = np.array([0, 1, 1, 1])
    # Bin of 0.1: observed 0.5, |0.5 - 0.1| = 0.4 with half the weight; bin of 0.9: |1 - 0.9| = 0.1.
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.25)
    assert brier_score(probabilities, labels) == pytest.approx((0.01 + 0.81 + 0.01 + 0.01) / 4)


def test_a_calibration_round_trips_and_a_damaged_one_is_refused():
    rng = np.random.default_rng(2)
    scores = rng.uniform(0, 1, 200)
    labels = (rng.uniform(size=200) < scores).astype(float)
    for method in ("isotonic", "platt"):
        fitted = Calibration.fit(scores, labels, method, "x/dev")
        again = Calibration.from_dict(json.loads(json.dumps(fitted.to_dict())))
        np.testing.assert_array_equal(again.apply(scores), fitted.apply(scores))
        assert np.all(np.diff(fitted.apply(np.sort(scores))) >= 0)  # monotonic in the cosine
    bad = Calibration.fit(scores, labels, "isotonic", "x/dev").to_dict()
    bad["knots_x"] = bad["knots_x"][::-1]
    with pytest.raises(ArtifactError, match="not increasing"):
        Calibration.from_dict(bad)
    with pytest.raises(InputError, match="at least 50 scored pairs"):
        Calibration.fit(scores[:10], labels[:10], "isotonic", "x/dev")


def test_calibrate_writes_a_child_that_scores_probabilities(toy_artifact, tmp_path):
    result = calibrate_artifact(toy_artifact, maintenance_dataset(), tmp_path / "calibrated")
    child = read_manifest(result.path)
    assert child.parent["manifest_sha256"] == manifest_sha256(toy_artifact)
    assert child.options["score_calibration"]["method"] == "isotonic"
    assert child.checks["score_calibration"]["split"].endswith("/test")
    embedder = Embedder.load(result.path)
    queries, documents = ["pump seal leak", "motor alarm"], ["the pump seal", "plc alarm of the motor", "grease"]
    cosine, probability = embedder.score(queries, documents), embedder.score(queries, documents, calibrated=True)
    assert probability.shape == (2, 3) and np.all((0 <= probability) & (probability <= 1))
    order = np.argsort(cosine.ravel())
    assert np.all(np.diff(probability.ravel()[order]) >= -1e-12)  # never reverses the ranking
    with pytest.raises(InputError, match="has no score calibration"):
        Embedder.load(toy_artifact).score(queries, documents, calibrated=True)


def test_search_returns_probabilities_with_a_calibrated_artifact(toy_artifact, tmp_path):
    from edge_embed.index import Document, VectorIndex

    calibrated = calibrate_artifact(toy_artifact, maintenance_dataset(), tmp_path / "calibrated").path
    embedder = Embedder.load(calibrated)
    documents = [Document(f"d{i}", t) for i, t in enumerate(["the pump seal", "plc alarm", "grease the bearing"])]
    index = VectorIndex.build(embedder, documents, tmp_path / "index", "float32")
    (hits,) = index.search(embedder, ["pump seal"], k=3)
    assert all(hit.probability is not None and 0 <= hit.probability <= 1 for hit in hits)
    assert "probability" in hits[0].to_dict()
    plain = VectorIndex.build(Embedder.load(toy_artifact), documents, tmp_path / "plain", "float32")
    assert plain.search(Embedder.load(toy_artifact), ["pump seal"], k=1)[0][0].probability is None


def test_service_search_returns_the_probability_over_http(toy_artifact, tmp_path):
    pytest.importorskip("starlette", reason="the service needs the [serve] extra")
    httpx = pytest.importorskip("httpx")
    from edge_embed.index import Document, VectorIndex
    from edge_embed.serve import ServeSettings, create_app
    from tests.helpers.server import serving

    calibrated = calibrate_artifact(toy_artifact, maintenance_dataset(), tmp_path / "calibrated").path
    embedder = Embedder.load(calibrated)
    documents = [Document(f"d{i}", t) for i, t in enumerate(["the pump seal", "plc alarm", "grease the bearing"])]
    index = VectorIndex.build(embedder, documents, tmp_path / "index", "float32")
    (expected,) = index.search(embedder, ["pump seal"], k=3)
    with serving(create_app(embedder, ServeSettings(warmup=False), index=index)) as url:
        hits = httpx.post(f"{url}/search", json={"query": "pump seal", "k": 3}).json()["hits"]
    assert [h["id"] for h in hits] == [h.id for h in expected]
    assert [h["probability"] for h in hits] == pytest.approx([h.probability for h in expected])
    assert all(0 <= h["probability"] <= 1 for h in hits)
    assert [h["probability"] for h in hits] == sorted((h["probability"] for h in hits), reverse=True)


def test_calibrate_cli_prints_both_numbers_and_refuses_bad_input(toy_artifact, tmp_path, capsys):
    out = tmp_path / "calibrated"
    assert main(["calibrate", str(toy_artifact), "--data", str(maintenance_dataset()), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "expected calibration error" in printed and "Brier score" in printed
    assert main(["calibrate", str(toy_artifact), "--data", str(maintenance_dataset()), "-o", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    args = ["calibrate", str(toy_artifact), "--data", str(maintenance_dataset()), "--test-split", "dev"]
    assert main([*args, "-o", str(tmp_path / "same")]) == 2
    assert "different splits" in capsys.readouterr().err and not (tmp_path / "same").exists()


def test_search_cli_shows_the_probability(toy_artifact, tmp_path, capsys):
    calibrated = calibrate_artifact(toy_artifact, maintenance_dataset(), tmp_path / "calibrated").path
    corpus = tmp_path / "docs.txt"
    corpus.write_text("the pump seal\nplc alarm of the motor\ngrease the bearing\n")
    assert main(["index", "build", str(calibrated), str(corpus), "-o", str(tmp_path / "index")]) == 0
    capsys.readouterr()
    assert main(["search", str(tmp_path / "index"), "pump seal", "-k", "2"]) == 0
    assert "p(relevant)" in capsys.readouterr().out
