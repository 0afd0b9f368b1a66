"""FPGA boards: one small class per board on top of an amaranth-boards platform.

``BOARDS`` maps a name to its :class:`Board` class; :func:`get_board` returns an instance or
raises ``ValueError`` listing the valid names.  Adding a board is one small class (device,
platform, capacities, UART resource, default array) and one line in ``BOARDS``.
"""

from .base import Board, Capacity
from .icebreaker import ICEBreaker
from .orangecrab import OrangeCrab25F
from .top import BoardTop, LinkCheckArray
from .ulx3s import ULX3S12F, ULX3S25F, ULX3S45F, ULX3S85F

from ..golden_model.checks import ConfigError

__all__ = ["Board", "Capacity", "BOARDS", "get_board", "array_config", "BoardTop",
           "LinkCheckArray"]

BOARDS = {cls.name: cls for cls in (ICEBreaker, ULX3S12F, ULX3S25F, ULX3S45F, ULX3S85F,
                                    OrangeCrab25F)}


def get_board(name):
    """Return the :class:`Board` called ``name``."""
    if isinstance(name, Board):
        return name
    try:
        return BOARDS[name]()
    except (KeyError, TypeError):
        raise ConfigError(f"board: expected one of {', '.join(sorted(BOARDS))}; "
                          f"got {name!r}") from None


def array_config(name):
    """Return the built-in :class:`ArrayConfig` of the board called ``name``."""
    return get_board(name).default_array()
