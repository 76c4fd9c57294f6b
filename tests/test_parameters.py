"""Parameters a scikit-learn user can trust: declared once, refused when unknown."""

import inspect
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import GridSearchCV

from sklearn_kd import DistilledClassifier, DistilledRegressor
from sklearn_kd._parameters import SHARED_PARAMETERS

DISTILLERS = [DistilledClassifier, DistilledRegressor]


@pytest.mark.parametrize("distiller", DISTILLERS)
@pytest.mark.parametrize(
    "keyword, meant",
    [
        ("max_iter", "max_epochs"),
        ("learning_rate_init", "lr"),
        ("alpha", "optimizer__weight_decay"),
        ("batch_sizes", "batch_size"),
        ("studnet__width", "student__width"),
        ("optimiser__weight_decay", "optimizer__weight_decay"),
    ],
)
def test_an_unknown_keyword_is_refused_at_construction_with_the_near_name(
    distiller, keyword, meant
):
    with pytest.raises(TypeError, match=f"{keyword!r}; did you mean {meant!r}"):
        distiller(**{keyword: 3})


def test_a_name_of_the_other_task_is_not_suggested():
    with pytest.raises(TypeError, match="'T'\\.") as raised:
        DistilledRegressor(T=2)
    assert "temperature" not in str(raised.value)


@pytest.mark.parametrize("distiller", DISTILLERS)
def test_only_the_teacher_goes_by_position(distiller):
    assert distiller("teacher").teacher == "teacher"
    with pytest.raises(TypeError):
        distiller(None, 1.0)


@pytest.mark.parametrize("distiller", DISTILLERS)
def test_a_set_attribute_never_becomes_a_parameter(distiller):
    model = distiller()
    model.note = "x"
    assert "note" not in model.get_params()
    assert "note" not in vars(clone(model))
    with pytest.raises(ValueError, match="note"):
        model.set_params(note="y")


@pytest.mark.parametrize("distiller", DISTILLERS)
def test_nested_parameters_are_parameters(distiller):
    model = distiller(student__dropout=0.1, optimizer__weight_decay=1e-4)
    params = model.get_params()
    assert params["student__dropout"] == 0.1
    assert params["optimizer__weight_decay"] == 1e-4
    copy = clone(model).set_params(callbacks__print_log__sink=print)
    assert copy.get_params()["student__dropout"] == 0.1
    assert copy.get_params()["callbacks__print_log__sink"] is print
    assert pickle.loads(pickle.dumps(model)).get_params() == params


def test_the_shared_parameters_have_one_declaration_in_both_signatures():
    for distiller in DISTILLERS:
        signature = inspect.signature(distiller)
        for parameter in SHARED_PARAMETERS:
            assert signature.parameters[parameter.name].default is parameter.default
            assert (
                distiller._parameter_constraints[parameter.name]
                is parameter.constraints
            )
        documented = distiller.__doc__.split("Attributes\n")[0]
        for name, parameter in signature.parameters.items():
            if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                assert "    **kwargs\n" in documented
            else:
                assert f"    {name} : " in documented, name


def test_a_nested_parameter_is_grid_searchable():
    X, y = load_iris(return_X_y=True)
    forest = RandomForestClassifier(20, random_state=0).fit(X, y)
    model = DistilledClassifier(
        forest,
        encoding="standard",
        augment=None,
        soft_target_weight=0.5,
        max_epochs=3,
        random_state=0,
    )
    search = GridSearchCV(
        model, {"optimizer__weight_decay": [0.0, 1e-3]}, cv=2, error_score="raise"
    ).fit(X, y)
    assert search.best_params_["optimizer__weight_decay"] in (0.0, 1e-3)
    optimizer = search.best_estimator_.student_.optimizer_
    assert np.isclose(
        optimizer.param_groups[0]["weight_decay"],
        search.best_params_["optimizer__weight_decay"],
    )
