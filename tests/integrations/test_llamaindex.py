"""The LlamaIndex adapter through LlamaIndex's own interface and a real in-memory vector index."""

import asyncio

import numpy as np
import pytest

pytest.importorskip("llama_index.core", reason="needs llama-index-core (the [llamaindex] extra)")

from llama_index.core import VectorStoreIndex  # noqa: E402
from llama_index.core.base.embeddings.base import BaseEmbedding  # noqa: E402
from llama_index.core.schema import TextNode  # noqa: E402

from edge_embed import Embedder  # noqa: E402
from edge_embed.integrations.llamaindex import EdgeEmbedEmbedding  # noqa: E402
from tests.helpers.toy import make_toy_artifact  # noqa: E402

PASSAGES = ["seal leak on the pump", "grease the bearing", "plc alarm of the motor valve", "the valve"]


@pytest.fixture
def prompted(tmp_path):
    return make_toy_artifact(tmp_path / "prompted", prompts={"query": "alarm "})


def test_vectors_are_the_runtime_s(prompted):
    model = EdgeEmbedEmbedding(prompted, embed_batch_size=3)
    assert isinstance(model, BaseEmbedding)
    embedder = Embedder(prompted)
    np.testing.assert_allclose(
        model.get_text_embedding_batch(PASSAGES), embedder.embed(PASSAGES, kind="document"), atol=1e-7
    )
    np.testing.assert_allclose(model.get_query_embedding("pump"), embedder.embed(["pump"], kind="query")[0], atol=1e-7)
    np.testing.assert_allclose(asyncio.run(model.aget_query_embedding("pump")), model.get_query_embedding("pump"))
    assert len(EdgeEmbedEmbedding(embedder, dim=3).get_text_embedding("pump")) == 3


def test_vector_index_round_trip(prompted):
    model = EdgeEmbedEmbedding(prompted)
    nodes = [TextNode(text=p, id_=f"m{i}") for i, p in enumerate(PASSAGES)]
    index = VectorStoreIndex(nodes, embed_model=model)  # nodes given: no text splitter, no tokenizer download
    hits = index.as_retriever(similarity_top_k=2).retrieve("grease bearing")
    assert [h.node.node_id for h in hits][0] == "m1"
    query = np.asarray(model.get_query_embedding("grease bearing"))
    assert hits[0].score == pytest.approx(float(query @ np.asarray(model.get_text_embedding("grease the bearing"))))
