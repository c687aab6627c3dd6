"""The engine that runs an artifact's graph: onnxruntime by default, OpenVINO or a static token table (numpy) where
the manifest says so.

The runtime sees one small interface, :class:`GraphRunner`: the inputs the graph declares (and their integer
type), the outputs it has, and ``run`` for one padded batch. Which engine runs is the manifest's
``graph.backend``, never a guess from file names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import onnxruntime as ort

from edge_embed.errors import ArtifactError, InputError
from edge_embed.lineage.manifest import Backend, GraphSpec, Manifest
from edge_embed.runtime.session import DEFAULT_PROVIDERS, check_threads, create_session

# The inputs the runtime knows how to feed.
FEEDABLE_INPUTS = frozenset({"input_ids", "attention_mask", "token_type_ids"})


class GraphRunner(Protocol):
    """One loaded graph, safe to call from several threads at once."""

    @property
    def input_int32(self) -> frozenset[str]:
        """The inputs the graph takes as int32 (the rest are int64)."""

    @property
    def input_names(self) -> tuple[str, ...]:
        """The graph's inputs, by the names it declares."""

    @property
    def output_names(self) -> tuple[str, ...]:
        """The graph's outputs."""

    def run(self, output_name: str, feed: dict[str, np.ndarray]) -> np.ndarray:
        """Run one batch and return the named output."""

    def warm_up_shapes(self, max_rows: int, max_length: int, max_tokens: int) -> list[tuple[int, int]]:
        """The ``(rows, tokens)`` batch shapes to run once at start so later calls of up to these sizes run warm."""


class OnnxRuntimeRunner:
    """A graph in an onnxruntime session (every option set in :func:`create_session`)."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self.session = session
        inputs = session.get_inputs()
        self.input_names = tuple(i.name for i in inputs)
        self.input_int32 = frozenset(i.name for i in inputs if i.type == "tensor(int32)")
        self.output_names = tuple(o.name for o in session.get_outputs())

    def run(self, output_name: str, feed: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run([output_name], feed)[0]

    def warm_up_shapes(self, max_rows: int, max_length: int, max_tokens: int) -> list[tuple[int, int]]:
        """One short text, a full batch of short texts, one text at full length: onnxruntime plans any shape
        cheaply, so these touch the code paths and memory of what is to come."""
        short = min(16, max_length)
        return [(1, short), (max(1, min(max_rows, max_tokens // short)), short), (1, max_length)]


def open_graph(
    model_file: Path,
    graph: GraphSpec,
    threads: int | None = None,
    providers: tuple[str, ...] = DEFAULT_PROVIDERS,
    compile_cache: Path | None = None,
) -> GraphRunner:
    """Load ``model_file`` with the engine ``graph.backend`` names (OpenVINO keeps its compiled model in
    ``compile_cache`` when given: a folder for this graph alone; the other engines have nothing to cache).

    Raises:
        ArtifactError: If the engine cannot load the file.
        InputError: If ``threads`` is out of range, or ``providers`` are asked of an engine that has none.
        MissingExtraError: If the artifact needs OpenVINO and it is not installed.
    """
    if graph.backend is Backend.ONNXRUNTIME:
        return OnnxRuntimeRunner(create_session(model_file, threads=threads, providers=providers))
    if tuple(providers) != DEFAULT_PROVIDERS:
        raise InputError(
            f"providers {list(providers)} are onnxruntime's; this artifact runs on {graph.backend.value} "
            "(graph.backend)"
        )
    check_threads(threads)
    if graph.backend is Backend.OPENVINO:
        from edge_embed.runtime.openvino import OpenVinoRunner

        return OpenVinoRunner.load(model_file, threads, graph.inference_precision, compile_cache)
    from edge_embed.runtime.static import StaticRunner

    return StaticRunner.load(model_file)  # numpy computes a lookup and a mean in one thread


def compile_cache_folder(root: str | Path, manifest: Manifest) -> Path:
    """The folder under ``root`` that holds the compiled form of this manifest's graph, named by its files' sha256,
    created if missing (so one cache root serves every artifact and a changed graph never meets a stale blob).

    Raises:
        InputError: If the folder cannot be created.
    """
    folder = Path(root) / "-".join(manifest.files[name][:16] for name in manifest.graph.files)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot use {root} as a compile cache: {exc.strerror or exc}") from None
    return folder


def check_graph(runner: GraphRunner, manifest: Manifest, model_file: Path) -> None:
    """Refuse a graph that lacks the manifest's output or needs inputs the runtime cannot feed.

    Raises:
        ArtifactError: Naming what the graph has.
    """
    outputs = list(runner.output_names)
    if manifest.graph.output_name not in outputs:
        raise ArtifactError(
            f"{model_file} has no output {manifest.graph.output_name!r} (it has {outputs}); the manifest does not "
            "belong to this graph"
        )
    unknown = [name for name in runner.input_names if name not in FEEDABLE_INPUTS]
    if unknown:
        raise ArtifactError(
            f"{model_file} needs inputs {unknown} that the runtime cannot feed; supported: {sorted(FEEDABLE_INPUTS)}"
        )
