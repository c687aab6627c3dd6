"""The lean Embedder on a real onnxruntime session over the toy artifact."""

import threading

import numpy as np
import pytest

from edge_embed import Embedder
from edge_embed.errors import InputError
from edge_embed.lineage.manifest import Pooling, read_manifest, write_manifest
from edge_embed.runtime.embedder import length_sorted_batches
from tests.helpers.toy import DIM, MAX_SEQ_LENGTH, TEXTS, VOCAB, make_toy_artifact, reference_embedding


def test_embeddings_match_reference_in_input_order(toy_artifact):
    embedder = Embedder.load(toy_artifact)
    got = embedder.embed(TEXTS, batch_size=2)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), DIM)
    expected = np.stack([reference_embedding(t) for t in TEXTS])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_batching_does_not_change_results(toy_artifact):
    embedder = Embedder.load(toy_artifact)
    one_by_one = np.concatenate([embedder.embed([t]) for t in TEXTS])
    for batch_size in (1, 3, 64):
        np.testing.assert_allclose(embedder.embed(TEXTS, batch_size=batch_size), one_by_one, atol=1e-6)


def test_warm_up_runs_the_graph_on_the_shapes_to_come_and_changes_nothing(toy_artifact):
    embedder = Embedder.load(toy_artifact)
    before = embedder.embed(TEXTS)
    assert embedder.warm_up(batch_size=8, max_batch_tokens=64) == 3  # onnxruntime: short, full short batch, longest
    np.testing.assert_array_equal(embedder.embed(TEXTS), before)
    with pytest.raises(InputError, match="batch_size"):
        embedder.warm_up(batch_size=0)


def test_token_budget_bounds_every_batch_and_covers_every_text(toy_artifact):
    embedder = Embedder.load(toy_artifact)
    encodings = embedder.tokenize(TEXTS * 3)
    for batch_size, budget in ((64, 20), (2, 20), (64, 1), (64, None)):
        batches = list(length_sorted_batches(encodings, batch_size, budget))
        assert sorted(np.concatenate(batches).tolist()) == list(range(len(encodings)))
        for rows in batches:
            longest = max(len(encodings[r].ids) for r in rows)
            assert len(rows) <= batch_size
            assert budget is None or len(rows) == 1 or len(rows) * longest <= budget
        lengths = [len(encodings[r].ids) for r in np.concatenate(batches)]
        assert lengths == sorted(lengths, reverse=True)
    # The budget, not the count, limits long texts: 20 tokens hold fewer rows of the longest texts.
    budgeted = list(length_sorted_batches(encodings, 64, 20))
    assert len(budgeted) > 1 and len(budgeted[0]) < len(budgeted[-1])


def test_token_budget_does_not_change_results(toy_artifact):
    embedder = Embedder.load(toy_artifact)
    fixed = embedder.embed(TEXTS, batch_size=64, max_batch_tokens=None)
    for budget in (1, 12, 40):
        np.testing.assert_allclose(embedder.embed(TEXTS, batch_size=64, max_batch_tokens=budget), fixed, atol=1e-6)


def test_long_texts_are_tokenized_from_their_head_with_the_same_tokens(toy_artifact):
    from tests.helpers.toy import make_toy_tokenizer

    whole = make_toy_tokenizer()
    whole.no_padding()
    whole.enable_truncation(max_length=MAX_SEQ_LENGTH)
    texts = [
        " ".join(TEXTS) * 20,  # far past the 16 * 8 characters read
        "\t\n".join(["Pump", "SEAL", "grease"] * 80),
        "pump " + "x" * 5000 + " seal",  # no whitespace to cut at: read whole
        "pump" + " " * 3000 + "seal grease valve",  # the head holds too few tokens: read again in full
        "seal leak",
        "",
    ]
    embedder = Embedder.load(toy_artifact)
    got = embedder.tokenize(texts)
    assert [e.ids for e in got] == [e.ids for e in whole.encode_batch(texts)]
    assert [embedder.tokenize([t])[0].ids for t in texts] == [e.ids for e in got]  # one text: its own path
    assert len(got[0].ids) == MAX_SEQ_LENGTH and got[3].ids[-2] == VOCAB["valve"]


def test_empty_list_gives_zero_rows(toy_artifact):
    out = Embedder.load(toy_artifact).embed([])
    assert out.shape == (0, DIM) and out.dtype == np.float32


def test_single_string_is_one_text(toy_artifact):
    embedder = Embedder.load(toy_artifact)
    np.testing.assert_array_equal(embedder.embed("seal leak"), embedder.embed(["seal leak"]))


@pytest.mark.parametrize("bad", [[None], ["ok", 3], ["ok", b"bytes"]])
def test_non_string_items_are_rejected_with_their_index(toy_artifact, bad):
    with pytest.raises(InputError, match=r"texts\[\d\] is"):
        Embedder.load(toy_artifact).embed(bad)


def test_text_far_longer_than_max_seq_length_is_truncated(toy_artifact):
    long_text = " ".join(["pump"] * 5 + ["grease"] * 10_000)
    got = Embedder.load(toy_artifact).embed([long_text])
    # The tokenizer file says truncate at 4 and pad to 12; the manifest's 16 must win.
    np.testing.assert_allclose(got[0], reference_embedding(long_text, max_seq_length=MAX_SEQ_LENGTH), atol=1e-6)


def test_matryoshka_dim_truncates_and_renormalizes(toy_artifact):
    full = Embedder.load(toy_artifact).embed(TEXTS)
    short = Embedder.load(toy_artifact, dim=3).embed(TEXTS)
    assert short.shape == (len(TEXTS), 3)
    expected = full[:, :3] / np.linalg.norm(full[:, :3], axis=1, keepdims=True)
    np.testing.assert_allclose(short, expected, atol=1e-6)


@pytest.mark.parametrize("dim", [0, -1, DIM + 1])
def test_dim_out_of_range(toy_artifact, dim):
    with pytest.raises(InputError, match="dim must be between 1 and 8"):
        Embedder.load(toy_artifact, dim=dim)


def test_invalid_arguments(toy_artifact):
    embedder = Embedder.load(toy_artifact)
    with pytest.raises(InputError, match="kind must be"):
        embedder.embed(["a"], kind="passage")
    with pytest.raises(InputError, match="batch_size"):
        embedder.embed(["a"], batch_size=0)
    with pytest.raises(InputError, match="max_batch_tokens"):
        embedder.embed(["a"], max_batch_tokens=0)
    with pytest.raises(InputError, match="threads"):
        Embedder.load(toy_artifact, threads=0)


def test_unnormalized_model_returns_raw_means(tmp_path):
    folder = make_toy_artifact(tmp_path / "raw", normalize=False)
    got = Embedder.load(folder).embed(TEXTS)
    expected = np.stack([reference_embedding(t, normalize=False) for t in TEXTS])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_query_prompt_is_prepended_for_queries_only(tmp_path):
    folder = make_toy_artifact(tmp_path / "prompted", prompts={"query": "alarm "})
    embedder = Embedder.load(folder)
    np.testing.assert_allclose(embedder.embed(["pump seal"], kind="query")[0], reference_embedding("alarm pump seal"))
    np.testing.assert_allclose(embedder.embed(["pump seal"], kind="document")[0], reference_embedding("pump seal"))


def test_prompt_tokens_are_excluded_when_include_prompt_is_false(tmp_path):
    folder = make_toy_artifact(tmp_path / "excluded", prompts={"query": "alarm "}, include_prompt=False)
    got = Embedder.load(folder).embed(["pump seal"], kind="query")[0]
    # sentence-transformers masks [CLS] and the prompt's tokens: mean over "pump seal [SEP]".
    from tests.helpers.toy import VOCAB, toy_table

    table = toy_table()
    vector = (table[VOCAB["pump"]] + table[VOCAB["seal"]] + table[VOCAB["[SEP]"]]) / 3
    np.testing.assert_allclose(got, vector / np.linalg.norm(vector), atol=1e-6)


def test_cls_pooling_from_manifest(tmp_path):
    folder = make_toy_artifact(tmp_path / "cls", pooling=Pooling.CLS)
    got = Embedder.load(folder).embed(["pump", "seal leak"])
    # [CLS] is the first token of every text: each row is the normalized [CLS] row of the table.
    from tests.helpers.toy import VOCAB, toy_table

    cls = toy_table()[VOCAB["[CLS]"]]
    np.testing.assert_allclose(got, np.stack([cls, cls]) / np.linalg.norm(cls), atol=1e-6)


def test_concurrent_calls_from_threads_match_sequential(toy_artifact):
    embedder = Embedder.load(toy_artifact, threads=1)
    texts = [" ".join(TEXTS[i % len(TEXTS)].split()[: 1 + i % 5]) for i in range(200)]
    expected = embedder.embed(texts, batch_size=7)
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = embedder.embed(texts, batch_size=3 + i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8
    for got in results.values():
        np.testing.assert_allclose(got, expected, atol=1e-6)


def test_manifest_roundtrip_keeps_every_field(toy_artifact):
    manifest = read_manifest(toy_artifact)
    write_manifest(toy_artifact, manifest)
    assert read_manifest(toy_artifact) == manifest


def test_embed_tokens_gives_embed_s_vectors_for_the_same_tokenized_texts(tmp_path):
    """A caller that tokenized already (the service) gets exactly embed()'s vectors, prompt tokens left out."""
    folder = make_toy_artifact(tmp_path / "excluded", prompts={"query": "alarm "}, include_prompt=False)
    embedder = Embedder.load(folder)
    encodings = embedder.tokenize(["alarm " + t for t in TEXTS])
    np.testing.assert_array_equal(
        embedder.embed_tokens(encodings, kind="query", batch_size=2), embedder.embed(TEXTS, kind="query")
    )
    plain = embedder.embed_tokens(embedder.tokenize(TEXTS), prompt="", normalize=False, dim=4)
    np.testing.assert_array_equal(plain, embedder.embed(TEXTS, prompt="", normalize=False, dim=4))
    assert embedder.embed_tokens([]).shape == (0, DIM)
    with pytest.raises(InputError, match=r"encodings\[1\] is str"):
        embedder.embed_tokens([encodings[0], "pump"])
