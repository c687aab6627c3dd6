"""The service under load on loopback: requests/s and latency percentiles at 1, 8 and 32 concurrent clients, short
queries and long passages, for edge-embed with micro-batching, edge-embed one request per batch, and Infinity (the
peer server a user would otherwise install) on the same int8 graph. Then, on each edge-embed engine (onnxruntime,
and OpenVINO with --openvino): the first request after start against the next 100, a 30 s soak at 32 clients and
10,000 malformed requests (each must get its 4xx and the service keep its memory); last, the first request again
over several fresh starts of each engine alone.

All servers run at once (idle ones sleep) and take turns per cell in a rotated order each round; the load comes from
a small keep-alive HTTP/1.1 client on asyncio in this process (cheap next to the servers). Every loop is bounded in
requests and seconds. Each server's RSS is sampled from /proc through the run.

    python benchmarks/serve_load.py [--seconds 6] [--rounds 3] [--infinity /path/to/venv/bin/infinity_emb]

Infinity is installed in its own venv (it pins its own dependency versions), with the CPU torch first:
    python -m venv /tmp/infvenv && /tmp/infvenv/bin/pip install torch==2.13.0 'infinity-emb[server,optimum]'
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import write_result  # noqa: E402
from peers import MAX_SEQ_LENGTH, prepare  # noqa: E402

from edge_embed.data.beir import load_beir  # noqa: E402
from edge_embed.tables import format_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "medquad"
KEY = "bench-key"


@dataclass
class Server:
    name: str
    command: list[str]
    route: str  # the OpenAI-style embeddings route
    model: str
    port: int = 0
    proc: subprocess.Popen | None = None
    rss_mb: list[float] = field(default_factory=list)

    def start(self, log: Path) -> None:
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "INFINITY_ANONYMOUS_USAGE_STATS": "0",
        }
        handle = open(log, "w")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(self.command, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=ROOT)

    def rss(self) -> float | None:
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except (OSError, AttributeError):
            return None
        return int(status.split("VmRSS:")[1].split()[0]) / 1024

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def openvino_artifact(work: Path, data: Path) -> Path:
    """edge-embed's OpenVINO int8 artifact of the same fp32 export (made once; peers.py makes the same one)."""
    artifact = work / "edge-embed-ov-int8"
    if not artifact.is_dir():
        cli = [sys.executable, "-m", "edge_embed.cli.main", "quantize", str(work / "edge-embed-fp32")]
        options = ["--method", "openvino-int8", "--calibration", str(data), "--calibration-split", "train"]
        subprocess.run([*cli, "-o", str(artifact), *options, "--calibration-size", "300"], check=True)
    return artifact


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Connection:
    """One keep-alive HTTP/1.1 connection; returns (status, body) per request."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        lines = [
            f"{method} {path} HTTP/1.1",
            "Host: 127.0.0.1",
            f"Content-Length: {len(body)}",
            "Content-Type: application/json",
            *(f"{k}: {v}" for k, v in (headers or {}).items()),
        ]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length, close = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            elif name.lower() == b"connection" and value.strip().lower() == b"close":
                close = True
        payload = await self.reader.readexactly(length)
        if close:
            self.close()
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def embeddings_body(server: Server, text: str) -> bytes:
    return json.dumps({"model": server.model, "input": [text], "encoding_format": "float"}).encode()


async def load(server: Server, texts: list[str], clients: int, seconds: float, max_requests: int) -> dict:
    """``clients`` concurrent clients sending one text per request until the time or request budget runs out."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    counter = iter(range(max_requests))
    auth = {"Authorization": f"Bearer {KEY}"}

    async def client(offset: int) -> None:
        nonlocal errors
        connection = Connection(server.port)
        try:
            for i in counter:
                if time.perf_counter() > deadline:
                    break
                start = time.perf_counter()
                try:
                    status, _ = await connection.request(
                        "POST", server.route, embeddings_body(server, texts[(i + offset) % len(texts)]), auth
                    )
                except (OSError, asyncio.IncompleteReadError):
                    status = 0
                    connection.close()
                latencies.append((time.perf_counter() - start) * 1000)
                errors += status != 200
        finally:
            connection.close()

    start = time.perf_counter()
    await asyncio.gather(*(client(c * 7919) for c in range(clients)))
    elapsed = time.perf_counter() - start
    ms = np.asarray(latencies)
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "p99": float(np.percentile(ms, 99)),
    }


def sample_rss(servers: list[Server], stop: threading.Event) -> None:
    while not stop.wait(0.25):
        for server in servers:
            value = server.rss()
            if value is not None:
                server.rss_mb.append(value)


def wait_healthy(server: Server, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc is not None and server.proc.poll() is not None:
            raise SystemExit(f"{server.name} exited with {server.proc.returncode}; see its log")
        try:
            status, _ = asyncio.run(Connection(server.port).request("GET", "/health"))
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"{server.name} did not become healthy in {timeout:.0f} s")


def first_request(server: Server, text: str) -> dict:
    """The first embedding request after start against the median of the next 100, on one connection opened
    (with a /health call) before the first is timed, so the first does not also pay the TCP handshake."""

    async def run() -> list[float]:
        connection, times = Connection(server.port), []
        await connection.request("GET", "/health")
        for _ in range(101):
            start = time.perf_counter()
            await connection.request(
                "POST", server.route, embeddings_body(server, text), {"Authorization": f"Bearer {KEY}"}
            )
            times.append((time.perf_counter() - start) * 1000)
        connection.close()
        return times

    times = asyncio.run(run())
    median = statistics.median(times[1:])
    return {"first_ms": times[0], "median_next_100_ms": median, "ratio": times[0] / median}


def first_after_starts(server: Server, text: str, args: argparse.Namespace) -> dict:
    """:func:`first_request` over ``args.starts`` fresh starts of ``server`` alone on the machine (one start is
    one noisy sample); the median ratio is the reading."""
    runs = []
    for i in range(args.starts):
        server.port = free_port()
        server.command[server.command.index("--port") + 1] = str(server.port)
        server.start(args.work / f"serve_load-start-{i}.log")
        try:
            wait_healthy(server)
            runs.append(first_request(server, text))
        finally:
            server.stop()
    ratios = [run["ratio"] for run in runs]
    return {
        "first_ms": statistics.median(run["first_ms"] for run in runs),
        "median_next_100_ms": statistics.median(run["median_next_100_ms"] for run in runs),
        "ratio": statistics.median(ratios),
        "ratios": ratios,
    }


MALFORMED = [
    ("POST", "/v1/embeddings", b"{not json", {}, 400),
    ("POST", "/v1/embeddings", b"", {}, 400),
    ("POST", "/v1/embeddings", b'{"input": []}', {}, 422),
    ("POST", "/v1/embeddings", b'{"input": [1, 2]}', {}, 422),
    ("POST", "/v1/embeddings", b'{"input": "a", "dimensions": 9999}', {}, 422),
    ("POST", "/v1/embeddings", b'{"input": "a", "encoding_format": "png"}', {}, 422),
    ("POST", "/v1/embeddings", b'{"input": "' + b"x" * 70_000 + b'"}', {}, 413),
    ("POST", "/v1/embeddings", b'{"input": ' + json.dumps(["a"] * 2049).encode() + b"}", {}, 413),
    ("POST", "/embed", b'{"inputs": "a", "normalize": 3}', {}, 422),
    ("GET", "/nowhere", b"", {}, 404),
    ("POST", "/v1/embeddings", b'{"input": "a"}', {"Authorization": "Bearer wrong"}, 401),
    ("POST", "/embed", b'{"inputs": "' + b"word " * 10_000 + b'"}', {}, 413),  # far past the model's length
]


def malformed(server: Server, count: int) -> dict:
    """``count`` malformed requests round-robin; every answer must be its 4xx with a JSON body."""

    async def run() -> dict:
        connection, wrong, before = Connection(server.port), 0, server.rss()
        for i in range(count):
            method, path, body, headers, expected = MALFORMED[i % len(MALFORMED)]
            status, payload = await connection.request(
                method, path, body, {"Authorization": f"Bearer {KEY}", **headers}
            )
            try:
                json.loads(payload)
            except ValueError:
                status = -status
            wrong += status != expected
        ok, _ = await connection.request(
            "POST", server.route, embeddings_body(server, "pump"), {"Authorization": f"Bearer {KEY}"}
        )
        connection.close()
        return {
            "requests": count,
            "wrong_answers": wrong,
            "still_serving": ok == 200,
            "rss_before_mb": before,
            "rss_after_mb": server.rss(),
        }

    return asyncio.run(run())


def infinity_folder(work: Path, artifact: Path) -> Path:
    """A model folder Infinity's optimum engine loads: the base model's config and tokenizer (pinned to the same
    256 tokens) and edge-embed's int8 graph under the name Infinity gives a graph it has already optimized
    (``onnx/*_optimized.onnx``, with its config beside it), so it runs that file as it is. Infinity 0.0.78 with
    optimum 2.x cannot load a local ONNX file by any other path (it passes an absolute file name optimum rejects).
    """
    folder = work / "infinity-model"
    if not folder.is_dir():
        shutil.copytree(work / "st-onnx", folder, ignore=shutil.ignore_patterns("onnx", "*.safetensors"))
        (folder / "onnx").mkdir()
        shutil.copy(artifact / "model.onnx", folder / "onnx" / "model_quantized_optimized.onnx")
        for name in [n for n in ("model.onnx_data",) if (artifact / n).is_file()]:
            shutil.copy(artifact / name, folder / "onnx" / name)
        shutil.copy(folder / "config.json", folder / "onnx" / "config.json")
        config = json.loads((folder / "tokenizer_config.json").read_text())
        config["model_max_length"] = MAX_SEQ_LENGTH
        (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder


def same_vectors(servers: list[Server], artifact: Path, text: str) -> dict[str, float]:
    """Cosine of each server's vector for ``text`` to the runtime's: the servers must compute the same thing."""
    from edge_embed import Embedder

    expected = Embedder(artifact).embed([text])[0]
    out = {}
    for server in servers:
        status, body = asyncio.run(
            Connection(server.port).request(
                "POST", server.route, embeddings_body(server, text), {"Authorization": f"Bearer {KEY}"}
            )
        )
        vector = np.asarray(json.loads(body)["data"][0]["embedding"], dtype=np.float32)
        out[server.name] = float(vector @ expected / np.linalg.norm(vector) / np.linalg.norm(expected))
    return out


def make_servers(args: argparse.Namespace, artifact: Path) -> list[Server]:
    """edge-embed with and without micro-batching (on both engines with --openvino), then Infinity if installed."""
    cli = [sys.executable, "-m", "edge_embed.cli.main", "serve", str(artifact), "--api-key", KEY]
    if args.threads:
        cli += ["--threads", str(args.threads)]
    servers = [
        Server("edge-embed", [*cli], "/v1/embeddings", "minilm"),
        Server("edge-embed batch-1", [*cli, "--max-batch-requests", "1"], "/v1/embeddings", "minilm"),
    ]
    if args.openvino:
        ov_cli = [*cli[:4], str(openvino_artifact(args.work, args.data)), *cli[5:]]
        servers += [
            Server("edge-embed openvino", [*ov_cli], "/v1/embeddings", "minilm"),
            Server("edge-embed openvino batch-1", [*ov_cli, "--max-batch-requests", "1"], "/v1/embeddings", "minilm"),
        ]
    if args.infinity.is_file():
        model = infinity_folder(args.work, artifact)
        servers.append(
            Server(
                "infinity",
                [
                    str(args.infinity),
                    "v2",
                    "--model-id",
                    str(model),
                    "--engine",
                    "optimum",
                    "--device",
                    "cpu",
                    "--batch-size",
                    "32",
                    "--served-model-name",
                    "minilm",
                    "--pooling-method",
                    "mean",
                    "--api-key",
                    KEY,
                ],
                "/embeddings",
                "minilm",
            )
        )
    else:
        print(f"infinity not found at {args.infinity}: peer rows left out", file=sys.stderr)
    return servers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seconds", type=float, default=6.0, help="per cell")
    parser.add_argument("--max-requests", type=int, default=50_000, help="per cell")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--soak", type=float, default=30.0, help="seconds of the 32-client soak on edge-embed")
    parser.add_argument("--malformed", type=int, default=10_000)
    parser.add_argument(
        "--starts", type=int, default=5, help="fresh starts of edge-embed alone for the first-request check"
    )
    parser.add_argument("--infinity", type=Path, default=Path("/tmp/infvenv/bin/infinity_emb"))
    parser.add_argument("--texts", default="short,long", help="workloads to run (short, long)")
    parser.add_argument("--clients", default="1,8,32", help="concurrency levels")
    parser.add_argument("--threads", type=int, help="onnxruntime threads of the edge-embed servers (default: all)")
    parser.add_argument(
        "--openvino",
        action="store_true",
        help="also serve edge-embed's OpenVINO int8 artifact (quantize --method openvino-int8 on 300 medquad "
        "passages), with and without micro-batching",
    )
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "edge-embed-peers")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "serve_load.json")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    artifact = Path(prepare(args.work)["edge-embed"])
    dataset = load_beir(args.data, "test")
    workloads = {
        "short": list(dataset.queries.values())[:500],
        "long": sorted(dataset.corpus.values(), key=len, reverse=True)[:200],
    }
    workloads = {name: texts for name, texts in workloads.items() if name in args.texts.split(",")}
    concurrency = tuple(int(c) for c in args.clients.split(","))
    servers = make_servers(args, artifact)
    for server in servers:
        server.port = free_port()
        server.command += ["--port", str(server.port)]
        server.start(args.work / f"serve_load-{server.name.replace(' ', '_')}.log")
    stop = threading.Event()
    sampler = threading.Thread(target=sample_rss, args=(servers, stop), daemon=True)
    try:
        for server in servers:
            wait_healthy(server)
        first = {s.name: first_request(s, workloads["short"][0]) for s in servers}
        agreement = same_vectors(servers, artifact, workloads["short"][1])
        print("cosine to the runtime's vector: " + ", ".join(f"{n} {c:.5f}" for n, c in agreement.items()))
        sampler.start()
        cells: dict[tuple[str, str, int], list[dict]] = {}
        for r in range(args.rounds):
            for workload, texts in workloads.items():
                for clients in concurrency:
                    for server in servers[r % len(servers) :] + servers[: r % len(servers)]:
                        print(f"round {r + 1}: {server.name} {workload} x{clients}", file=sys.stderr)
                        result = asyncio.run(load(server, texts, clients, args.seconds, args.max_requests))
                        cells.setdefault((server.name, workload, clients), []).append(result)
        engines = [s for s in servers if s.name.startswith("edge-embed") and not s.name.endswith("batch-1")]
        soak = {s.name: asyncio.run(load(s, next(iter(workloads.values())), 32, args.soak, 10**6)) for s in engines}
        bad = {s.name: malformed(s, args.malformed) for s in engines}
    finally:
        stop.set()
        for server in servers:
            server.stop()
    for server in engines:
        first[f"{server.name}, fresh starts alone"] = first_after_starts(server, workloads["short"][0], args)

    report(args, servers, workloads, concurrency, cells, first, soak, bad)


def report(args, servers, workloads, concurrency, cells, first, soak, bad) -> None:  # noqa: ANN001 - one caller, plain values
    """Print the tables and ratios and write results/serve_load.json."""
    merged = {
        key: {m: statistics.median(r[m] for r in runs) for m in ("rps", "p50", "p95", "p99")}
        | {"errors": sum(r["errors"] for r in runs), "requests": sum(r["requests"] for r in runs)}
        for key, runs in cells.items()
    }
    rows = [
        [
            name,
            workload,
            clients,
            f"{v['rps']:.1f}",
            f"{v['p50']:.1f}",
            f"{v['p95']:.1f}",
            f"{v['p99']:.1f}",
            v["errors"],
        ]
        for (name, workload, clients), v in merged.items()
    ]
    print(format_table(["server", "texts", "clients", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"], rows))
    peak = {s.name: max(s.rss_mb, default=float("nan")) for s in servers}
    print(
        format_table(
            ["server", "peak RSS MB", "first request ms", "median next 100 ms", "first / median"],
            [
                [
                    s.name,
                    f"{peak[s.name]:.0f}",
                    f"{first[s.name]['first_ms']:.1f}",
                    f"{first[s.name]['median_next_100_ms']:.1f}",
                    f"{first[s.name]['ratio']:.2f}x",
                ]
                for s in servers
            ]
            + [
                [
                    name,
                    "",
                    f"{run['first_ms']:.1f}",
                    f"{run['median_next_100_ms']:.1f}",
                    f"{run['ratio']:.2f}x (" + ", ".join(f"{r:.2f}" for r in run["ratios"]) + ")",
                ]
                for name, run in first.items()
                if "ratios" in run
            ],
        )
    )
    ratios = []
    has_infinity = any(s.name == "infinity" for s in servers)
    engines = [s.name for s in servers if s.name.startswith("edge-embed") and not s.name.endswith("batch-1")]
    for engine in engines:
        for workload in workloads:
            for clients in concurrency:
                ours = merged[(engine, workload, clients)]
                solo = merged[(f"{engine} batch-1", workload, clients)]
                line = [engine, workload, clients, f"{ours['rps'] / solo['rps']:.2f}x"]
                if has_infinity:
                    peer = merged[("infinity", workload, clients)]
                    line += [f"{ours['rps'] / peer['rps']:.2f}x", f"{ours['p99'] / peer['p99']:.2f}x"]
                ratios.append(line)
    headers = ["server", "texts", "clients", "req/s vs batch-1"] + (
        ["req/s vs infinity", "p99 vs infinity"] if has_infinity else []
    )
    print(format_table(headers, ratios))
    if has_infinity:
        for engine in engines:
            print(f"peak RSS of {engine} vs infinity: {peak[engine] / peak['infinity']:.2f}x")
    for name, run in soak.items():
        print(
            f"soak, {name}: 32 clients for {args.soak:.0f} s: {run['requests']} requests, {run['errors']} errors, "
            f"{run['rps']:.1f} req/s, p99 {run['p99']:.1f} ms"
        )
    for name, run in bad.items():
        growth = run["rss_after_mb"] / run["rss_before_mb"] - 1
        print(
            f"malformed, {name}: {run['requests']} requests, {run['wrong_answers']} wrong answers, still serving: "
            f"{run['still_serving']}, RSS {run['rss_before_mb']:.0f} -> {run['rss_after_mb']:.0f} MB ({growth:+.1%})"
        )
    write_result(
        args.out,
        "serve_load",
        {
            "settings": {k: str(v) for k, v in vars(args).items()},
            "cells": [{"server": n, "texts": w, "clients": c, **v} for (n, w, c), v in merged.items()],
            "peak_rss_mb": peak,
            "first_request": first,
            "soak": soak,
            "malformed": bad,
        },
    )


if __name__ == "__main__":
    main()
