"""Process-wide torch state: the global random generator and the thread count.

A student's initialisation (ours or a user's module) and its dropout draw from
torch's global generator, and ``torch.set_num_threads`` changes the whole
process. Fits running in parallel threads would race on both, so every block
that touches them holds :data:`TORCH_STATE_LOCK`. Inside it, :func:`seeded`
forks the global generator: the caller's generator state is left as it was.
"""

import threading
from contextlib import contextmanager

import torch

#: Held while a block seeds or draws from torch's global generator, or changes
#: the number of torch threads. Re-entrant, so such blocks may nest.
TORCH_STATE_LOCK = threading.RLock()


@contextmanager
def seeded(seed):
    """Run the block with torch's global generator seeded, then restore it."""
    with TORCH_STATE_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@contextmanager
def torch_threads(n_threads):
    """Run torch on ``n_threads`` intra-op threads inside the block (None: as is).

    Small students gain nothing from several threads, and on a busy machine
    torch's thread synchronisation can make their training several times slower.
    """
    if n_threads is None:
        yield
        return
    with TORCH_STATE_LOCK:
        previous = torch.get_num_threads()
        torch.set_num_threads(n_threads)
        try:
            yield
        finally:
            torch.set_num_threads(previous)


class GeneratorState:
    """A saved state of torch's global generator, continued block after block.

    :meth:`continued` runs a block from the saved state and saves the state
    the block reached, restoring the caller's generator: a training run split
    into several parts draws the same numbers as one run.
    """

    def __init__(self):
        self.state = torch.get_rng_state()

    @contextmanager
    def continued(self):
        with TORCH_STATE_LOCK, torch.random.fork_rng(devices=[]):
            torch.set_rng_state(self.state)
            yield
            self.state = torch.get_rng_state()
