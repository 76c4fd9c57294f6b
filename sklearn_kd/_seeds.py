"""Seeds for a fit's sub-steps, drawn from its random state."""

import numpy as np

#: Seeds are drawn below this bound, which every consumer accepts (torch,
#: numpy's legacy generator and scikit-learn's ``random_state``).
MAX_SEED = np.iinfo(np.int32).max


def draw_seed(rng):
    """One seed for a sub-step (an int), drawn from the ``RandomState`` ``rng``."""
    return int(rng.randint(MAX_SEED))


def draw_seeds(rng, n):
    """``n`` seeds (an int array), drawn from the ``RandomState`` ``rng``."""
    return rng.randint(MAX_SEED, size=n)
