"""The LangChain adapter through LangChain's own interface and a real in-memory vector store."""

import numpy as np
import pytest

pytest.importorskip("langchain_core", reason="needs langchain-core (the [langchain] extra)")

from langchain_core.documents import Document  # noqa: E402
from langchain_core.embeddings import Embeddings  # noqa: E402
from langchain_core.vectorstores import InMemoryVectorStore  # noqa: E402

from edge_embed import Embedder  # noqa: E402
from edge_embed.integrations.langchain import EdgeEmbedEmbeddings  # noqa: E402
from tests.helpers.toy import make_toy_artifact  # noqa: E402

PASSAGES = ["seal leak on the pump", "grease the bearing", "plc alarm of the motor valve", "the valve"]


@pytest.fixture
def prompted(tmp_path):
    return make_toy_artifact(tmp_path / "prompted", prompts={"query": "alarm "})


def test_vectors_are_the_runtime_s(prompted):
    embeddings = EdgeEmbedEmbeddings(prompted)
    assert isinstance(embeddings, Embeddings)
    docs = embeddings.embed_documents(PASSAGES)
    assert isinstance(docs, list) and isinstance(docs[0], list) and isinstance(docs[0][0], float)
    embedder = Embedder(prompted)
    np.testing.assert_allclose(docs, embedder.embed(PASSAGES, kind="document"), atol=1e-7)
    np.testing.assert_allclose(embeddings.embed_query("pump"), embedder.embed(["pump"], kind="query")[0], atol=1e-7)
    assert len(EdgeEmbedEmbeddings(embedder, dim=3).embed_query("pump")) == 3


async def _async_query(embeddings: EdgeEmbedEmbeddings) -> list[float]:
    return await embeddings.aembed_query("seal")


def test_async_interface(prompted):
    import asyncio

    embeddings = EdgeEmbedEmbeddings(prompted)
    np.testing.assert_allclose(asyncio.run(_async_query(embeddings)), embeddings.embed_query("seal"), atol=1e-7)


def test_in_memory_vector_store_round_trip(tmp_path):
    store = InMemoryVectorStore(EdgeEmbedEmbeddings(make_toy_artifact(tmp_path / "toy")))
    ids = store.add_documents([Document(page_content=p, metadata={"row": i}) for i, p in enumerate(PASSAGES)])
    assert len(ids) == len(PASSAGES)
    hits = store.similarity_search_with_score("grease bearing", k=2)
    assert hits[0][0].page_content == "grease the bearing" and hits[0][0].metadata == {"row": 1}
    assert hits[0][1] > hits[1][1]
    best = store.similarity_search("motor valve alarm", k=1)[0]
    assert best.page_content == "plc alarm of the motor valve"
