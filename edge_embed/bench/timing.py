"""Timings of one embedder: batch-1 latency, batch throughput, and cold start in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edge_embed.errors import EdgeEmbedError
from edge_embed.eval.retrieval import TextEmbedder

# A fresh process imports the runtime, loads the artifact as users do (sha256 check included) and embeds one query;
# it reports its own peak RSS (VmHWM: rusage's ru_maxrss would carry the parent's peak across fork and exec).
_REPORT = (
    "import json\n"
    "status = open('/proc/self/status').read() if __import__('os').path.exists('/proc/self/status') else ''\n"
    "peak = int(status.split('VmHWM:')[1].split()[0]) / 1024 if 'VmHWM:' in status else None\n"
    "print(json.dumps({'import_s': t1 - t0, 'load_s': t2 - t1, 'first_embed_s': t3 - t2, 'peak_rss_mb': peak}))\n"
)
EDGE_EMBED_PROGRAM = (
    "import sys, time\nt0 = time.perf_counter()\nfrom edge_embed import Embedder\nt1 = time.perf_counter()\n"
    "e = Embedder.load(sys.argv[1], threads=int(sys.argv[2]) or None)\nt2 = time.perf_counter()\n"
    "e.embed([sys.argv[3]], kind='query')\nt3 = time.perf_counter()\n" + _REPORT
)
SENTENCE_TRANSFORMERS_PROGRAM = (
    "import sys, time\nt0 = time.perf_counter()\nimport torch\nfrom sentence_transformers import SentenceTransformer\n"
    "t1 = time.perf_counter()\nif int(sys.argv[2]): torch.set_num_threads(int(sys.argv[2]))\n"
    "m = SentenceTransformer(sys.argv[1], device='cpu')\nt2 = time.perf_counter()\n"
    "m.encode([sys.argv[3]])\nt3 = time.perf_counter()\n" + _REPORT
)


@dataclass(frozen=True)
class ColdStart:
    """One fresh process: wall time seen from outside (interpreter start included) and its peak RSS."""

    seconds: float
    import_s: float
    load_s: float
    first_embed_s: float
    peak_rss_mb: float | None


def latencies_ms(embedder: TextEmbedder, texts: Sequence[str], kind: str = "query") -> list[float]:
    """Embed each text alone (batch 1) and return each call's wall time in milliseconds."""
    times = []
    for text in texts:
        start = time.perf_counter()
        embedder.embed([text], 1, kind, False)
        times.append((time.perf_counter() - start) * 1000)
    return times


def throughput(embedder: TextEmbedder, texts: Sequence[str], batch_size: int, kind: str = "document") -> float:
    """Texts per second embedding ``texts`` in batches of ``batch_size``."""
    start = time.perf_counter()
    embedder.embed(list(texts), batch_size, kind, False)
    return len(texts) / (time.perf_counter() - start)


def cold_start(program: str, model: str, text: str, threads: int | None = None) -> ColdStart:
    """Run ``program`` in a fresh interpreter (import, load ``model``, embed ``text``) and time it from outside.

    Raises:
        EdgeEmbedError: If the child fails; its last error line is included.
    """
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    start = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", program, model, str(threads or 0), text], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if child.returncode != 0:
        last = (child.stderr.strip().splitlines() or ["no output"])[-1]
        raise EdgeEmbedError(f"cold-start process for {model} failed: {last}")
    report = json.loads(child.stdout.strip().splitlines()[-1])
    return ColdStart(seconds, report["import_s"], report["load_s"], report["first_embed_s"], report["peak_rss_mb"])


def percentiles(values: Sequence[float], qs: Sequence[int] = (50, 95, 99)) -> dict[str, float]:
    """``{"p50": ..., "p95": ..., "p99": ...}`` of ``values``."""
    array = np.asarray(values, dtype=np.float64)
    return {f"p{q}": float(np.percentile(array, q)) for q in qs}
