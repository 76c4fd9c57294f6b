"""Saving with skops.io: the student network as numbers, in the state skops reads.

``skops.io`` rebuilds an object from the state its ``__getstate__`` returns, and
loads only the types the user trusts; it cannot hold torch tensors. The
estimators therefore put their student (the distiller's skorch net, the exported
student's module) in their state inside a :class:`StudentState`:

- pickle, joblib and ``copy`` call ``__reduce_ex__``, which carries the student
  whole (torch module, optimizer, callbacks, custom networks): those round trips
  are unchanged;
- skops.io reads ``__getstate__``, which gives the network as the bytes of its
  numpy student file (:mod:`sklearn_kd.serving._student_file`: arrays and a JSON
  description, no code) and a distiller's training history as JSON.
  ``__setstate__`` reads the file back with its checks; the owner's
  ``__setstate__`` then rebuilds the torch module (or keeps the numpy network
  of a student that held one) and, for a distiller, a skorch net on the CPU with
  that history (without optimizer state or callbacks).

Only the default MLP student can be written so; another network makes
``skops.io.dump`` raise a TypeError. The public routes are used throughout: no
type is registered with skops, and this module imports neither skops nor torch
at import time.
"""

import io
import json

import numpy as np

from ._numpy_student import NumpyNetwork
from ._student_file import read_student, write_student

#: The types of sklearn-kd (and torch) a skops file of its estimators holds,
#: as ``skops.io.load(..., trusted=...)`` takes them. Why each is needed is in
#: the user guide's deployment page.
_TRUSTED_TYPES = (
    "sklearn_kd._categorical.CategoryCodes",
    "sklearn_kd._classifier.DistilledClassifier",
    "sklearn_kd.serving._export.StudentClassifier",
    "sklearn_kd.serving._export.StudentRegressor",
    "sklearn_kd._regressor.DistilledRegressor",
    "sklearn_kd.serving._skops.StudentState",
    "torch.optim.adam.Adam",
)


def skops_trusted_types():
    """The type names to trust when loading a sklearn-kd estimator with skops.io.

    Pass them to ``skops.io.load(path, trusted=...)``, together with the
    teacher's own types where a distiller holds one that skops does not trust
    by default (``skops.io.get_untrusted_types(file=path)`` lists what a file
    holds; a random forest adds ``sklearn.tree._tree.Tree``). A file holds a
    subset of these: its estimator's class, ``StudentState`` (the network as
    numbers, read without running code), ``torch.optim.adam.Adam`` for a
    distiller (its default ``optimizer`` parameter, a class) and
    ``CategoryCodes`` when trained on string columns. The user guide's
    deployment page says why each is needed.

    Returns
    -------
    types : list of str
        Fully qualified type names, sorted.

    Examples
    --------
    >>> from sklearn_kd import skops_trusted_types
    >>> "sklearn_kd.serving._skops.StudentState" in skops_trusted_types()
    True
    """
    return list(_TRUSTED_TYPES)


class _StoredFile(io.BytesIO):
    """The student file's bytes, named in ``read_student``'s errors."""

    def __str__(self):
        return "The student network stored in this skops file"


def _plain(value):
    """A numpy scalar of a history entry as a Python number (for ``json``)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not a number")


class StudentState:
    """A student (skorch net, torch module or numpy network) in its owner's state.

    Parameters
    ----------
    student : skorch net, torch.nn.Module or NumpyNetwork
        What the owner holds.
    classes : array-like, default=None
        A classifier's class labels (written in the student file's description).
    """

    def __init__(self, student, classes=None):
        self.student = student
        self.classes = classes

    def __reduce_ex__(self, protocol):
        # pickle, joblib and copy: the student whole, as before.
        return type(self), (self.student,)

    def __getstate__(self):
        # What skops.io stores: numbers and plain data alone.
        module, history, net_params = self.student, None, None
        if hasattr(module, "module_"):  # a skorch net
            module = module.module_
            try:
                history = json.dumps(list(self.student.history), default=_plain)
            except TypeError as error:
                raise TypeError(
                    f"skops.io cannot store this student's training history, which "
                    f"holds more than numbers and strings ({error}); pickle the "
                    "estimator instead."
                ) from None
            net_params = {
                name: value
                for name, value in self.student.get_params(deep=False).items()
                if name.startswith("criterion__") or name == "classes"
            }
        network = module
        if not isinstance(module, NumpyNetwork):
            network = NumpyNetwork.from_module(module)
        if network is None:
            raise TypeError(
                "skops.io stores the default MLP student as numbers; this "
                f"student's network is a {type(module.network).__name__}. Pickle "
                "the estimator, or export the student to ONNX."
            )
        file = io.BytesIO()
        write_student(
            file,
            network,
            kind="regressor" if self.classes is None else "classifier",
            classes=self.classes,
            feature_names=None,
            category_codes=None,
            allow_nan=True,
        )
        return {
            "student_file": file.getvalue(),
            "torch": not isinstance(module, NumpyNetwork),
            "history": history,
            "net_params": None
            if net_params is None
            else json.dumps(net_params, default=_plain),
        }

    def __setstate__(self, state):
        # Only skops.io calls this (pickle rebuilds through ``__init__``).
        self.student = None
        self.classes = None
        self.network, _ = read_student(_StoredFile(state["student_file"]))
        self.torch = bool(state["torch"])
        self.history = (
            None if state["history"] is None else json.loads(state["history"])
        )
        self.net_params = (
            None if state["net_params"] is None else json.loads(state["net_params"])
        )

    def module(self):
        """The exported student's module: as held, or rebuilt (a torch module if
        it was one, else the numpy network)."""
        if self.student is not None:
            return self.student
        if not self.torch:
            return self.network
        from ..student._network import module_from_numpy

        return module_from_numpy(self.network)

    def net(self, net_class, criterion):
        """The distiller's skorch net: as held, or rebuilt on the CPU around the
        network with its history (no optimizer state, no callbacks)."""
        if self.student is not None:
            return self.student
        from skorch.history import History

        from ..student._network import module_from_numpy

        net = net_class(
            module=module_from_numpy(self.network),
            criterion=criterion,
            device="cpu",
            **(self.net_params or {}),
        )
        net.initialize()
        net.module_.eval()
        net.history = History(self.history or [])
        return net
