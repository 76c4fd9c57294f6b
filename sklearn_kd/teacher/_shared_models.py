"""Parameters holding fitted models that a meta-estimator uses as they are.

A fitted teacher, generalist or ensemble member is never refitted. Like
scikit-learn's ``FrozenEstimator``, ``clone`` then keeps that very model rather
than an unfitted copy (so a grid search neither refits nor loses it), and its
nested parameters are read-only: changing them would silently alter a shared
model without refitting it.
"""

from sklearn.base import clone

from .._sklearn_compat import copy_metadata_requests
from ._adapters import is_fitted


def holds_fitted_models(value):
    """Whether ``value`` is a fitted model or a non-empty list of fitted models."""
    models = value if isinstance(value, list) else [value]
    return bool(models) and all(m is not None and is_fitted(m) for m in models)


class SharedFittedModels:
    """Mixin: the parameters named in ``_shared_model_params`` are shared when fitted.

    Put it before ``BaseEstimator`` in the bases.
    """

    _shared_model_params = ()

    def get_params(self, deep=True):
        """Get the parameters, without the nested ones of fitted shared models.

        Those are read-only (see :meth:`set_params`), so a parameter search must
        not be offered them, as for :class:`~sklearn.frozen.FrozenEstimator`.
        """
        params = super().get_params(deep=deep)
        if not deep:
            return params
        fitted = [
            name
            for name in self._shared_model_params
            if holds_fitted_models(getattr(self, name, None))
        ]
        return {
            key: value
            for key, value in params.items()
            if not any(key.startswith(f"{name}__") for name in fitted)
        }

    def set_params(self, **params):
        for name in self._shared_model_params:
            nested = sorted(key for key in params if key.startswith(f"{name}__"))
            if nested and holds_fitted_models(params.get(name, getattr(self, name))):
                raise ValueError(
                    f"Cannot set {nested}: {name} is already fitted, and shared fitted "
                    "models are used as they are, never refitted, so their parameters "
                    "are read-only: changing them would alter the model without "
                    f"refitting it. Pass an unfitted {name} to tune it, or set {name} "
                    "itself to another fitted model."
                )
        return super().set_params(**params)

    def __sklearn_clone__(self):
        params = self.get_params(deep=False)
        for name, value in params.items():
            if name in self._shared_model_params and holds_fitted_models(value):
                params[name] = list(value) if isinstance(value, list) else value
            else:
                params[name] = clone(value, safe=False)
        new = type(self)(**params)
        copy_metadata_requests(self, new)
        return new
