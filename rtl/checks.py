"""Constructor checks for gateware components.

A component refuses a bad parameter before it builds anything.  Amaranth warns about every
``Elaboratable`` that is created and never elaborated, which would turn each refused constructor
call into a spurious warning; :func:`refuse` silences that warning and raises.  :func:`below`
is the cheap range check such components use on bus values.
"""

from amaranth import Const

__all__ = ["refuse", "below"]


def refuse(component, exc):
    """Mark ``component`` as deliberately unused and raise ``exc``."""
    component._MustUse__silence = True
    raise exc


def below(x, n):
    """Return whether the unsigned value ``x`` is less than the constant ``n`` without a carry
    chain as wide as ``x``: the bits from ``n``'s bit length up must be zero, and only the bits
    below are compared (none when ``n`` is a power of two)."""
    if n <= 0:
        return Const(0)
    k = (n - 1).bit_length()
    if k >= len(x):
        return x < n
    high = ~x[k:].any()
    if n == 1 << k:
        return high
    return high & (x[:k] < n)
