"""Every private skorch and PyTorch name the package uses, in one place.

Like ``_sklearn_compat.py`` for scikit-learn: a release that moves one of these
breaks (and is mended in) this file alone. Tested with skorch 1.4 and torch 2.13
(the ranges the project declares are in ``pyproject.toml``):

- skorch's ``NeuralNet._zero_grad_optimizer``, ``_step_optimizer`` (since
  skorch 0.10) and ``_set_training`` (since 0.11), which the student nets'
  lean training step calls or overrides;
- torch's ``Tensor._version``, the in-place modification counter that tells
  whether a student's weights changed since they were last read.
"""


def zero_grad_optimizer(net):
    """Zero the gradients of every optimizer of the skorch ``net``."""
    net._zero_grad_optimizer()


def step_optimizer(net, closure):
    """Step every optimizer of the skorch ``net`` with ``closure``."""
    net._step_optimizer(closure)


class LazyTrainingModes:
    """Mixin for a skorch net: switch the module and criterion between training
    and evaluation only when the mode changes.

    skorch calls ``_set_training`` before every batch; walking the module tree
    costs tens of microseconds, a sizeable share of a small student's step.
    """

    def _set_training(self, training=True):
        if self.module_.training != training or self.criterion_.training != training:
            super()._set_training(training)


def version_counter(tensor):
    """How many in-place changes ``tensor`` has seen."""
    return tensor._version
