"""The Chroma adapter through Chroma's own collections: in memory, and a persistent one reopened from its config."""

import numpy as np
import pytest

chromadb = pytest.importorskip("chromadb", reason="needs chromadb (the [chroma] extra)")

from edge_embed import Embedder  # noqa: E402
from edge_embed.integrations.chroma import EdgeEmbedFunction  # noqa: E402
from tests.helpers.toy import make_toy_artifact  # noqa: E402

PASSAGES = ["seal leak on the pump", "grease the bearing", "plc alarm of the motor valve", "the valve"]


@pytest.fixture
def prompted(tmp_path):
    return make_toy_artifact(tmp_path / "prompted", prompts={"query": "alarm "})


def test_vectors_are_the_runtime_s_with_the_right_prompt(prompted):
    function = EdgeEmbedFunction(prompted)
    embedder = Embedder(prompted)
    np.testing.assert_allclose(np.stack(function(PASSAGES)), embedder.embed(PASSAGES, kind="document"), atol=1e-7)
    np.testing.assert_allclose(np.stack(function.embed_query(["pump"])), embedder.embed(["pump"], kind="query"))
    assert not np.allclose(function.embed_query(["pump"])[0], function(["pump"])[0])  # the query prompt is used
    assert len(EdgeEmbedFunction(embedder, dim=3)(["pump"])[0]) == 3


def test_collection_round_trip_queries_with_the_query_prompt(prompted):
    function = EdgeEmbedFunction(prompted)
    collection = chromadb.EphemeralClient().create_collection("manuals", embedding_function=function)
    collection.add(ids=[f"m{i}" for i in range(len(PASSAGES))], documents=PASSAGES)
    found = collection.query(query_texts=["grease bearing"], n_results=2, include=["documents", "distances"])
    assert found["documents"][0][0] == "grease the bearing"
    # Chroma's cosine distance is the one of the query-prompted vector, not of the passage-style one.
    query = function.embed_query(["grease bearing"])[0]
    expected = 1 - float(np.dot(query, function(["grease the bearing"])[0]))
    assert found["distances"][0][0] == pytest.approx(expected, abs=1e-4)


def test_a_persistent_collection_reopens_with_the_same_artifact(prompted, tmp_path):
    store = tmp_path / "chroma"
    first = chromadb.PersistentClient(path=str(store))
    first.create_collection("manuals", embedding_function=EdgeEmbedFunction(prompted, dim=4)).add(
        ids=["a", "b"], documents=PASSAGES[:2]
    )
    del first
    reopened = chromadb.PersistentClient(path=str(store)).get_collection("manuals")  # no function given
    found = reopened.query(query_texts=["seal leak pump"], n_results=1)
    assert found["ids"] == [["a"]]
    config = EdgeEmbedFunction(prompted, dim=4).get_config()
    assert EdgeEmbedFunction.build_from_config(config).get_config() == config and config["dim"] == 4
