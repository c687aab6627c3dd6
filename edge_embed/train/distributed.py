"""Data-parallel training on several processes (DistributedDataParallel through sentence-transformers' trainer).

``edge-embed train --nproc N`` (or ``train(config.replace(processes=N))``) starts N copies of the same training
function with torch's elastic launcher, the one ``torchrun`` runs; ``torchrun --nproc-per-node N -m edge_embed
train ...`` launches the same entry point by hand (also across nodes). Every rank trains on its shard of each batch;
the in-batch negatives are gathered across ranks; only rank 0 evaluates before and after, writes checkpoints and
``run.json``. Gloo on CPUs, NCCL on GPUs.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_embed.errors import EdgeEmbedError
from edge_embed.train.config import TrainConfig

logger = logging.getLogger(__name__)
RANK_LOGS = "logs"  # <run>/logs/: each rank's console output and the library chatter of a multi-process run


class TrainingError(EdgeEmbedError):
    """A training process failed; the message names the rank and where its log is."""


@dataclass(frozen=True)
class Rank:
    """This process's place in a data-parallel run (rank 0 of 1 when not launched by torchrun or ``--nproc``)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def current_rank() -> Rank:
    """The rank torchrun (or the elastic launcher) gave this process, from its environment."""
    return Rank(
        rank=int(os.environ.get("RANK", "0")),
        world_size=int(os.environ.get("WORLD_SIZE", "1")),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
    )


def threads_per_process(processes: int) -> int:
    """Cores shared out between the processes of this machine, so N ranks do not oversubscribe them."""
    return max((os.cpu_count() or 1) // processes, 1)


def launch(config: TrainConfig, run_dir: Path, show_progress: bool, refresh: dict[str, Any] | None) -> Path:
    """Run ``config.processes`` training processes on this machine and wait for them; rank 0's return value is
    the run folder. Rank 0's progress bar reaches the console; each rank's full output goes to
    ``<run>/logs/<attempt>/<rank>/``.

    Raises:
        TrainingError: If any rank fails (the first failure's rank, exit code and log folder).
    """
    from torch.distributed.elastic.multiprocessing import DefaultLogsSpecs, Std
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    log_dir = run_dir / RANK_LOGS
    log_dir.mkdir(parents=True, exist_ok=True)
    launch_config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=config.processes,
        run_id=run_dir.name,
        rdzv_backend="c10d",
        rdzv_endpoint="127.0.0.1:0",  # standalone: a free loopback port, as torchrun --standalone
        max_restarts=0,
        monitor_interval=0.5,
        start_method="spawn",
        logs_specs=DefaultLogsSpecs(
            log_dir=str(log_dir),
            redirects={r: Std.ALL for r in range(1, config.processes)},  # rank 0 keeps the console
        ),
    )
    for chatty in ("torch.distributed.elastic", "torch.multiprocessing"):  # the failure is reported below
        logging.getLogger(chatty).setLevel(logging.CRITICAL)
    try:
        results = elastic_launch(launch_config, _train_one_rank)(config, show_progress, refresh, str(log_dir))
    except ChildFailedError as failure:
        rank, first = failure.get_first_failure()
        message = first.message.get("message", "") if isinstance(first.message, dict) else str(first.message)
        (log_dir / f"rank-{rank}-error.txt").write_text(message + "\n", encoding="utf-8")  # the full traceback
        raise TrainingError(
            f"training process of rank {rank} failed (exit code {first.exitcode}): "
            f"{_last_line(first.message) or 'see its log'}; logs in {log_dir}"
        ) from None
    return Path(results[0])


def accept_indexed_cpu_locations() -> None:
    """Let ``torch.load`` map to ``cpu:N``: on CPU ranks the trainer resumes its optimizer state with
    ``map_location=args.device``, which is ``cpu:<rank>`` there and which torch's own CPU loader refuses."""
    import torch.serialization

    def tag(storage: Any) -> str | None:
        return None  # saving is unchanged: torch's own taggers name the location

    def restore(storage: Any, location: str) -> Any:
        return storage if re.fullmatch(r"cpu:\d+", location) else None

    if not getattr(accept_indexed_cpu_locations, "done", False):
        torch.serialization.register_package(100, tag, restore)
        accept_indexed_cpu_locations.done = True  # type: ignore[attr-defined]


def _train_one_rank(config: TrainConfig, show_progress: bool, refresh: dict[str, Any] | None, log_dir: str) -> str:
    """The entry point each spawned rank runs (module level, so it pickles for the spawn start method). Its log
    lines and warnings go to ``<run>/logs/rank-N.log``; the console keeps rank 0's progress bar."""
    import torch
    from transformers.utils import logging as hf_logging

    from edge_embed.train.trainer import train

    rank = current_rank()
    handler = logging.FileHandler(Path(log_dir) / f"rank-{rank.rank}.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.captureWarnings(True)
    hf_logging.set_verbosity_error()
    torch.set_num_threads(threads_per_process(config.processes))
    return str(train(config, show_progress=show_progress and rank.is_main, refresh=refresh))


def _last_line(message: Any) -> str:
    """The exception line of a child's error message (not its traceback)."""
    if isinstance(message, dict):
        message = message.get("message", "")
    lines = [line.strip() for line in str(message or "").splitlines() if line.strip()]
    exceptions = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Interrupt)\b", line)]
    return (exceptions or lines or [""])[-1]
