"""Predicting with a trained student: cheap for one row, batched for many.

A prediction on one row should cost about what the network's arithmetic costs.
scikit-learn's ``validate_data`` and a torch call each cost several times more
than a small network, so small batches of plain float arrays take a lean path:

- :func:`lean_rows` accepts a 2-D float ndarray with the fitted number of
  columns and the fitted NaN/inf rule, and hands anything else (DataFrames,
  lists, wrong shapes, bad values) to the full validation, which raises
  scikit-learn's own errors;
- :class:`StudentInference` evaluates batches of at most
  :data:`NUMPY_MAX_ROWS` rows with the numpy form of the network
  (:class:`~sklearn_kd.serving._numpy_student.NumpyNetwork`) and larger ones, GPU
  models and custom modules with torch.
"""

import numpy as np

from .._skorch_compat import version_counter
from ._numpy_student import NumpyNetwork

#: Batches up to this many rows are evaluated with numpy on a CPU model.
NUMPY_MAX_ROWS = 256


def lean_rows(X, n_features, allow_nan):
    """``X`` as float32 when it passes every input check cheaply, else None.

    None means "validate it the full way": the caller then runs scikit-learn's
    validation, which accepts the same inputs and raises its own errors.
    """
    if type(X) is not np.ndarray or X.ndim != 2 or X.dtype.kind != "f":
        return None
    if X.shape[1] != n_features or X.shape[0] == 0:
        return None
    X = X.astype(np.float32, copy=False)
    if allow_nan:
        if np.isinf(X).any():
            return None
    elif not np.isfinite(X).all():
        return None
    return X


class StudentInference:
    """Evaluate a student module with numpy for small batches, torch otherwise.

    Parameters
    ----------
    module : torch.nn.Module or NumpyNetwork
        The trained student (a ``StudentModule``), or its numpy form alone.
    device : str
        Where a torch module lives.
    """

    def __init__(self, module, device="cpu"):
        self.module = module
        self.device = str(device)
        self._numpy = module if isinstance(module, NumpyNetwork) else None
        self._tensors = ()
        self._versions = ()
        self._expressible = self._numpy is not None or self.device == "cpu"
        self.n_features = (
            module.n_features_in
            if self._numpy is not None
            else module.encoder.n_features
        )

    def __getstate__(self):
        state = dict(self.__dict__)
        if not isinstance(self.module, NumpyNetwork):
            state.update(_numpy=None, _tensors=(), _versions=())
        return state

    def _numpy_network(self):
        """The numpy form, rebuilt when the module's weights changed in place
        (a logit-bias shift, further training); None if inexpressible."""
        if isinstance(self.module, NumpyNetwork):
            return self.module
        if not self._expressible:
            return None
        versions = tuple(version_counter(tensor) for tensor in self._tensors)
        if self._numpy is None or versions != self._versions:
            self._numpy = NumpyNetwork.from_module(self.module)
            if self._numpy is None:
                self._expressible = False
                return None
            self._tensors = (
                *self.module.network.parameters(),
                self.module.output_scale,
                self.module.output_shift,
            )
            self._versions = tuple(version_counter(t) for t in self._tensors)
        return self._numpy

    def logits(self, X, n_threads=None):
        """Logits for the float32 rows ``X``; torch runs on ``n_threads``
        intra-op threads (None: chosen by the work, see ``sklearn_kd.student._threads``)."""
        if len(X) <= NUMPY_MAX_ROWS or isinstance(self.module, NumpyNetwork):
            network = self._numpy_network()
            if network is not None:
                return network(X)
        from ..student._network import predict_logits
        from ..student._threads import auto_threads
        from ..student._torch_state import torch_threads

        if n_threads is None:
            n_weights = sum(p.numel() for p in self.module.parameters())
            n_threads = auto_threads(n_weights, len(X), training=False)
        with torch_threads(n_threads):
            return predict_logits(self.module, X, device=self.device)
