"""The learning-rate schedule behind ``lr_schedule="cosine"``.

The student's budget is a few thousand optimizer steps (see ``_budget``), too
few for Adam at a constant 1e-3 to settle. On training-row probes (an inner
80/20 split of the training rows of krkopt, letter, magic, sleep and adult at
6,000 rows, three students each; ``benchmarks/selection_probe.py --parts
schedule --max-train 6000``) a
peak of 3e-3 decayed to zero along a half cosine over the planned steps gave
a lower held-out loss than the constant 1e-3 in 14 of 15 cases, and than a
constant 3e-3 on sleep and adult; peaks of 5e-3 and 1e-2 were no better on
the whole.

The rate is a closed-form function of the progress through ``max_epochs``
(epochs done plus the share of the current epoch), so a training continued
with ``partial_fit`` (the selection's second round) follows the same curve as
one run, and nothing is stored but each parameter group's peak rate.
"""

import math

from skorch.callbacks import Callback, LRScheduler

#: The schedules ``lr_schedule`` names.
LR_SCHEDULES = ("cosine",)


def cosine_factor(progress):
    """The share of the peak rate at ``progress`` (0 to 1) of the training."""
    return 0.5 * (1.0 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))


class CosineSchedule(Callback):
    """Decay every parameter group's rate from its peak (the optimizer's
    ``lr`` when training began) to zero over ``net.max_epochs``, per batch."""

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        batch_size = net.batch_size if net.batch_size > 0 else len(dataset_train)
        self.batches_ = max(math.ceil(len(dataset_train) / batch_size), 1)
        self.epoch_ = len(net.history) - 1  # epochs done before this one
        self.batch_ = 0
        for group in net.optimizer_.param_groups:
            group.setdefault("peak_lr", group["lr"])

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        progress = (self.epoch_ + self.batch_ / self.batches_) / net.max_epochs
        factor = cosine_factor(progress)
        for group in net.optimizer_.param_groups:
            group["lr"] = group["peak_lr"] * factor
        self.batch_ += 1


def check_schedule(lr_schedule, callback):
    """A clear error when one of the user's callbacks schedules the rate while
    ``lr_schedule`` does too (two schedules would fight over it)."""
    if lr_schedule is None:
        return
    if isinstance(callback, LRScheduler) or (
        isinstance(callback, type) and issubclass(callback, LRScheduler)
    ):
        raise ValueError(
            f"callbacks holds a learning-rate scheduler ({callback!r}) and "
            f"lr_schedule={lr_schedule!r} schedules the rate too; pass "
            "lr_schedule=None to use your own."
        )


def schedule_callbacks(lr_schedule):
    """The ``(name, callback)`` pairs ``lr_schedule`` adds to the student's."""
    return [] if lr_schedule is None else [("lr_schedule", CosineSchedule())]
