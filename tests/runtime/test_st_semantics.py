"""The runtime's API against sentence-transformers' ``encode`` and ``quantize_embeddings`` on the real base model."""

import numpy as np
import pytest

from edge_embed import Embedder
from edge_embed.runtime.precision import calibration_ranges, quantize
from edge_embed.runtime.steps import padded_inputs

pytestmark = pytest.mark.build

TEXTS = [
    "How do I relubricate a pump bearing?",
    "PLC alarm E-4711: encoder signal lost on axis 2",
    "What are the symptoms of glaucoma?",
    "seal",
    "Replace the mechanical seal on centrifugal pump P-101 if leakage exceeds 20 drops per minute. " * 8,
    "Ärztliche Schweigepflicht — naïve café 東京",
]


@pytest.fixture(scope="module")
def embedder(minilm_artifact):
    return Embedder(minilm_artifact)


@pytest.fixture(scope="module")
def st_model(base_model_path, embedder):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(base_model_path), device="cpu", local_files_only=True)
    model.max_seq_length = embedder.manifest.max_seq_length  # the same truncation as the artifact
    return model


def test_encode_matches_sentence_transformers(st_model, embedder):
    ours, theirs = embedder.encode(TEXTS), st_model.encode(TEXTS)
    assert ours.shape == theirs.shape == (len(TEXTS), 384) and ours.dtype == theirs.dtype
    assert (ours * theirs).sum(1).min() > 0.99999
    single_ours, single_theirs = embedder.encode(TEXTS[0]), st_model.encode(TEXTS[0])
    assert single_ours.shape == single_theirs.shape == (384,)


@pytest.mark.parametrize("normalize", [False, True])
def test_truncate_dim_and_normalize_match(st_model, embedder, normalize):
    ours = embedder.encode(TEXTS, truncate_dim=128, normalize_embeddings=normalize)
    theirs = st_model.encode(TEXTS, truncate_dim=128, normalize_embeddings=normalize)
    assert ours.shape == theirs.shape == (len(TEXTS), 128)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), np.linalg.norm(theirs, axis=1), atol=1e-5)
    np.testing.assert_allclose(ours, theirs, atol=2e-5)
    # embed's dim= is the renormalized prefix (what OpenAI's `dimensions` returns).
    per_call = embedder.embed(TEXTS, dim=128)
    np.testing.assert_allclose(per_call, theirs / np.linalg.norm(theirs, axis=1, keepdims=True), atol=2e-5)


def test_literal_prompt_matches(st_model, embedder):
    ours = embedder.encode(TEXTS, prompt="query: ")
    theirs = st_model.encode(TEXTS, prompt="query: ")
    assert (ours * theirs).sum(1).min() > 0.99999
    assert (embedder.encode(TEXTS) * theirs).sum(1).min() < 0.999  # the prompt changed the vectors


@pytest.mark.parametrize("precision", ["float32", "int8", "uint8", "binary", "ubinary"])
def test_precision_matches_quantize_embeddings(st_model, embedder, precision):
    try:
        from sentence_transformers.util.quantization import quantize_embeddings
    except ImportError:  # sentence-transformers < 5.7
        from sentence_transformers.quantization import quantize_embeddings

    floats = embedder.encode(TEXTS * 20)
    ranges = calibration_ranges(embedder.encode(TEXTS[::-1] * 3 + ["grease"]))
    clipped = np.clip(floats, ranges[0], ranges[1])  # ST and we agree inside the ranges; we clip outside
    for kwargs in ({}, {"ranges": ranges}):
        source = floats if not kwargs else clipped
        expected = quantize_embeddings(source, precision=precision, **kwargs)
        got = quantize(source, precision, **kwargs)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
    # End to end: the same codes as ST's encode(precision=...) on its own floats, up to one level where the
    # two runtimes' floats straddle a boundary.
    ours = embedder.encode(TEXTS * 20, precision=precision).astype(np.float64)
    theirs = st_model.encode(TEXTS * 20, precision=precision).astype(np.float64)
    assert ours.shape == theirs.shape
    if precision.endswith("binary"):
        agree = np.unpackbits(ours.astype(np.int16).astype(np.uint8)) == np.unpackbits(
            theirs.astype(np.int16).astype(np.uint8)
        )
        assert agree.mean() > 0.999
    else:
        assert np.abs(ours - theirs).max() <= 1e-4 if precision == "float32" else np.abs(ours - theirs).max() <= 1


def test_tokens_and_padding_match_sentence_transformers(st_model, embedder):
    features = st_model.tokenize(TEXTS)
    ids, mask = padded_inputs(embedder, TEXTS)
    np.testing.assert_array_equal(ids, features["input_ids"].numpy())
    np.testing.assert_array_equal(mask, features["attention_mask"].numpy())
    assert embedder.token_count(TEXTS) == int(features["attention_mask"].sum())
