"""Shared helpers of the speed benchmarks: machine description, timing, results.

Timings on a shared machine drift with other people's load, so comparisons run
interleaved: each repeat runs every contender once (in a rotating order), and
each contender's best repeat is kept. Ratios come from the same run. Besides wall
time, the process's CPU time is kept: for single-process, single-thread work it
is what the code costs, and it barely moves when other jobs take the cores.
"""

import json
import os
import platform
import sys
import time
from pathlib import Path

RESULTS_DIR = Path(
    os.environ.get("SKLEARN_KD_RESULTS", Path(__file__).resolve().parent / "results")
)


def data_dir():
    """Folder of the real data sets: ``SKLEARN_KD_DATA`` or ``../shared/data``."""
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    return Path(os.environ.get("SKLEARN_KD_DATA", default))


def set_threads(n_threads):
    """Fix torch's intra-op threads and the BLAS and OpenMP pools of this process.

    ``None`` keeps the defaults. With one thread everywhere, the process's CPU
    time is the work done: idle BLAS threads spinning after a call (OpenBLAS
    does) would otherwise add CPU time, and take a core from the timed code.
    """
    import torch
    from threadpoolctl import threadpool_limits

    if n_threads is not None:
        torch.set_num_threads(n_threads)
        threadpool_limits(n_threads)
    return torch.get_num_threads()


def blas_threads():
    from threadpoolctl import threadpool_info

    return max(
        (
            pool["num_threads"]
            for pool in threadpool_info()
            if pool["user_api"] == "blas"
        ),
        default=None,
    )


def process_threads():
    """The pid, torch threads and ``OMP_NUM_THREADS`` of the calling process."""
    import torch

    return os.getpid(), torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS", "-")


def machine():
    """What the numbers were measured on (no host names)."""
    import numpy
    import sklearn
    import skorch
    import torch

    return {
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "blas_threads": blas_threads(),
        "platform": f"{platform.system()} {platform.machine()}",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "skorch": skorch.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
    }


def describe(info):
    return (
        f"{info['cpu_cores']} CPU cores (shared with other jobs), torch "
        f"{info['torch']} with {info['torch_threads']} intra-op thread(s) (BLAS "
        f"{info['blas_threads']}), skorch "
        f"{info['skorch']}, scikit-learn {info['scikit-learn']}, Python "
        f"{info['python']}, {info['platform']}"
    )


class Stopwatch:
    """Wall and CPU seconds of a ``with`` block (this process, all its threads)."""

    def __enter__(self):
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc_info):
        self.seconds = time.perf_counter() - self._wall
        self.cpu_seconds = time.process_time() - self._cpu


def search_data(size):
    """The synthetic rows of the grid-search benchmarks (4 classes)."""
    from sklearn.datasets import make_classification

    return make_classification(
        size["n_rows"],
        size["n_features"],
        n_informative=10,
        n_classes=4,
        random_state=0,
    )


def best_call_seconds(predict, X, repeats=3):
    """Wall seconds of the fastest of ``repeats`` calls ``predict(X)``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        predict(X)
        best = min(best, time.perf_counter() - start)
    return best


def interleaved_best(contenders, repeats=3):
    """Best of ``repeats`` runs of each contender, run alternately.

    Parameters
    ----------
    contenders : dict of name -> callable
        Each callable runs once and returns a dict with at least ``"seconds"``
        (wall time), optionally ``"cpu_seconds"``.
    repeats : int
        Rounds; each round runs every contender once, in a rotated order.

    Returns
    -------
    best : dict of name -> dict
        Each contender's fastest run by wall time, with ``"all_seconds"`` added
        and, when measured, ``"cpu_seconds"`` replaced by the least CPU time of
        any run.
    """
    names = list(contenders)
    runs = {name: [] for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            runs[name].append(contenders[name]())
    best = {}
    for name, name_runs in runs.items():
        fastest = min(name_runs, key=lambda run: run["seconds"])
        best[name] = {**fastest, "all_seconds": [run["seconds"] for run in name_runs]}
        if "cpu_seconds" in fastest:
            best[name]["cpu_seconds"] = min(run["cpu_seconds"] for run in name_runs)
    return best


def markdown_table(columns, rows):
    """A Markdown table from column names and rows of values."""

    def cell(value):
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
        return str(value)

    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def without_path(argument):
    """A command-line argument as results may record it: no absolute path."""
    return "DIR" if Path(argument).is_absolute() else argument


def report(name, title, tables, info, *, quick=False, notes=(), extra=None):
    """Print the tables and write them as Markdown and JSON under ``results/``.

    ``tables`` is a list of ``(heading, columns, rows)``. Quick runs write
    ``NAME_quick.*`` so that they never replace the full results.
    """
    mode = "quick" if quick else "full"
    parts = [f"## {title}", "", f"Machine: {describe(info)}. Mode: {mode}.", ""]
    for heading, columns, rows in tables:
        if heading:
            parts += [f"### {heading}", ""]
        parts += [markdown_table(columns, rows), ""]
    parts += [f"- {note}" for note in notes]
    text = "\n".join(parts).rstrip() + "\n"
    print(text)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = f"{name}_quick" if quick else name
    (RESULTS_DIR / f"{stem}.md").write_text(text)
    payload = {
        "benchmark": name,
        "mode": mode,
        "command": " ".join([Path(sys.argv[0]).name, *map(without_path, sys.argv[1:])]),
        "machine": info,
        "tables": [
            {"heading": heading, "columns": columns, "rows": rows}
            for heading, columns, rows in tables
        ],
        "notes": list(notes),
        **(extra or {}),
    }
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(payload, indent=2) + "\n")
    return text
