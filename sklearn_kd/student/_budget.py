"""The training budget behind ``max_epochs="auto"`` and ``batch_size="auto"``.

A fixed epoch count makes the work grow with the rows and with MUNGE's
augmentation factor: 50 epochs over 12,000 rows and their 60,000 synthetic
copies are 14,000 optimizer steps where the same rows without MUNGE take 2,350.
The budget is counted in optimizer steps instead:

* the batch size is 256 up to 64,000 real rows and then grows with them (at
  most 1,024), so that an epoch over a large table takes a bounded number of
  steps;
* the epochs are those that give :data:`TRAINING_STEPS` steps over the real
  rows, at most :data:`MAX_EPOCHS` (as many as the former fixed default, which
  small tables keep) and at least :data:`MIN_EPOCHS` (large tables);
* a synthetic row counts for :data:`SYNTHETIC_ROW_SHARE` of a real row, so
  MUNGE's five rows per real row double the steps instead of multiplying them
  by six. On training-row probes (digits, magic, letter; an inner 80/20 split
  of the training rows), a MUNGE student trained for twice the steps of one
  without recovered most of what six times gave: its held-out log loss was
  within 0.006 of the six-fold budget's, against 0.03 with no extra steps.

Explicit ``max_epochs`` and ``batch_size`` are used as given.
"""

import math

#: Optimizer steps a student aims for over its real rows.
TRAINING_STEPS = 2_000
#: Epochs over the real rows, at most (small tables) and at least (large ones).
MAX_EPOCHS = 50
MIN_EPOCHS = 3
#: What a synthetic row adds to the budget, as a share of a real row.
SYNTHETIC_ROW_SHARE = 0.2
#: Batch size up to :data:`ROWS_PER_BATCH` times it real rows, and its cap.
MIN_BATCH_SIZE = 256
MAX_BATCH_SIZE = 1_024
ROWS_PER_BATCH = 250


def auto_batch_size(n_real):
    """The power of two at or below ``n_real / 250``, within [256, 1024]."""
    wanted = max(n_real / ROWS_PER_BATCH, 1.0)
    return int(
        min(max(2 ** math.floor(math.log2(wanted)), MIN_BATCH_SIZE), MAX_BATCH_SIZE)
    )


def auto_max_epochs(n_real, n_rows, batch_size):
    """Epochs over ``n_rows`` rows (``n_real`` of them real) for the budget."""
    steps_per_real_epoch = max(math.ceil(n_real / batch_size), 1)
    real_epochs = math.ceil(TRAINING_STEPS / steps_per_real_epoch)
    real_epochs = min(max(real_epochs, MIN_EPOCHS), MAX_EPOCHS)
    n_real, n_rows = max(n_real, 1), max(n_rows, n_real, 1)
    counted = n_real + SYNTHETIC_ROW_SHARE * (n_rows - n_real)
    return max(1, round(real_epochs * counted / n_rows))


def resolved_budget(estimator, n_real, n_rows, share=1.0):
    """``(max_epochs, batch_size)`` for training on ``n_rows`` rows, ``n_real``
    real: the estimator's explicit values, else the budget's. ``share`` scales
    the epochs (a selection candidate trains on part of the budget)."""
    batch_size = estimator.batch_size
    if batch_size == "auto":
        batch_size = auto_batch_size(n_real)
    max_epochs = estimator.max_epochs
    if max_epochs == "auto":
        max_epochs = auto_max_epochs(n_real, n_rows, batch_size)
    return max(1, round(share * max_epochs)), batch_size
