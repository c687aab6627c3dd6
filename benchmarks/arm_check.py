"""Do the artifacts give the same vectors on ARM? The lean runtime under aarch64 user-mode emulation, against x86.

Correctness only: speed under emulation means nothing. Steps:

1. build edge-embed's wheel here and download the runtime's aarch64 wheels (onnxruntime, tokenizers, numpy, tqdm,
   openvino) with pip's ``--platform`` (the arm64 root needs no network);
2. install them offline into a venv inside a Debian arm64 root, copy the artifacts and the texts in;
3. embed the texts inside the root (``chroot``, run by qemu-aarch64 through binfmt) and here, and compare.

The root, once (Debian packages, ~10 minutes)::

    apt-get install qemu-user-static binfmt-support debootstrap
    debootstrap --arch=arm64 --foreign --include=python3,python3-venv bookworm /tmp/arm64 http://deb.debian.org/debian
    cp /usr/bin/qemu-aarch64-static /tmp/arm64/usr/bin/ && chroot /tmp/arm64 /debootstrap/debootstrap --second-stage

    python benchmarks/arm_check.py ARTIFACT [ARTIFACT ...] [--root /tmp/arm64] [--data ../shared/data/medquad]

Writes ``results/arm_check.json``: per artifact, the min and mean cosine between the aarch64 and x86 vectors.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from edge_embed import Embedder
from edge_embed.data.beir import load_beir
from edge_embed.tables import format_table

HERE = Path(__file__).parent
INSIDE = "/edge-embed-check"  # the work folder, as the arm64 root sees it
PLATFORMS = ("manylinux_2_36_aarch64", "manylinux_2_35_aarch64", "manylinux_2_28_aarch64", "manylinux2014_aarch64")
RUNTIME = ("onnxruntime>=1.18", "tokenizers>=0.19", "numpy>=1.24", "tqdm>=4.60", "openvino>=2025.0")
EMBED = """
import json, sys, platform
import numpy as np
from edge_embed import Embedder
folder, name = sys.argv[1], sys.argv[2]
vectors = Embedder(f"{folder}/artifacts/{name}").embed(json.load(open(f"{folder}/texts.json")), batch_size=8)
np.save(f"{folder}/{name}.aarch64.npy", vectors)
print(name, platform.machine(), vectors.shape, flush=True)
"""


def sh(*command: object) -> None:
    print("$ " + " ".join(map(str, command)), file=sys.stderr)
    subprocess.run(list(map(str, command)), check=True)


@contextmanager
def mounted(root: Path) -> Iterator[None]:
    """/proc inside the root for the duration, unmounted after (left alone where already mounted)."""
    target = root / "proc"
    mount = not os.path.ismount(target)
    if mount:
        sh("mount", "-t", "proc", "proc", target)
    try:
        yield
    finally:
        if mount:
            sh("umount", target)


def install(root: Path, work: Path) -> None:
    """edge-embed's wheel and the runtime's aarch64 wheels, installed offline in the root's /venv."""
    wheels = work / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    sh(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", HERE.parent, "-w", wheels)
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    sh(
        sys.executable, "-m", "pip", "download", "--quiet", *platforms, "--python-version", "3.11",
        "--implementation", "cp", "--only-binary=:all:", "--dest", wheels, *RUNTIME,
    )  # fmt: skip
    if not (root / "venv" / "bin" / "python").exists():
        sh("chroot", root, "python3", "-m", "venv", "/venv")
    edge = next(wheels.glob("edge_embed-*.whl")).name
    sh(
        "chroot", root, "/venv/bin/pip", "install", "--quiet", "--no-index", "--find-links", f"{INSIDE}/wheels",
        "--force-reinstall", f"{INSIDE}/wheels/{edge}[openvino]",
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifacts", type=Path, nargs="+")
    parser.add_argument("--root", type=Path, default=Path("/tmp/arm64"), help="the Debian arm64 root")
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "medquad")
    parser.add_argument("--texts", type=int, default=32, help="medquad test queries and as many passages")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "arm_check.json")
    args = parser.parse_args()
    if not (args.root / "usr" / "bin" / "python3").exists():
        raise SystemExit(f"{args.root} is not an arm64 root with python3; see this script's docstring")
    work = args.root / INSIDE.lstrip("/")
    work.mkdir(exist_ok=True)
    install(args.root, work)
    dataset = load_beir(args.data, "test")
    texts = list(dataset.queries.values())[: args.texts] + list(dataset.corpus.values())[: args.texts]
    (work / "texts.json").write_text(json.dumps(texts))
    shutil.rmtree(work / "artifacts", ignore_errors=True)
    for artifact in args.artifacts:
        shutil.copytree(artifact, work / "artifacts" / artifact.name)
    rows, results = [], {}
    for artifact in args.artifacts:
        engine = Embedder(artifact).manifest.graph.backend.value
        (work / f"{artifact.name}.aarch64.npy").unlink(missing_ok=True)
        with mounted(args.root):  # onnxruntime opens external weights through /proc/self/fd
            inside = subprocess.run(["chroot", args.root, "/venv/bin/python", "-c", EMBED, INSIDE, artifact.name])
        if inside.returncode != 0:  # e.g. a crash of the engine under emulation: recorded, not hidden
            results[artifact.name] = {"engine": engine, "ran": False, "exit_status": inside.returncode}
            rows.append([artifact.name, engine, len(texts), f"did not run (exit {inside.returncode})", "-"])
            continue
        here = Embedder(artifact).embed(texts, batch_size=8)
        there = np.load(work / f"{artifact.name}.aarch64.npy")
        cosine = (here * there).sum(axis=1) / (np.linalg.norm(here, axis=1) * np.linalg.norm(there, axis=1))
        results[artifact.name] = {
            "engine": engine,
            "ran": True,
            "texts": len(texts),
            "min_cosine": float(cosine.min()),
            "mean_cosine": float(cosine.mean()),
        }
        rows.append([artifact.name, engine, len(texts), f"{cosine.min():.6f}", f"{cosine.mean():.6f}"])
    print(format_table(["artifact", "engine", "texts", "min cosine", "mean cosine"], rows))
    versions = subprocess.run(
        ["chroot", args.root, "/venv/bin/python", "-c",
         "import onnxruntime, openvino, numpy, platform; print(platform.machine(), onnxruntime.__version__, "
         "openvino.__version__, numpy.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "x86": {"machine": platform.machine(), "python": platform.python_version()},
        "aarch64": dict(zip(("machine", "onnxruntime", "openvino", "numpy"), versions, strict=True)),
        "how": "qemu-aarch64 user-mode emulation (binfmt) in a Debian bookworm arm64 root; wheels installed offline",
        "artifacts": results,
    }
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
