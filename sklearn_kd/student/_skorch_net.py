"""The skorch net that trains the student, with a tensor-sliced data path.

skorch's default ``Dataset`` + ``DataLoader`` fetch and collate one row at a time,
which costs far more than a small MLP's forward pass. Here the rows live in two
tensors on the training device, already passed through the student's input
encoder (which has nothing to learn); each epoch draws one permutation and yields
slices of it, as a hand-written PyTorch loop would. Everything else (callbacks,
history, early stopping, ``device``) is skorch's.

Scoring callbacks see, as ``y``, each row's target: a classifier's class (its
label, or the teacher's class for an unlabelled row), a regressor's value (its
label, or the teacher's prediction where it has none).
"""

import math

import torch
from skorch import NeuralNetClassifier, NeuralNetRegressor
from skorch.callbacks import (
    BatchScoring,
    Callback,
    EpochScoring,
    EpochTimer,
    PassthroughScoring,
    PrintLog,
)
from skorch.dataset import Dataset
from skorch.utils import to_numpy

from .._skorch_compat import LazyTrainingModes, step_optimizer, zero_grad_optimizer
from ._loss import packed_labels
from ._torch_state import GeneratorState, torch_threads


class RowTensors(Dataset):
    """Encoded input rows (and optionally packed targets) held as tensors.

    A skorch ``Dataset`` in name, so that scoring callbacks find ``X`` and ``y``
    on it; it keeps its tensors as they are.
    """

    def __init__(self, inputs, targets=None):  # skorch's conversions are not wanted
        self.inputs = inputs
        self.targets = targets

    @property
    def X(self):
        return RowTensors(self.inputs)

    @property
    def y(self):
        return self.targets

    def __len__(self):
        return len(self.inputs)

    def __getitem__(self, index):
        return self.inputs[index], None if self.targets is None else self.targets[index]

    def subset(self, index):
        targets = None if self.targets is None else self.targets[index]
        return RowTensors(self.inputs[index], targets)


class TensorBatches:
    """Iterate over mini-batches sliced from :class:`RowTensors`.

    With ``shuffle=True``, each pass draws a fresh permutation from ``generator``
    and gathers the rows once, so every batch is a contiguous slice. With
    ``num_shards > 1`` (training on several processes), the processes draw the
    same permutation and shard ``shard`` takes its own equal block of it, so
    every process makes the same number of steps on different rows.
    """

    def __init__(
        self, dataset, batch_size, shuffle=False, generator=None, num_shards=1, shard=0
    ):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.num_shards = num_shards
        self.shard = shard

    def _n_rows(self):
        return len(self.dataset) // self.num_shards

    def __len__(self):
        return -(-self._n_rows() // self.batch_size)

    def __iter__(self):
        inputs, targets = self.dataset.inputs, self.dataset.targets
        if self.shuffle:
            order = torch.randperm(len(inputs), generator=self.generator)
            if self.num_shards > 1:
                n_rows = self._n_rows()
                order = order[self.shard * n_rows : (self.shard + 1) * n_rows]
            order = order.to(inputs.device)
            inputs = inputs[order]
            targets = None if targets is None else targets[order]
        for start in range(0, len(inputs), self.batch_size):
            stop = start + self.batch_size
            yield inputs[start:stop], None if targets is None else targets[start:stop]


class FixedSplit:
    """skorch's ``train_split``: rows decided before training (see
    :meth:`~sklearn_kd._transfer_set.TransferSet.hold_out`)."""

    def __init__(self, train, valid):
        self.train = train
        self.valid = valid

    def __call__(self, dataset, y=None, **fit_params):
        device = dataset.inputs.device
        train = torch.as_tensor(self.train, device=device)
        valid = torch.as_tensor(self.valid, device=device)
        return dataset.subset(train), dataset.subset(valid)


def scored_labels(packed_targets):
    """The ``target_extractor`` of a classifier's scoring callbacks: each row's
    class."""
    return packed_labels(to_numpy(packed_targets))


class ScoredValues:
    """The ``target_extractor`` of a regressor's scoring callbacks: each row's
    target values (the label, or the teacher's prediction where it has none)."""

    def __init__(self, n_outputs, one_column):
        self.n_outputs = n_outputs
        self.one_column = one_column

    def __call__(self, packed_targets):
        packed = to_numpy(packed_targets)
        k = self.n_outputs
        start = packed.shape[1] - (2 * k + 1)
        values = packed[:, start : start + k]
        return values[:, 0] if self.one_column else values


def with_label_targets(callback, extractor=scored_labels):
    """A scoring callback reading each row's target rather than the packed
    targets, unless it was given a ``target_extractor`` of its own."""
    if (
        isinstance(callback, (EpochScoring, BatchScoring))
        and callback.target_extractor is to_numpy
    ):
        callback.target_extractor = extractor
    return callback


class DivergenceGuard(Callback):
    """Stop training with a clear error as soon as the loss is not finite."""

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        # A Python float test: ``torch.isfinite`` costs ~10 µs per batch on a CPU.
        if training and not math.isfinite(loss.item()):
            epoch = len(net.history)
            raise FloatingPointError(
                f"Training diverged: the loss became {loss.item()} in epoch {epoch}. "
                "Lower lr, or check X and y for extreme values (the student "
                "computes in float32, where values beyond about 3.4e38 become inf)."
            )


class EpochProgressBar(Callback):
    """A progress bar over epochs showing the latest losses (needs tqdm)."""

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=net.max_epochs, desc="training student", unit="epoch")

    def on_epoch_end(self, net, **kwargs):
        losses = {
            key: f"{net.history[-1, key]:.4f}"
            for key in ("train_loss", "valid_loss", "teacher_agreement", "teacher_r2")
            if key in net.history[-1]
        }
        self.bar_.set_postfix(losses, refresh=False)
        self.bar_.update()

    def on_train_end(self, net, **kwargs):
        self.bar_.close()


class TeacherFidelity(Callback):
    """Record, after every epoch, how closely the student matches its teacher.

    On a fixed sample of training rows (encoded inputs, as the net trains on
    them): ``teacher_agreement``, the share of rows where a classifier student
    predicts the teacher's class, or ``teacher_r2``, a regression student's R²
    against the teacher's predictions.

    Parameters
    ----------
    rows : ndarray of int
        The sample: positions in the training data.
    teacher : ndarray
        The teacher's class index per sampled row (classifier, 1-D) or its
        predictions (regressor, 2-D).
    """

    def __init__(self, rows, teacher):
        self.rows = rows
        self.teacher = teacher

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        rows = torch.as_tensor(self.rows, device=X.inputs.device)
        self.inputs_ = X.inputs[rows]
        self.teacher_ = torch.as_tensor(self.teacher, device=X.inputs.device)
        if self.teacher_.is_floating_point():
            self.teacher_ = self.teacher_.float()

    def on_epoch_end(self, net, **kwargs):
        with torch.no_grad():
            was_training = net.module_.training
            net.module_.eval()
            output = net.module_(self.inputs_, encoded=True)
            net.module_.train(was_training)
        if not self.teacher_.is_floating_point():
            agreement = (output.argmax(dim=1) == self.teacher_).float().mean()
            net.history.record("teacher_agreement", float(agreement))
            return
        residual = ((output - self.teacher_) ** 2).sum(dim=0)
        spread = ((self.teacher_ - self.teacher_.mean(dim=0)) ** 2).sum(dim=0)
        r2 = 1 - residual / spread.clamp(min=1e-12)
        net.history.record("teacher_r2", float(r2.mean()))


_BATCH_EVENTS = frozenset({"on_batch_begin", "on_batch_end", "on_grad_computed"})


class _TensorPath(LazyTrainingModes):
    """What both student nets share: encoded :class:`RowTensors`, sliced
    batches, and the packed targets handed to the criterion as they are.

    Their data are always encoded rows: raw arrays given to ``predict`` or
    ``predict_proba`` are passed through the module's encoder first.
    """

    def __init__(self, *args, generator=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.generator = generator

    @property
    def _default_callbacks(self):
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("divergence_guard", DivergenceGuard()),
            ("print_log", PrintLog()),
        ]

    def check_data(self, X, y=None):
        pass

    def initialize_callbacks(self):
        self.__dict__.pop("_listeners_cache", None)
        return super().initialize_callbacks()

    def _listeners(self, event):
        """The callbacks that do something on ``event`` (skorch calls every
        callback on every batch event, most of them no-ops)."""
        listeners = self.__dict__.setdefault("_listeners_cache", {})
        if event not in listeners:
            base = getattr(Callback, event)
            listeners[event] = [
                callback
                for _, callback in self.callbacks_
                if getattr(type(callback), event, base) is not base
            ]
        return listeners[event]

    def notify(self, method_name, **cb_kwargs):
        if method_name not in _BATCH_EVENTS:
            return super().notify(method_name, **cb_kwargs)
        getattr(self, method_name)(self, **cb_kwargs)
        for callback in self._listeners(method_name):
            getattr(callback, method_name)(self, **cb_kwargs)
        return None

    def train_step(self, batch, **fit_params):
        if self._listeners("on_grad_computed"):
            return super().train_step(batch, **fit_params)
        step = {}

        def closure():
            zero_grad_optimizer(self)
            step.update(self.train_step_single(batch, **fit_params))
            return step["loss"]

        step_optimizer(self, closure)
        return step

    def infer(self, x, **fit_params):
        return self.module_(x.to(self.device), encoded=True)

    def get_dataset(self, X, y=None):
        if isinstance(X, RowTensors):
            return X
        inputs = torch.as_tensor(X, dtype=torch.float32, device=self.device)
        with torch.no_grad():
            return RowTensors(self.module_.encoder(inputs))

    def get_iterator(self, dataset, training=False):
        batch_size = len(dataset) if self.batch_size == -1 else self.batch_size
        return TensorBatches(
            dataset, batch_size, shuffle=training, generator=self.generator
        )

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.criterion_(y_pred, y_true)


class StudentNet(_TensorPath, NeuralNetClassifier):
    """The classifier student's skorch net; ``classes`` are the class indices.

    The criterion receives packed per-row targets (see
    :func:`sklearn_kd.student._loss.pack_targets`).
    """


class StudentRegressorNet(_TensorPath, NeuralNetRegressor):
    """The regressor student's skorch net; the module predicts in the targets'
    units (see :func:`sklearn_kd.student._loss.pack_regression_targets`)."""


class StudentTraining:
    """A student net with its encoded rows, trained in one run or several.

    Parameters
    ----------
    net : skorch net
        Initialised, not trained.
    dataset : RowTensors
        The encoded rows and their packed targets.
    n_threads : int or None
        Torch threads while training (None: as set).
    unwrap : callable or None
        Turns the trained net into the one returned (an accelerated net into a
        plain one).

    Notes
    -----
    Must be created where torch's global generator is seeded for the student:
    its dropout continues from that state, run after run.
    """

    def __init__(self, net, dataset, n_threads, unwrap=None):
        self.net = net
        self.dataset = dataset
        self.n_threads = n_threads
        self.unwrap = unwrap
        self._generator = GeneratorState()

    def run(self, epochs=None):
        """Train ``epochs`` more epochs (None: the net's ``max_epochs``).

        Returns
        -------
        net : skorch net
            In evaluation mode.
        """
        with self._generator.continued(), torch_threads(self.n_threads):
            self.net.partial_fit(self.dataset, y=None, epochs=epochs)
        net = self.net if self.unwrap is None else self.unwrap(self.net)
        net.module_.eval()
        return net
