"""usearch and onnxruntime in one process, in either import order (usearch 2.26.2+ crashed the interpreter when it
came first: a user's script importing usearch before edge_embed must not die with SIGSEGV)."""

import subprocess
import sys

import pytest

pytest.importorskip("usearch", reason="approximate search needs the [ann] extra")

CODE = """
import numpy as np
{first}
{second}
from edge_embed.index import ann
from edge_embed.index.scoring import StoredPrecision
graph = ann.new_graph(8, StoredPrecision.INT8)
vectors = np.eye(8, dtype=np.float32)
ann.add_to_graph(graph, 0, vectors, StoredPrecision.INT8)
print(ann.candidate_rows(graph, vectors[:1], 1, StoredPrecision.INT8)[0].tolist())
"""


@pytest.mark.parametrize("usearch_first", [True, False])
def test_usearch_and_onnxruntime_load_in_either_order(usearch_first):
    imports = ["import usearch.index", "import onnxruntime"]
    first, second = imports if usearch_first else imports[::-1]
    result = subprocess.run(
        [sys.executable, "-c", CODE.format(first=first, second=second)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-500:]}"
    assert result.stdout.strip() == "[0]"
