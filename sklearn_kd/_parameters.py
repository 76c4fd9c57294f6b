"""The distillers' parameters, each declared once: name, default, valid values.

scikit-learn reads an estimator's parameters from the signature of its
``__init__``. :class:`DistilledClassifier` and :class:`DistilledRegressor`
share most of theirs, so each builds its ``__init__`` and its
``_parameter_constraints`` with :func:`distiller_init` from its own few
parameters (the teacher first) followed by :data:`SHARED_PARAMETERS`: a shared
option is declared, defaulted and constrained in this file alone (its
docstring text is in ``_docstrings.py``).

Beyond the declared parameters, ``__init__`` takes only nested ones,
``student__name``, ``optimizer__name`` and ``callbacks__name__param`` (skorch's
convention for a module's and an optimizer's arguments); any other keyword is
refused at once, with the near names a user of ``MLPClassifier`` or skorch
would reach for.
"""

import difflib
import inspect
from dataclasses import dataclass
from numbers import Integral, Real

import torch

from ._sklearn_compat import HasMethods, Interval, StrOptions
from .student._encoding import ENCODINGS
from .student._lr_schedule import LR_SCHEDULES
from .teacher._soft_targets import SOFT_TARGET_SOURCES

NESTED_PREFIXES = ("student__", "optimizer__", "callbacks__")


@dataclass(frozen=True)
class Parameter:
    """One constructor parameter: its default and scikit-learn constraints."""

    name: str
    default: object
    constraints: list


def _positive(kind):
    return Interval(kind, 0, None, closed="neither")


def _at_least(kind, low):
    return Interval(kind, low, None, closed="left")


#: Every parameter both distillers take, in signature order after the task's own.
SHARED_PARAMETERS = (
    Parameter(
        "soft_target_weight",
        "auto",
        [Interval(Real, 0, 1, closed="both"), StrOptions({"auto"})],
    ),
    Parameter("soft_targets", "auto", [StrOptions(set(SOFT_TARGET_SOURCES))]),
    Parameter("cv", 5, ["cv_object"]),
    Parameter("augment", "auto", [StrOptions({"munge", "auto"}), None]),
    Parameter("augment_factor", 5, [_at_least(Integral, 1)]),
    Parameter("munge_swap_probability", 0.5, [Interval(Real, 0, 1, closed="both")]),
    Parameter("munge_spread", 1.0, [_positive(Real)]),
    Parameter("categorical_features", None, ["array-like", None]),
    Parameter("student", None, [type, None]),
    Parameter("hidden_layer_sizes", "auto", [StrOptions({"auto"}), tuple, list]),
    Parameter("max_epochs", "auto", [_at_least(Integral, 1), StrOptions({"auto"})]),
    Parameter("batch_size", "auto", [_at_least(Integral, 1), StrOptions({"auto"})]),
    Parameter("lr", 3e-3, [_positive(Real)]),
    Parameter("lr_schedule", "cosine", [StrOptions(set(LR_SCHEDULES)), None]),
    Parameter("optimizer", torch.optim.Adam, [type]),
    Parameter("callbacks", None, [list, None]),
    Parameter("early_stopping", False, ["boolean"]),
    Parameter("validation_fraction", 0.1, [Interval(Real, 0, 1, closed="neither")]),
    Parameter("n_iter_no_change", 10, [_at_least(Integral, 1)]),
    Parameter("device", "cpu", [str]),
    Parameter("accelerate", None, [None, "boolean", dict]),
    Parameter("encoding", "auto", [StrOptions({"auto", *ENCODINGS})]),
    Parameter("n_bins", 32, [_at_least(Integral, 2)]),
    Parameter("scaling", "standard", [StrOptions({"standard"}), None]),
    Parameter("teacher_batch_size", 10_000, [_at_least(Integral, 1)]),
    Parameter("memory", None, [None, str, HasMethods(["cache"])]),
    Parameter("n_jobs", None, [Integral, None]),
    Parameter("n_threads", None, [_at_least(Integral, 1), None]),
    Parameter("random_state", None, ["random_state"]),
    Parameter("verbose", 0, ["verbose"]),
)

#: Names other estimators use for a parameter these distillers name otherwise.
NEAR_NAMES = {
    "max_iter": "max_epochs",
    "n_epochs": "max_epochs",
    "epochs": "max_epochs",
    "learning_rate_init": "lr",
    "learning_rate": "lr",
    "alpha": "optimizer__weight_decay",
    "weight_decay": "optimizer__weight_decay",
    "l2": "optimizer__weight_decay",
    "module": "student",
    "hidden_layers": "hidden_layer_sizes",
    "dropout": "student__dropout",
    "T": "temperature",
    "seed": "random_state",
    "criterion": "loss",
    "estimator": "teacher",
    "model": "teacher",
}


def distiller_init(parameters):
    """An ``__init__`` that stores ``parameters`` (the first, the teacher, may be
    given by position) and nested parameters, and refuses any other keyword.

    Its ``__signature__`` lists the parameters, which is what scikit-learn's
    ``get_params``, ``clone`` and ``repr``, ``help()`` and Sphinx read.
    """
    names = [parameter.name for parameter in parameters]
    kinds = [inspect.Parameter.POSITIONAL_OR_KEYWORD] + [
        inspect.Parameter.KEYWORD_ONLY
    ] * (len(parameters) - 1)
    signature = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [
            inspect.Parameter(parameter.name, kind, default=parameter.default)
            for parameter, kind in zip(parameters, kinds, strict=True)
        ]
        + [inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)]
    )

    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        nested = bound.arguments.pop("kwargs")
        check_nested_names(type(self).__name__, nested, names)
        for name in names:
            setattr(self, name, bound.arguments[name])
        for name, value in nested.items():
            setattr(self, name, value)

    __init__.__signature__ = signature
    return __init__


def check_nested_names(owner, keywords, names):
    """Refuse a keyword that is neither a parameter nor a nested one, naming the
    parameter that was most likely meant."""
    for key in keywords:
        prefix = next((p for p in NESTED_PREFIXES if key.startswith(p)), None)
        if prefix is not None and len(key) > len(prefix):
            continue
        head, nested, rest = key.partition("__")
        if nested and rest:  # a misspelt prefix: studnet__width
            close = difflib.get_close_matches(
                head, [p.rstrip("_") for p in NESTED_PREFIXES], n=1
            )
            meant = f"{close[0]}__{rest}" if close else None
        else:
            close = difflib.get_close_matches(key, [*names, *NEAR_NAMES], n=1)
            meant = NEAR_NAMES.get(key) or (
                NEAR_NAMES.get(close[0], close[0]) if close else None
            )
        if meant is not None and "__" not in meant and meant not in names:
            meant = None  # a name of the other task (temperature for a regressor)
        hint = f"; did you mean {meant!r}?" if meant else "."
        raise TypeError(
            f"{owner}() got an unexpected keyword argument {key!r}{hint} Beyond its "
            "own parameters it takes nested ones: 'student__name' (the student "
            "module's arguments), 'optimizer__name' (the optimizer's) and "
            "'callbacks__name__param' (a named callback's)."
        )


def parameter_constraints(parameters):
    """``_parameter_constraints`` for scikit-learn's validation in ``fit``."""
    return {parameter.name: parameter.constraints for parameter in parameters}
