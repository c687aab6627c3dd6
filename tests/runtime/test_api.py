"""The Embedder's user-facing API (iterables, streaming, per-call options, precision) on a real onnxruntime session."""

import numpy as np
import pytest

from edge_embed import Embedder
from edge_embed.errors import InputError
from edge_embed.runtime.precision import Precision, calibration_ranges, quantize
from edge_embed.runtime.steps import padded_inputs
from tests.helpers.toy import DIM, MAX_SEQ_LENGTH, TEXTS, make_toy_artifact, make_toy_tokenizer, reference_embedding

MANY = [TEXTS[i % len(TEXTS)] + " pump" * (i % 4) for i in range(50)]


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def test_constructor_loads_like_load(toy_artifact):
    direct, loaded = Embedder(toy_artifact), Embedder.load(toy_artifact)
    np.testing.assert_array_equal(direct.embed(TEXTS), loaded.embed(TEXTS))
    assert Embedder(str(toy_artifact), dim=3).dim == 3


@pytest.mark.parametrize(
    "make",
    [
        lambda texts: (t for t in texts),
        lambda texts: np.array(texts),
        tuple,
        lambda texts: iter(texts),
    ],
    ids=["generator", "numpy", "tuple", "iterator"],
)
def test_any_iterable_of_strings(toy_artifact, make):
    embedder = Embedder(toy_artifact)
    np.testing.assert_allclose(embedder.embed(make(TEXTS)), embedder.embed(TEXTS), atol=1e-7)


def test_pandas_series(toy_artifact):
    pd = pytest.importorskip("pandas")
    embedder = Embedder(toy_artifact)
    series = pd.Series(TEXTS, index=range(100, 100 + len(TEXTS)))  # an index that is not 0..n-1
    np.testing.assert_allclose(embedder.embed(series), embedder.embed(TEXTS), atol=1e-7)


def test_bad_iterables_are_named(toy_artifact):
    embedder = Embedder(toy_artifact)
    with pytest.raises(InputError, match="iterable of strings, got int"):
        embedder.embed(5)
    with pytest.raises(InputError, match="iterable of strings, got bytes"):
        embedder.embed(b"seal leak")
    with pytest.raises(InputError, match=r"texts\[3\] is int"):
        embedder.embed(t for t in ["a", "b", "c", 4])


def test_embed_iter_streams_chunks_in_order(toy_artifact):
    embedder = Embedder(toy_artifact)
    pulled = []

    def source():
        for text in MANY:
            pulled.append(text)
            yield text

    stream = embedder.embed_iter(source(), chunk_size=16)
    first = next(stream)
    assert first.shape == (16, DIM) and len(pulled) == 16  # lazy: only the first chunk was read
    rest = list(stream)
    assert [len(c) for c in rest] == [16, 16, 2]
    np.testing.assert_allclose(np.concatenate([first, *rest]), embedder.embed(MANY), atol=1e-6)


def test_embed_iter_checks_arguments_at_the_call(toy_artifact):
    embedder = Embedder(toy_artifact)
    with pytest.raises(InputError, match="chunk_size"):
        embedder.embed_iter(TEXTS, chunk_size=0)
    with pytest.raises(InputError, match="needs ranges"):
        embedder.embed_iter(TEXTS, precision="int8")
    with pytest.raises(InputError, match=r"ranges must have shape \(2, 8\)"):
        embedder.embed_iter(TEXTS, precision="int8", ranges=np.zeros((2, 3)))


def test_per_call_dim_equals_load_time_dim(toy_artifact):
    per_call = Embedder(toy_artifact).embed(TEXTS, dim=3)
    np.testing.assert_allclose(per_call, Embedder(toy_artifact, dim=3).embed(TEXTS), atol=1e-7)
    full = np.stack([reference_embedding(t, normalize=False) for t in TEXTS])
    np.testing.assert_allclose(per_call, _unit(full[:, :3]), atol=1e-6)
    with pytest.raises(InputError, match="dim must be between 1 and 8"):
        Embedder(toy_artifact).embed(TEXTS, dim=DIM + 1)


def test_per_call_normalize(toy_artifact, tmp_path):
    raw = np.stack([reference_embedding(t, normalize=False) for t in TEXTS])
    normalizing = Embedder(toy_artifact)
    np.testing.assert_allclose(normalizing.embed(TEXTS, normalize=False), raw, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(normalizing.embed(TEXTS, normalize=False, dim=3), raw[:, :3], rtol=1e-5, atol=1e-6)
    plain = Embedder(make_toy_artifact(tmp_path / "raw", normalize=False))
    np.testing.assert_allclose(plain.embed(TEXTS), raw, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(plain.embed(TEXTS, normalize=True), _unit(raw), rtol=1e-5, atol=1e-6)


def test_prompt_and_prompt_name(tmp_path):
    embedder = Embedder(make_toy_artifact(tmp_path / "prompted", prompts={"query": "alarm "}))
    by_kind = embedder.embed(["pump seal"], kind="query")
    np.testing.assert_allclose(embedder.embed(["pump seal"], prompt_name="query"), by_kind, atol=1e-7)
    np.testing.assert_allclose(embedder.embed(["pump seal"], prompt="alarm "), by_kind, atol=1e-7)
    literal = embedder.embed(["pump seal"], kind="query", prompt="grease ")  # a literal prompt wins over kind
    np.testing.assert_allclose(literal[0], reference_embedding("grease pump seal"), atol=1e-6)
    with pytest.raises(InputError, match=r"prompt_name 'passage' is not one of this model's prompts \(\['query'\]\)"):
        embedder.embed(["pump"], prompt_name="passage")


def test_query_and_document_shorthands(tmp_path):
    embedder = Embedder(make_toy_artifact(tmp_path / "prompted", prompts={"query": "alarm "}))
    one = embedder.embed_query("pump seal")
    assert one.shape == (DIM,)
    np.testing.assert_allclose(one, reference_embedding("alarm pump seal"), atol=1e-6)
    assert embedder.embed_query(["pump seal", "grease"], dim=4).shape == (2, 4)
    np.testing.assert_allclose(embedder.embed_documents(TEXTS), embedder.embed(TEXTS), atol=1e-7)


def test_encode_follows_sentence_transformers_shapes(toy_artifact):
    embedder = Embedder(toy_artifact)
    assert embedder.encode("seal leak").shape == (DIM,)
    assert embedder.encode(["seal leak"]).shape == (1, DIM)
    full = embedder.encode(TEXTS)
    # truncate_dim keeps a prefix of the model's (unit) output without renormalizing, as ST does ...
    np.testing.assert_allclose(embedder.encode(TEXTS, truncate_dim=3), full[:, :3], atol=1e-7)
    assert np.linalg.norm(embedder.encode(TEXTS, truncate_dim=3), axis=1).max() < 0.999
    # ... and normalize_embeddings makes it unit again.
    np.testing.assert_allclose(
        embedder.encode(TEXTS, truncate_dim=3, normalize_embeddings=True), _unit(full[:, :3]), atol=1e-6
    )


def test_encode_uses_no_prompt_unless_named(tmp_path):
    embedder = Embedder(make_toy_artifact(tmp_path / "prompted", prompts={"query": "alarm ", "document": "seal "}))
    np.testing.assert_allclose(embedder.encode("pump"), reference_embedding("pump"), atol=1e-6)
    np.testing.assert_allclose(
        embedder.encode("pump", prompt_name="query"), reference_embedding("alarm pump"), atol=1e-6
    )


def test_binary_precisions_pack_sign_bits(toy_artifact):
    embedder = Embedder(toy_artifact)
    floats = embedder.embed(TEXTS, normalize=False) - 0.05  # centre so that both signs occur
    signs = floats > 0
    assert signs.any() and not signs.all()
    ubinary = quantize(floats, "ubinary")
    assert ubinary.dtype == np.uint8 and ubinary.shape == (len(TEXTS), 1)
    for row, bits in zip(ubinary, signs):
        assert [int(b) for b in f"{int(row[0]):08b}"] == bits.tolist()
    binary = quantize(floats, Precision.BINARY)
    assert binary.dtype == np.int8
    np.testing.assert_array_equal(binary.astype(np.int16) + 128, ubinary)
    assert embedder.embed(TEXTS, precision="ubinary").shape == (len(TEXTS), 1)


def test_int8_precisions_use_ranges(toy_artifact):
    embedder = Embedder(toy_artifact)
    floats = embedder.embed(MANY)
    ranges = calibration_ranges(floats)
    codes = embedder.embed(MANY, precision="uint8", ranges=ranges)
    assert codes.dtype == np.uint8 and codes.min() == 0 and codes.max() == 255
    # Decoding a code gives back the float to within one step of its dimension.
    steps = (ranges[1] - ranges[0]) / 255
    decoded = ranges[0] + codes.astype(np.float32) * steps
    assert (np.abs(decoded - floats) <= steps + 1e-6).all()
    signed = embedder.embed(MANY, precision="int8", ranges=ranges)
    np.testing.assert_array_equal(signed.astype(np.int16) + 128, codes)
    # Without ranges, embed calibrates on its own result, as quantize_embeddings does.
    np.testing.assert_array_equal(embedder.embed(MANY, precision="int8"), signed)
    stream = np.concatenate(list(embedder.embed_iter(MANY, chunk_size=7, precision="int8", ranges=ranges)))
    np.testing.assert_array_equal(stream, signed)
    # Values outside the ranges clip to the ends.
    narrow = np.stack([ranges[0] + 0.25 * (ranges[1] - ranges[0]), ranges[1] - 0.25 * (ranges[1] - ranges[0])])
    clipped = quantize(floats, "uint8", narrow)
    assert clipped.min() == 0 and clipped.max() == 255
    with pytest.raises(InputError, match="precision must be one of float32, int8, uint8, binary, ubinary"):
        embedder.embed(TEXTS, precision="float16")


def test_token_count_counts_what_the_model_reads(tmp_path):
    embedder = Embedder(make_toy_artifact(tmp_path / "prompted", prompts={"query": "alarm "}))
    tokenizer = make_toy_tokenizer()
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
    long_text = "pump " * 100
    texts = [*TEXTS, long_text, ""]
    expected = sum(len(tokenizer.encode(t).ids) for t in texts)
    assert embedder.token_count(texts) == expected
    assert embedder.token_count(iter(texts)) == expected
    assert embedder.token_count(long_text) == MAX_SEQ_LENGTH
    assert embedder.token_count("pump", kind="query") == len(tokenizer.encode("alarm pump").ids)


def test_padding_matches_the_obvious_loop(toy_artifact):
    embedder = Embedder(toy_artifact)
    texts = [*TEXTS, "", "pump " * 40]
    ids, mask = padded_inputs(embedder, texts)
    encodings = embedder.tokenize(texts)
    longest = max(len(e.ids) for e in encodings)
    assert ids.shape == mask.shape == (len(texts), longest) and ids.dtype == mask.dtype == np.int64
    for row, encoding in enumerate(encodings):
        n = len(encoding.ids)
        assert ids[row, :n].tolist() == encoding.ids and (ids[row, n:] == embedder.manifest.tokenizer.pad_id).all()
        assert mask[row].tolist() == [1] * n + [0] * (longest - n)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda e: list(e.embed_iter(TEXTS, chunk_size="8")), "chunk_size must be a positive integer, got '8'"),
        (lambda e: e.embed(TEXTS, dim="3"), "dim must be between 1 and 8, got '3'"),
        (lambda e: e.embed(TEXTS, precision="int8", ranges=[["x"]]), r"ranges must be a \(2, dim\) array of numbers"),
        (lambda e: e.embed(TEXTS, prompt=3), "prompt must be a string, got int"),
        (lambda e: e.embed(TEXTS, batch_size=True), "batch_size must be a positive integer, got True"),
        (lambda e: e.embed_query("pump", kind="document"), "embed_query sets kind itself"),
        (lambda e: e.embed(["ok", "a\ud800b"]), r"texts\[1\] is not valid Unicode"),
        (lambda e: e.token_count(None), "iterable of strings, got NoneType"),
    ],
)
def test_bad_arguments_get_one_line_errors(toy_artifact, call, message):
    with pytest.raises(InputError, match=message) as caught:
        call(Embedder(toy_artifact))
    assert "\n" not in str(caught.value)


def test_int8_output_uses_the_manifest_s_recorded_ranges_at_full_width(tmp_path):
    from edge_embed.runtime.precision import RANGES_CHECK, calibration_ranges, quantize, ranges_record

    plain = Embedder(make_toy_artifact(tmp_path / "plain"))
    sample = plain.embed(TEXTS)
    recorded = make_toy_artifact(tmp_path / "recorded", checks={RANGES_CHECK: ranges_record(sample, "toy texts")})
    embedder = Embedder(recorded)
    np.testing.assert_array_equal(embedder.calibration_ranges, calibration_ranges(sample))
    one = embedder.embed(TEXTS[:1], precision="int8")
    np.testing.assert_array_equal(one, quantize(sample[:1], "int8", calibration_ranges(sample)))
    assert not np.array_equal(one, plain.embed(TEXTS[:1], precision="int8"))  # a lone vector's own range differs
    assert len(list(embedder.embed_iter(iter(TEXTS), precision="uint8"))) == 1  # a stream may use them too
    # A truncated width or other normalization is not what the ranges measured: they are not used there.
    np.testing.assert_array_equal(
        embedder.embed(TEXTS, precision="int8", dim=4), plain.embed(TEXTS, precision="int8", dim=4)
    )
    assert plain.calibration_ranges is None
