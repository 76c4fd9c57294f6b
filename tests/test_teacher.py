"""Teacher adapters: which output is read, how it becomes logits, class order."""

import numpy as np
import pytest
import torch
from conftest import fast_distiller
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from skorch import NeuralNetBinaryClassifier, NeuralNetClassifier

from sklearn_kd._probability import probabilities_to_logits
from sklearn_kd.teacher._adapters import (
    output_to_logits,
    query_teacher,
    resolve_response_method,
    teacher_classes,
)


@pytest.mark.parametrize(
    "teacher, expected",
    [
        (LogisticRegression(), "decision_function"),
        (GradientBoostingClassifier(), "decision_function"),
        (make_pipeline(StandardScaler(), LogisticRegression()), "decision_function"),
        (RandomForestClassifier(), "predict_proba"),
        (SVC(), "decision_function"),
        (SVC(probability=True), "predict_proba"),
    ],
)
def test_auto_prefers_true_logits(teacher, expected):
    assert resolve_response_method(teacher, "auto") == expected


def test_explicit_response_method_must_exist():
    with pytest.raises(TypeError, match="no decision_function"):
        resolve_response_method(RandomForestClassifier(), "decision_function")


def test_logistic_logits_give_its_probabilities(iris):
    X, y = iris
    teacher = LogisticRegression(max_iter=1000).fit(X, y)
    logits = query_teacher(teacher, X, "decision_function", batch_size=7)
    shifted = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(
        shifted / shifted.sum(1, keepdims=True), teacher.predict_proba(X), atol=1e-8
    )


def test_binary_decision_function_becomes_two_logits(cancer):
    X, y = cancer
    teacher = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    output = query_teacher(teacher, X, "decision_function", batch_size=100)
    logits = output_to_logits(output, is_probability=False, eps=1e-6)
    assert logits.shape == (len(X), 2)
    np.testing.assert_allclose(
        logits[:, 1] - logits[:, 0], teacher.decision_function(X)
    )


def test_probabilities_to_logits_floor():
    proba = np.array([[0.5, 0.5, 0.0]])
    np.testing.assert_allclose(
        probabilities_to_logits(proba, 1e-6), np.log([[0.5, 0.5, 1e-6]])
    )


def skorch_net(criterion, n_outputs, softmax):
    layers = [torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, n_outputs)]
    if softmax:
        layers.append(torch.nn.Softmax(dim=-1))
    torch.manual_seed(0)
    return NeuralNetClassifier(
        torch.nn.Sequential(*layers),
        criterion=criterion,
        max_epochs=30,
        lr=0.1,
        train_split=None,
        verbose=0,
    )


@pytest.mark.parametrize(
    "criterion, softmax", [(torch.nn.CrossEntropyLoss, False), (torch.nn.NLLLoss, True)]
)
def test_skorch_teacher_module_output(iris, criterion, softmax):
    X, y = iris
    X = X.astype(np.float32)
    net = skorch_net(criterion, 3, softmax).fit(X, y)
    assert resolve_response_method(net, "auto") == "module"
    model = fast_distiller(net, soft_target_weight=1.0).fit(X, y)
    teacher_proba = net.predict_proba(X)
    np.testing.assert_allclose(model.teacher_predict_proba(X), teacher_proba, atol=1e-5)
    assert np.mean(model.predict(X) == net.predict(X)) > 0.9


def test_binary_skorch_teacher_single_logit(cancer):
    X, y = cancer
    X = StandardScaler().fit_transform(X).astype(np.float32)
    torch.manual_seed(0)
    net = NeuralNetBinaryClassifier(
        torch.nn.Sequential(torch.nn.Linear(30, 1), torch.nn.Flatten(0)),
        max_epochs=20,
        lr=0.1,
        train_split=None,
        verbose=0,
    ).fit(X, y.astype(np.float32))
    model = fast_distiller(net, soft_target_weight=1.0).fit(X, y)
    np.testing.assert_allclose(
        model.teacher_predict_proba(X), net.predict_proba(X), atol=1e-5
    )
    assert np.mean(model.predict(X) == net.predict(X)) > 0.9


def test_reloaded_skorch_net_without_classes(iris, tmp_path):
    X, y = iris
    X = X.astype(np.float32)
    net = skorch_net(torch.nn.CrossEntropyLoss, 3, False).fit(X, y)
    net.save_params(f_params=tmp_path / "params.pt")
    reloaded = skorch_net(torch.nn.CrossEntropyLoss, 3, False)
    reloaded.initialize()
    reloaded.load_params(f_params=tmp_path / "params.pt")
    assert teacher_classes(reloaded) is None
    model = fast_distiller(reloaded).fit(X, y)
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    reloaded.classes = ["a", "b", "c"]
    np.testing.assert_array_equal(teacher_classes(reloaded), ["a", "b", "c"])


class ReversedTeacher(ClassifierMixin, BaseEstimator):
    """A fitted forest presented with its classes (and columns) in reverse order."""

    def __init__(self, forest):
        self.forest = forest

    def fit(self, X, y):
        return self

    def __sklearn_is_fitted__(self):
        return True

    @property
    def classes_(self):
        return self.forest.classes_[::-1]

    def predict_proba(self, X):
        return self.forest.predict_proba(X)[:, ::-1]


def test_teacher_columns_are_aligned_by_class_value(iris):
    X, y = iris
    teacher = ReversedTeacher(
        RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    )
    np.testing.assert_array_equal(teacher.classes_, [2, 1, 0])
    model = fast_distiller(teacher).fit(X, y)
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    assert model.score(X, y) > 0.9
    expected = teacher.predict_proba(X)[:, ::-1]
    np.testing.assert_allclose(model.teacher_predict_proba(X), expected, atol=1e-6)
