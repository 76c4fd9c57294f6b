import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.ensemble import RandomForestClassifier

from sklearn_kd import DistilledClassifier

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

# Small training settings shared by the tests, so fits take well under a second;
# the automatic selection is off (test_selection.py tests it).
FAST = dict(
    max_epochs=30,
    batch_size=32,
    lr=1e-2,
    hidden_layer_sizes=(16,),
    encoding="standard",
    augment=None,
    soft_target_weight=0.5,
)


def fast_distiller(teacher, **params):
    return DistilledClassifier(teacher, **{**FAST, "random_state": 0, **params})


@pytest.fixture(scope="session")
def iris():
    X, y = load_iris(return_X_y=True)
    return X.astype(np.float64), y


@pytest.fixture(scope="session")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return X, y


@pytest.fixture(scope="session")
def iris_forest(iris):
    return RandomForestClassifier(n_estimators=30, random_state=0).fit(*iris)
