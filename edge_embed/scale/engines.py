"""The engines a corpus embedding job runs on. Each takes the unfinished shards and hands back each shard's vectors
as it completes, so the job can write it and a restart skips it:

- ``local``: one process, the same worker code (the embedded default: start on a laptop);
- ``ray``: Ray Data ``map_batches`` over an actor pool (the artifact loaded and verified once per actor);
- ``spark``: ``predict_batch_udf`` (the artifact loaded once per Python worker), one Spark job per shard.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edge_embed.choices import Choice
from edge_embed.errors import InputError, IntegrityError
from edge_embed.scale.worker import EmbedTexts, WorkerSettings


class EngineName(Choice):
    """Where a corpus embedding job runs."""

    LOCAL = "local"
    RAY = "ray"
    SPARK = "spark"


@dataclass(frozen=True)
class Shard:
    """A slice of the corpus: the unit that is written, and skipped on a restart."""

    index: int
    ids: list[str] = field(repr=False)
    texts: list[str] = field(repr=False)


OnShard = Callable[[Shard, np.ndarray], None]


@dataclass(frozen=True)
class EngineSettings:
    """How many workers, and where the cluster is (None: a local one on this machine)."""

    workers: int = 1
    address: str | None = None


def run_engine(
    name: EngineName, shards: Sequence[Shard], worker: WorkerSettings, engine: EngineSettings, on_shard: OnShard
) -> None:
    """Embed ``shards`` on engine ``name``, calling ``on_shard`` for each as it completes."""
    runners = {EngineName.LOCAL: _run_local, EngineName.RAY: _run_ray, EngineName.SPARK: _run_spark}
    runners[EngineName(name)](shards, worker, engine, on_shard)


def _run_local(shards: Sequence[Shard], worker: WorkerSettings, engine: EngineSettings, on_shard: OnShard) -> None:
    embed = EmbedTexts(worker)
    for shard in shards:
        on_shard(shard, embed(shard.texts))


# --- Ray ---------------------------------------------------------------------------------------------------------


class RayEmbedBatch:
    """Ray Data's callable class: one per actor, so the artifact is loaded and verified once per actor."""

    def __init__(
        self,
        settings: WorkerSettings,
        text_column: str = "text",
        output_column: str = "embedding",
        keep_text: bool = True,
    ) -> None:
        self.embed = EmbedTexts(settings)
        self.text_column, self.output_column, self.keep_text = text_column, output_column, keep_text

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.embed([str(t) for t in batch[self.text_column]])
        if not self.keep_text:
            del batch[self.text_column]
        batch[self.output_column] = vectors
        return batch


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InputError("the ray engine needs Ray Data: pip install 'edge-embed[ray]'") from None
    return ray


def connect_ray(address: str | None, workers: int, threads: int) -> None:
    """Join the cluster at ``address`` or start a local one with ``workers x threads`` CPUs.

    Raises:
        InputError: If no cluster answers at ``address``.
    """
    import logging

    ray = _ray()
    for name in ("ray", "ray.data"):  # Ray Data logs every operator's progress at INFO to the console
        logging.getLogger(name).setLevel(logging.WARNING)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    if ray.is_initialized():
        return
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address and address != "auto":
        _check_reachable(address, "Ray")  # ray.init retries an unreachable address for minutes
    try:
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=workers * threads, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"no Ray cluster at {address}: {first}") from None


def _check_reachable(address: str, engine: str, timeout_s: float = 5.0) -> None:
    """Refuse at once a ``host:port`` (or ``scheme://host:port``) where nothing listens.

    Raises:
        InputError: Naming the address and what the connection attempt said.
    """
    import socket

    target = address.split("://", 1)[-1]
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"{engine} address {address!r} is not host:port")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise InputError(f"no {engine} cluster at {address}: {exc.strerror or exc}") from None


def embed_ray(
    dataset: Any,
    settings: WorkerSettings,
    text_column: str = "text",
    concurrency: int = 1,
    batch_size: int = 256,
    output_column: str = "embedding",
    keep_text: bool = True,
) -> Any:
    """A Ray Dataset with an ``embedding`` column (float32, the artifact's width) beside ``dataset``'s columns.

    ``concurrency`` actors each hold the artifact (loaded and verified once) and use ``settings.threads``
    onnxruntime threads; Ray reserves that many CPUs per actor so actors do not oversubscribe the cores.

    Raises:
        InputError: If the dataset has no ``text_column``.
    """
    columns = dataset.columns()
    if text_column not in columns:
        raise InputError(f"the dataset has no column {text_column!r} (columns: {', '.join(columns)})")
    return dataset.map_batches(
        RayEmbedBatch,
        fn_constructor_kwargs={
            "settings": settings,
            "text_column": text_column,
            "output_column": output_column,
            "keep_text": keep_text,
        },
        concurrency=concurrency,
        batch_size=batch_size,
        num_cpus=settings.threads,
        batch_format="numpy",
    )


def _run_ray(shards: Sequence[Shard], worker: WorkerSettings, engine: EngineSettings, on_shard: OnShard) -> None:
    import pyarrow as pa

    ray = _ray()
    connect_ray(engine.address, engine.workers, worker.threads)
    total = sum(len(shard.texts) for shard in shards)
    # One worker call per block: texts_per_call (sorted by length within it), or less so a small job reaches every actor
    block = max(min(worker.texts_per_call, -(-total // (engine.workers * 4))), 1)
    tables = []
    for shard in shards:
        for start in range(0, len(shard.texts), block):
            end = min(start + block, len(shard.texts))
            tables.append(
                pa.table(
                    {
                        "shard": pa.array([shard.index] * (end - start), pa.int64()),
                        "position": pa.array(range(start, end), pa.int64()),
                        "text": pa.array(shard.texts[start:end], pa.string()),
                    }
                )
            )
    if not tables:
        return
    dataset = embed_ray(
        ray.data.from_arrow(tables), worker, concurrency=engine.workers, batch_size=block, keep_text=False
    )
    pending: dict[int, tuple[Shard, dict[int, np.ndarray]]] = {shard.index: (shard, {}) for shard in shards}
    try:
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            for shard_index, position, vector in zip(
                batch["shard"], batch["position"], batch["embedding"], strict=True
            ):
                shard, received = pending[int(shard_index)]
                received[int(position)] = vector
                if len(received) == len(shard.ids):
                    on_shard(shard, np.stack([received[i] for i in range(len(shard.ids))]))
                    del pending[shard.index]
    except Exception as exc:  # a worker's error reaches the driver wrapped in Ray's exception types
        raise _worker_error(exc) from None


# --- Spark -------------------------------------------------------------------------------------------------------


def _spark_session(address: str | None, workers: int) -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError("the spark engine needs PySpark: pip install 'edge-embed[spark]'") from None
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise InputError("the spark engine needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers run this interpreter (its edge-embed)
    if address and address.startswith("spark://"):
        _check_reachable(address, "Spark")  # the standalone client retries an unreachable master for a minute
    builder = (
        SparkSession.builder.master(address or f"local[{workers}]")
        .appName("edge-embed embed-corpus")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
    )
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # py4j and Spark raise their own types for an unreachable master
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"no Spark cluster at {address}: {first}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def embed_spark(
    frame: Any, settings: WorkerSettings, text_column: str = "text", output_column: str = "embedding"
) -> Any:
    """A Spark DataFrame with an ``embedding`` column (array<float>) beside ``frame``'s columns, through
    ``predict_batch_udf``: each Python worker loads and verifies the artifact once and embeds Arrow batches.

    Raises:
        InputError: If the DataFrame has no ``text_column``.
    """
    if text_column not in frame.columns:
        raise InputError(f"the DataFrame has no column {text_column!r} (columns: {', '.join(frame.columns)})")
    return frame.withColumn(output_column, spark_udf(settings)(text_column))


def spark_udf(settings: WorkerSettings) -> Any:
    """The ``predict_batch_udf`` embedding a string column (one per job: Spark caches its model per worker)."""
    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql.types import ArrayType, FloatType

    def make_predict_fn() -> Callable[[np.ndarray], np.ndarray]:
        embed = EmbedTexts(settings)
        return lambda texts: embed([str(t) for t in texts])

    return predict_batch_udf(make_predict_fn, return_type=ArrayType(FloatType()), batch_size=settings.texts_per_call)


def _run_spark(shards: Sequence[Shard], worker: WorkerSettings, engine: EngineSettings, on_shard: OnShard) -> None:
    import pandas as pd

    session = _spark_session(engine.address, engine.workers)
    udf = spark_udf(worker)
    try:
        for shard in shards:
            frame = session.createDataFrame(pd.DataFrame({"position": range(len(shard.texts)), "text": shard.texts}))
            frame = frame.repartition(max(engine.workers * 2, 1)).withColumn("embedding", udf("text"))
            result = frame.select("position", "embedding").toPandas().sort_values("position")
            on_shard(shard, np.stack(result["embedding"].to_numpy()).astype(np.float32))
    except Exception as exc:
        raise _worker_error(exc) from None


def _worker_error(exc: Exception) -> Exception:
    """A worker's verification failure as the one-line error it was; anything else unchanged."""
    text = str(exc)
    marker = "its copy of the artifact fails verification" if "fails verification" in text else "the job was started"
    for line in text.splitlines():
        if marker in line:
            return IntegrityError(line.split("IntegrityError: ")[-1].strip())
    return exc
