"""The static tier on the lean runtime: a token table averaged in numpy, as model2vec computes it, with no engine
but numpy; damaged tables and misuse are one clear line."""

import numpy as np
import pytest

from edge_embed import Embedder
from edge_embed.errors import ArtifactError, InputError
from edge_embed.lineage.manifest import Backend, read_manifest
from edge_embed.runtime.static import STATIC_FILE
from tests.helpers.toy import MAX_SEQ_LENGTH, TEXTS, VOCAB, make_toy_static_artifact, make_toy_tokenizer, toy_table


def _reference(text: str) -> np.ndarray:
    """The mean of the text's known tokens' rows (lowercased whitespace words, first MAX_SEQ_LENGTH tokens)."""
    table = toy_table().astype(np.float16).astype(np.float32)
    ids = [VOCAB.get(word, VOCAB["[UNK]"]) for word in text.lower().split()][:MAX_SEQ_LENGTH]
    known = [i for i in ids if i != VOCAB["[UNK]"]]
    if not known:
        return np.zeros(table.shape[1], dtype=np.float32)
    mean = table[known].mean(axis=0)
    return mean / np.linalg.norm(mean)


@pytest.fixture
def static_artifact(tmp_path):
    return make_toy_static_artifact(tmp_path / "static")


def test_vectors_are_the_mean_of_known_token_rows(static_artifact):
    embedder = Embedder(static_artifact)
    assert read_manifest(static_artifact).graph.backend is Backend.STATIC
    texts = [*TEXTS, "pump " * 40, "", "unknown only"]
    expected = np.stack([_reference(t) for t in texts])
    for batch_size in (1, 3, 64):
        np.testing.assert_allclose(embedder.embed(texts, batch_size=batch_size), expected, atol=1e-6)
    # A text of unknown words only is the zero vector, as model2vec gives it; widths and precisions still apply.
    assert not embedder.embed(["unknown only"]).any()
    assert embedder.embed(TEXTS, dim=4).shape == (len(TEXTS), 4)
    assert embedder.warm_up() == 1


def test_the_runtime_matches_model2vec(static_artifact):
    """Cross-check against model2vec's own StaticModel over the same table and tokenizer."""
    model2vec = pytest.importorskip("model2vec", reason="model2vec is the reference (build side)")
    tokenizer = make_toy_tokenizer()
    tokenizer.no_padding()
    tokenizer.no_truncation()
    from tokenizers import processors

    tokenizer.post_processor = processors.Sequence([])
    vectors = np.load(static_artifact / STATIC_FILE)["vectors"]
    reference = model2vec.StaticModel(vectors=vectors, tokenizer=tokenizer, normalize=True, max_length=MAX_SEQ_LENGTH)
    texts = [*TEXTS, "PUMP seal unknown leak", "the " * 30]
    theirs = reference.encode(texts, use_multiprocessing=False).astype(np.float32)
    ours = Embedder(static_artifact).embed(texts)
    np.testing.assert_allclose(ours, theirs, atol=2e-3)  # model2vec averages in float16, the runtime in float32
    assert not ours[4].any() and not theirs[4].any()  # unknown words only: zero in both


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"vectors": np.zeros((4, 2), dtype=np.float32)}, "not a static embedding table"),
        ({"vectors": np.zeros(4, dtype=np.float32), "ignored_ids": np.array([1])}, "expected a float"),
        ({"vectors": np.zeros((4, 2), dtype=np.int8), "ignored_ids": np.array([1])}, "expected a float"),
    ],
)
def test_a_damaged_table_is_refused(static_artifact, arrays, message):
    np.savez(static_artifact / STATIC_FILE, **arrays)
    with pytest.raises(ArtifactError, match=message):
        Embedder(static_artifact, verify=False)


def test_a_table_smaller_than_the_vocabulary_is_refused_at_embedding(static_artifact):
    np.savez(static_artifact / STATIC_FILE, vectors=np.zeros((3, 8), dtype=np.float32), ignored_ids=np.array([1]))
    with pytest.raises(ArtifactError, match="outside the table's 3 rows"):
        Embedder(static_artifact, verify=False).embed(["pump"])


def test_engine_options_that_do_not_apply_are_refused(static_artifact):
    with pytest.raises(InputError, match="runs on static"):
        Embedder(static_artifact, providers=("CUDAExecutionProvider",))
    with pytest.raises(InputError, match="threads"):
        Embedder(static_artifact, threads=0)


def test_quantize_refuses_a_static_table(static_artifact, tmp_path):
    from edge_embed.quantize import QuantizationConfig, quantize_artifact

    with pytest.raises(InputError, match="static embedding table"):
        quantize_artifact(static_artifact, tmp_path / "q", QuantizationConfig.for_target("dynamic-int8"), force=True)
