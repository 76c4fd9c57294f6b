"""The distillation loss (Hinton, Vinyals & Dean, 2015, section 2).

With soft-target weight ``w``, temperature ``T``, teacher logits ``v_i`` and
student logits ``z_i``, sample weights ``s_i``, and ``L`` the labelled rows among
all training rows ``A`` (synthetic rows are unlabelled)::

    loss = w * sum_{i in A} s_i * T**2 * KL(softmax(v_i / T) || softmax(z_i / T))
             / sum_{i in A} s_i
         + (1 - w) * sum_{i in L} s_i * CE(z_i, y_i) / sum_{i in L} s_i

The soft term is averaged over every row, the hard (label) term over the labelled
rows only, so the weight of the labels does not depend on how many unlabelled or
synthetic rows there are. The ``T**2`` factor keeps the soft term's gradients the
same size whatever ``T`` (they shrink like ``1 / T**2`` otherwise). The KL is
summed over classes and averaged over rows (``batchmean``), in log space for the
student.

Mini-batches estimate this loss without bias: the two denominators are totals
over the whole training set, so each row carries two constant coefficients
(:func:`loss_coefficients`), ``c_soft = w * s_i * n / sum_A s`` and
``c_hard = (1 - w) * s_i * n / sum_L s`` for ``n`` training rows, and a batch's
loss is the mean over its rows of ``c_soft * soft + c_hard * hard``. A batch
whose weights are all zero contributes zero, never NaN.

``loss="mse"`` is the paper's high-temperature limit (Ba & Caruana, 2014): the
soft term becomes ``0.5 * mean_k((z_k - mean(z)) - (v_k - mean(v)))**2``, which
is what ``T**2 * KL`` tends to as ``T`` grows.

The per-row targets travel as one float tensor, so that shuffled batches keep each
row's soft targets, label and coefficients together: see :func:`pack_targets`.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._transfer_set import UNLABELLED

#: Columns after the teacher's targets in a packed target row.
N_TRAILING_COLUMNS = 3


def loss_coefficients(sample_weight, labelled, soft_target_weight, train=None):
    """Per-row coefficients of the soft and hard terms (see the module docstring).

    Parameters
    ----------
    sample_weight : ndarray of shape (n_rows,)
        Row weights.
    labelled : ndarray of bool of shape (n_rows,) or (n_rows, n_outputs)
        Which rows (which entries, for several outputs) carry a label.
    soft_target_weight : float
        ``w``.
    train : ndarray of int, default=None
        The training rows, whose totals normalise every row (validation rows are
        scored on the training rows' scale); None means all rows.

    Returns
    -------
    c_soft : ndarray of shape (n_rows,)
    c_hard : ndarray of the shape of ``labelled``
        With several outputs, each output's hard term is averaged over its own
        labelled rows, and the outputs are averaged.
    """
    train = slice(None) if train is None else train
    weight, is_labelled = sample_weight[train], labelled[train]
    n_train = len(weight)
    w = soft_target_weight
    total = weight.sum()
    soft_scale = 0.0 if total == 0 else w * n_train / total
    if labelled.ndim == 1:
        total_labelled = weight[is_labelled].sum()
        hard_scale = 0.0 if total_labelled == 0 else (1 - w) * n_train / total_labelled
        return soft_scale * sample_weight, hard_scale * np.where(
            labelled, sample_weight, 0.0
        )
    totals = (weight[:, None] * is_labelled).sum(axis=0)
    hard_scale = np.divide(
        (1 - w) * n_train / labelled.shape[1],
        totals,
        out=np.zeros(len(totals)),
        where=totals > 0,
    )
    c_hard = hard_scale * np.where(labelled, sample_weight[:, None], 0.0)
    return soft_scale * sample_weight, c_hard


def pack_targets(teacher_targets, label_index, c_soft, c_hard):
    """Pack per-row targets into one float32 array.

    Columns ``[:-3]`` hold the teacher's targets (soft probabilities for
    ``loss="kl"``, centred logits for ``loss="mse"``; none when the student
    learns from labels alone), column ``-3`` the class index of the row's label
    (``-1`` when unlabelled), and the last two the soft and hard coefficients.
    """
    n_rows = len(label_index)
    if teacher_targets is None:
        teacher_targets = np.zeros((n_rows, 0))
    return np.hstack(
        [teacher_targets, label_index[:, None], c_soft[:, None], c_hard[:, None]]
    ).astype(np.float32)


def packed_labels(packed):
    """Class index per packed row; an unlabelled row gets the teacher's class.

    What skorch's scoring callbacks see as ``y``: the true label where there is
    one, else the class the teacher predicts.
    """
    packed = np.asarray(packed)
    labels = packed[:, -N_TRAILING_COLUMNS].astype(np.int64)
    teacher = packed[:, :-N_TRAILING_COLUMNS]
    unlabelled = labels == UNLABELLED
    if unlabelled.any() and teacher.shape[1]:
        labels[unlabelled] = teacher[unlabelled].argmax(axis=1)
    return labels


class DistillationLoss(nn.Module):
    """Weighted sum of a soft (teacher-matching) term and a hard (label) term.

    See the module docstring for the formula and its normalisation.

    Parameters
    ----------
    temperature : float
        The temperature ``T`` used to soften both teacher and student.
    loss : {"kl", "mse"}, default="kl"
        ``"kl"``: ``T**2 * KL(teacher || student)`` at temperature ``T``;
        ``"mse"``: mean squared error between row-centred logits.
    soft_target_weight : float, default=0.5
        ``w``. The packed coefficients already carry it; here it only skips a
        term whose weight is zero.
    """

    def __init__(self, temperature, loss="kl", soft_target_weight=0.5):
        super().__init__()
        self.temperature = temperature
        self.loss = loss
        self.soft_target_weight = soft_target_weight

    def soft_term(self, student_logits, teacher_targets):
        """Per-row soft loss."""
        if self.loss == "mse":
            student = student_logits - student_logits.mean(dim=1, keepdim=True)
            return 0.5 * (student - teacher_targets).pow(2).mean(dim=1)
        t = self.temperature
        log_student = F.log_softmax(student_logits / t, dim=1)
        kl = F.kl_div(log_student, teacher_targets, reduction="none").sum(dim=1)
        return t * t * kl

    def forward(self, student_logits, packed_targets):
        teacher_targets = packed_targets[:, :-N_TRAILING_COLUMNS]
        label_index = packed_targets[:, -3].long()
        c_soft, c_hard = packed_targets[:, -2], packed_targets[:, -1]
        per_row = torch.zeros_like(c_soft)
        if self.soft_target_weight > 0 and teacher_targets.shape[1]:
            per_row = per_row + c_soft * self.soft_term(student_logits, teacher_targets)
        if self.soft_target_weight < 1:
            hard = F.cross_entropy(
                student_logits, label_index.clamp(min=0), reduction="none"
            )
            labelled = label_index != UNLABELLED
            per_row = per_row + torch.where(labelled, c_hard * hard, 0.0)
        return per_row.mean()


def pack_regression_targets(teacher_targets, labels, c_soft, c_hard):
    """Pack a regressor's per-row targets into one float32 array.

    Columns: the teacher's predictions (none when the student learns from labels
    alone), the labels, ``c_soft``, then ``c_hard`` per output. A missing label
    is replaced by the teacher's prediction (or 0) and carries ``c_hard = 0``:
    it adds nothing to the loss, and scoring callbacks read the teacher's value
    there.
    """
    labels = np.asarray(labels, dtype=np.float64)
    missing = np.isnan(labels)
    if teacher_targets is None:
        teacher_targets = np.zeros((len(labels), 0))
        filled = np.where(missing, 0.0, labels)
    else:
        filled = np.where(missing, teacher_targets, labels)
    return np.hstack([teacher_targets, filled, c_soft[:, None], c_hard]).astype(
        np.float32
    )


class RegressionDistillationLoss(nn.Module):
    """The regression counterpart of :class:`DistillationLoss`.

    Per row, with soft-target weight ``w``, student predictions ``z``, teacher
    predictions ``t``, labels ``y`` and the targets' standard deviations ``s``
    (so that the loss is in standard units, whatever the target's unit)::

        w * mean_k l((z_k - t_k) / s_k) + (1 - w) * mean_k l((z_k - y_k) / s_k)

    with ``l(r) = r**2`` (``"squared_error"``) or the Huber loss with ``delta``
    (``"huber"``), normalised as the classifier's loss: the soft term averaged
    over every row, each output's hard term over the rows labelled for it.

    Parameters
    ----------
    n_outputs : int
        Number of targets.
    scale : array-like of shape (n_outputs,)
        Standard deviation of each target.
    loss : {"squared_error", "huber"}, default="squared_error"
    huber_delta : float, default=1.0
        Where the Huber loss turns linear, in standard units.
    soft_target_weight : float, default=0.5
        ``w``, only to skip a term of weight zero (the coefficients carry it).
    """

    def __init__(
        self,
        n_outputs,
        scale,
        loss="squared_error",
        huber_delta=1.0,
        soft_target_weight=0.5,
    ):
        super().__init__()
        self.n_outputs = n_outputs
        self.loss = loss
        self.huber_delta = huber_delta
        self.soft_target_weight = soft_target_weight
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))

    def elementwise(self, residual):
        if self.loss == "huber":
            return F.huber_loss(
                residual,
                torch.zeros_like(residual),
                reduction="none",
                delta=self.huber_delta,
            )
        return residual.pow(2)

    def forward(self, outputs, packed_targets):
        k = self.n_outputs
        n_teacher = packed_targets.shape[1] - (2 * k + 1)
        labels = packed_targets[:, n_teacher : n_teacher + k]
        c_soft = packed_targets[:, n_teacher + k]
        c_hard = packed_targets[:, n_teacher + k + 1 :]
        per_row = torch.zeros_like(c_soft)
        if self.soft_target_weight > 0 and n_teacher:
            soft = self.elementwise(
                (outputs - packed_targets[:, :n_teacher]) / self.scale
            )
            per_row = per_row + c_soft * soft.mean(dim=1)
        if self.soft_target_weight < 1:
            hard = self.elementwise((outputs - labels) / self.scale)
            per_row = per_row + (c_hard * hard).sum(dim=1)
        return per_row.mean()
