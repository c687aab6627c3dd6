"""Data-parallel training: two CPU processes with gloo (``--nproc 2`` and ``torchrun`` by hand) on medquad-mini run
to the end, write one run record, beat the base model, resume after a kill, and stop together at a time budget."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("torch", reason="training needs the [build] extra")
pytest.importorskip("accelerate", reason="training needs the [build] extra")

pytestmark = [pytest.mark.build, pytest.mark.slow]  # real multi-process training


def train_command(medquad_mini, runs, *extra):
    return [
        sys.executable,
        "-m",
        "edge_embed.cli.main",
        "train",
        "--data",
        str(medquad_mini),
        "--license",
        "CC-BY-4.0",
        "--preset",
        "tiny",
        "--output-dir",
        str(runs),
        *extra,
    ]


def only_run(runs):
    (run,) = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")]  # beside .base-metrics/
    return run, json.loads((run / "run.json").read_text())


def test_two_processes_train_to_the_end_and_beat_the_base(medquad_mini, tmp_path):
    runs = tmp_path / "runs"
    done = subprocess.run(
        train_command(medquad_mini, runs, "--nproc", "2", "--max-seq-length", "64"), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run, record = only_run(runs)  # one run folder, one record: rank 1 wrote nothing of its own
    assert record["status"] == "finished" and (run / "final" / "modules.json").is_file()
    assert record["config"]["processes"] == 2
    assert record["device"]["processes"] == 2 and record["device"]["backend"] == "gloo"
    base, tuned = (record["metrics"][stage]["test"]["384"]["ndcg@10"] for stage in ("base", "finetuned"))
    assert tuned > base, (base, tuned)
    # 223 train pairs, 16 per process per step, 2 processes, the uneven last batch dropped: 6 steps
    assert record["global_step"] == 6 and record["pairs_per_s"] > 0
    assert {p.name for p in (run / "logs").glob("rank-*.log")} == {"rank-0.log", "rank-1.log"}
    # The console shows edge-embed's own lines and the table, not the libraries' warnings or a traceback.
    assert "Traceback" not in done.stderr and "Warning:" not in done.stderr.replace("edge-embed: warning:", "")
    assert "tuned ndcg@10" in done.stdout

    from edge_embed.records import RunRecord

    assert RunRecord.read(run).comparisons()  # the same record format the pipeline and registry read


def test_a_killed_two_process_run_resumes_from_its_last_checkpoint(medquad_mini, tmp_path):
    runs = tmp_path / "runs"
    command = train_command(
        medquad_mini, runs, "--nproc", "2", "--epochs", "2", "--eval-steps", "2", "--eval-sample", "5",
        "--max-seq-length", "32",
    )  # fmt: skip
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    try:
        while not list(runs.glob("*/checkpoint-2/trainer_state.json")):
            assert first.poll() is None and time.time() < deadline, "training ended or stalled before checkpoint 2"
            time.sleep(0.5)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the launcher and both ranks, as a power cut would
        first.wait()
    run, record = only_run(runs)
    assert record["status"] == "running"  # never looks complete

    second = subprocess.run(command, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming" in second.stderr
    run, record = only_run(runs)
    assert record["status"] == "finished" and record["global_step"] == 12


def test_torchrun_by_hand_runs_the_same_entry_point_and_ranks_stop_together(medquad_mini, tmp_path):
    """The documented ``torchrun`` launch of ``edge-embed train``; a time budget every rank must honour at the same
    step (one rank stopping alone would leave the other waiting in its next all-reduce forever)."""
    runs = tmp_path / "runs"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    command = torchrun + train_command(medquad_mini, runs, "--epochs", "3", "--time-budget", "1s")[1:]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    run, record = only_run(runs)
    assert record["status"] == "finished" and record["config"]["processes"] == 2
    assert record["stopped_by_time_budget"] and record["global_step"] < 18
    assert done.stdout.count("tuned ndcg@10") == 1  # rank 0 alone reports
