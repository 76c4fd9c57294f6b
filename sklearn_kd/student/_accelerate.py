"""Training one student on several GPUs with Hugging Face Accelerate.

The opt-in path of ``accelerate=...``: the student's skorch net gains skorch's
:class:`skorch.hf.AccelerateMixin`, which prepares the module, criterion and
optimizer with an ``accelerate.Accelerator`` (distributed data parallel under
``accelerate launch``; gradients averaged across processes). skorch's mixin
shards only torch ``DataLoader``\\ s, while the student trains from its own
tensor batches; here every process draws the same permutation of the training
rows each epoch and takes its own equal block of it, so the fast path keeps its
speed. Validation batches are not sharded: every process scores the whole
validation set with the same weights, so early stopping decides alike
everywhere.

The ``Accelerator`` itself never is an estimator parameter (it survives neither
``clone`` nor pickling): ``accelerate`` holds its keyword arguments, and ``fit``
builds it. After training, the net is unwrapped into the plain student net, so
the fitted estimator pickles and exports as any other.
"""

from skorch.hf import AccelerateMixin

from ._skorch_net import TensorBatches


def make_accelerator(accelerate, device):
    """An ``accelerate.Accelerator`` from the estimator's ``accelerate`` setting.

    ``device="cpu"`` asks Accelerate for the CPU; any other device leaves the
    choice to it (the GPUs ``accelerate launch`` gives each process).
    """
    try:
        from accelerate import Accelerator
    except ImportError as exc:
        raise ImportError(
            "accelerate=... needs Hugging Face Accelerate: pip install "
            "'sklearn-kd[accelerate]'"
        ) from exc
    kwargs = {} if accelerate is True else dict(accelerate)
    if device == "cpu":
        kwargs.setdefault("cpu", True)
    return Accelerator(**kwargs)


class _ShardedTensorPath:
    """The tensor path, on the accelerator's device, sharded across processes."""

    def infer(self, x, **fit_params):
        return self.module_(x.to(self.accelerator.device), encoded=True)

    def get_iterator(self, dataset, training=False):
        batch_size = len(dataset) if self.batch_size == -1 else self.batch_size
        accelerator = self.accelerator
        return TensorBatches(
            dataset,
            batch_size,
            shuffle=training,
            generator=self.generator,
            num_shards=accelerator.num_processes if training else 1,
            shard=accelerator.process_index if training else 0,
        )


def accelerated(net_class):
    """``net_class`` with Accelerate: prepared components, sharded batches."""
    return type(
        f"Accelerated{net_class.__name__}",
        (_ShardedTensorPath, AccelerateMixin, net_class),
        {"__module__": __name__},
    )


def _silent(*args, **kwargs):
    """A print sink that prints nothing."""


def print_sink(accelerator, verbose):
    """skorch's table of epochs: printed by the main process at ``verbose >= 2``
    (a print sink other than ``print`` would ignore ``verbose``)."""
    return print if verbose >= 2 and accelerator.is_main_process else _silent


def unwrapped(net, net_class):
    """The trained accelerated ``net`` as a plain ``net_class`` net.

    The module is already unwrapped after training (skorch's
    ``unwrap_after_train``); the optimizer, which Accelerate wrapped, is made
    anew for the module, so the net pickles without the accelerator.
    """
    plain = net_class.__new__(net_class)
    state = {
        key: value
        for key, value in vars(net).items()
        if key not in ("accelerator", "unwrap_after_train", "_wrapped_with_accelerator")
    }
    plain.__dict__.update(state)
    plain.device = str(next(net.module_.parameters()).device)
    plain.initialize_optimizer()
    return plain


def broadcast_from_main(accelerator, compute):
    """``compute()`` on the main process only, its result sent to every process."""
    if accelerator.num_processes == 1:
        return compute()
    from accelerate.utils import broadcast_object_list

    result = [compute() if accelerator.is_main_process else None]
    broadcast_object_list(result, from_process=0)
    return result[0]
