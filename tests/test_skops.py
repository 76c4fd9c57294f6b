"""skops.io round trips: the distillers and the exported students dump, and load
with the documented trusted types only."""

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import fast_distiller
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from sklearn_kd import DistilledRegressor, load_student, skops_trusted_types

sio = pytest.importorskip("skops.io")

#: What a random-forest teacher adds to a distiller's file.
FOREST = "sklearn.tree._tree.Tree"
STATE = "sklearn_kd.serving._skops.StudentState"
ADAM = "torch.optim.adam.Adam"
DEPLOYMENT_PAGE = (
    Path(__file__).resolve().parents[1] / "docs" / "user_guide" / "deployment.rst"
)


@pytest.fixture(scope="module")
def distillers(iris, iris_forest):
    X, y = iris
    classifier = fast_distiller(iris_forest, max_epochs=2).fit(X, y)
    forest = RandomForestRegressor(n_estimators=5, random_state=0).fit(X, y)
    regressor = DistilledRegressor(
        forest, max_epochs=2, encoding="standard", augment=None, random_state=0
    ).fit(X, y)
    return {"classifier": classifier, "regressor": regressor}


def rows(iris):
    # More than 256 rows take the torch path, fewer the numpy one.
    return np.tile(iris[0], (2, 1))


def output(estimator, X):
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X)
    return estimator.predict(X)


def round_trip(estimator, tmp_path, expected):
    path = tmp_path / "model.skops"
    sio.dump(estimator, path)
    assert sio.get_untrusted_types(file=path) == sorted(expected)
    assert set(expected) - {FOREST} <= set(skops_trusted_types())
    return sio.load(path, trusted=[*skops_trusted_types(), FOREST])


@pytest.mark.parametrize("task", ["classifier", "regressor"])
def test_distiller_round_trips(distillers, iris, tmp_path, task):
    estimator = distillers[task]
    name = {"classifier": "_classifier.DistilledClassifier"}.get(
        task, "_regressor.DistilledRegressor"
    )
    loaded = round_trip(
        estimator, tmp_path, [f"sklearn_kd.{name}", STATE, ADAM, FOREST]
    )
    X = rows(iris)
    np.testing.assert_array_equal(output(loaded, X), output(estimator, X))
    assert loaded.student_.device == "cpu"
    assert len(loaded.student_.history) == len(estimator.student_.history) == 2
    exported = loaded.export_student()
    np.testing.assert_array_equal(output(exported, X), output(estimator, X))
    loaded.fit(*iris)  # refits from the loaded parameters and teacher
    assert output(loaded, X).shape == output(estimator, X).shape


@pytest.mark.parametrize("task", ["classifier", "regressor"])
def test_exported_student_round_trips(distillers, iris, tmp_path, task):
    student = distillers[task].export_student()
    name = f"sklearn_kd.serving._export.{type(student).__name__}"
    loaded = round_trip(student, tmp_path, [name, STATE])
    X = rows(iris)
    np.testing.assert_array_equal(output(loaded, X), output(student, X))
    assert isinstance(loaded.module, torch.nn.Module)  # as it was exported


def test_numpy_student_loads_with_skops_without_torch(distillers, iris, tmp_path):
    student = load_student(
        distillers["classifier"].export_student().save(tmp_path / "s.npz")
    )
    path = tmp_path / "student.skops"
    sio.dump(student, path)
    assert sio.get_untrusted_types(file=path) == sorted(
        ["sklearn_kd.serving._export.StudentClassifier", STATE]
    )
    np.save(tmp_path / "rows.npy", iris[0][:10])
    script = (
        "import sys\n"
        "class NoTorch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ImportError('torch cannot be imported here')\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        "import numpy as np, skops.io, sklearn_kd\n"
        f"student = skops.io.load({str(path)!r}, "
        "trusted=sklearn_kd.skops_trusted_types())\n"
        f"np.save({str(tmp_path / 'out.npy')!r}, "
        f"student.predict_proba(np.load({str(tmp_path / 'rows.npy')!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(
        np.load(tmp_path / "out.npy"), student.predict_proba(iris[0][:10])
    )


def test_string_columns_add_category_codes(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=120), "c": rng.choice(["x", "y"], 120)})
    y = (X["a"] > 0).astype(int).to_numpy()
    teacher = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["c"]), remainder="passthrough"),
        LogisticRegression(),
    )
    estimator = fast_distiller(teacher.fit(X, y), max_epochs=2).fit(X, y)
    codes = "sklearn_kd._categorical.CategoryCodes"
    name = "sklearn_kd._classifier.DistilledClassifier"
    for model, expected in [
        (estimator, [codes, name, STATE, ADAM]),
        (
            estimator.export_student(),
            [codes, "sklearn_kd.serving._export.StudentClassifier", STATE],
        ),
    ]:
        loaded = round_trip(model, tmp_path, expected)
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


class Tanh(torch.nn.Module):
    def __init__(self, n_features_in, n_classes):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(n_features_in, 4),
            torch.nn.Tanh(),
            torch.nn.Linear(4, n_classes),
        )

    def forward(self, x):
        return self.body(x)


def test_custom_student_is_refused_clearly_and_still_pickles(
    iris, iris_forest, tmp_path
):
    estimator = fast_distiller(
        iris_forest, student=Tanh, hidden_layer_sizes="auto", max_epochs=2
    ).fit(*iris)
    with pytest.raises(TypeError, match="default MLP student.*Tanh"):
        sio.dump(estimator, tmp_path / "model.skops")
    again = pickle.loads(pickle.dumps(estimator))
    assert type(again.student_) is type(estimator.student_)
    np.testing.assert_array_equal(
        again.predict_proba(iris[0]), estimator.predict_proba(iris[0])
    )


def test_pickle_keeps_the_net_whole_and_the_estimator_untouched(distillers, iris):
    estimator = distillers["classifier"]
    estimator.predict(iris[0][:2])
    cache = estimator.__dict__["_inference_cache"]
    again = pickle.loads(pickle.dumps(estimator))
    # The skorch net itself travels (optimizer state included), not its numbers.
    assert again.student_.optimizer_.state_dict()["state"]
    # Pickling does not empty the live estimator's evaluation cache.
    assert estimator.__dict__["_inference_cache"] is cache


def test_trusted_types_are_documented():
    page = DEPLOYMENT_PAGE.read_text()
    for name in skops_trusted_types():
        assert f"``{name}``" in page, name
