"""What fit says while it works, what the history records, and its display."""

import numpy as np
import pytest
from conftest import fast_distiller
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor

from sklearn_kd import DistilledRegressor, TrainingCurveDisplay


def test_history_records_teacher_agreement_by_default(iris, iris_forest):
    model = fast_distiller(iris_forest, early_stopping=True).fit(*iris)
    history = model.student_.history
    agreement = history[:, "teacher_agreement"]
    assert len(agreement) == len(history) and 0 <= min(agreement) <= 1
    assert agreement[-1] > 0.8
    assert "valid_loss" in history[-1]
    labels_only = fast_distiller(None, soft_target_weight=0.0).fit(*iris)
    assert "teacher_agreement" not in labels_only.student_.history[-1]


def test_regressor_history_records_teacher_r2():
    X, y = load_diabetes(return_X_y=True)
    forest = RandomForestRegressor(n_estimators=10, random_state=0).fit(X, y)
    model = DistilledRegressor(
        forest,
        soft_target_weight=0.5,
        encoding="standard",
        augment=None,
        max_epochs=30,
        random_state=0,
    ).fit(X, y)
    r2 = model.student_.history[:, "teacher_r2"]
    assert r2[-1] > r2[0] and r2[-1] > 0.3


def test_verbose_one_summarises_every_stage(capsys):
    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier

    X, y = load_digits(return_X_y=True)
    fast_distiller(
        RandomForestClassifier(n_estimators=10, random_state=0),
        soft_targets="cross_fit",
        cv=3,
        max_epochs=2,
        verbose=1,
        augment="auto",
        soft_target_weight="auto",
        encoding="standard",
    ).fit(X, y)
    captured = capsys.readouterr()
    out = captured.out
    assert "[DistilledClassifier] MUNGE: 8985 synthetic rows" in out
    assert (
        "[DistilledClassifier] teacher: RandomForestClassifier fitted (cross_fit)"
        in out
    )
    assert "selection: 3 candidates" in out
    assert "[DistilledClassifier] student (" in out and " s)" in out
    assert "training student" in captured.err  # the epochs' progress bar


def test_verbose_zero_is_silent(iris, iris_forest, capsys):
    fast_distiller(iris_forest, verbose=0).fit(*iris)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_training_curve_display(iris, iris_forest):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    model = fast_distiller(iris_forest, early_stopping=True).fit(*iris)
    display = TrainingCurveDisplay.from_estimator(model)
    assert set(display.lines_) == {"train_loss", "valid_loss", "teacher_agreement"}
    np.testing.assert_array_equal(
        display.lines_["teacher_agreement"].get_ydata(),
        model.student_.history[:, "teacher_agreement"],
    )
    assert display.fidelity_ax_ is not None and display.figure_ is display.ax_.figure
    display.figure_.clf()
