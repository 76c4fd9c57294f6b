"""The automatic choice of encoding, MUNGE and soft-target weight inside fit."""

import numpy as np
import pytest
import torch
from conftest import FAST
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import GridSearchCV
from skorch import NeuralNetClassifier
from skorch.dataset import Dataset

from sklearn_kd import DistilledClassifier
from sklearn_kd.student._selection import (
    FALLBACK,
    MIN_VALIDATION_ROWS,
    VALIDATION_FRACTION,
    Choice,
    candidates,
    one_standard_error_choice,
    second_round,
)
from sklearn_kd.student._skorch_net import StudentTraining
from sklearn_kd.student._torch_state import seeded

SETTINGS = {
    **FAST,
    "max_epochs": 4,
    "random_state": 0,
    "encoding": "auto",
    "augment": "auto",
    "soft_target_weight": "auto",
}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    return X, y, forest


def test_candidates_always_include_the_label_only_students():
    found = candidates(DistilledClassifier(), has_teacher=True)
    assert Choice("standard", None, 0.0) in found
    assert Choice("piecewise_linear", None, 0.0) in found
    assert Choice("piecewise_linear", "munge", 0.5) in found
    assert len(found) == 6
    assert candidates(DistilledClassifier(), has_teacher=False) == [
        Choice("standard", None, 0.0),
        Choice("piecewise_linear", None, 0.0),
    ]


def test_explicit_parameters_are_never_searched():
    model = DistilledClassifier(encoding="standard", soft_target_weight=0.7)
    assert candidates(model, has_teacher=True) == [
        Choice("standard", None, 0.7),
        Choice("standard", "munge", 0.7),
    ]
    fixed = DistilledClassifier(
        encoding="standard", augment=None, soft_target_weight=0.5
    )
    assert candidates(fixed, has_teacher=True) == [Choice("standard", None, 0.5)]


def test_fit_selects_and_records_its_choice(digits, capsys):
    X, y, forest = digits
    model = DistilledClassifier(forest, verbose=1, **SETTINGS).fit(X, y)
    assert set(model.selection_scores_) == {c.label() for c in candidates(model, True)}
    chosen = Choice(**{key: model.selected_params_[key] for key in FALLBACK}).label()
    assert chosen in model.selection_scores_
    out = capsys.readouterr().out
    assert "selection: 6 candidates" in out and f"chose {chosen}" in out
    assert model.selection_reason_ in out
    expected = model.student_.module_.encoder.encoding
    assert expected == model.selected_params_["encoding"]


def test_the_selected_settings_give_the_same_model_when_set_explicitly(digits):
    X, y, forest = digits
    auto = DistilledClassifier(forest, **SETTINGS).fit(X, y)
    explicit = DistilledClassifier(forest, **{**SETTINGS, **auto.selected_params_})
    explicit.fit(X, y)
    assert explicit.selection_scores_ is None
    np.testing.assert_allclose(
        explicit.predict_proba(X), auto.predict_proba(X), atol=1e-6
    )


def test_too_few_labelled_rows_for_a_hold_out_use_the_fallbacks(iris, iris_forest):
    X, y = iris
    n_rows = int(MIN_VALIDATION_ROWS / VALIDATION_FRACTION) - 1
    rows = np.random.RandomState(0).permutation(len(y))[:n_rows]
    model = DistilledClassifier(iris_forest, **SETTINGS).fit(X[rows], y[rows])
    assert model.selection_scores_ is None
    assert "fallbacks" in model.selection_reason_
    assert model.selected_params_ == {**FALLBACK, "max_epochs": 4, "batch_size": 32}


def test_the_rule_has_no_row_count_at_which_it_switches(digits):
    """Below and above the former 500-row threshold, and in a grid-search
    fold, fit selects the same way: the folds train the kind of student the
    refit trains."""
    X, y, forest = digits
    for n_rows in (120, 499, 500):
        model = DistilledClassifier(forest, **SETTINGS).fit(X[:n_rows], y[:n_rows])
        assert model.selection_scores_ is not None, n_rows
        assert set(model.selection_scores_) == {
            c.label() for c in candidates(model, True, n_rows)
        }


def test_equally_cheap_candidates_fall_to_the_fallback_on_a_small_hold_out():
    """On a hold-out too small to tell them apart, the distilled fallback wins
    over the equally cheap label-only student (it comes first)."""
    found = candidates(DistilledClassifier(), has_teacher=True, n_rows=100)
    assert found[0] == Choice(**FALLBACK)
    rng = np.random.default_rng(0)
    losses = {choice: rng.exponential(size=10) for choice in found}
    costs = {choice: 1.0 for choice in found}
    chosen, reason = one_standard_error_choice(losses, costs, np.ones(10))
    assert chosen == Choice(**FALLBACK)
    assert "standard error" in reason or reason == "the best held-out score"


def test_munge_is_not_searched_where_real_rows_are_plentiful():
    from sklearn_kd.student._selection import MUNGE_MAX_ROWS

    many = candidates(DistilledClassifier(), True, n_rows=MUNGE_MAX_ROWS + 1)
    assert not any(choice.augment for choice in many)
    assert any(c.augment for c in candidates(DistilledClassifier(), True, 1000))
    explicit = DistilledClassifier(augment="munge")
    assert all(
        c.augment
        for c in candidates(explicit, True, MUNGE_MAX_ROWS + 1)
        if c.soft_target_weight
    )


def test_a_user_grid_over_an_explicit_parameter_searches_the_rest(digits):
    X, y, forest = digits
    search = GridSearchCV(
        DistilledClassifier(forest, **{**SETTINGS, "augment": None}),
        {"encoding": ["standard", "piecewise_linear"]},
        cv=2,
    ).fit(X, y)
    fitted = search.best_estimator_
    assert fitted.selected_params_["encoding"] == search.best_params_["encoding"]
    assert len(fitted.selection_scores_) == 2  # the weight alone was searched


def test_the_cheapest_candidate_within_one_standard_error_wins():
    rng = np.random.default_rng(0)
    cheap, costly, clear = (
        Choice("standard", None, 0.0),
        Choice("standard", "munge", 0.5),
        Choice("piecewise_linear", "munge", 0.5),
    )
    base = rng.exponential(size=400)
    weights = np.ones(400)
    noise = rng.normal(scale=0.5, size=400)
    # Slightly better but within noise: the cheap candidate is kept.
    losses = {cheap: base, costly: base - 0.001 + noise * 0.1}
    costs = {cheap: 1.0, costly: 6.0}
    assert one_standard_error_choice(losses, costs, weights)[0] == cheap
    # Clearly better: the costly one wins.
    losses[clear] = base - 0.5
    costs[clear] = 10.0
    assert one_standard_error_choice(losses, costs, weights)[0] == clear


def test_the_better_half_and_the_best_label_only_candidate_train_on():
    options = candidates(DistilledClassifier(), has_teacher=True)
    distilled = [choice for choice in options if choice.soft_target_weight > 0]
    label_only = [choice for choice in options if choice.soft_target_weight == 0]
    # the distilled candidates lead; the second label-only one beats the first
    mean_loss = dict(zip(distilled, [0.1, 0.2, 0.3, 0.4], strict=True))
    mean_loss |= {label_only[0]: 0.9, label_only[1]: 0.8}
    losses = {choice: np.full(5, mean_loss[choice]) for choice in options}
    kept = second_round(losses, np.ones(5))
    assert kept == [*distilled[:3], label_only[1]]  # in the candidates' order
    mean_loss[label_only[0]] = 0.05  # now a label-only one is in the better half
    losses = {choice: np.full(5, mean_loss[choice]) for choice in options}
    assert second_round(losses, np.ones(5)) == [*distilled[:2], label_only[0]]


def test_halving_stops_the_worse_candidates_and_chooses_among_the_rest(digits, capsys):
    X, y, forest = digits
    model = DistilledClassifier(forest, **{**SETTINGS, "max_epochs": 12, "verbose": 1})
    model.fit(X, y)
    out = capsys.readouterr().out
    assert "stopped after the first round" in out
    stopped_text = out.split("stopped after the first round: ")[1].split("; chose")[0]
    labels = [choice.label() for choice in candidates(model, True)]
    stopped = [label for label in labels if label in stopped_text]
    assert len(stopped) in (2, 3)  # 3 of 6 train on, a 4th if label-only
    chosen = Choice(**{key: model.selected_params_[key] for key in FALLBACK})
    assert chosen.label() not in stopped
    assert set(model.selection_scores_) == set(labels)


def test_a_training_split_in_runs_equals_one_run():
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)

    def training():
        with seeded(0):
            module = torch.nn.Sequential(
                torch.nn.Linear(64, 32), torch.nn.Dropout(0.3), torch.nn.Linear(32, 10)
            )
            net = NeuralNetClassifier(
                module,
                criterion=torch.nn.CrossEntropyLoss,
                max_epochs=5,
                batch_size=128,
                train_split=None,
                verbose=0,
                iterator_train__shuffle=True,
                iterator_train__generator=torch.Generator().manual_seed(0),
            )
            net.initialize()
            return StudentTraining(net, Dataset(X, y), n_threads=1)

    in_runs = training()
    in_runs.run(2)
    torch.manual_seed(123)  # the caller's generator does not reach the training
    split = in_runs.run(3)
    whole = training().run()
    assert len(split.history) == len(whole.history) == 5
    for a, b in zip(
        split.module_.state_dict().values(),
        whole.module_.state_dict().values(),
        strict=True,
    ):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not split.module_.training
