"""Dynamic micro-batching: concurrent requests share onnxruntime calls, run on one model thread off the event loop.

Each request becomes a job in one queue, holding its texts already tokenized (the HTTP layer needs the tokens anyway,
for the budget and ``usage``, so the model thread does not tokenize them again). The runner takes the first job,
adds queued ones while they fit in the request and token budgets (waiting up to ``max_wait_ms`` for more), and
embeds the batch on the model thread; a job larger than the token budget runs alone, so nothing waits forever. Jobs
with different prompts share a batch but not a graph call (the prompt is part of the text). Admission is bounded:
past ``max_concurrent_requests`` queued or running jobs a request is refused at once (:class:`Overloaded`) instead
of queueing without end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from tokenizers import Encoding

from edge_embed.serve.metrics import ServeMetrics
from edge_embed.serve.settings import ServeSettings

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Embeds tokenized texts (tokenized with the prompt given): full-width, un-normalized pooled vectors in input order.
EmbedFunction = Callable[[list[Encoding], str], np.ndarray]


class Overloaded(Exception):
    """The queue is full: the caller should answer 429 and the client retry later."""


@dataclass
class _Job:
    encodings: Sequence[Encoding]
    prompt: str
    tokens: int
    future: asyncio.Future[np.ndarray] = field(repr=False)


class MicroBatcher:
    """Collects concurrent embedding jobs into batches for one model thread."""

    def __init__(self, embed: EmbedFunction, settings: ServeSettings, metrics: ServeMetrics) -> None:
        self._embed, self._settings, self._metrics = embed, settings, metrics
        self._queue: asyncio.Queue[_Job] | None = None
        self._carry: _Job | None = None  # taken from the queue but left for the next batch (over budget)
        self._pending = 0
        self._runner: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edge-embed-model")

    async def start(self) -> None:
        """Start the runner on the current event loop."""
        self._queue = asyncio.Queue()
        self._runner = asyncio.create_task(self._run(), name="edge-embed-batcher")

    async def stop(self) -> None:
        """Stop the runner (after in-flight requests are answered) and the model thread."""
        if self._runner is not None:
            self._runner.cancel()
            try:
                await self._runner
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=True)

    async def run_on_model_thread(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the model thread (warm-up, or work that must not overlap a batch)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    async def embed(self, encodings: Sequence[Encoding], prompt: str, tokens: int) -> np.ndarray:
        """Full-width pooled vectors of tokenized texts (``prompt`` included), computed in some batch.

        Raises:
            Overloaded: If ``max_concurrent_requests`` jobs are already queued or running.
        """
        if self._queue is None:
            raise RuntimeError("the batcher is not started")
        if self._pending >= self._settings.max_concurrent_requests:
            raise Overloaded(f"{self._pending} requests are queued or running; retry later")
        job = _Job(encodings, prompt, tokens, asyncio.get_running_loop().create_future())
        self._pending += 1
        self._metrics.queue_depth.set(self._pending)
        try:
            self._queue.put_nowait(job)
            return await job.future
        finally:
            self._pending -= 1
            self._metrics.queue_depth.set(self._pending)

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect(self._queue, loop)
            try:
                results = await loop.run_in_executor(self._executor, self._compute, batch)
            except Exception as exc:  # one failed batch fails its jobs, never the runner
                logger.exception("a batch of %d requests failed", len(batch))
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            for job, vectors in zip(batch, results, strict=True):
                if not job.future.done():  # the client may have gone away
                    job.future.set_result(vectors)

    async def _collect(self, queue: asyncio.Queue[_Job], loop: asyncio.AbstractEventLoop) -> list[_Job]:
        """The next batch: the first job, then queued ones while they fit, waiting at most ``max_wait_ms``."""
        settings = self._settings
        first = self._carry if self._carry is not None else await queue.get()
        self._carry = None
        batch, tokens = [first], first.tokens
        deadline = loop.time() + settings.max_wait_ms / 1000
        while len(batch) < settings.max_batch_requests and tokens < settings.max_batch_tokens:
            try:
                job = queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(queue.get(), remaining)
                except TimeoutError:
                    break
            if tokens + job.tokens > settings.max_batch_tokens:
                self._carry = job
                break
            batch.append(job)
            tokens += job.tokens
        self._metrics.batch_requests.observe(len(batch))
        self._metrics.batch_tokens.observe(tokens)
        return batch

    def _compute(self, batch: list[_Job]) -> list[np.ndarray]:
        """On the model thread: one embed call per prompt in the batch, split back per job."""
        by_prompt: dict[str, list[int]] = {}
        for i, job in enumerate(batch):
            by_prompt.setdefault(job.prompt, []).append(i)
        results: list[np.ndarray | None] = [None] * len(batch)
        for prompt, members in by_prompt.items():
            encodings = [encoding for i in members for encoding in batch[i].encodings]
            vectors = self._embed(encodings, prompt)
            start = 0
            for i in members:
                count = len(batch[i].encodings)
                results[i] = vectors[start : start + count]
                start += count
        self._metrics.batch_texts.observe(sum(len(job.encodings) for job in batch))
        return [r for r in results if r is not None]
