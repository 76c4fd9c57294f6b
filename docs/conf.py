"""Sphinx configuration of the sklearn-kd documentation.

Build with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``; the
gallery examples in ``examples/`` run during the build.
"""

import sys
from pathlib import Path

import torch

import sklearn_kd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _benchmark_summary import Summary, render  # noqa: E402

# The gallery examples train small networks, which one thread runs as fast as
# several; more threads only compete with each other (and with other jobs).
torch.set_num_threads(1)

DOCS = Path(__file__).resolve().parent
BENCHMARK_RESULTS = DOCS.parent / "benchmarks" / "results"

project = "sklearn-kd"
author = "the sklearn-kd developers"
copyright = author
version = release = sklearn_kd.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",  # parses the Markdown result tables of benchmark_results/
]

# Markdown is only ever included into reStructuredText pages, never a page itself.
source_suffix = {".rst": "restructuredtext"}
templates_path = ["_templates"]
exclude_patterns = ["_build"]
default_role = "literal"

autosummary_generate = True
autodoc_typehints = "none"
# Signatures show defaults as written (optimizer=torch.optim.Adam), not as reprs.
autodoc_preserve_defaults = True

# Class pages document their methods through autodoc (_templates/autosummary);
# numpydoc's automatic member tables would list them a second time.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# The benchmark tables are Markdown sections of the benchmarks page, so their
# first heading is level 2 by design.
suppress_warnings = ["myst.header"]

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "doc_module": ("sklearn_kd",),
    "reference_url": {"sklearn_kd": None},
    "backreferences_dir": "gen_modules/backreferences",
    "write_computation_times": False,
    "remove_config_comments": True,
}

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-kd {release}"
html_theme_options = {"show_toc_level": 2}


def _benchmark_tables(results=BENCHMARK_RESULTS):
    """The result tables to show: every run of ``benchmarks/NAME.py``
    (``NAME.md``, ``NAME_PART.md``), but its ``--quick`` runs (``*_quick.md``)
    only when it has no other."""
    scripts = sorted(
        (path.stem for path in results.parent.glob("*.py")), key=len, reverse=True
    )
    runs = {}
    for path in sorted(results.glob("*.md")):
        script = next(
            (name for name in scripts if path.stem.startswith(f"{name}_")), path.stem
        )
        runs.setdefault(script, []).append(path)
    return [
        path
        for paths in runs.values()
        for path in [p for p in paths if not p.stem.endswith("_quick")] or paths
    ]


def _result_pages(results=BENCHMARK_RESULTS):
    """One page per result table, ``benchmark_results/NAME.rst``, including
    ``NAME.md`` and, below it, the figure ``NAME.png`` where there is one."""
    pages = {}
    for path in _benchmark_tables(results):
        relative = Path("..", "..", "benchmarks", "results", path.name).as_posix()
        title = path.read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
        title = f"{title} (``{path.stem}``)"
        page = (
            f"{title}\n{'=' * len(title)}\n\n"
            f".. include:: {relative}\n   :parser: myst_parser.sphinx_\n"
            "   :start-line: 1\n"
        )
        figure = path.with_suffix(".png")
        if figure.exists():
            image = Path("..", "..", "benchmarks", "results", figure.name).as_posix()
            page += f"\n.. image:: {image}\n   :width: 90%\n   :alt: {path.stem}\n"
        pages[path.stem] = page
    return pages


def _write_if_changed(path, text):
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


# The Benchmarks page's compact tables and figures: benchmark_results/NAME.txt
# and NAME.png, drawn from the results files the page links to.
SUMMARIES = {
    "auto_targets": Summary(
        "soft_targets_auto",
        "Targets of the automatic default",
        columns=[
            "data set",
            "forest lead",
            "target",
            "default",
            "fit time vs former default",
        ],
    ),
    "auto": Summary(
        "soft_targets_auto",
        "Encodings, MUNGE and the automatic default",
        columns=["data set", "accuracy", "vs baseline", "gap recovered", "fit time"],
        rows={"model": r"^default \(auto\)$"},
        bar="vs baseline",
        label=["data set"],
        xlabel="default minus best label-only student, test accuracy",
        reference=0.0,
    ),
    "soft_targets": Summary(
        "soft_targets_main_label_term",
        "Test accuracy",
        columns=["data set", "accuracy", "vs label only", "gap recovered"],
        rows={"model": r"^oob \+ MUNGE 5x"},
        bar="vs label only",
        label=["data set"],
        xlabel="OOB targets + MUNGE 5x minus label-only student, test accuracy",
        reference=0.0,
    ),
    "serving_targets": Summary(
        "serving",
        "Targets",
        columns=[
            "data set",
            "StudentClassifier one row / floor (target <= 1.5)",
            "DistilledClassifier one row / floor",
            "ONNX forest one row / student",
            "cold start: numpy format / pickle (target <= 0.5)",
            "test set: StudentClassifier / previous release's (target <= 1)",
        ],
    ),
    "serving": Summary(
        "serving",
        "pmlb_letter",
        columns=["model", "accuracy", "file size", "cold start", "one row", "test set"],
        bar="one row",
        label=["model"],
        xlabel="letter: one-row prediction, median seconds (log scale)",
        log=True,
    ),
    "regression_targets": Summary(
        "regression",
        "Targets",
        columns=["case", "forest lead", "default student", "size and batch speed"],
    ),
    "regression": Summary(
        "regression",
        "Test R²",
        columns=["case", "R²", "vs label only", "lead recovered", "fit s", "picked"],
        rows={"model": r"^default$"},
        bar="vs label only",
        label=["case"],
        xlabel="default minus label-only student, test R²",
        reference=0.0,
        link=True,
    ),
    "fit_speed": Summary(
        "fit_speed",
        "CPU seconds",
        columns=[
            "data",
            "torch threads",
            "MLP",
            "epochs",
            "hand loop s",
            "DistilledClassifier student s",
            "ratio vs hand",
        ],
        bar="ratio vs hand",
        label=["data", "torch threads"],
        xlabel="DistilledClassifier student / hand-written loop, CPU seconds",
        reference=1.1,
    ),
    "fit_speed_busy": Summary(
        "fit_speed_busy",
        "CPU seconds",
        columns=[
            "data",
            "torch threads",
            "MLP",
            "epochs",
            "hand loop s",
            "DistilledClassifier student s",
            "ratio vs hand",
        ],
        bar="ratio vs hand",
        label=["data", "torch threads"],
        xlabel="the same, beside one CPU-bound process",
        reference=1.1,
    ),
    "fit_cost": Summary(
        "fit_cost_full",
        "Seconds",
        columns=[
            "case",
            "machine",
            "commit",
            "train rows",
            "teacher fit s",
            "default fit s",
            "ratio (wall)",
            "student score",
            "forest score",
        ],
        bar="ratio (wall)",
        label=["case", "machine"],
        xlabel="default fit / the forest's own fit, wall seconds",
        reference=5.0,
        link=True,
    ),
    "scale_out": Summary(
        "scale_out",
        "",
        columns=[
            "engine",
            "memory",
            "teacher",
            "wall s",
            "teacher queries",
            "teacher shipments",
        ],
        bar="wall s",
        label=["engine", "memory", "teacher"],
        xlabel="wall seconds of the search",
    ),
    "paper_mnist": Summary(
        "paper_mnist",
        "The paper's MLP teacher",
        columns=["model", "targets", "epochs", "test errors", "paper"],
        bar="test errors",
        label=["model"],
        xlabel="MNIST test errors (of 10,000)",
    ),
}


def _write_result_pages(folder=DOCS / "benchmark_results"):
    folder.mkdir(exist_ok=True)
    pages = _result_pages()
    for stale in folder.glob("*.rst"):
        if stale.stem not in pages:
            stale.unlink()
    for name, page in pages.items():
        _write_if_changed(folder / f"{name}.rst", page)
    for name, summary in SUMMARIES.items():
        _write_if_changed(
            folder / f"{name}.txt", render(name, summary, BENCHMARK_RESULTS, folder)
        )


_write_result_pages()
