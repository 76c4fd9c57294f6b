"""Serving: the student against what a forest's user would otherwise deploy.

For each data set (25% stratified test split, seed 0; at most 15,000 training
rows), in one process on one thread:

* the 300-tree random forest (``predict_proba``), the same forest compiled with
  skl2onnx and run by onnxruntime, LightGBM (100 rounds; its scikit-learn API
  and its native ``Booster.predict``) and a 20-tree forest;
* the default student: through ``DistilledClassifier.predict_proba``,
  ``StudentClassifier.predict_proba`` (on a float array, and on a one-row
  DataFrame), the numpy format (``load_student``) and its ONNX file in
  onnxruntime;
* the **bare-numpy floor**: the same network as numpy matrix products on
  pre-converted float32 weights, with no validation (encoder, layers, softmax).

Columns: test accuracy, file size, cold start (a new process that imports,
loads the file and predicts one row; median of 3), one-row median latency
(interleaved rounds, best round's median) and the whole test set's time.

Targets, as ratios from the same run: the student's one-row latency through
the public API on a float array at most 1.5x the floor; the numpy format's cold
start at most 0.5x the pickle's; batch prediction no slower than the previous
release's ``StudentClassifier.predict_proba`` (its calls, replayed on the same
network: ``check_array``, the torch module on the whole batch, a softmax).

Usage: ``python benchmarks/serving.py [--quick] [--datasets NAME ...]``.
"""

import argparse
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import best_call_seconds, data_dir, machine, report, set_threads
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split
from sklearn.utils import check_array

from sklearn_kd import DistilledClassifier, StudentClassifier, load_student
from sklearn_kd._probability import softmax
from sklearn_kd.student._network import predict_logits

DATASETS = ["pmlb_letter", "pmlb_adult", "pmlb_magic"]
FULL = {"max_train": 15000, "trees": 300, "rounds": 100, "calls": 300, "repeats": 5}
QUICK = {"max_train": 2000, "trees": 50, "rounds": 20, "calls": 50, "repeats": 2}


def load(name, max_train):
    data = np.load(data_dir() / f"{name}.npz", allow_pickle=False)
    X, y = np.asarray(data["X"], np.float64), data["y"]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    if len(y_train) > max_train:
        X_train, _, y_train, _ = train_test_split(
            X_train, y_train, train_size=max_train, stratify=y_train, random_state=0
        )
    return X_train, X_test, y_train, y_test


def numpy_floor(student):
    """The network as bare numpy products: pre-converted float32 weights."""
    network = student._inference()._numpy_network()
    spec = network.encoding
    weights = network.weights
    biases = [b for b in network.biases]
    biases[-1] = biases[-1] + network.output_shift
    numeric = spec.numeric_column
    shift = spec.numeric_shift.astype(np.float32)
    scale = spec.numeric_scale.astype(np.float32)
    bins = spec.bin_column
    left, width = spec.bin_left.astype(np.float32), spec.bin_width.astype(np.float32)
    low, high = spec.bin_low.astype(np.float32), spec.bin_high.astype(np.float32)

    def predict(X):
        if len(bins):
            hidden = np.minimum(np.maximum((X[:, bins] - left) / width, low), high)
        else:
            hidden = (X[:, numeric] - shift) / scale
        for weight, bias in zip(weights[:-1], biases[:-1], strict=True):
            hidden = np.maximum(hidden @ weight + bias, 0)
        logits = hidden @ weights[-1] + biases[-1]
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    return predict


def previous_release_predict_proba(student):
    """``StudentClassifier.predict_proba`` as the previous release ran it:
    ``check_array``, the torch module on the whole batch, a float64 softmax."""

    def predict_proba(X):
        X = check_array(X, dtype=np.float32, ensure_all_finite="allow-nan")
        logits = predict_logits(student.module, X, device="cpu")
        return softmax(logits.astype(np.float64))

    return predict_proba


def one_row_latency(contenders, calls, repeats):
    """Median seconds per one-row call; interleaved rounds, best round kept."""
    best = {name: np.inf for name in contenders}
    for round_ in range(repeats):
        names = list(contenders)
        names = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in names:
            predict, inputs = contenders[name]
            durations = []
            for call in range(calls):
                row = inputs[call % len(inputs)]
                start = time.perf_counter()
                predict(row)
                durations.append(time.perf_counter() - start)
            best[name] = min(best[name], statistics.median(durations))
    return best


COLD_START = {
    "pickle": (
        "import joblib, numpy as np; m = joblib.load({path!r}); "
        "m.predict_proba(np.load({rows!r})[:1])"
    ),
    "numpy format": (
        "import numpy as np, sklearn_kd; m = sklearn_kd.load_student({path!r}); "
        "m.predict_proba(np.load({rows!r})[:1])"
    ),
    "ONNX": (
        "import numpy as np, onnxruntime as ort; "
        "s = ort.InferenceSession({path!r}); "
        "s.run(None, {{s.get_inputs()[0].name: "
        "np.load({rows!r})[:1].astype(np.float32)}})"
    ),
}


def cold_start(kind, path, rows, runs=3):
    """Median wall seconds of a new process importing, loading and predicting."""
    code = COLD_START[kind].format(path=str(path), rows=str(rows))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    durations = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        durations.append(time.perf_counter() - start)
    return statistics.median(durations)


def run_dataset(name, config, folder):
    import lightgbm
    import onnxruntime as ort
    import pandas as pd
    from skl2onnx import to_onnx

    X_train, X_test, y_train, y_test = load(name, config["max_train"])
    X32 = X_test.astype(np.float32)
    rows_path = folder / f"{name}_rows.npy"
    np.save(rows_path, X_test[:10])
    forest = RandomForestClassifier(config["trees"], n_jobs=1, random_state=0)
    forest.fit(X_train, y_train)
    small_forest = RandomForestClassifier(20, n_jobs=1, random_state=0).fit(
        X_train, y_train
    )
    booster_model = lightgbm.LGBMClassifier(
        n_estimators=config["rounds"], n_jobs=1, verbose=-1, random_state=0
    ).fit(X_train, y_train)
    booster = booster_model.booster_
    onnx_forest_path = folder / f"{name}_forest.onnx"
    onnx_forest_path.write_bytes(
        to_onnx(
            forest, X_train[:1].astype(np.float32), options={"zipmap": False}
        ).SerializeToString()
    )
    forest_session = ort.InferenceSession(str(onnx_forest_path))
    forest_input = forest_session.get_inputs()[0].name

    distilled = DistilledClassifier(forest, random_state=0, n_threads=1)
    distilled.fit(X_train, y_train)
    student = distilled.export_student()
    pickle_path = folder / f"{name}_student.joblib"
    import joblib

    joblib.dump(student, pickle_path)
    numpy_path = student.save(folder / f"{name}_student.npz")
    loaded = load_student(numpy_path)
    onnx_student_path = student.to_onnx(folder / f"{name}_student.onnx")
    student_session = ort.InferenceSession(str(onnx_student_path))
    floor = numpy_floor(student)
    names = [f"x{i}" for i in range(X_test.shape[1])]
    frame = pd.DataFrame(X_test[:50], columns=names)
    frame_student = StudentClassifier(
        student.module, student.classes_, feature_names=names
    )

    singles = [X_test[i : i + 1] for i in range(50)]
    singles32 = [row.astype(np.float32) for row in singles]
    contenders = {
        "forest (scikit-learn)": (forest.predict_proba, singles),
        "forest, skl2onnx + onnxruntime": (
            lambda row: forest_session.run(None, {forest_input: row}),
            singles32,
        ),
        "LightGBM, scikit-learn API": (booster_model.predict_proba, singles),
        "LightGBM, native Booster.predict": (booster.predict, singles),
        "20-tree forest": (small_forest.predict_proba, singles),
        "student, DistilledClassifier": (distilled.predict_proba, singles),
        "student, StudentClassifier": (student.predict_proba, singles),
        "student, numpy format": (loaded.predict_proba, singles),
        "student, its ONNX file": (
            lambda row: student_session.run(None, {"X": row}),
            singles32,
        ),
        "bare-numpy floor (no validation)": (floor, singles32),
    }
    latency = one_row_latency(contenders, config["calls"], config["repeats"])
    frame_rows = [frame.iloc[i : i + 1] for i in range(50)]
    frame_latency = one_row_latency(
        {
            "student, StudentClassifier on a one-row DataFrame": (
                frame_student.predict_proba,
                frame_rows,
            )
        },
        config["calls"],
        config["repeats"],
    )
    batch = {
        "forest (scikit-learn)": best_call_seconds(
            forest.predict_proba, X_test, config["repeats"]
        ),
        "forest, skl2onnx + onnxruntime": best_call_seconds(
            lambda X: forest_session.run(None, {forest_input: X}),
            X32,
            config["repeats"],
        ),
        "LightGBM, scikit-learn API": best_call_seconds(
            booster_model.predict_proba, X_test, config["repeats"]
        ),
        "LightGBM, native Booster.predict": best_call_seconds(
            booster.predict, X_test, config["repeats"]
        ),
        "20-tree forest": best_call_seconds(
            small_forest.predict_proba, X_test, config["repeats"]
        ),
        "student, DistilledClassifier": best_call_seconds(
            distilled.predict_proba, X_test, config["repeats"]
        ),
        "student, StudentClassifier": best_call_seconds(
            student.predict_proba, X_test, config["repeats"]
        ),
        "student, numpy format": best_call_seconds(
            loaded.predict_proba, X_test, config["repeats"]
        ),
        "student, its ONNX file": best_call_seconds(
            lambda X: student_session.run(None, {"X": X}), X32, config["repeats"]
        ),
        "bare-numpy floor (no validation)": best_call_seconds(
            floor, X32, config["repeats"]
        ),
        "StudentClassifier of the previous release": best_call_seconds(
            previous_release_predict_proba(student), X_test, config["repeats"]
        ),
    }
    accuracy = {
        "forest (scikit-learn)": forest.score(X_test, y_test),
        "LightGBM, scikit-learn API": booster_model.score(X_test, y_test),
        "20-tree forest": small_forest.score(X_test, y_test),
        "student, DistilledClassifier": distilled.score(X_test, y_test),
    }
    accuracy["forest, skl2onnx + onnxruntime"] = accuracy["forest (scikit-learn)"]
    accuracy["LightGBM, native Booster.predict"] = accuracy[
        "LightGBM, scikit-learn API"
    ]
    for key in (
        "student, StudentClassifier",
        "student, numpy format",
        "student, its ONNX file",
        "bare-numpy floor (no validation)",
    ):
        accuracy[key] = accuracy["student, DistilledClassifier"]
    booster_path = folder / f"{name}_lightgbm.txt"
    booster.save_model(str(booster_path))
    forest_pickle = folder / f"{name}_forest.pkl"
    forest_pickle.write_bytes(pickle.dumps(forest))
    small_pickle = folder / f"{name}_small_forest.pkl"
    small_pickle.write_bytes(pickle.dumps(small_forest))
    sizes = {
        "forest (scikit-learn)": forest_pickle.stat().st_size,
        "forest, skl2onnx + onnxruntime": onnx_forest_path.stat().st_size,
        "LightGBM, native Booster.predict": booster_path.stat().st_size,
        "20-tree forest": small_pickle.stat().st_size,
        "student, StudentClassifier": pickle_path.stat().st_size,
        "student, numpy format": Path(numpy_path).stat().st_size,
        "student, its ONNX file": Path(onnx_student_path).stat().st_size,
    }
    cold = {
        "student, StudentClassifier": cold_start("pickle", pickle_path, rows_path),
        "student, numpy format": cold_start("numpy format", numpy_path, rows_path),
        "student, its ONNX file": cold_start("ONNX", onnx_student_path, rows_path),
    }
    return {
        "latency": latency,
        "frame_latency": frame_latency,
        "batch": batch,
        "accuracy": {k: float(v) for k, v in accuracy.items()},
        "sizes": sizes,
        "cold_start": cold,
        "picked": distilled.selected_params_,
        "test_rows": len(y_test),
    }


def _seconds(value):
    if value is None or not np.isfinite(value):
        return "-"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.1f} ms"
    return f"{value * 1e6:.0f} µs"


def _bytes(value):
    if value is None:
        return "-"
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value} B"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--datasets", nargs="+")
    args = parser.parse_args()
    config = dict(QUICK if args.quick else FULL)
    names = args.datasets or (DATASETS[:1] if args.quick else DATASETS)
    if not data_dir().is_dir():
        print(f"Data folder {data_dir()} not found (set SKLEARN_KD_DATA); skipping.")
        return
    set_threads(1)
    info = machine()
    tables, results, verdicts = [], {}, []
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            measured = run_dataset(name, config, Path(folder))
            results[name] = measured
            rows = []
            for label in measured["batch"]:
                rows.append(
                    [
                        label,
                        f"{measured['accuracy'][label]:.4f}"
                        if label in measured["accuracy"]
                        else "-",
                        _bytes(measured["sizes"].get(label)),
                        _seconds(measured["cold_start"].get(label)),
                        _seconds(measured["latency"].get(label)),
                        _seconds(measured["batch"][label]),
                    ]
                )
            frame_label, frame_value = next(iter(measured["frame_latency"].items()))
            rows.append([frame_label, "-", "-", "-", _seconds(frame_value), "-"])
            tables.append(
                (
                    f"{name} ({measured['test_rows']} test rows; the student picked "
                    f"{measured['picked']})",
                    [
                        "model",
                        "accuracy",
                        "file size",
                        "cold start",
                        "one row",
                        "test set",
                    ],
                    rows,
                )
            )
            latency, batch, cold = (
                measured["latency"],
                measured["batch"],
                measured["cold_start"],
            )
            floor = latency["bare-numpy floor (no validation)"]
            verdicts.append(
                [
                    name,
                    f"{latency['student, StudentClassifier'] / floor:.2f}x",
                    f"{latency['student, DistilledClassifier'] / floor:.2f}x",
                    f"{latency['forest, skl2onnx + onnxruntime'] / latency['student, StudentClassifier']:.1f}x",
                    f"{cold['student, numpy format'] / cold['student, StudentClassifier']:.2f}x",
                    f"{batch['student, StudentClassifier'] / batch['StudentClassifier of the previous release']:.2f}x",
                ]
            )
    tables.insert(
        0,
        (
            "Targets (ratios from this run)",
            [
                "data set",
                "StudentClassifier one row / floor (target <= 1.5)",
                "DistilledClassifier one row / floor",
                "ONNX forest one row / student",
                "cold start: numpy format / pickle (target <= 0.5)",
                "test set: StudentClassifier / previous release's (target <= 1)",
            ],
            verdicts,
        ),
    )
    report(
        "serving",
        "Serving a student: latency, size and cold start against compiled forests",
        tables,
        info,
        quick=args.quick,
        notes=[
            f"{config['trees']}-tree forest and the library's default student "
            "(automatic selection) on at most "
            f"{config['max_train']} training rows; LightGBM with "
            f"{config['rounds']} rounds; everything on one thread.",
            "One row: the median of "
            f"{config['calls']} calls on single test rows, best of "
            f"{config['repeats']} interleaved rounds. Test set: best of "
            f"{config['repeats']} calls.",
            "Cold start: wall time of `python -c` that imports, loads the file and "
            "predicts one row (median of 3 runs): interpreter start included.",
            "File sizes: the pickle (StudentClassifier, or the forest), the .npz, the "
            "ONNX files, LightGBM's text model.",
        ],
        extra={"results": results, "config": config},
    )


if __name__ == "__main__":
    main()
