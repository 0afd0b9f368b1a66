"""Networks shipped with spikeforge.

``digits.nir``: 64 rate-coded pixels -> 128 LIF -> 10 leaky-integrator readouts, trained on
scikit-learn's 8x8 digits by :mod:`spikeforge.models.train_digits` (which also evaluates it).
"""

import os

__all__ = ["DIGITS_NIR"]

#: Path of the shipped digits network (a NIR file; load it with ``load_nir``).
DIGITS_NIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.nir")
