"""Sphinx configuration of the sklearn-kd documentation.

Build with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``; the
gallery examples in ``examples/`` run during the build.
"""

from pathlib import Path

import torch

import sklearn_kd

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
    "myst_parser",  # parses the Markdown benchmark tables included by benchmarks.rst
]

# Markdown is only ever included into reStructuredText pages, never a page itself.
source_suffix = {".rst": "restructuredtext"}
templates_path = ["_templates"]
exclude_patterns = ["_build", "_generated_*.rst"]
default_role = "literal"

autosummary_generate = True
autodoc_typehints = "none"

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
    """The result tables to show: one benchmark's full run, else its other runs.

    A results file ``NAME.md`` is the full run of ``benchmarks/NAME.py``; files
    ``NAME_*.md`` are its quick or partial runs, shown only when ``NAME.md`` does
    not exist.
    """
    scripts = sorted(
        (path.stem for path in results.parent.glob("*.py")),
        key=len,
        reverse=True,
    )
    runs = {}
    for path in sorted(results.glob("*.md")):
        benchmark = next(
            (name for name in scripts if path.stem.startswith(f"{name}_")),
            path.stem,
        )
        runs.setdefault(benchmark, []).append(path)
    return [
        path
        for benchmark, paths in sorted(runs.items())
        for path in [path for path in paths if path.stem == benchmark] or paths
    ]


def _benchmark_sections(results=BENCHMARK_RESULTS):
    """reStructuredText including each benchmark table that exists right now,
    with the figure ``NAME.png`` next to a table ``NAME.md`` shown below it."""
    tables = _benchmark_tables(results)
    if not tables:
        return (
            "No benchmark results were present when this page was built: run the "
            "scripts in ``benchmarks/`` (see its README) and rebuild.\n"
        )
    blocks = []
    for path in tables:
        relative = Path("..", "benchmarks", "results", path.name).as_posix()
        block = f".. include:: {relative}\n   :parser: myst_parser.sphinx_\n"
        figure = path.with_suffix(".png")
        if figure.exists():
            image = Path("..", "benchmarks", "results", figure.name).as_posix()
            block += f"\n.. image:: {image}\n   :width: 90%\n   :alt: {path.stem}\n"
        blocks.append(block)
    return "\n".join(blocks)


def _write_if_changed(path, text):
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


_write_if_changed(DOCS / "_generated_benchmarks.rst", _benchmark_sections())
