"""Compact tables and figures of the benchmark results, for the Benchmarks page.

A :class:`Summary` picks a few columns (and optionally rows) of one table of a
results file ``benchmarks/results/NAME.json`` and renders them as a
reStructuredText list-table, with a horizontal bar chart of one numeric column
drawn from the same rows, so the page always shows the numbers of the files it
links to.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

NUMBER = re.compile(r"[-+]?\d[\d,]*\.?\d*(?:e[-+]?\d+)?")


@dataclass(frozen=True)
class Summary:
    """Columns ``columns`` of the first table of ``result`` whose heading
    starts with ``heading``; ``rows`` keeps the rows whose cells match every
    ``column: regular expression`` (``search``). ``bar`` is the column drawn
    (None: a table alone),
    from the kept rows that also match ``bar_rows``, each bar labelled by the
    ``label`` columns joined, with the ``±`` of its cells as error bars;
    ``reference`` draws a dashed line (a target); ``link`` ends the text with a
    link to the full results' page."""

    result: str
    heading: str
    columns: list
    bar: str | None = None
    label: list = field(default_factory=list)
    rows: dict = field(default_factory=dict)
    bar_rows: dict = field(default_factory=dict)
    xlabel: str = ""
    reference: float | None = None
    log: bool = False
    link: bool = False


UNITS = {"µs": 1e-6, "ms": 1e-3, "s": 1.0, "kB": 1e3, "MB": 1e6, "GB": 1e9}
WITH_UNIT = re.compile(NUMBER.pattern + r"\s*(µs|ms|s|kB|MB|GB)?\b")


def number(cell):
    """The first number in a cell, in base units (``"0.861 ± 0.003"`` gives
    0.861, ``"36 µs"`` gives 3.6e-05)."""
    found = WITH_UNIT.search(str(cell))
    if not found:
        return None
    value = float(NUMBER.match(found.group()).group().replace(",", ""))
    return value * UNITS.get(found.group(1), 1.0)


def spread(cell):
    """The number after a ``±`` in a cell, or 0."""
    found = re.search(r"±\s*(" + NUMBER.pattern + ")", str(cell))
    return float(found.group(1).replace(",", "")) if found else 0.0


def matching(rows, patterns):
    return [
        row
        for row in rows
        if all(re.search(pattern, str(row[c])) for c, pattern in patterns.items())
    ]


def selected_rows(summary, results):
    """The chosen table's kept rows, as dicts."""
    payload = json.loads((results / f"{summary.result}.json").read_text())
    table = next(
        (
            table
            for table in payload["tables"]
            if (table["heading"] or "").startswith(summary.heading)
        ),
        None,
    )
    if table is None:
        raise ValueError(
            f"{summary.result}.json has no table whose heading starts with "
            f"{summary.heading!r}: rerun the benchmark or update the summary."
        )
    wanted = {*summary.columns, *summary.label, *summary.rows, *summary.bar_rows}
    wanted |= {summary.bar} - {None}
    missing = sorted(wanted - set(table["columns"]))
    if missing:
        raise ValueError(
            f"{summary.result}.json has no column {missing} in its table "
            f"{table['heading']!r}: rerun the benchmark or update the summary."
        )
    rows = [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]
    return matching(rows, summary.rows)


def list_table(columns, rows):
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: auto", ""]
    for cells in [columns, *[[row[c] for c in columns] for row in rows]]:
        # A bare "-" would open a bullet list inside the cell.
        cells = ["—" if str(cell).strip() == "-" else cell for cell in cells]
        lines.append(f"   * - {cells[0]}")
        lines += [f"     - {cell}" for cell in cells[1:]]
    return "\n".join(lines) + "\n"


def bar_chart(summary, rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [" ".join(str(row[c]) for c in summary.label) for row in rows]
    values = [number(row[summary.bar]) or 0.0 for row in rows]
    errors = [spread(row[summary.bar]) for row in rows]
    figure, axes = plt.subplots(figsize=(7, 0.32 * len(rows) + 1.0))
    axes.barh(range(len(rows)), values, xerr=errors, color="#4c72b0", ecolor="#333")
    axes.set_yticks(range(len(rows)), labels, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel(summary.xlabel or summary.bar)
    if summary.log:
        axes.set_xscale("log")
    if summary.reference is not None:
        axes.axvline(summary.reference, color="#c44e52", linestyle="--", linewidth=1)
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def render(name, summary, results, folder):
    """The include text for ``NAME``: its table, and the figure it writes to
    ``folder/NAME.png`` when the summary draws one."""
    if not (results / f"{summary.result}.json").exists():
        return (
            f"No results yet (``benchmarks/results/{summary.result}.json``): run "
            "the benchmark and rebuild.\n"
        )
    rows = selected_rows(summary, results)
    table = list_table(summary.columns, rows)
    if summary.link:
        table += f"\nFull results: :doc:`/{folder.name}/{summary.result}`.\n"
    if summary.bar is None:
        return table
    figure = folder / f"{name}.png"
    bar_chart(summary, matching(rows, summary.bar_rows), figure)
    return (
        f".. image:: /{Path(folder.name, figure.name).as_posix()}\n"
        f"   :alt: {summary.xlabel or summary.bar}\n   :width: 100%\n\n" + table
    )
