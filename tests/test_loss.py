"""The classic silent bugs of distillation code, each pinned by a test."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sklearn_kd._probability import centred_logits, softmax
from sklearn_kd.student._loss import DistillationLoss, loss_coefficients, pack_targets


def packed(teacher_logits, labels, temperature, weights=None, w=0.5, targets=None):
    """Packed targets of one batch that is the whole training set."""
    labels = np.asarray(labels)
    weights = np.ones(len(labels)) if weights is None else np.asarray(weights, float)
    if targets is None:
        targets = softmax(teacher_logits.astype(np.float64), temperature)
    c_soft, c_hard = loss_coefficients(weights, labels != -1, w)
    return torch.as_tensor(pack_targets(targets, labels.astype(float), c_soft, c_hard))


def kd_loss(temperature, w, loss="kl"):
    return DistillationLoss(temperature=temperature, loss=loss, soft_target_weight=w)


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    student = torch.tensor(rng.normal(size=(8, 5)), dtype=torch.float32)
    teacher = rng.normal(size=(8, 5)) * 3
    labels = rng.integers(0, 5, size=8)
    return student, teacher, labels


def test_weight_zero_is_plain_cross_entropy(batch):
    student, teacher, labels = batch
    value = kd_loss(4.0, 0.0)(student, packed(teacher, labels, 4.0, w=0.0))
    expected = F.cross_entropy(student, torch.as_tensor(labels))
    assert torch.allclose(value, expected)


def test_soft_term_is_batchmean_kl_times_t_squared(batch):
    student, teacher, labels = batch
    t = 3.0
    p = softmax(teacher, t)
    q = softmax(student.double().numpy(), t)
    kl_per_row = (p * (np.log(p) - np.log(q))).sum(axis=1)
    value = kd_loss(t, 1.0)(student, packed(teacher, labels, t, w=1.0)).item()
    assert value == pytest.approx(t * t * kl_per_row.mean(), rel=1e-4)
    # reduction="mean" would divide by rows * classes instead of rows.
    assert value != pytest.approx(t * t * kl_per_row.sum() / p.size, rel=1e-2)


def test_kl_is_in_log_space_for_the_student(batch):
    student, teacher, labels = batch
    # Matching the teacher exactly gives zero loss; a KL fed probabilities
    # instead of log-probabilities would not.
    matched = torch.as_tensor(teacher, dtype=torch.float32)
    value = kd_loss(1.0, 1.0)(matched, packed(teacher, labels, 1.0, w=1.0))
    assert value.item() == pytest.approx(0.0, abs=1e-5)


def soft_gradient_norm(temperature, scaled=True):
    rng = np.random.default_rng(1)
    student = torch.tensor(rng.normal(size=(64, 10)), requires_grad=True)
    teacher = rng.normal(size=(64, 10)) * 2
    value = kd_loss(temperature, 1.0)(
        student.float(), packed(teacher, np.zeros(64), temperature, w=1.0)
    )
    if not scaled:
        value = value / temperature**2
    value.backward()
    return student.grad.norm().item()


def test_t_squared_keeps_soft_gradient_size():
    ratio = soft_gradient_norm(20.0) / soft_gradient_norm(4.0)
    assert 0.7 < ratio < 1.3
    # Without the T^2 factor the gradient decays like 1 / T^2 (25x here).
    unscaled = soft_gradient_norm(20.0, scaled=False) / soft_gradient_norm(
        4.0, scaled=False
    )
    assert unscaled < 0.06


def test_gradient_reaches_every_student_parameter(batch):
    _, teacher, labels = batch
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 6), torch.nn.ReLU(), torch.nn.Linear(6, 5)
    )
    x = torch.randn(8, 3)
    kd_loss(2.0, 0.5)(net(x), packed(teacher, labels, 2.0)).backward()
    for parameter in net.parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0


def test_unlabelled_rows_have_no_hard_term(batch):
    student, teacher, labels = batch
    unlabelled = np.full(len(labels), -1)
    value = kd_loss(2.0, 0.3)(student, packed(teacher, unlabelled, 2.0, w=0.3))
    soft_only = kd_loss(2.0, 1.0)(student, packed(teacher, labels, 2.0, w=1.0))
    assert torch.allclose(value, 0.3 * soft_only)


def test_label_term_weight_does_not_depend_on_unlabelled_rows(batch):
    """With synthetic or unlabelled rows added, the hard term is still averaged
    over the labelled rows: adding unlabelled rows changes only the soft term."""
    student, teacher, labels = batch
    w = 0.5
    extra_student = torch.randn(40, 5)
    extra_teacher = np.random.default_rng(2).normal(size=(40, 5))
    all_student = torch.cat([student, extra_student])
    all_teacher = np.vstack([teacher, extra_teacher])
    all_labels = np.concatenate([labels, np.full(40, -1)])
    value = kd_loss(2.0, w)(all_student, packed(all_teacher, all_labels, 2.0, w=w))
    hard = F.cross_entropy(student, torch.as_tensor(labels))
    soft = kd_loss(2.0, 1.0)(all_student, packed(all_teacher, np.zeros(48), 2.0, w=1.0))
    assert torch.allclose(value, w * soft + (1 - w) * hard, rtol=1e-5)
    # The old normalisation (one denominator over all rows) would have weighed
    # the labels by (1 - w) * 8 / 48.
    assert not torch.allclose(value, w * soft + (1 - w) * hard * 8 / 48, rtol=1e-3)


def test_sample_weights_weight_rows(batch):
    student, teacher, labels = batch
    weights = np.zeros(len(labels))
    weights[:2] = 1.0
    loss = kd_loss(2.0, 0.5)
    weighted = loss(student, packed(teacher, labels, 2.0, weights))
    first_two = loss(student[:2], packed(teacher[:2], labels[:2], 2.0))
    assert torch.allclose(weighted, first_two)


def test_a_batch_whose_weights_are_all_zero_contributes_zero(batch):
    student, teacher, labels = batch
    weights = np.r_[np.zeros(8), np.ones(8)]
    student = torch.cat([student, student])
    teacher = np.vstack([teacher, teacher])
    labels = np.r_[labels, labels]
    full = packed(teacher, labels, 2.0, weights)
    value = kd_loss(2.0, 0.5)(student[:8], full[:8])
    assert value.item() == 0.0


def test_mini_batches_average_to_the_full_loss(batch):
    """The per-row coefficients make mini-batch losses unbiased: equal batches
    average to the loss of the whole set."""
    rng = np.random.default_rng(3)
    student = torch.tensor(rng.normal(size=(12, 4)), dtype=torch.float32)
    teacher = rng.normal(size=(12, 4))
    labels = np.where(rng.random(12) < 0.4, -1, rng.integers(0, 4, 12))
    weights = rng.uniform(0, 3, 12)
    targets = packed(teacher, labels, 2.0, weights)
    loss = kd_loss(2.0, 0.5)
    full = loss(student, targets)
    halves = (loss(student[:6], targets[:6]) + loss(student[6:], targets[6:])) / 2
    assert torch.allclose(full, halves, rtol=1e-6)
    p = softmax(teacher, 2.0)
    q = softmax(student.double().numpy(), 2.0)
    soft = 4.0 * (p * (np.log(p) - np.log(q))).sum(axis=1)
    logq = np.log(softmax(student.double().numpy()))
    lab = labels != -1
    hard = -logq[lab, labels[lab]]
    expected = (
        0.5 * (weights * soft).sum() / weights.sum()
        + 0.5 * (weights[lab] * hard).sum() / weights[lab].sum()
    )
    assert full.item() == pytest.approx(expected, rel=1e-5)


def test_mse_matches_high_temperature_limit_of_kl(batch):
    student, teacher, labels = batch
    targets = packed(teacher, labels, 1.0, w=1.0, targets=centred_logits(teacher))
    mse = kd_loss(1.0, 1.0, loss="mse")
    kl = kd_loss(500.0, 1.0)
    assert mse(student, targets).item() == pytest.approx(
        kl(student, packed(teacher, labels, 500.0, w=1.0)).item(), rel=0.02
    )
    # Row-wise constant shifts of the logits do not matter.
    assert mse(student + 3.0, targets).item() == pytest.approx(
        mse(student, targets).item(), rel=1e-5
    )
