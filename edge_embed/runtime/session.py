"""Creating onnxruntime sessions with every option set explicitly."""

from __future__ import annotations

import os
from pathlib import Path

import onnxruntime as ort

from edge_embed.errors import ArtifactError, InputError

DEFAULT_PROVIDERS = ("CPUExecutionProvider",)


def default_threads() -> int:
    """Return the number of CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def check_threads(threads: object) -> None:
    """Refuse a thread count that is not a positive integer (None means all CPUs).

    Raises:
        InputError: Naming the value.
    """
    if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
        raise InputError(f"threads must be a positive integer, got {threads!r}")


def create_session(
    model_path: str | Path,
    threads: int | None = None,
    providers: tuple[str, ...] = DEFAULT_PROVIDERS,
) -> ort.InferenceSession:
    """Load an ONNX graph into an onnxruntime session configured for CPU inference.

    Args:
        model_path: The ``model.onnx`` file.
        threads: Intra-op threads; all CPUs available to this process when None.
        providers: Execution providers, in order of preference.

    Returns:
        The session.

    Raises:
        InputError: If ``threads`` is not positive or a provider is not available.
        ArtifactError: If onnxruntime cannot load the file.
    """
    check_threads(threads)
    available = ort.get_available_providers()
    missing = [p for p in providers if p not in available]
    if missing:
        raise InputError(f"execution provider(s) {missing} not available; this onnxruntime has {available}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = True
    options.enable_mem_pattern = True
    options.log_severity_level = 3  # errors only: warnings about unused initializers are noise on a device
    try:
        return ort.InferenceSession(str(model_path), sess_options=options, providers=list(providers))
    except Exception as exc:  # onnxruntime raises several private exception types for unreadable graphs
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArtifactError(f"onnxruntime cannot load {model_path}: {first_line}") from None
