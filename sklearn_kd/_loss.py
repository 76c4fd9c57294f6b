"""The distillation loss (Hinton, Vinyals & Dean, 2015, section 2).

Per row, with soft-target weight ``w`` and temperature ``T``::

    w * T**2 * KL(softmax(v / T) || softmax(z / T)) + (1 - w) * CE(z, y)

where ``v`` are the teacher's logits and ``z`` the student's. The ``T**2`` factor
keeps the soft term's gradients the same size whatever ``T`` (they shrink like
``1 / T**2`` otherwise). The KL is summed over classes and averaged over rows
(``batchmean``), weighted by the sample weights. Rows labelled ``-1`` carry no hard
term. ``loss="mse"`` is the paper's high-temperature limit (Ba & Caruana, 2014):
``0.5 * mean_k((z_k - mean(z)) - (v_k - mean(v)))**2``, which is what
``T**2 * KL`` tends to as ``T`` grows.

The per-row targets travel as one float tensor, so that shuffled batches keep each
row's soft targets, label and weight together: see :func:`pack_targets`.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

UNLABELLED = -1


def softmax(logits, temperature=1.0):
    """Row-wise ``softmax(logits / temperature)`` of a numpy array."""
    scaled = logits / temperature
    exp = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def centred_logits(logits):
    """Subtract each row's mean logit, the invariance the softmax ignores."""
    return logits - logits.mean(axis=1, keepdims=True)


def pack_targets(teacher_targets, label_index, sample_weight):
    """Pack per-row targets into one float32 array.

    Columns ``[:-2]`` hold the teacher's targets (soft probabilities for
    ``loss="kl"``, centred logits for ``loss="mse"``), column ``-2`` the class index
    of the row's label (``-1`` when unlabelled) and column ``-1`` the sample weight.
    """
    return np.hstack(
        [teacher_targets, label_index[:, None], sample_weight[:, None]]
    ).astype(np.float32)


class DistillationLoss(nn.Module):
    """Weighted sum of a soft (teacher-matching) term and a hard (label) term.

    Parameters
    ----------
    temperature : float
        The temperature ``T`` used to soften both teacher and student.
    soft_target_weight : float
        The weight ``w`` in ``[0, 1]`` of the soft term.
    loss : {"kl", "mse"}, default="kl"
        ``"kl"``: ``T**2 * KL(teacher || student)`` at temperature ``T``;
        ``"mse"``: mean squared error between row-centred logits.
    """

    def __init__(self, temperature, soft_target_weight, loss="kl"):
        super().__init__()
        self.temperature = temperature
        self.soft_target_weight = soft_target_weight
        self.loss = loss

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
        teacher_targets = packed_targets[:, :-2]
        label_index = packed_targets[:, -2].long()
        weight = packed_targets[:, -1]
        w = self.soft_target_weight
        per_row = torch.zeros_like(weight)
        if w > 0:
            per_row = per_row + w * self.soft_term(student_logits, teacher_targets)
        if w < 1:
            labelled = label_index != UNLABELLED
            hard = F.cross_entropy(
                student_logits, label_index.clamp(min=0), reduction="none"
            )
            per_row = per_row + (1 - w) * torch.where(labelled, hard, 0.0)
        return (per_row * weight).sum() / weight.sum()
