"""Content fingerprints of teachers, for caching their outputs across fits.

joblib's hashing pickles objects; a torch tensor or a skorch net pickles through
storages and buffers whose bytes differ between an object and an unpickled copy of
it. Here tensors are hashed by their values, and skorch nets by what determines
their predictions (class, parameters, module weights, classes), so equal models hash
equal and any change to a fitted model changes its fingerprint.
"""

import torch
from joblib.hashing import NumpyHasher

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
