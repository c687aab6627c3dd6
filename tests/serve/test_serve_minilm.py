"""The service on the real exported MiniLM through the official OpenAI client: default base64, float, and
``dimensions=128`` equal to the runtime's ``dim=128``."""

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the service needs the [serve] extra")
openai = pytest.importorskip("openai", reason="the OpenAI-compatibility tests use the official client")

from edge_embed import Embedder  # noqa: E402
from edge_embed.serve import ServeSettings, create_app  # noqa: E402
from tests.helpers.server import serving  # noqa: E402

pytestmark = pytest.mark.build

TEXTS = [
    "P-3104A pmp sounds like gravel csg",
    "Cavitation in a centrifugal pump sounds like gravel passing through the casing.",
    "PLC alarm E-4711: encoder signal lost on axis 2",
    "What are the symptoms of glaucoma?",
]


def test_openai_client_on_minilm(minilm_artifact):
    embedder = Embedder(minilm_artifact)
    with serving(create_app(embedder, ServeSettings())) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        expected = embedder.embed(TEXTS)
        for fmt in (openai.NOT_GIVEN, "float"):
            got = np.array(
                [d.embedding for d in client.embeddings.create(model="m", input=TEXTS, encoding_format=fmt).data]
            )
            assert got.shape == (4, 384) and np.min(np.sum(got * expected, axis=1)) >= 0.99999
        short = client.embeddings.create(model="m", input=TEXTS, dimensions=128)
        np.testing.assert_allclose([d.embedding for d in short.data], embedder.embed(TEXTS, dim=128), atol=1e-6)
        assert short.usage.total_tokens == embedder.token_count(TEXTS)
