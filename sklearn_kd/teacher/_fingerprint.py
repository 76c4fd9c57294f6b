"""Content fingerprints of teachers, for caching their outputs across fits.

joblib's hashing pickles objects; a torch tensor or a skorch net pickles through
storages and buffers whose bytes differ between an object and an unpickled copy of
it. Here tensors are hashed by their values, and skorch nets by what determines
their predictions (class, parameters, module weights, classes), so equal models hash
equal and any change to a fitted model changes its fingerprint.
"""

import weakref

import torch
from joblib.hashing import NumpyHasher

from .._skorch_compat import version_counter

_SKORCH_VOLATILE_PARAMS = frozenset(
    {
        "callbacks",
        "dataset",
        "device",
        "iterator_train",
        "iterator_valid",
        "train_split",
        "verbose",
        "warm_start",
    }
)


def _skorch_content(net):
    params = {
        key: value
        for key, value in net.get_params(deep=False).items()
        if key not in _SKORCH_VOLATILE_PARAMS and not key.startswith("callbacks__")
    }
    state = net.module_.state_dict() if hasattr(net, "module_") else None
    return (
        "skorch",
        type(net).__qualname__,
        params,
        state,
        getattr(net, "classes", None),
    )


class _ContentHasher(NumpyHasher):
    def save(self, obj):
        from skorch import NeuralNet

        if isinstance(obj, torch.Tensor):
            values = obj.detach().cpu()
            if values.dtype in (torch.bfloat16, torch.float16):
                values = values.float()
            obj = ("torch.Tensor", str(obj.dtype), values.numpy())
        elif isinstance(obj, NeuralNet):
            obj = _skorch_content(obj)
        super().save(obj)


def fingerprint(obj):
    """A hex digest of ``obj``'s content, equal for equal models.

    Examples
    --------
    >>> import pickle
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.datasets import load_iris
    >>> model = LogisticRegression(max_iter=500).fit(*load_iris(return_X_y=True))
    >>> fingerprint(model) == fingerprint(pickle.loads(pickle.dumps(model)))
    True
    """
    hasher = _ContentHasher(hash_name="sha1")
    return hasher.hash(obj)


# Fingerprints of models, remembered per object with the signature they were
# computed under: a grid search fingerprints its teacher once, not once per fit.
_REMEMBERED = weakref.WeakKeyDictionary()
_MAX_SIGNED_ITEMS = 64


def _signature(obj, keep, depth=0):
    """What changes when a model is refitted, warm-started or set_params'd.

    Attribute values are recorded by identity (a fit assigns new arrays and
    lists), lists also by length (warm starts append), torch tensors by their
    version counter (in-place training bumps it), and nested estimators
    recursively. ``keep`` collects every object recorded by identity, so that
    no identity can be reused while the signature is remembered. In-place edits
    of a fitted model's numpy arrays are not seen.
    """
    if depth:  # the root is the remembered key itself, held weakly
        keep.append(obj)
    if isinstance(obj, torch.Tensor):
        return ("tensor", id(obj), version_counter(obj))
    if isinstance(obj, torch.nn.Module):
        return (
            "module",
            id(obj),
            tuple(
                (name, id(t), version_counter(t))
                for name, t in obj.state_dict().items()
            ),
        )
    if depth > 8:
        return ("deep", id(obj))
    if isinstance(obj, (list, tuple)):
        if len(obj) > _MAX_SIGNED_ITEMS:
            return ("sequence", id(obj), len(obj))
        return (
            "sequence",
            id(obj),
            tuple(_signature(item, keep, depth + 1) for item in obj),
        )
    if isinstance(obj, dict):
        if len(obj) > _MAX_SIGNED_ITEMS:
            return ("mapping", id(obj), len(obj))
        return (
            "mapping",
            id(obj),
            tuple((key, _signature(v, keep, depth + 1)) for key, v in obj.items()),
        )
    if hasattr(obj, "get_params") and hasattr(obj, "__dict__"):
        return (
            "estimator",
            id(obj),
            tuple(
                (key, _signature(value, keep, depth + 1))
                for key, value in sorted(vars(obj).items())
            ),
        )
    if hasattr(obj, "shape"):
        return ("array", id(obj), getattr(obj, "shape", None))
    return ("value", id(obj))


def remembered_fingerprint(model):
    """:func:`fingerprint` of ``model``, computed once per state of the object.

    The fingerprint is recomputed when the model's signature (see
    :func:`_signature`) changes: after a refit, a warm start, ``set_params`` or
    in-place training of a torch module.
    """
    keep = []
    signature = _signature(model, keep)
    try:
        remembered = _REMEMBERED.get(model)
    except TypeError:  # not weakly referenceable
        return fingerprint(model)
    if remembered is not None and remembered[0] == signature:
        return remembered[2]
    digest = fingerprint(model)
    _REMEMBERED[model] = (signature, keep, digest)
    return digest
