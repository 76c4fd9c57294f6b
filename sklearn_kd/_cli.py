"""The ``sklearn-kd`` command line: ``demo`` and ``compress``.

Every problem the user can fix (a missing file, an unknown column, data the
teacher cannot read, an unwritable output) ends in one line on stderr,
``sklearn-kd: error: ...``, and exit status 2 for a bad command line or 1 for a
problem found while working; never in a traceback, and never with a half-written
output file.
"""

import argparse
import contextlib
import csv
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._transfer_set import UNLABELLED

PROG = "sklearn-kd"
USAGE_ERROR = 2
RUNTIME_ERROR = 1

_EPILOG = (
    "Exit status: 0 on success, 2 for a bad command line (unknown option, missing "
    "file, unknown column), 1 when the teacher or the data cannot be used or an "
    "output cannot be written."
)


class CommandError(Exception):
    """A problem to report as one line on stderr, ending with ``exit_status``."""

    def __init__(self, message, exit_status=RUNTIME_ERROR):
        super().__init__(message)
        self.exit_status = exit_status


def main(argv=None):
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``).

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name.

    Returns
    -------
    exit_status : int
        0 on success, 1 for a runtime problem, 2 for a bad command line.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or an error argparse printed
        return exit_.code
    try:
        return args.handler(args)
    except CommandError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def build_parser():
    """The argument parser of ``sklearn-kd`` and its sub-commands."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Knowledge distillation for scikit-learn: compress a fitted classifier "
            "into a small neural network."
        ),
        epilog=_EPILOG,
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(
        title="commands", metavar="COMMAND", dest="command", required=True
    )

    demo = commands.add_parser(
        "demo",
        help="distil a random forest on the digits data into a small MLP",
        description=(
            "Fit a 300-tree random forest on 75%% of scikit-learn's digits data, "
            "distil it into a small MLP and compare the two on the other 25%%: "
            "accuracy, log loss, agreement, pickled size and prediction time."
        ),
        epilog=_EPILOG,
    )
    demo.add_argument(
        "--seed",
        metavar="S",
        type=int,
        default=0,
        help="seed of the student's initialisation and shuffling (default: 0)",
    )
    demo.add_argument(
        "--max-epochs",
        metavar="N",
        type=_epochs,
        default="auto",
        help="training epochs of the student, or auto for the library's training "
        "budget (default: %(default)s)",
    )
    _add_quiet(demo)
    demo.set_defaults(handler=_run_demo)

    compress = commands.add_parser(
        "compress",
        help="distil a fitted classifier or regressor saved with joblib, on a CSV",
        description=(
            "Distil a fitted classifier or regressor (saved with joblib) into a "
            "small MLP, using the rows of a CSV file as transfer data, then save "
            "the student and print the compression report on rows it did not "
            "train on: a held-out share of the CSV (--test-fraction), or the rows "
            "of --test. The CSV's columns are the teacher's features, in its order "
            "or by its feature names; numeric columns are read as numbers, and "
            "string columns reach a teacher fitted on a DataFrame (a pipeline "
            "that encodes them) as they are. Without --target every row is "
            "unlabelled and the student learns from the teacher alone."
        ),
        epilog=_EPILOG,
    )
    compress.add_argument("teacher", metavar="TEACHER.joblib", type=Path)
    compress.add_argument("data", metavar="DATA.csv", type=Path)
    compress.add_argument(
        "--target",
        metavar="COLUMN",
        help="column of true labels or targets, not a feature (a classifier's -1, "
        "or a regressor's empty cell, marks an unlabelled row)",
    )
    compress.add_argument(
        "--test-fraction",
        metavar="F",
        type=_test_fraction,
        default=0.2,
        help="share of the rows held out for the report, in [0, 1) (default: "
        "%(default)s; 0 reports on the training rows, which flatters the student)",
    )
    compress.add_argument(
        "--test",
        metavar="TEST.csv",
        type=Path,
        help="rows to report on, with the columns of DATA.csv in any order (matched "
        "by name); the whole DATA.csv is then used for training",
    )
    compress.add_argument(
        "--temperature",
        metavar="T",
        type=_positive_float,
        default=1.0,
        help="distillation temperature, > 0 (default: %(default)s)",
    )
    compress.add_argument(
        "--soft-target-weight",
        metavar="W",
        type=_weight,
        default="auto",
        help="weight of the teacher's soft targets in [0, 1] against the labels, "
        "or auto to let the fit choose (default: %(default)s; unlabelled rows "
        "always learn from the teacher alone)",
    )
    compress.add_argument(
        "--max-epochs",
        metavar="N",
        type=_epochs,
        default="auto",
        help="training epochs of the student, or auto for the library's training "
        "budget (default: %(default)s)",
    )
    compress.add_argument(
        "--out",
        metavar="STUDENT.onnx",
        type=Path,
        help="write the student as ONNX (needs: pip install 'sklearn-kd[onnx]')",
    )
    compress.add_argument(
        "--out-joblib",
        metavar="STUDENT.joblib",
        type=Path,
        help="write the student as a joblib file (a StudentClassifier or "
        "StudentRegressor)",
    )
    compress.add_argument(
        "--seed",
        metavar="S",
        type=int,
        default=None,
        help="seed of the student's initialisation and shuffling, and of the "
        "held-out rows",
    )
    _add_quiet(compress)
    compress.set_defaults(handler=_run_compress)
    return parser


def _add_quiet(parser):
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar while training"
    )


def _number_in(kind, accepts, wanted):
    """An argparse ``type``: ``kind(text)``, checked by ``accepts``."""

    def convert(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not accepts(value):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}")
        return value

    return convert


_positive_int = _number_in(int, lambda value: value >= 1, "an integer >= 1")


def _epochs(text):
    """``--max-epochs``: a positive integer or ``auto``."""
    return "auto" if text == "auto" else _positive_int(text)


_positive_float = _number_in(float, lambda value: value > 0, "a number > 0")
_unit_float = _number_in(float, lambda value: 0 <= value <= 1, "a number in [0, 1]")
_test_fraction = _number_in(float, lambda value: 0 <= value < 1, "a number in [0, 1)")


def _weight(text):
    return "auto" if text == "auto" else _unit_float(text)


def _progress_verbosity(quiet):
    """``verbose`` for DistilledClassifier: a progress bar unless quiet or no tqdm."""
    if quiet:
        return 0
    try:
        import tqdm  # noqa: F401
    except ImportError:
        print(
            f"{PROG}: note: install tqdm for a progress bar (pip install tqdm)",
            file=sys.stderr,
        )
        return 0
    return 1


# -- demo ----------------------------------------------------------------------


def _run_demo(args):
    from ._demo import DEMO_DATA, DEMO_N_TREES, DEMO_TEST_SIZE, run_demo

    print(
        f"Teacher: a random forest of {DEMO_N_TREES} trees, fitted on "
        f"{1 - DEMO_TEST_SIZE:.0%} of scikit-learn's {DEMO_DATA}.\n"
        "Student: a small MLP distilled from it; both are compared on the other "
        f"{DEMO_TEST_SIZE:.0%}.",
        flush=True,
    )
    report = run_demo(
        seed=args.seed,
        max_epochs=args.max_epochs,
        verbose=_progress_verbosity(args.quiet),
    )
    print(report)
    return 0


# -- compress ------------------------------------------------------------------


@dataclass
class _Table:
    """A CSV file's feature columns and labels.

    ``X`` holds the feature columns as floats; ``frame`` the same columns as a
    pandas DataFrame, or None where pandas is not installed.
    """

    columns: list
    X: np.ndarray
    y: np.ndarray | None
    frame: object

    @property
    def n_rows(self):
        return len(self.X) if self.X is not None else len(self.frame)


def _run_compress(args):
    from sklearn.base import is_regressor

    from ._classifier import UnlabelledRowsWarning
    from .metrics._report import _format_bytes

    outputs = _check_outputs(args.out, args.out_joblib)
    for path, role in (
        (args.teacher, "teacher"),
        (args.data, "data"),
        (args.test, "test"),
    ):
        if path is not None and not path.is_file():
            raise CommandError(f"{role} file not found: {path}", USAGE_ERROR)
    teacher = _load_teacher(args.teacher)
    regression = is_regressor(teacher)
    table = _read_table(args.data, args.target, regression)
    X = _teacher_input(teacher, table, args.data.name)
    y = _labels(table, regression)
    if args.test is not None:
        test_table = _read_table(args.test, args.target, regression)
        if getattr(teacher, "feature_names_in_", None) is None:
            # A teacher without feature names reads columns by position: put the
            # test file's in the training file's order.
            test_table = _in_column_order(
                test_table, table.columns, args.test.name, args.data.name
            )
        held_out = (_teacher_input(teacher, test_table, args.test.name), test_table.y)
        where = f"the rows of {args.test.name}"
    elif args.test_fraction > 0:
        X, y, held_out = _hold_out(X, y, args.test_fraction, args.seed, regression)
        where = (
            f"the {args.test_fraction:.0%} of the rows of {args.data.name} held out "
            "from training"
        )
    else:
        held_out = (X, table.y)
        where = (
            f"the rows of {args.data.name} the student trained on (no rows held "
            "out, so its numbers are optimistic)"
        )
    estimator = _distiller(teacher, regression, args)
    with warnings.catch_warnings():
        # -1 is this command's documented marker of unlabelled rows.
        warnings.simplefilter("ignore", UnlabelledRowsWarning)
        try:
            estimator.fit(X, y)
        except (ValueError, TypeError, FloatingPointError) as error:
            raise CommandError(f"distillation failed: {error}") from error
    _write_outputs(estimator.export_student(), outputs)
    for path, kind in outputs:
        print(f"wrote {path} ({kind}, {_format_bytes(path.stat().st_size)})")
    if not outputs:
        print(
            f"{PROG}: note: no --out or --out-joblib given, the student was not saved",
            file=sys.stderr,
        )
    print(
        f"{PROG}: note: the teacher came fitted; if it was trained on the "
        "report's rows, its own scores there are optimistic",
        file=sys.stderr,
    )
    _print_report(teacher, estimator, *held_out, where, regression)
    return 0


def _distiller(teacher, regression, args):
    from ._classifier import DistilledClassifier
    from ._regressor import DistilledRegressor

    common = {
        "soft_target_weight": args.soft_target_weight,
        "max_epochs": args.max_epochs,
        "random_state": args.seed,
        "verbose": _progress_verbosity(args.quiet),
    }
    if regression:
        return DistilledRegressor(teacher, **common)
    return DistilledClassifier(teacher, temperature=args.temperature, **common)


def _labels(table, regression):
    """The labels to fit on: the target column, or all rows unlabelled."""
    if table.y is not None:
        return table.y
    return np.full(table.n_rows, np.nan if regression else UNLABELLED)


def _hold_out(X, y, fraction, seed, regression):
    """Split off ``fraction`` of the rows (stratified by label where it can be)."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(y))
    labelled = ~np.isnan(y.astype(float)) if regression else y != UNLABELLED
    stratify = None
    if not regression and labelled.all():
        _, counts = np.unique(y, return_counts=True)
        stratify = y if counts.min() >= 2 else None
    try:
        train, test = train_test_split(
            rows,
            test_size=fraction,
            random_state=0 if seed is None else seed,
            stratify=stratify,
        )
    except ValueError as error:
        raise CommandError(
            f"cannot hold out {fraction:.0%} of the rows: {error}"
        ) from error
    from ._sklearn_compat import _safe_indexing  # rows of an array or a DataFrame

    train, test = np.sort(train), np.sort(test)
    held_out_y = None if not labelled.any() else y[test]
    return (
        _safe_indexing(X, train),
        y[train],
        (_safe_indexing(X, test), held_out_y),
    )


def _check_outputs(out, out_joblib):
    """Check the output paths before any work; return ``[(path, kind), ...]``."""
    outputs = []
    if out is not None:
        if out.suffix.lower() != ".onnx":
            raise CommandError(
                f"--out must name an .onnx file, got {out}; use --out-joblib "
                "for a joblib file",
                USAGE_ERROR,
            )
        try:
            import onnxscript  # noqa: F401
        except ImportError:
            raise CommandError(
                "--out writes ONNX, which needs onnx and onnxscript: "
                "pip install 'sklearn-kd[onnx]' (or use --out-joblib)"
            ) from None
        outputs.append((out, "ONNX"))
    if out_joblib is not None:
        outputs.append((out_joblib, "joblib"))
    if len({path.resolve() for path, _ in outputs}) < len(outputs):
        raise CommandError("--out and --out-joblib name the same file", USAGE_ERROR)
    for path, _ in outputs:
        folder = path.parent
        if path.is_dir():
            raise CommandError(f"cannot write {path}: it is a folder")
        if not folder.is_dir():
            raise CommandError(f"cannot write {path}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise CommandError(f"cannot write {path}: folder {folder} is not writable")
    return outputs


def _load_teacher(path):
    import joblib

    print(
        f"{PROG}: warning: loading {path} runs any code it holds: load only "
        "joblib files you trust",
        file=sys.stderr,
    )
    try:
        teacher = joblib.load(path)
    except Exception as error:  # unpickling can raise anything
        raise CommandError(
            f"cannot load {path} (is it a file written by joblib.dump?): "
            f"{type(error).__name__}: {error}"
        ) from error
    from sklearn.base import is_regressor

    name = type(teacher).__name__
    needed = ("predict",) if is_regressor(teacher) else ("predict", "predict_proba")
    missing = [m for m in needed if not hasattr(teacher, m)]
    if missing:
        raise CommandError(
            f"{path} holds a {name}, which has no {' or '.join(missing)}: the "
            "teacher must be a fitted classifier with predict and predict_proba, or "
            "a fitted regressor"
        )
    from .teacher._adapters import is_fitted

    if not is_fitted(teacher):
        raise CommandError(
            f"{path} holds an unfitted {name}: compress needs a fitted teacher"
        )
    return teacher


def _import_pandas():
    """pandas, or None where it is not installed (it is optional)."""
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def _read_table(path, target, regression=False):
    pd = _import_pandas()
    if pd is None:
        return _read_table_without_pandas(path, target, regression)
    return _read_table_with_pandas(pd, path, target, regression)


def _read_table_with_pandas(pd, path, target, regression):
    # pandas reads a row with too few fields as empty cells: refuse it first.
    for _ in _csv_rows(path):
        pass
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read {path} as CSV: {error}") from error
    frame.columns = [str(name) for name in frame.columns]
    _check_target(target, list(frame.columns), path)
    y = None
    if target is not None:
        labels = frame.pop(target)
        y = _target_values(
            labels.to_numpy(), int(labels.isna().sum()), target, path, regression
        )
    _check_rows_and_columns(len(frame), list(frame.columns), path)
    strings = [
        name for name in frame.columns if not pd.api.types.is_numeric_dtype(frame[name])
    ]
    # String columns can only reach a teacher fitted on named columns (such as a
    # pipeline that encodes them); the student codes them as categories.
    X = None if strings else frame.to_numpy(np.float64)
    return _Table(list(frame.columns), X, y, frame)


def _read_table_without_pandas(path, target, regression):
    rows = list(_csv_rows(path))
    if not rows:
        raise CommandError(f"{path} is empty")
    header, body = rows[0], rows[1:]
    columns = {name: [row[i] for row in body] for i, name in enumerate(header)}
    _check_target(target, header, path)
    y = None
    if target is not None:
        cells = columns.pop(target)
        n_empty = sum(not cell.strip() for cell in cells)
        values = _parse_labels([cell if cell.strip() else "nan" for cell in cells])
        y = _target_values(values, n_empty, target, path, regression)
    _check_rows_and_columns(len(body), list(columns), path)
    values = []
    for name, cells in columns.items():
        try:
            values.append([float(cell) if cell.strip() else np.nan for cell in cells])
        except ValueError:
            example = next(cell for cell in cells if not _is_float_or_empty(cell))
            raise _non_numeric_column(name, example, path) from None
    X = np.array(values, dtype=np.float64).T.reshape(len(body), len(columns))
    return _Table(list(columns), X, y, None)


def _csv_rows(path):
    """Yield the header of ``path``, then its data rows, each checked to have one
    field per column; blank lines are skipped, as pandas skips them."""
    header = None
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            line = 1  # where the next row starts: a quoted field may span lines
            for row in reader:
                if len(row) > 1 or (row and row[0].strip()):
                    if header is None:
                        header = row
                    elif len(row) != len(header):
                        raise CommandError(
                            f"{path}, line {line}: {len(row)} fields, but the header "
                            f"has {len(header)}: give every row one field per column "
                            "(leave a field empty for a missing value, and quote "
                            "one that holds a comma)"
                        )
                    yield row
                line = reader.line_num + 1
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise CommandError(f"cannot read {path} as CSV: {error}") from error


def _is_float_or_empty(cell):
    try:
        float(cell)
    except ValueError:
        return not cell.strip()
    return True


def _parse_labels(cells):
    """Labels as ints, else floats, else strings, as pandas would read them."""
    for kind in (int, float):
        try:
            return np.array([kind(cell) for cell in cells])
        except ValueError:
            continue
    return np.array(cells, dtype=object)


def _check_target(target, columns, path):
    if target is not None and target not in columns:
        import difflib

        close = difflib.get_close_matches(target, columns, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
        raise CommandError(
            f"--target {target!r} is not a column of {path}; {hint}its columns "
            f"are {columns}",
            USAGE_ERROR,
        )


def _target_values(values, n_empty, target, path, regression):
    """The target column, checked: numbers for a regressor (an empty cell is an
    unlabelled row), and no empty cells for a classifier (-1 marks those)."""
    if regression:
        try:
            return np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise CommandError(
                f"target column {target!r} of {path} is not numeric, but the teacher "
                "is a regressor"
            ) from None
    if n_empty:
        raise CommandError(
            f"target column {target!r} of {path} has {n_empty} empty cells; "
            "mark unlabelled rows with -1"
        )
    return values


def _check_rows_and_columns(n_rows, columns, path):
    if n_rows == 0:
        raise CommandError(f"{path} has no data rows")
    if not columns:
        raise CommandError(f"{path} has no feature columns")


def _non_numeric_column(name, example, path):
    return CommandError(
        f"column {name!r} of {path} is not numeric (e.g. {example!r}), and the "
        "teacher was fitted without column names, so it cannot read strings: fit it "
        "on a DataFrame (e.g. a pipeline that encodes the column), or encode the "
        "column as numbers"
    )


def _teacher_input(teacher, table, data_name):
    """The rows in the form the teacher was fitted on: a DataFrame when it knows
    feature names (its columns put in the teacher's order), else a float array."""
    name = type(teacher).__name__
    names = getattr(teacher, "feature_names_in_", None)
    if names is not None:
        names = [str(feature) for feature in names]
        lacking, unknown = _column_differences(names, table.columns)
        if lacking or unknown:
            parts = []
            if lacking:
                parts.append(f"lacks the teacher's features {_shorten(lacking)}")
            if unknown:
                parts.append(
                    f"has columns the teacher was not fitted on {_shorten(unknown)}"
                    " (if one is the labels, name it with --target)"
                )
            raise CommandError(f"{data_name} " + " and ".join(parts))
        if table.frame is None:
            raise CommandError(
                f"the teacher {name} was fitted on a pandas DataFrame with named "
                "columns; install pandas to pass it one (pip install pandas)"
            )
        return table.frame[names]
    if table.X is None:
        name_, values = next(
            (column, table.frame[column].dropna())
            for column in table.columns
            if table.frame[column].dtype.kind not in "biuf"
        )
        raise _non_numeric_column(
            name_, values.iloc[0] if len(values) else None, data_name
        )
    expected = getattr(teacher, "n_features_in_", table.X.shape[1])
    if expected != table.X.shape[1]:
        raise CommandError(
            f"the teacher {name} expects {expected} features, but {data_name} has "
            f"{table.X.shape[1]} feature columns"
            + ("" if table.y is not None else " (name a label column with --target)")
        )
    return table.X


def _column_differences(expected, present):
    """The ``expected`` columns missing from ``present``, and those it has over."""
    lacking = [column for column in expected if column not in present]
    unknown = [column for column in present if column not in expected]
    return lacking, unknown


def _in_column_order(table, columns, name, reference):
    """``table`` with its feature columns matched by name to ``columns``, those of
    the file ``reference``, and put in their order."""
    lacking, unknown = _column_differences(columns, table.columns)
    if lacking or unknown:
        parts = []
        if lacking:
            parts.append(f"lacks the columns {_shorten(lacking)} of {reference}")
        if unknown:
            parts.append(f"has columns {reference} does not have {_shorten(unknown)}")
        raise CommandError(
            f"{name} " + " and ".join(parts) + f": give it the columns of {reference}"
            " (in any order), so that each reaches the teacher as the same feature"
        )
    order = [table.columns.index(column) for column in columns]
    return _Table(
        list(columns),
        None if table.X is None else table.X[:, order],
        table.y,
        None if table.frame is None else table.frame[list(columns)],
    )


def _shorten(names, limit=8):
    shown = ", ".join(repr(name) for name in names[:limit])
    return f"[{shown}{', ...' if len(names) > limit else ''}]"


def _write_outputs(student, outputs):
    """Write every output to a temporary file beside it, then move them all into
    place: a failure leaves no partial file, and no output without the others."""
    from ._files import atomic_file

    try:
        with contextlib.ExitStack() as stack:
            for path, kind in outputs:
                temporary = stack.enter_context(atomic_file(path))
                if kind == "ONNX":
                    student.to_onnx(temporary)
                else:
                    import joblib

                    joblib.dump(student, temporary)
    except OSError as error:
        raise CommandError(f"cannot write the student: {error}") from error


def _print_report(teacher, estimator, X, y, where, regression):
    from .metrics import compression_report

    counted = f"{len(X)} rows"
    if y is not None:
        labelled = ~np.isnan(y.astype(float)) if regression else y != UNLABELLED
        if not labelled.any():
            y = None
        elif not labelled.all():
            rows = np.flatnonzero(labelled)
            from ._sklearn_compat import _safe_indexing

            X = _safe_indexing(X, rows)
            y, counted = y[rows], f"its {len(rows)} labelled rows"
    print(f"\nCompression report on {where} ({counted}):")
    print(compression_report(teacher, estimator, X, y))
