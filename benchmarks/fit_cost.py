"""What a default fit costs: the teacher's own fit against the distiller's, by stage.

For each case (a data set, a stratified 80/20 split, seed 0; regression sets a
plain 80/20 split), in a fresh process of its own so that no state or thread
setting carries over from one case to the next:

* the teacher's fit: ``RandomForestClassifier(300, n_jobs=2, random_state=0)``
  or ``RandomForestRegressor(300, n_jobs=2, random_state=0)``, wall and CPU
  seconds, and its test score;
* ``DistilledClassifier(fitted_teacher, random_state=0).fit(X, y)`` (or
  ``DistilledRegressor``) with every other setting at its default except
  ``verbose=1``: wall and CPU seconds, the ratio to the teacher's fit, and the
  seconds and details of each stage the library reports (teacher queries,
  MUNGE, the automatic selection, the final student), parsed from its
  ``[DistilledClassifier] stage: details (12.3 s)`` lines; the rows, epochs and
  optimizer steps of the final student, ``selected_params_`` and the student's
  test score (accuracy or R²).

Each case runs on an idle machine and "busy", beside one CPU-bound process the
script starts itself (``python -c "while True: pass"``, ended after the case).
The load average is recorded before and after each case.

``--pythonpath DIR`` (and ``--python PATH``) time another copy of the package,
e.g. a frozen worktree of an older commit: the cases run as
``PYTHONPATH=DIR python fit_cost.py --case ...``. ``--profile CASE`` runs one
case's distiller fit under cProfile and writes the top functions.

Usage: ``python benchmarks/fit_cost.py [--quick] [--cases NAME[:ROWS] ...]
[--busy {no,yes,both}] [--timeout S] [--max-rows N] [--python PATH]
[--pythonpath DIR] [--suffix NAME] [--merge] [--render] [--note TEXT]
[--profile CASE]``.
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import RESULTS_DIR, Stopwatch, data_dir, machine, report
from soft_targets import FULL as SOFT_TARGETS

SEED = 0
N_TREES = 300
TEST_SIZE = 0.2
AUTO_SETS = SOFT_TARGETS["auto_datasets"]  # the seven sets of soft_targets.py
KDDCUP_SWEEP = ["pmlb_kddcup:1000", "pmlb_kddcup:10000", "pmlb_kddcup:100000"]
KDDCUP_SWEEP += ["pmlb_kddcup"]  # every training row of the 80/20 split
REGRESSION_SETS = [  # the sets of regression.py (random split only)
    "reg_houses",
    "reg_bike_sharing_hourly",
    "reg_pol",
    "reg_cpu_act",
    "reg_wind",
]
FULL_CASES = ["digits", *AUTO_SETS, *KDDCUP_SWEEP, *REGRESSION_SETS]
QUICK_CASES = ["digits", "pmlb_krkopt:2000", "pmlb_magic:2000"]
MARK = "@@fit_cost "
#: How the results name the package a case timed.
PACKAGE_LABELS = ("this checkout", "the --pythonpath copy")
STAGE_LINE = re.compile(r"^\[(Distilled\w+)\] (.*) \((\d+(?:\.\d+)?) s\)$")
STAGE_COLUMNS = {  # table column -> how the stage's title starts
    "teacher queries s": "teacher",
    "MUNGE s": "MUNGE",
    "selection s": "selection",
    "final student s": "student",
}


# -- the child process: one case ---------------------------------------------


def parse_case(spec):
    """``NAME`` or ``NAME:ROWS`` (training rows capped at ROWS)."""
    name, _, rows = spec.partition(":")
    return name, int(rows) if rows else None


def load_case(spec):
    """X_train, X_test, y_train, y_test and whether the task is regression."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    name, max_rows = parse_case(spec)
    regression = name.startswith("reg_")
    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
    else:
        data = np.load(data_dir() / f"{name}.npz", allow_pickle=False)
        X = np.asarray(data["X"], np.float64)
        y = np.asarray(data["y"], np.float64 if regression else None)
    X_train, X_test, y_train, y_test = train_test_split(
        X,
        y,
        test_size=TEST_SIZE,
        stratify=None if regression else y,
        random_state=SEED,
    )
    if max_rows is not None and max_rows < len(y_train):
        # The first rows of a fixed permutation: the sizes of a sweep are nested.
        # (Not stratified: some classes have too few rows for that.)
        keep = np.random.RandomState(SEED).permutation(len(y_train))[:max_rows]
        X_train, y_train = X_train[keep], y_train[keep]
    return X_train, X_test, y_train, y_test, regression


def train_rows(spec):
    """Training rows of a case without loading it (for ``--max-rows``)."""
    import numpy as np

    name, max_rows = parse_case(spec)
    if name == "digits":
        n_rows = 1797
    else:
        with np.load(data_dir() / f"{name}.npz", allow_pickle=False) as data:
            n_rows = len(data["y"])
    n_train = n_rows - math.ceil(TEST_SIZE * n_rows)
    return n_train if max_rows is None else min(n_train, max_rows)


def say(kind, **values):
    print(MARK + json.dumps({"kind": kind, **values}, default=str), flush=True)


def run_case(spec, profile_top=None):
    """Fit the teacher and the distiller of one case; report on stdout."""
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    import sklearn_kd
    from sklearn_kd import DistilledClassifier, DistilledRegressor

    say(
        "start",
        case=spec,
        package=str(Path(sklearn_kd.__file__).parent),
        version=getattr(sklearn_kd, "__version__", None),
        machine=machine(),
        loadavg=os.getloadavg(),
    )
    X_train, X_test, y_train, y_test, regression = load_case(spec)
    forest = RandomForestRegressor if regression else RandomForestClassifier
    teacher = forest(N_TREES, n_jobs=2, random_state=SEED)
    with Stopwatch() as watch:
        teacher.fit(X_train, y_train)
    say(
        "teacher",
        rows=len(y_train),
        test_rows=len(y_test),
        features=X_train.shape[1],
        classes=None if regression else len(np.unique(y_train)),
        seconds=watch.seconds,
        cpu_seconds=watch.cpu_seconds,
        forest_score=float(teacher.score(X_test, y_test)),
        loadavg=os.getloadavg(),
    )
    distiller = DistilledRegressor if regression else DistilledClassifier
    estimator = distiller(teacher, random_state=SEED, verbose=1)
    say("fit_start")
    profiler = None
    if profile_top is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with Stopwatch() as watch:
        estimator.fit(X_train, y_train)
    if profiler is not None:
        profiler.disable()
    history = estimator.student_.history
    say(
        "fit",
        seconds=watch.seconds,
        cpu_seconds=watch.cpu_seconds,
        epochs=len(history),
        batch_size=estimator.batch_size,
        student_batch_size=getattr(estimator.student_, "batch_size", None),
        max_epochs=estimator.max_epochs,
        augment_factor=estimator.augment_factor,
        selected_params=getattr(estimator, "selected_params_", None),
        selection_scores=getattr(estimator, "selection_scores_", None),
        train_loss=float(history[-1, "train_loss"]),
        student_score=float(estimator.score(X_test, y_test)),
        torch_threads=_torch_threads(),
        peak_rss_mb=_peak_rss_mb(),
        loadavg=os.getloadavg(),
    )
    if profiler is not None:
        say("profile", text=profile_text(profiler, profile_top))


def _torch_threads():
    import torch

    return torch.get_num_threads()


def _peak_rss_mb():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def profile_text(profiler, top):
    """Top functions by cumulative and own time, and the per-batch ones."""
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    out.write(f"\n{'=' * 30} by own time {'=' * 30}\n")
    stats.sort_stats("tottime").print_stats(top)
    out.write(split_text(stats.stats, top))
    return out.getvalue()


def split_text(raw, top):
    """Selection against final student, and what each optimizer step costs."""

    def named(function, file_part):
        return [
            (key, value)
            for key, value in raw.items()
            if key[2] == function and file_part in key[0]
        ]

    lines = [f"\n{'=' * 30} where the fit's time goes {'=' * 30}"]
    selection = sum(value[3] for _, value in named("select", "_selection"))
    fit_total = sum(value[3] for _, value in named("_fit", "_base"))
    trained = named("_train_student", "_base")
    from_select = from_fit = 0.0
    for _, (_, _, _, _, callers) in trained:
        for caller, edge in callers.items():
            if caller[2] == "select":
                from_select += edge[3]
            elif caller[2] == "_fit":
                from_fit += edge[3]
    lines.append(
        f"fit (cumulative, under cProfile): {fit_total:.2f} s; selection "
        f"{selection:.2f} s ({from_select:.2f} s of it training candidates); "
        f"final student {from_fit:.2f} s"
    )
    steps = sum(value[1] for _, value in named("train_step", "skorch"))
    if not steps:
        lines.append("no skorch train_step calls found")
        return "\n".join(lines) + "\n"
    step_seconds = sum(value[3] for _, value in named("train_step", "skorch"))
    lines.append(
        f"skorch train_step: {steps} calls, {step_seconds:.2f} s cumulative, "
        f"{1e6 * step_seconds / steps:.0f} us per step"
    )
    per_batch = sorted(
        ((key, value) for key, value in raw.items() if value[1] >= steps),
        key=lambda item: -item[1][2],
    )[:top]
    lines.append(
        f"Functions called at least once per step, by own time (us per step = "
        f"time / {steps} steps):"
    )
    lines.append(
        f"{'calls':>9} {'own s':>8} {'cum s':>8} {'own us/step':>12}  function"
    )
    for (file, line, function), value in per_batch:
        where = "/".join(Path(file).parts[-2:]) if file != "~" else ""
        lines.append(
            f"{value[1]:>9} {value[2]:>8.2f} {value[3]:>8.2f} "
            f"{1e6 * value[2] / steps:>12.1f}  {where}:{line}({function})"
        )
    return "\n".join(lines) + "\n"


# -- the parent: one subprocess per case -------------------------------------


def start_spinner(python):
    return subprocess.Popen(
        [python, "-c", "while True: pass"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(process):
    """End a process this script started, and its children (own session)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, 9)
        except (ProcessLookupError, PermissionError):
            process.kill()
    process.wait()


def timed_commit(args):
    """The short commit of the package the cases import, or None outside git."""
    where = args.pythonpath or str(Path(__file__).resolve().parents[1])
    found = subprocess.run(
        ["git", "-C", where, "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    )
    return found.stdout.strip() or None


def run_child(spec, args, busy, profile=False):
    """Run one case in a fresh process; return its record."""
    env = dict(os.environ)
    if args.pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(
            [args.pythonpath, *filter(None, [env.get("PYTHONPATH")])]
        )
    command = [args.python, str(Path(__file__).resolve()), "--case", spec]
    if profile:
        command += ["--profile-top", str(args.profile_top)]
    record = {
        "case": spec,
        "busy": busy,
        "stages": [],
        "lines": [],
        "loadavg_before": os.getloadavg(),
        "commit": timed_commit(args),
    }
    spinner = start_spinner(args.python) if busy else None
    if spinner is not None:
        time.sleep(0.5)
    stderr = tempfile.TemporaryFile(mode="w+")
    started = time.perf_counter()
    child = subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        start_new_session=True,
    )
    reader = threading.Thread(target=read_child, args=(child.stdout, record))
    reader.start()
    try:
        child.wait(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        record["timed_out"] = args.timeout
        stop(child)
    finally:
        if spinner is not None:
            stop(spinner)
    reader.join()
    record["case_seconds"] = time.perf_counter() - started
    record["returncode"] = child.returncode
    record["loadavg_after"] = os.getloadavg()
    if child.returncode and "timed_out" not in record:
        stderr.seek(0)
        record["error"] = stderr.read()[-3000:]
    stderr.close()
    return record


def read_child(stream, record):
    """Collect the child's messages and the library's stage lines as they come."""
    for line in stream:
        line = line.rstrip("\n")
        if line.startswith(MARK):
            message = json.loads(line[len(MARK) :])
            record.setdefault("messages", {})[message.pop("kind")] = message
            continue
        record["lines"].append(line)
        match = STAGE_LINE.match(line)
        if match:
            middle = match.group(2)
            # The title ("student (standard, w=0.5, MUNGE)") has no ": ".
            title, _, details = middle.partition(": ")
            record["stages"].append(
                {"title": title, "details": details, "seconds": float(match.group(3))}
            )
            print(f"    {line}", flush=True)


def stage_seconds(record, start):
    found = [s["seconds"] for s in record["stages"] if s["title"].startswith(start)]
    return sum(found) if found else None


def final_rows(record):
    """Rows and batch size of the final student, as its stage line says."""
    for stage in record["stages"]:
        if stage["title"].startswith("student"):
            match = re.search(r"(\d+) epochs on (\d+) rows", stage["details"])
            batch = re.search(r"in batches of (\d+)", stage["details"])
            if match:
                return int(match.group(2)), batch and int(batch.group(1))
    return None, None


def batch_size(record):
    """The final student's batch size: printed, or the net's, or the setting."""
    fit = record.get("messages", {}).get("fit", {})
    for found in (
        final_rows(record)[1],
        fit.get("student_batch_size"),
        fit.get("batch_size"),
    ):
        if isinstance(found, int) and found > 0:
            return found
    return None


def selection_steps(record, batch_size, augment_factor):
    """Optimizer steps of the selection's candidates, from its details line."""
    for stage in record["stages"]:
        if stage["title"] != "selection":
            continue
        match = re.match(
            r"(\d+) candidates on (\d+) rows for (\d+) epochs", stage["details"]
        )
        if not match:
            return None
        rows, epochs = int(match.group(2)), int(match.group(3))
        scored = stage["details"].partition(": ")[2].split("; ")
        labels = [item.rsplit(" ", 1)[0] for item in scored if " " in item]
        labels = [label for label in labels if not label.startswith("chose ")]
        steps = 0
        for label in labels:
            n = rows * (1 + augment_factor) if label.endswith(", MUNGE") else rows
            steps += epochs * math.ceil(n / batch_size)
        return steps or None
    return None


def summarize(record):
    """The record's derived numbers (steps, ratios, stage seconds)."""
    messages = record.get("messages", {})
    teacher, fit = messages.get("teacher", {}), messages.get("fit", {})
    summary = {
        "rows": teacher.get("rows"),
        "teacher_seconds": teacher.get("seconds"),
        "teacher_cpu_seconds": teacher.get("cpu_seconds"),
        "forest_score": teacher.get("forest_score"),
        "fit_seconds": fit.get("seconds"),
        "fit_cpu_seconds": fit.get("cpu_seconds"),
        "epochs": fit.get("epochs"),
        "student_score": fit.get("student_score"),
        "selected_params": fit.get("selected_params"),
        "final_rows": final_rows(record)[0],
        "batch_size": batch_size(record),
    }
    for column, start in STAGE_COLUMNS.items():
        summary[column] = stage_seconds(record, start)
    if fit and summary["final_rows"] and summary["batch_size"]:
        summary["steps"] = fit["epochs"] * math.ceil(
            summary["final_rows"] / summary["batch_size"]
        )
        if isinstance(fit["batch_size"], int):
            summary["selection_steps"] = selection_steps(
                record, fit["batch_size"], fit["augment_factor"]
            )
    if fit and teacher:
        summary["ratio"] = fit["seconds"] / teacher["seconds"]
        summary["cpu_ratio"] = fit["cpu_seconds"] / teacher["cpu_seconds"]
        staged = sum(summary[c] or 0.0 for c in STAGE_COLUMNS)
        summary["other s"] = fit["seconds"] - staged
    record["summary"] = summary
    return summary


def seconds_cell(value, record, key):
    if value is not None:
        return value
    if key == "fit" and "timed_out" in record:
        return f"> {record['timed_out']:g} s"
    return "-"


def table_rows(records):
    rows = []
    for record in records:
        s = record["summary"]
        rows.append(
            [
                record["case"],
                "busy" if record["busy"] else "idle",
                record.get("commit") or "-",
                f"{s['rows']:,}" if s["rows"] else "-",
                seconds_cell(s["teacher_seconds"], record, "teacher"),
                seconds_cell(s["teacher_cpu_seconds"], record, "teacher"),
                seconds_cell(s["fit_seconds"], record, "fit"),
                seconds_cell(s["fit_cpu_seconds"], record, "fit"),
                s.get("ratio", "-"),
                s.get("cpu_ratio", "-"),
                *("-" if s[column] is None else s[column] for column in STAGE_COLUMNS),
                s.get("other s", "-"),
                s["epochs"] or "-",
                s.get("steps") or "-",
                s.get("selection_steps") or "-",
                "-" if s["student_score"] is None else s["student_score"],
                "-" if s["forest_score"] is None else s["forest_score"],
                "{:.1f} / {:.1f}".format(
                    record["loadavg_before"][0], record["loadavg_after"][0]
                ),
            ]
        )
    return rows


COLUMNS = [
    "case",
    "machine",
    "commit",
    "train rows",
    "teacher fit s",
    "teacher fit CPU s",
    "default fit s",
    "default fit CPU s",
    "ratio (wall)",
    "ratio (CPU)",
    *STAGE_COLUMNS,
    "other s",
    "epochs",
    "steps",
    "selection steps",
    "student score",
    "forest score",
    "load avg before / after",
]


def details_rows(records):
    rows = []
    for record in records:
        for stage in record["stages"]:
            rows.append(
                [
                    record["case"],
                    "busy" if record["busy"] else "idle",
                    stage["title"],
                    stage["seconds"],
                    stage["details"].replace("|", "/"),
                ]
            )
        if "timed_out" in record and not record["stages"]:
            rows.append([record["case"], "", "(none printed)", "-", ""])
    return rows


def result_stem(args):
    if args.suffix:
        return f"fit_cost_{args.suffix}"
    if args.quick:
        return "fit_cost_quick"
    partial = args.cases or args.busy != "both" or args.max_rows is not None
    return "fit_cost_partial" if partial else "fit_cost"


def write_profile(args):
    record = run_child(args.profile, args, busy=args.busy == "yes", profile=True)
    messages = record.get("messages", {})
    if "profile" not in messages:
        print(record.get("error") or "the case ended without a profile")
        return
    fit, teacher = messages["fit"], messages["teacher"]
    head = [
        f"cProfile of the distiller's fit, case {args.profile} "
        f"({teacher['rows']:,} training rows), package {messages['start']['package']}",
        f"fit {fit['seconds']:.1f} s wall, {fit['cpu_seconds']:.1f} s CPU under "
        f"the profiler; teacher fit {teacher['seconds']:.1f} s; load average "
        f"{record['loadavg_before'][0]:.2f} before, "
        f"{record['loadavg_after'][0]:.2f} after; busy: {record['busy']}",
        "Stages printed:",
        *(f"  {line}" for line in record["lines"] if STAGE_LINE.match(line)),
        "",
    ]
    text = "\n".join(head) + messages["profile"]["text"]
    print(text)
    stem = f"fit_cost_profile_{args.profile.replace(':', '_')}"
    if args.suffix:
        stem += f"_{args.suffix}"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{stem}.txt").write_text(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="digits + 2 small sets")
    parser.add_argument(
        "--cases", nargs="+", metavar="NAME", help="NAME or NAME:ROWS (rows cap)"
    )
    parser.add_argument("--busy", choices=("no", "yes", "both"), default="both")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per case")
    parser.add_argument("--max-rows", type=int, help="skip cases with more rows")
    parser.add_argument("--python", default=sys.executable, help="interpreter")
    parser.add_argument("--pythonpath", help="put DIR first on the cases' PYTHONPATH")
    parser.add_argument("--suffix", help="write fit_cost_SUFFIX.*")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the rows of an earlier run of the same result file "
        "(a case and machine state run again replaces its row)",
    )
    parser.add_argument(
        "--note",
        action="append",
        help="a fact about this run, kept in the results (repeatable)",
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="rewrite the results files from their records, running nothing",
    )
    parser.add_argument("--profile", metavar="CASE", help="cProfile one case's fit")
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.case:  # the child
        run_case(args.case, args.profile_top if "--profile-top" in sys.argv else None)
        return
    if args.pythonpath:
        args.pythonpath = str(Path(args.pythonpath).resolve())
    if args.profile:
        write_profile(args)
        return

    cases = args.cases or (QUICK_CASES if args.quick else FULL_CASES)
    if args.render:
        cases, args.merge = [], True
    states = {"no": [False], "yes": [True], "both": [False, True]}[args.busy]
    stem = result_stem(args)
    records, skipped = [], []
    run_notes = []
    if args.merge and (RESULTS_DIR / f"{stem}.json").exists():
        earlier = json.loads((RESULTS_DIR / f"{stem}.json").read_text())
        records, run_notes = earlier["records"], earlier.get("run_notes", [])
    run_notes += args.note or []
    for spec in cases:
        n_rows = train_rows(spec)
        if args.max_rows is not None and n_rows > args.max_rows:
            skipped.append(f"{spec} ({n_rows:,} training rows > --max-rows)")
            print(f"skipping {skipped[-1]}", flush=True)
            continue
        for busy in states:
            print(f"{spec} ({'busy' if busy else 'idle'})", flush=True)
            record = run_child(spec, args, busy)
            summarize(record)
            if record.get("error"):
                print(record["error"], flush=True)
            print(f"    {json.dumps(record['summary'], default=str)}", flush=True)
            records = [r for r in records if (r["case"], r["busy"]) != (spec, busy)] + [
                record
            ]

    order = {case: position for position, case in enumerate(FULL_CASES)}
    records.sort(key=lambda r: (order.get(r["case"], len(order)), r["busy"]))
    started = [
        r["messages"]["start"] for r in records if "start" in r.get("messages", {})
    ]
    info = started[-1]["machine"] if started else machine()
    root = str(Path(__file__).resolve().parents[1])
    for start in started:  # the results name no machine path
        if start["package"] not in PACKAGE_LABELS:
            inside = start["package"].startswith(root)
            start["package"] = PACKAGE_LABELS[0 if inside else 1]
    packages = sorted({start["package"] for start in started})
    notes = [
        "One fresh process per case; a 80/20 split, stratified for "
        "classification, seed 0; `NAME:ROWS` keeps the first ROWS training rows "
        "of a fixed permutation (seed 0).",
        f"Teacher: a {N_TREES}-tree random forest, n_jobs=2, random_state=0, "
        "fitted on the training rows. Distiller: the fitted forest, "
        "random_state=0, verbose=1, every other setting at its default "
        "(n_threads=None: the thread policy of the package timed; before 0.2.0 that meant torch's own thread count).",
        "Ratio = distiller fit / teacher fit. Stage seconds are those the "
        "library prints (0.1 s resolution); other = fit minus the stages "
        "(validation, encoders, transfer set).",
        "Steps = epochs x ceil(rows / batch_size) of the final student; "
        "selection steps are derived from the selection line (MUNGE "
        "candidates train on rows x (1 + augment_factor)).",
        "busy: beside one `python -c 'while True: pass'` process started by "
        "the script for the case; idle: without it. The load average (1 min) "
        "is the machine's, other jobs included: above about 1 for an idle case, "
        "or 2 for a busy one, other work shared the two cores and slowed the "
        "teacher's fit and the distiller's alike.",
        f"Package timed: {', '.join(packages) or '-'}; the commit column "
        "names the commit of the package each row timed (a merged run mixes "
        "them).",
    ]
    notes += run_notes
    if skipped:
        notes.append("Skipped: " + "; ".join(skipped) + ".")
    timed_out = [r["case"] for r in records if "timed_out" in r]
    if timed_out:
        notes.append(
            "Over the timeout (stage lines printed so far kept): "
            + ", ".join(timed_out)
            + "."
        )
    failed = [r["case"] for r in records if r.get("error")]
    if failed:
        notes.append("Failed (see the JSON): " + ", ".join(failed) + ".")
    title = "Fit cost: the teacher's fit against the distiller's, by stage"
    quick = stem == "fit_cost_quick"
    report(
        "fit_cost" if quick else stem,
        title,
        [
            ("Seconds", COLUMNS, table_rows(records)),
            (
                "Stages as printed",
                ["case", "machine", "stage", "s", "details"],
                details_rows(records),
            ),
        ],
        info,
        quick=quick,
        notes=notes,
        extra={
            "records": records,
            "run_notes": run_notes,
        },
    )


if __name__ == "__main__":
    main()
