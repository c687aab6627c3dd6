"""The HTTP service over real HTTP on loopback: the official OpenAI client, TEI-style requests, errors, metrics,
micro-batching, admission control and a graceful SIGTERM of the real command."""

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the service needs the [serve] extra")
pytest.importorskip("uvicorn", reason="the service needs the [serve] extra")
pytest.importorskip("prometheus_client", reason="the service needs the [serve] extra")
httpx = pytest.importorskip("httpx")
openai = pytest.importorskip("openai", reason="the OpenAI-compatibility tests use the official client")

from edge_embed import Embedder  # noqa: E402
from edge_embed.errors import InputError  # noqa: E402
from edge_embed.lineage.manifest import read_manifest, write_manifest  # noqa: E402
from edge_embed.serve import ServeSettings, create_app  # noqa: E402
from tests.conftest import ROOT  # noqa: E402
from tests.helpers.server import serving  # noqa: E402
from tests.helpers.toy import TEXTS, make_toy_artifact  # noqa: E402

LONG = " ".join(["pump"] * 60)  # the toy model reads 16 tokens


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    return make_toy_artifact(tmp_path_factory.mktemp("serve") / "toy", prompts={"query": "alarm "})


@pytest.fixture(scope="module")
def embedder(artifact):
    return Embedder(artifact)


@pytest.fixture(scope="module")
def url(embedder):
    with serving(create_app(embedder, ServeSettings(max_wait_ms=2))) as base:
        yield base


def test_openai_client_gets_the_runtime_s_vectors_in_base64_and_float(url, embedder):
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    expected = embedder.embed(TEXTS)
    for fmt in (openai.NOT_GIVEN, "float"):  # the SDK sends base64 by default and decodes it
        response = client.embeddings.create(model="toy", input=TEXTS, encoding_format=fmt)
        got = np.array([d.embedding for d in response.data], dtype=np.float32)
        assert [d.index for d in response.data] == list(range(len(TEXTS)))
        assert np.min(np.sum(got * expected, axis=1)) >= 0.99999
        assert response.usage.prompt_tokens == embedder.token_count(TEXTS) == response.usage.total_tokens
    single = client.embeddings.create(model="toy", input="pump seal leak")
    np.testing.assert_allclose(single.data[0].embedding, embedder.embed("pump seal leak")[0], atol=1e-6)


def test_openai_dimensions_equal_the_runtime_s_dim(url, embedder):
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    response = client.embeddings.create(model="toy", input=TEXTS[:3], dimensions=4)
    got = np.array([d.embedding for d in response.data], dtype=np.float32)
    np.testing.assert_allclose(got, embedder.embed(TEXTS[:3], dim=4), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)  # renormalized after truncation
    query = client.embeddings.create(model="toy", input=["pump"], extra_body={"prompt_name": "query"})
    np.testing.assert_allclose(query.data[0].embedding, embedder.embed(["pump"], kind="query")[0], atol=1e-6)


def test_openai_errors_come_back_as_the_sdk_s_exceptions(url):
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.UnprocessableEntityError, match="'dimensions' must be an integer from 1 to 8"):
        client.embeddings.create(model="toy", input=["pump"], dimensions=9)
    with pytest.raises(openai.UnprocessableEntityError, match="token-id input is not supported"):
        client.embeddings.create(model="toy", input=[[1, 2, 3]])


def test_tei_embed_tokenize_and_similarity(url, embedder):
    with httpx.Client(base_url=url) as http:
        got = http.post("/embed", json={"inputs": TEXTS, "truncate": True}).json()
        np.testing.assert_allclose(got, embedder.embed(TEXTS), atol=1e-6)
        raw = http.post("/embed", json={"inputs": "pump seal", "normalize": False}).json()
        np.testing.assert_allclose(raw, embedder.embed(["pump seal"], normalize=False), atol=1e-6)
        query = http.post("/embed", json={"inputs": ["pump"], "prompt_name": "query"}).json()
        np.testing.assert_allclose(query, embedder.embed(["pump"], kind="query"), atol=1e-6)

        too_long = http.post("/embed", json={"inputs": ["seal", LONG]})  # TEI's default truncate: false
        assert too_long.status_code == 413 and too_long.json()["error_type"] == "Validation"
        assert "inputs[1] is longer than the model's 16 tokens" in too_long.json()["error"]

        tokens = http.post("/tokenize", json={"inputs": "pump seal"}).json()[0]
        assert [t["text"] for t in tokens] == ["[CLS]", "pump", "seal", "[SEP]"]
        assert [t["special"] for t in tokens] == [True, False, False, True] and tokens[1]["start"] == 0
        bare = http.post("/tokenize", json={"inputs": ["pump seal"], "add_special_tokens": False}).json()[0]
        assert [t["id"] for t in bare] == embedder.tokenize(["pump seal"])[0].ids[1:-1]

        scores = http.post(
            "/similarity", json={"inputs": {"source_sentence": "pump seal", "sentences": ["pump seal", "the valve"]}}
        ).json()
        vectors = embedder.embed(["pump seal", "pump seal", "the valve"])
        np.testing.assert_allclose(scores, vectors[1:] @ vectors[0], atol=1e-6)
        assert scores[0] == pytest.approx(1.0, abs=1e-6)


def test_health_info_models_and_metrics(url, embedder, artifact):
    with httpx.Client(base_url=url) as http:
        assert http.get("/health").json() == {"status": "ok"}
        info = http.get("/info").json()
        assert info["model_id"] == artifact.name and info["dim"] == 8 and info["max_input_length"] == 16
        assert info["prompts"] == {"query": "alarm "} and len(info["model_sha256"]) == 64
        assert http.get("/v1/models").json()["data"][0]["id"] == artifact.name
        http.post("/embed", json={"inputs": ["pump"]})
        metrics = http.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        text = metrics.text
    embed_ok = next(line for line in text.splitlines() if line.startswith('edge_embed_requests_total{route="/embed"'))
    assert 'status="200"' in embed_ok and float(embed_ok.split()[-1]) >= 1
    # Every route's series exists from the start (at zero), not only once a request created it.
    assert 'edge_embed_requests_total{route="/feedback",status="200"} 0.0' in text
    assert 'edge_embed_request_duration_seconds_count{route="/feedback"} 0.0' in text
    assert "edge_embed_batch_requests_bucket" in text and "edge_embed_batch_tokens_sum" in text
    assert "edge_embed_queue_depth 0.0" in text and "edge_embed_request_duration_seconds_bucket" in text


BAD_REQUESTS = [
    ("POST", "/v1/embeddings", b"{not json", 400, "not valid JSON"),
    ("POST", "/v1/embeddings", b"", 400, "body is empty"),
    ("POST", "/v1/embeddings", b"[1, 2]", 422, "must be a JSON object"),
    ("POST", "/v1/embeddings", b'{"input": []}', 422, "non-empty list"),
    ("POST", "/v1/embeddings", b'{"input": 5}', 422, "must be a string or a non-empty list"),
    ("POST", "/v1/embeddings", b'{"input": ["a", null]}', 422, "'input[1]' must be a string"),
    ("POST", "/v1/embeddings", b'{"input": "a", "encoding_format": "int8"}', 422, "'float' or 'base64'"),
    ("POST", "/v1/embeddings", b'{"input": "a", "dimensions": true}', 422, "integer from 1 to 8"),
    ("POST", "/v1/embeddings", b'{"input": "\\ud800"}', 400, "not valid JSON"),  # a lone surrogate
    ("POST", "/v1/embeddings", b'{"input": "a", "prompt_name": "summary"}', 422, "not one of this model's prompts"),
    ("POST", "/v1/embeddings", b"[" * 100_000 + b"]" * 100_000, 400, "not valid JSON"),
    ("POST", "/embed", b'{"inputs": "a", "normalize": "yes"}', 422, "'normalize' must be true or false"),
    ("POST", "/embed", b'{"inputs": "a", "prompt_name": ["query"]}', 422, "not one of this model's prompts"),
    ("POST", "/similarity", b'{"inputs": {"sentences": ["a"]}}', 422, "source_sentence"),
    ("GET", "/nowhere", b"", 404, "no route GET /nowhere"),
    ("GET", "/v1/embeddings", b"", 405, "no route GET /v1/embeddings"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "message"), BAD_REQUESTS)
def test_bad_requests_get_a_json_4xx_and_the_service_keeps_serving(url, method, path, body, status, message):
    with httpx.Client(base_url=url) as http:
        response = http.request(method, path, content=body, headers={"content-type": "application/json"})
        assert response.status_code == status
        error = response.json()["error"]
        text = error["message"] if isinstance(error, dict) else error  # OpenAI's shape under /v1, TEI's elsewhere
        assert message in text
        if path.startswith("/v1"):
            assert error["type"] == "invalid_request_error"
        assert http.post("/embed", json={"inputs": "pump"}).status_code == 200


def test_limits_and_api_key(embedder):
    settings = ServeSettings(max_inputs=4, max_chars=50, max_body_bytes=2000, api_key="s3cret", warmup=False)
    with serving(create_app(embedder, settings)) as base, httpx.Client(base_url=base) as http:
        assert http.get("/health").status_code == 200  # open for liveness probes
        denied = http.post("/v1/embeddings", json={"input": "pump"})
        assert denied.status_code == 401 and denied.json()["error"]["type"] == "authentication_error"
        assert http.post("/embed", json={"inputs": "a"}, headers={"Authorization": "Bearer wrong"}).status_code == 401
        auth = {"Authorization": "Bearer s3cret"}
        assert http.post("/embed", json={"inputs": ["pump"]}, headers=auth).status_code == 200
        many = http.post("/embed", json={"inputs": ["a"] * 5}, headers=auth)
        assert many.status_code == 413 and "at most 4" in many.json()["error"]
        wide = http.post("/embed", json={"inputs": ["a" * 51]}, headers=auth)
        assert wide.status_code == 413 and "at most 50" in wide.json()["error"]
        big = http.post("/embed", content=b" " * 3000, headers={**auth, "content-type": "application/json"})
        assert big.status_code == 413 and "at most 2000" in big.json()["error"]
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="s3cret", max_retries=0)
        assert len(client.embeddings.create(model="toy", input="pump").data[0].embedding) == 8
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{base}/v1", api_key="nope", max_retries=0).embeddings.create(model="t", input="a")


def _batch_shapes(metrics_text: str) -> tuple[float, float]:
    """(number of model batches, requests they held) from the Prometheus text."""
    values = {}
    for line in metrics_text.splitlines():
        if line.startswith(("edge_embed_batch_requests_count", "edge_embed_batch_requests_sum")):
            name, value = line.split()
            values[name] = float(value)
    return values["edge_embed_batch_requests_count"], values["edge_embed_batch_requests_sum"]


async def _concurrent(base: str, bodies: list[dict]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        return await asyncio.gather(*(http.post("/embed", json=body) for body in bodies))


def test_concurrent_requests_share_batches_and_get_their_own_vectors(embedder):
    bodies = [{"inputs": [TEXTS[i % len(TEXTS)]], "truncate": True} for i in range(24)]
    with serving(create_app(embedder, ServeSettings(max_wait_ms=100, warmup=False))) as base:
        responses = asyncio.run(_concurrent(base, bodies))
        batches, requests = _batch_shapes(httpx.get(f"{base}/metrics").text)
    assert all(r.status_code == 200 for r in responses)
    for body, response in zip(bodies, responses, strict=True):
        np.testing.assert_allclose(response.json(), embedder.embed(body["inputs"]), atol=1e-6)
    assert requests == 24 and batches < 24  # some requests shared a batch

    with serving(create_app(embedder, ServeSettings(max_batch_requests=1, warmup=False))) as base:
        assert all(r.status_code == 200 for r in asyncio.run(_concurrent(base, bodies)))
        batches, requests = _batch_shapes(httpx.get(f"{base}/metrics").text)
    assert batches == requests == 24  # batching off: one request per batch


def test_an_input_over_the_token_budget_runs_alone_and_finishes(embedder):
    bodies = [{"inputs": [LONG], "truncate": True}, {"inputs": ["pump"]}, {"inputs": [LONG, LONG], "truncate": True}]
    with serving(create_app(embedder, ServeSettings(max_batch_tokens=8, max_wait_ms=50, warmup=False))) as base:
        responses = asyncio.run(_concurrent(base, bodies))
        batches, _ = _batch_shapes(httpx.get(f"{base}/metrics").text)
    assert [r.status_code for r in responses] == [200, 200, 200] and batches == 3
    np.testing.assert_allclose(responses[2].json(), embedder.embed([LONG, LONG]), atol=1e-6)


def test_a_full_queue_answers_429(embedder):
    settings = ServeSettings(max_concurrent_requests=1, max_wait_ms=500, warmup=False)
    with serving(create_app(embedder, settings)) as base:
        # The first request waits in the batcher for company; the second finds the queue full.
        responses = asyncio.run(_concurrent(base, [{"inputs": ["pump"]}, {"inputs": ["seal"]}]))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 429]
    refused = next(r for r in responses if r.status_code == 429).json()
    assert refused["error_type"] == "Overloaded" and "retry later" in refused["error"]


def test_an_artifact_whose_vectors_move_with_batch_mates_is_served_with_a_warning(artifact, tmp_path):
    folder = shutil.copytree(artifact, tmp_path / "per-tensor")
    manifest = read_manifest(folder)
    write_manifest(folder, manifest.replace(graph=replace(manifest.graph, batch_invariant=False)))
    with pytest.warns(UserWarning, match="serve it with --max-batch-requests 1"):
        app = create_app(Embedder(folder), ServeSettings(max_wait_ms=2))
    with serving(app) as base:
        assert httpx.get(f"{base}/info").json()["batch_invariant"] is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one request per batch: nothing to warn about
        create_app(Embedder(folder), ServeSettings(max_batch_requests=1))


def test_settings_are_checked():
    with pytest.raises(InputError, match="max-batch-tokens must be a positive integer"):
        ServeSettings(max_batch_tokens=0)
    with pytest.raises(InputError, match="max-wait-ms must be between 0 and 1000"):
        ServeSettings(max_wait_ms=-1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_command_serves_and_finishes_in_flight_requests_on_sigterm(artifact):
    port = _free_port()
    command = [sys.executable, "-m", "edge_embed.cli.main", "serve", str(artifact), "--port", str(port)]
    env = {**os.environ, "EDGE_EMBED_API_KEY": "k3y"}
    server = subprocess.Popen([*command, "--max-wait-ms", "800"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    base, auth = f"http://127.0.0.1:{port}", {"Authorization": "Bearer k3y"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "the service did not come up"
            time.sleep(0.1)
        result = {}
        in_flight = threading.Thread(
            target=lambda: result.update(
                r=httpx.post(f"{base}/embed", json={"inputs": "pump"}, headers=auth, timeout=30)
            )
        )
        in_flight.start()
        time.sleep(0.3)  # the request now waits in the batcher (max-wait-ms 800)
        server.send_signal(signal.SIGTERM)
        in_flight.join(30)
        assert result["r"].status_code == 200 and len(result["r"].json()[0]) == 8
        # uvicorn re-raises the signal once it has shut down gracefully (what systemd expects after SIGTERM).
        assert server.wait(30) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
    assert f"serving {artifact} on http://127.0.0.1:{port}" in server.stderr.read()


def test_the_command_refuses_a_bad_port_with_one_line(artifact, capsys):
    from edge_embed.cli.main import main

    assert main(["serve", str(artifact), "--port", "70000"]) == 2
    assert "--port must be from 1 to 65535" in capsys.readouterr().err


def _report_over(tmp_path, fast_for_documents, fast_for_short_texts):
    """A bench report folder (real records, report.json as ``bench`` writes it) over two real artifacts."""
    from dataclasses import replace

    from edge_embed.bench.report import write_report
    from tests.helpers.records import bench_report, bench_row, steady

    metrics = dict.fromkeys(("ndcg@10", "mrr@10", "recall@1", "recall@10", "recall@100", "map@100"), 0.9)
    rows = [
        replace(bench_row("docs", 4.0, 0.9), path=str(fast_for_documents), throughput=steady(70.0), metrics=metrics),
        replace(bench_row("short", 2.0, 0.9), path=str(fast_for_short_texts), metrics=metrics),
    ]
    rows[1] = replace(rows[1], throughput=steady(40.0), short_throughput=steady(900.0))
    machine = {"cpu": "test cpu", "flags": [], "threads": 2, "cores_usable": 2, "versions": {}}
    settings = {"rounds": 3, "latency_queries": 10, "batch_size": 32}
    return write_report(replace(bench_report(rows), machine=machine, settings=settings), tmp_path / "report")


def test_a_bench_report_serves_its_pick_for_the_workload(artifact, tmp_path, capsys):
    from edge_embed.cli.handlers import _served_artifact

    other = make_toy_artifact(tmp_path / "other")
    report = _report_over(tmp_path, fast_for_documents=other, fast_for_short_texts=artifact)
    assert _served_artifact(report, None) == artifact  # a service micro-batches short texts by default
    assert _served_artifact(report, "documents") == other
    assert _served_artifact(report, "batch-1-queries") == artifact  # half the p95: the faster p50
    assert "picks short texts: short (900.0 queries/s)" in capsys.readouterr().err
    assert _served_artifact(artifact, None) == artifact  # an artifact folder is served as it is

    port = _free_port()
    command = [sys.executable, "-m", "edge_embed.cli.main", "serve", str(report), "--port", str(port)]
    server = subprocess.Popen([*command, "--workload", "documents"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                info = httpx.get(f"http://127.0.0.1:{port}/info", timeout=1)
                if info.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "the service did not come up"
            time.sleep(0.1)
        assert info.json()["model_id"] == "other"
    finally:
        server.terminate()
        server.wait(30)
    assert f"serving {other} on http://127.0.0.1:{port}" in server.stderr.read()


def test_serving_a_report_is_refused_in_one_line_when_it_cannot_pick(artifact, tmp_path, capsys):
    from edge_embed.cli.main import main

    report = _report_over(tmp_path, fast_for_documents=tmp_path / "gone", fast_for_short_texts=artifact)
    assert main(["serve", str(report), "--workload", "documents", "--port", "9"]) == 2
    assert f"{tmp_path / 'gone'} is not a folder here; serve the artifact folder itself" in capsys.readouterr().err
    assert main(["serve", str(artifact), "--workload", "documents", "--port", "9"]) == 2
    assert "--workload picks from a bench report folder" in capsys.readouterr().err
