"""Input checks shared by the configuration and network classes.

Every check raises :class:`ConfigError` naming the field, the expected range and the actual
value, so a bad value is refused before anything is built or simulated.  Nothing is clamped or
truncated on the way in.
"""

import numbers

import numpy as np

__all__ = ["ConfigError", "check_int", "check_bool", "check_choice", "check_int_array",
           "signed_range", "unsigned_range"]


class ConfigError(ValueError):
    """A configuration, network or input value is out of range or malformed."""


def signed_range(bits):
    """Return the inclusive range ``(lo, hi)`` of a ``bits``-wide two's complement number."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def unsigned_range(bits):
    """Return the inclusive range ``(0, hi)`` of a ``bits``-wide unsigned number."""
    return 0, (1 << bits) - 1


def check_int(field, value, lo=None, hi=None):
    """Return ``value`` as ``int`` if it is an integer within ``[lo, hi]``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{field}: expected an integer, got {value!r}")
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(f"{field}: expected an integer in [{_fmt(lo, '-inf')}, {_fmt(hi, 'inf')}], "
                          f"got {value}")
    return value


def check_bool(field, value):
    """Return ``value`` if it is a bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{field}: expected True or False, got {value!r}")
    return bool(value)


def check_choice(field, value, choices):
    """Return ``value`` if it is one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"{field}: expected one of {', '.join(map(repr, choices))}, "
                          f"got {value!r}")
    return value


def check_int_array(field, value, shape, lo, hi, dtype=np.int64):
    """Return ``value`` as a read-only integer array of ``shape`` within ``[lo, hi]``.

    Floats are accepted only when they hold exact integers; NaN, infinities and fractions are
    refused, as are values outside the range (the first offender is named with its index).
    """
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise ConfigError(f"{field}: expected an array of shape {shape}, got {value!r}") from exc
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise ConfigError(f"{field}: expected a numeric array, got dtype {arr.dtype}")
    if tuple(arr.shape) != tuple(shape):
        raise ConfigError(f"{field}: expected shape {tuple(shape)}, got {tuple(arr.shape)}")
    if arr.dtype.kind == "b":
        raise ConfigError(f"{field}: expected integers, got a boolean array")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ConfigError(f"{field}{list(idx)}: expected a finite integer, got {arr[idx]}")
        frac = arr != np.round(arr)
        if frac.any():
            idx = tuple(int(i) for i in np.argwhere(frac)[0])
            raise ConfigError(f"{field}{list(idx)}: expected an integer, got {arr[idx]}")
    if arr.size:
        out = (arr < lo) | (arr > hi)
        if out.any():
            idx = tuple(int(i) for i in np.argwhere(out)[0])
            raise ConfigError(f"{field}{list(idx)}: expected an integer in [{lo}, {hi}], "
                              f"got {arr[idx]}")
    arr = arr.astype(dtype)
    arr.flags.writeable = False
    return arr


def _fmt(bound, unbounded):
    return unbounded if bound is None else str(bound)
