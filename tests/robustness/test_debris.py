"""Crash debris (issue #14): a killed write's hidden .NAME.partial-* folder is removed by the next write to the same
output and by ``edge-embed gc``, and never while its writer still runs. Before, every kill left one behind."""

import os
import signal
import subprocess
import sys
import time

from edge_embed.cli.main import main
from edge_embed.lineage.atomic import atomic_dir
from edge_embed.lineage.debris import find_leftovers

WRITER = """
import os, signal, sys, time
from edge_embed.lineage.atomic import atomic_dir
with atomic_dir(sys.argv[1]) as tmp:
    (tmp / "model.onnx").write_bytes(b"x" * 100_000)
    print("writing", flush=True)
    if sys.argv[2] == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)
"""


def start_writer(target, mode):
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(target), mode], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "writing"
    return process


def partials(folder):
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name)


def test_the_next_run_on_the_same_output_removes_a_killed_runs_folder(tmp_path):
    target = tmp_path / "out" / "int8"
    start_writer(target, "die").wait(timeout=30)
    (leftover,) = partials(target.parent)
    assert ".partial-" in leftover and not target.exists()
    with atomic_dir(target) as tmp:
        (tmp / "model.onnx").write_bytes(b"new")
    assert partials(target.parent) == [] and (target / "model.onnx").read_bytes() == b"new"


def test_a_live_writers_folder_is_never_touched(tmp_path):
    target = tmp_path / "out" / "int8"
    writer = start_writer(target, "live")
    try:
        (mine,) = partials(target.parent)
        with atomic_dir(tmp_path / "out" / "int8", overwrite=True) as tmp:
            (tmp / "f").write_bytes(b"1")
        assert mine in partials(target.parent)
        assert main(["gc", str(tmp_path)]) == 0
        assert mine in partials(target.parent)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    assert main(["gc", str(tmp_path)]) == 0
    assert partials(target.parent) == []


def test_gc_lists_then_removes_leftovers(tmp_path, capsys):
    for name in ("a", "b"):
        start_writer(tmp_path / "ws" / name, "die").wait(timeout=30)
    assert len(find_leftovers([tmp_path])) == 2
    assert main(["gc", str(tmp_path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("would remove") == 2 and "would free 0.2 MB" in out
    assert len(find_leftovers([tmp_path])) == 2
    assert main(["gc", str(tmp_path)]) == 0
    assert capsys.readouterr().out.count("removed") == 2
    assert find_leftovers([tmp_path]) == []
    assert main(["gc", str(tmp_path)]) == 0
    assert "no leftovers found" in capsys.readouterr().out


def test_old_leftovers_without_a_pid_go_once_they_are_old(tmp_path, capsys):
    old = tmp_path / ".int8.partial-abc123"
    old.mkdir()
    (old / "model.onnx").write_bytes(b"x")
    assert main(["gc", str(tmp_path)]) == 0
    assert old.exists() and "kept" in capsys.readouterr().out
    past = time.time() - 7200
    os.utime(old, (past, past))
    assert main(["gc", str(tmp_path), "--min-age", "1h"]) == 0
    assert not old.exists()
