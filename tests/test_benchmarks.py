"""The accuracy benchmarks' quick modes run end to end on the real data sets.

They are slow (a minute or two each) and need the data folder next to the
repository (or ``SKLEARN_KD_DATA``); without it they are skipped. Results go to a
temporary folder, so the tracked results are never touched.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
DATA = Path(
    os.environ.get("SKLEARN_KD_DATA", BENCHMARKS.parents[1] / "shared" / "data")
)

pytestmark = pytest.mark.slow


def run_quick(script, args, needs, results):
    missing = [name for name in needs if not (DATA / name).exists()]
    if missing:
        pytest.skip(f"data sets not found in the data folder: {missing}")
    env = dict(os.environ, SKLEARN_KD_RESULTS=str(results), SKLEARN_KD_DATA=str(DATA))
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick", *args],
        cwd=BENCHMARKS,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return (results / f"{Path(script).stem}_quick.md").read_text()


def test_soft_targets_quick(tmp_path):
    table = run_quick(
        "soft_targets.py",
        ["--seeds", "0", "--jobs", "1"],
        ["pmlb_magic.npz"],
        tmp_path,
    )
    for row in (
        "label only",
        "| oob |",
        "cross_fit",
        "default T, w, source",
        "MUNGE 5x",
        "recommended (CV chose",
    ):
        assert row in table


def test_paper_mnist_quick(tmp_path):
    table = run_quick("paper_mnist.py", ["--threads", "1"], ["mnist.npz"], tmp_path)
    for row in (
        "teacher 2x1200 MLP",
        "teacher convnet",
        "2x800 distilled, T=20",
        "class-3 bias",
        "jittered copy",
    ):
        assert row in table
    assert (tmp_path / "paper_mnist_quick.png").stat().st_size > 0
    assert (tmp_path / "cache").is_dir()
