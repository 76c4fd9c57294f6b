import os
import re
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier

from sklearn_kd import StudentClassifier, UnlabelledRowsWarning, _cli
from sklearn_kd._cli import main

# Every fourth row of breast cancer: small enough for a fast distillation.
ROWS = slice(None, None, 4)


@pytest.fixture(scope="module")
def breast_cancer():
    data = load_breast_cancer(as_frame=True)
    X, y = data.data.iloc[ROWS], data.target.iloc[ROWS]
    return X.reset_index(drop=True), y.reset_index(drop=True)


@pytest.fixture(scope="module")
def forests(breast_cancer):
    """A forest fitted on a DataFrame (it knows feature names), one on an array."""
    X, y = breast_cancer
    named = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    plain = RandomForestClassifier(n_estimators=20, random_state=0)
    return named, plain.fit(X.to_numpy(), y)


@pytest.fixture
def files(tmp_path, breast_cancer, forests):
    """Input files in tmp_path, good and bad; their paths as strings, by role."""
    X, y = breast_cancer
    named, plain = forests
    paths = {
        name: tmp_path / file
        for name, file in [
            ("named", "named.joblib"),
            ("plain", "plain.joblib"),
            ("unfitted", "unfitted.joblib"),
            ("labelled", "labelled.csv"),
            ("unlabelled", "unlabelled.csv"),
            ("colours", "colours.csv"),
            ("narrow", "narrow.csv"),
            ("renamed", "renamed.csv"),
            ("short_row", "short_row.csv"),
            ("long_row", "long_row.csv"),
        ]
    }
    joblib.dump(named, paths["named"])
    joblib.dump(plain, paths["plain"])
    joblib.dump(RandomForestClassifier(), paths["unfitted"])
    X.assign(label=y).to_csv(paths["labelled"], index=False)
    X.to_csv(paths["unlabelled"], index=False)
    X.assign(colour="red").to_csv(paths["colours"], index=False)
    X.iloc[:, :5].to_csv(paths["narrow"], index=False)
    X.rename(columns={"mean radius": "radius"}).assign(label=y).to_csv(
        paths["renamed"], index=False
    )
    header, first, second, *rest = X.to_csv(index=False).splitlines()
    # A blank line, then a row one field short: it starts on line 4.
    short_row = second.rsplit(",", 1)[0]
    paths["short_row"].write_text("\n".join([header, first, "", short_row, *rest]))
    paths["long_row"].write_text("\n".join([header, first + ",1", second, *rest]))
    return {"dir": str(tmp_path)} | {name: str(path) for name, path in paths.items()}


def compress(*args, epochs=3):
    return main(["compress", *map(str, args), "--quiet", "--max-epochs", str(epochs)])


def report_value(stdout, row):
    """The student's value in a row of the printed compression report."""
    match = re.search(rf"^{row}\s+(?:\S+\s+)?([\d.]+)$", stdout, re.MULTILINE)
    return float(match.group(1))


def test_module_runs_as_a_program():
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_kd", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("usage: sklearn-kd")
    assert "demo" in result.stdout and "compress" in result.stdout


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "required: COMMAND" in capsys.readouterr().err


def test_demo_prints_progress_and_report(capsys):
    assert main(["demo", "--max-epochs", "3", "--seed", "1"]) == 0
    out, err = capsys.readouterr()
    assert "training student" in err and "3/3" in err
    assert "digits" in out.splitlines()[0]
    for row in ("accuracy", "log loss", "agreement with teacher", "pickled size"):
        assert re.search(rf"^{row} ", out, re.MULTILINE)
    assert "predict time (1 row)" in out
    assert 0.5 < report_value(out, "accuracy") <= 1
    size_ratio = re.search(r"^pickled size .* ([\d.]+)x$", out, re.MULTILINE)
    assert float(size_ratio.group(1)) > 5


def test_compress_with_target(files, tmp_path, capsys, breast_cancer):
    student_path = tmp_path / "student.joblib"
    status = compress(
        files["named"], files["labelled"], "--target", "label",
        "--out-joblib", student_path, "--seed", "0", epochs=30,
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 0
    assert "load only joblib files you trust" in err
    assert "training student" not in err  # --quiet
    assert f"wrote {student_path} (joblib" in out
    assert "held out from training" in out
    assert report_value(out, "accuracy") > 0.85
    assert "teacher came fitted" in err

    student = joblib.load(student_path)
    X, y = breast_cancer
    assert isinstance(student, StudentClassifier)
    assert list(student.feature_names_in_) == list(X.columns)


def test_compress_reports_on_the_test_file_or_the_training_rows(
    files, tmp_path, capsys, breast_cancer
):
    student_path = tmp_path / "student.joblib"
    status = compress(
        files["named"], files["labelled"], "--target", "label",
        "--test", files["labelled"], "--out-joblib", student_path, epochs=10,
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0 and "on the rows of labelled.csv (143 rows)" in out
    X, y = breast_cancer
    student = joblib.load(student_path)
    assert student.score(X, y) == pytest.approx(report_value(out, "accuracy"), abs=1e-4)
    status = compress(
        files["named"], files["labelled"], "--target", "label", "--test-fraction", "0"
    )
    assert status == 0 and "optimistic" in capsys.readouterr().out


def test_the_test_file_is_read_by_the_training_file_header(
    files, tmp_path, capsys, breast_cancer
):
    data = pd.read_csv(files["labelled"])
    data[data.columns[::-1]].to_csv(tmp_path / "reversed.csv", index=False)
    student_path = tmp_path / "student.joblib"
    status = compress(
        files["plain"], files["labelled"], "--target", "label",
        "--test", tmp_path / "reversed.csv", "--out-joblib", student_path,
    )  # fmt: skip
    assert status == 0
    X, y = breast_cancer
    expected = joblib.load(student_path).score(X.to_numpy(), y)
    out = capsys.readouterr().out
    assert report_value(out, "accuracy") == pytest.approx(expected, abs=1e-4)


def test_compress_without_target_learns_from_the_teacher(files, tmp_path, capsys):
    before = set(os.listdir(tmp_path))
    with warnings.catch_warnings():
        # -1 is the command's own marker: it must not warn the user about it.
        warnings.simplefilter("error", UnlabelledRowsWarning)
        status = compress(files["plain"], files["unlabelled"], "--seed", "0", epochs=30)
    out, err = capsys.readouterr()
    assert status == 0
    assert not re.search(r"^accuracy", out, re.MULTILINE)
    assert report_value(out, "agreement with teacher") > 0.9
    assert "the student was not saved" in err
    assert set(os.listdir(tmp_path)) == before


def test_compress_reports_accuracy_on_labelled_rows_only(files, tmp_path, capsys):
    data = pd.read_csv(files["labelled"])
    data.loc[::2, "label"] = -1
    data.to_csv(tmp_path / "partly.csv", index=False)
    assert compress(files["named"], tmp_path / "partly.csv", "--target", "label") == 0
    out = capsys.readouterr().out
    assert re.search(r"its \d+ labelled rows", out)
    assert re.search(r"^accuracy", out, re.MULTILINE)


def test_compress_onnx_round_trip(files, tmp_path, breast_cancer):
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    onnx_path, joblib_path = tmp_path / "student.onnx", tmp_path / "student.joblib"
    status = compress(
        files["plain"], files["unlabelled"],
        "--out", onnx_path, "--out-joblib", joblib_path,
    )  # fmt: skip
    assert status == 0
    X = breast_cancer[0].to_numpy(np.float32)
    session = onnxruntime.InferenceSession(str(onnx_path))
    (onnx_proba,) = session.run(None, {"X": X})
    expected = joblib.load(joblib_path).predict_proba(X)
    np.testing.assert_allclose(onnx_proba, expected, atol=1e-5)
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


def test_compress_without_pandas(files, monkeypatch, capsys):
    monkeypatch.setattr(_cli, "_import_pandas", lambda: None)
    assert compress(files["plain"], files["labelled"], "--target", "label") == 0
    assert re.search(r"^accuracy", capsys.readouterr().out, re.MULTILINE)

    assert compress(files["named"], files["labelled"], "--target", "label") == 1
    assert "install pandas" in capsys.readouterr().err

    assert compress(files["plain"], files["colours"]) == 1
    assert "column 'colour'" in capsys.readouterr().err.splitlines()[-1]

    assert compress(files["plain"], files["short_row"]) == 1
    message = f"{files['short_row']}, line 4: 29 fields, but the header has 30"
    assert message in capsys.readouterr().err.splitlines()[-1]


# Arguments (with {role} placeholders for the paths in `files`), exit status, and
# a part of the error message.
BAD_INPUTS = {
    "missing teacher file": (
        ["{dir}/absent.joblib", "{labelled}"],
        2,
        "teacher file not found",
    ),
    "missing data file": (
        ["{named}", "{dir}/absent.csv"],
        2,
        "data file not found",
    ),
    "missing target column": (
        ["{named}", "{labelled}", "--target", "species"],
        2,
        "--target 'species' is not a column of",
    ),
    "misspelt target column": (
        ["{named}", "{labelled}", "--target", "lable"],
        2,
        "did you mean 'label'? its columns are ['mean radius'",
    ),
    "string column for a teacher without column names": (
        ["{plain}", "{colours}"],
        1,
        "is not numeric (e.g. 'red'), and the teacher was fitted without column names",
    ),
    "too few features": (
        ["{plain}", "{narrow}"],
        1,
        "expects 30 features, but narrow.csv has 5",
    ),
    "unknown column": (
        ["{named}", "{labelled}"],
        1,
        "has columns the teacher was not fitted on ['label']",
    ),
    "lacking features": (
        ["{named}", "{narrow}"],
        1,
        "lacks the teacher's features ['mean compactness'",
    ),
    "not a joblib file": (
        ["{labelled}", "{unlabelled}"],
        1,
        "is it a file written by joblib.dump?",
    ),
    "unfitted teacher": (
        ["{unfitted}", "{unlabelled}"],
        1,
        "unfitted RandomForestClassifier",
    ),
    "row with too few fields": (
        ["{plain}", "{short_row}"],
        1,
        "{short_row}, line 4: 29 fields, but the header has 30: give every row one "
        "field per column",
    ),
    "row with too many fields": (
        ["{named}", "{long_row}"],
        1,
        "{long_row}, line 2: 31 fields, but the header has 30",
    ),
    "test file with other columns": (
        ["{plain}", "{labelled}", "--target", "label", "--test", "{renamed}"],
        1,
        "renamed.csv lacks the columns ['mean radius'] of labelled.csv and has "
        "columns labelled.csv does not have ['radius']: give it the columns of "
        "labelled.csv (in any order)",
    ),
    "output folder absent": (
        ["{plain}", "{unlabelled}", "--out-joblib", "{dir}/absent/s.joblib"],
        1,
        "folder {dir}/absent does not exist",
    ),
    "output is a folder": (
        ["{plain}", "{unlabelled}", "--out-joblib", "{dir}"],
        1,
        "it is a folder",
    ),
    "output not onnx": (
        ["{plain}", "{unlabelled}", "--out", "{dir}/s.joblib"],
        2,
        "--out must name an .onnx file",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_and_an_exit_status(case, files, capsys):
    template, status, message = BAD_INPUTS[case]
    before = set(os.listdir(files["dir"]))

    assert compress(*[arg.format(**files) for arg in template]) == status
    out, err = capsys.readouterr()
    last_line = err.splitlines()[-1]
    assert [line for line in err.splitlines() if "error" in line] == [last_line]
    assert last_line.startswith("sklearn-kd: error: ")
    assert message.format(**files) in last_line
    assert "Traceback" not in err and out == ""
    assert set(os.listdir(files["dir"])) == before


def test_bad_option_value_is_a_usage_error(files, capsys):
    assert compress(files["plain"], files["unlabelled"], "--temperature", "0") == 2
    err = capsys.readouterr().err
    assert "argument --temperature: must be a number > 0, got '0'" in err


def test_failed_write_leaves_no_file(files, tmp_path, capsys, monkeypatch):
    def dump_half_then_fail(value, filename):
        with open(filename, "wb") as file:
            file.write(b"partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(joblib, "dump", dump_half_then_fail)
    before = set(os.listdir(tmp_path))
    status = compress(
        files["plain"], files["unlabelled"], "--out-joblib", tmp_path / "s.joblib"
    )
    assert status == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "sklearn-kd: error: cannot write the student: No space left on device"
    )
    assert set(os.listdir(tmp_path)) == before


def test_compress_passes_string_columns_to_a_pipeline_teacher(tmp_path, breast_cancer):
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    X, y = breast_cancer
    X = X.iloc[:, :5].assign(colour=np.where(y == 1, "red", "blue"))
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["colour"]), remainder="passthrough"
    )
    teacher = make_pipeline(
        encode, RandomForestClassifier(n_estimators=10, random_state=0)
    )
    joblib.dump(teacher.fit(X, y), tmp_path / "pipeline.joblib")
    X.assign(label=y).to_csv(tmp_path / "data.csv", index=False)
    out = tmp_path / "student.joblib"
    status = compress(
        tmp_path / "pipeline.joblib",
        tmp_path / "data.csv",
        "--target",
        "label",
        "--out-joblib",
        out,
        epochs=30,
    )
    assert status == 0
    student = joblib.load(out)
    assert np.mean(student.predict(X) == y) > 0.9


def test_help_says_string_columns_work(capsys):
    assert main(["compress", "--help"]) == 0
    out = capsys.readouterr().out
    assert "must be numeric" not in out
    assert "string columns reach a teacher" in " ".join(out.split())


def test_wrong_target_lists_every_column(files, capsys):
    assert compress(files["named"], files["labelled"], "--target", "zzz") == 2
    message = capsys.readouterr().err.splitlines()[-1]
    assert "..." not in message and "'worst fractal dimension'" in message


def test_compress_a_regressor_teacher(tmp_path, capsys):
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import RandomForestRegressor

    from sklearn_kd import StudentRegressor

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    forest = RandomForestRegressor(n_estimators=20, random_state=0).fit(X, y)
    joblib.dump(forest, tmp_path / "forest.joblib")
    data = X.assign(progression=y)
    data.loc[::5, "progression"] = np.nan  # unlabelled rows
    data.to_csv(tmp_path / "data.csv", index=False)
    out_path = tmp_path / "student.joblib"
    status = compress(
        tmp_path / "forest.joblib", tmp_path / "data.csv", "--target", "progression",
        "--out-joblib", out_path, epochs=30,
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0
    assert isinstance(joblib.load(out_path), StudentRegressor)
    assert re.search(r"^R² vs teacher", out, re.MULTILINE)
    assert re.search(r"^R² \(vs y\)", out, re.MULTILINE)


def test_the_onnx_file_carries_what_it_needs(tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    data = load_breast_cancer(as_frame=True)
    X = data.data.iloc[:200, :4].assign(
        colour=np.where(data.target[:200] == 1, "red", "blue")
    )
    y = np.array(["benign", "malignant"])[data.target[:200]]
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["colour"]), remainder="passthrough"
    )
    teacher = make_pipeline(encode, RandomForestClassifier(n_estimators=5)).fit(X, y)
    joblib.dump(teacher, tmp_path / "teacher.joblib")
    X.assign(label=y).to_csv(tmp_path / "data.csv", index=False)
    out = tmp_path / "student.onnx"
    status = compress(
        tmp_path / "teacher.joblib", tmp_path / "data.csv", "--target", "label",
        "--out", out,
    )  # fmt: skip
    assert status == 0
    metadata = {p.key: p.value for p in onnx.load(out).metadata_props}
    assert metadata["sklearn_kd.classes"] == '["benign", "malignant"]'
    assert "colour" in metadata["sklearn_kd.category_codes"]
    assert metadata["sklearn_kd.feature_names"].startswith('["mean radius"')
