"""The classic silent bugs of distillation code, each pinned by a test."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sklearn_kd._loss import (
    DistillationLoss,
    centred_logits,
    pack_targets,
    softmax,
)


def packed(teacher_logits, labels, temperature, weights=None):
    targets = softmax(teacher_logits.astype(np.float64), temperature)
    weights = np.ones(len(labels)) if weights is None else weights
    return torch.as_tensor(pack_targets(targets, np.asarray(labels, float), weights))


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    student = torch.tensor(rng.normal(size=(8, 5)), dtype=torch.float32)
    teacher = rng.normal(size=(8, 5)) * 3
    labels = rng.integers(0, 5, size=8)
    return student, teacher, labels


def test_weight_zero_is_plain_cross_entropy(batch):
    student, teacher, labels = batch
    loss = DistillationLoss(temperature=4.0, soft_target_weight=0.0)
    expected = F.cross_entropy(student, torch.as_tensor(labels))
    assert torch.allclose(loss(student, packed(teacher, labels, 4.0)), expected)


def test_soft_term_is_batchmean_kl_times_t_squared(batch):
    student, teacher, labels = batch
    t = 3.0
    loss = DistillationLoss(temperature=t, soft_target_weight=1.0)
    p = softmax(teacher, t)
    q = softmax(student.double().numpy(), t)
    kl_per_row = (p * (np.log(p) - np.log(q))).sum(axis=1)
    value = loss(student, packed(teacher, labels, t)).item()
    assert value == pytest.approx(t * t * kl_per_row.mean(), rel=1e-4)
    # reduction="mean" would divide by rows * classes instead of rows.
    assert value != pytest.approx(t * t * kl_per_row.sum() / p.size, rel=1e-2)


def test_kl_is_in_log_space_for_the_student(batch):
    student, teacher, labels = batch
    loss = DistillationLoss(temperature=1.0, soft_target_weight=1.0)
    # Matching the teacher exactly gives zero loss; a KL fed probabilities
    # instead of log-probabilities would not.
    matched = torch.as_tensor(teacher, dtype=torch.float32)
    assert loss(matched, packed(teacher, labels, 1.0)).item() == pytest.approx(
        0.0, abs=1e-5
    )


def soft_gradient_norm(temperature, scaled=True):
    rng = np.random.default_rng(1)
    student = torch.tensor(rng.normal(size=(64, 10)), requires_grad=True)
    teacher = rng.normal(size=(64, 10)) * 2
    loss = DistillationLoss(temperature=temperature, soft_target_weight=1.0)
    value = loss(student.float(), packed(teacher, np.zeros(64), temperature))
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
    loss = DistillationLoss(temperature=2.0, soft_target_weight=0.5)
    loss(net(x), packed(teacher, labels, 2.0)).backward()
    for parameter in net.parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0


def test_unlabelled_rows_have_no_hard_term(batch):
    student, teacher, labels = batch
    unlabelled = np.full(len(labels), -1)
    loss = DistillationLoss(temperature=2.0, soft_target_weight=0.3)
    soft_only = DistillationLoss(temperature=2.0, soft_target_weight=1.0)
    value = loss(student, packed(teacher, unlabelled, 2.0))
    assert torch.allclose(value, 0.3 * soft_only(student, packed(teacher, labels, 2.0)))


def test_sample_weights_weight_rows(batch):
    student, teacher, labels = batch
    loss = DistillationLoss(temperature=2.0, soft_target_weight=0.5)
    weights = np.zeros(len(labels))
    weights[:2] = 1.0
    weighted = loss(student, packed(teacher, labels, 2.0, weights))
    first_two = loss(student[:2], packed(teacher[:2], labels[:2], 2.0))
    assert torch.allclose(weighted, first_two)


def test_mse_matches_high_temperature_limit_of_kl(batch):
    student, teacher, labels = batch
    mse = DistillationLoss(temperature=1.0, soft_target_weight=1.0, loss="mse")
    targets = torch.as_tensor(
        pack_targets(centred_logits(teacher), np.asarray(labels, float), np.ones(8))
    )
    kl = DistillationLoss(temperature=500.0, soft_target_weight=1.0)
    assert mse(student, targets).item() == pytest.approx(
        kl(student, packed(teacher, labels, 500.0)).item(), rel=0.02
    )
    # Row-wise constant shifts of the logits do not matter.
    assert mse(student + 3.0, targets).item() == pytest.approx(
        mse(student, targets).item(), rel=1e-5
    )
