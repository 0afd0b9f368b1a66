"""The configuration bus of a core: command and response packets, address map, value ranges.

The host (or the array's configuration path) loads a trained network through this bus at run
time: weights, the bias row, neuron state and the core's parameter registers; it also reads them
back, and reads the counters.  Every command gets exactly one response.  A command whose address
does not exist or whose value does not fit the field is refused with an error response and
changes nothing: values are never truncated on their way into a memory.

Address map (``N`` neurons, ``A`` axons):

=========  =================================  ==================================================
space      address                            field
=========  =================================  ==================================================
WEIGHT     ``axon * N + neuron``              weight, ``axon < A``; ``axon == A`` is the bias row
STATE      ``field * N + neuron``             ``StateField``: membrane, current, refractory, acc
PARAM      ``Param``                          threshold, leaks, bias shift, refractory period
COUNTER    ``Counter``                        events, synaptic operations, spikes, dropped, ticks
=========  =================================  ==================================================

This module is plain Python plus Amaranth layouts, shared by the RTL and every host-side driver
(the cocotb testbenches, the UART host link), so both sides agree on one encoding.
"""

from amaranth import signed, unsigned
from amaranth.lib import data, enum

from ..golden_model.checks import signed_range, unsigned_range

__all__ = ["Op", "Space", "StateField", "Param", "Counter", "Status", "Command", "Response",
           "ADDR_BITS", "DATA_BITS", "COUNTER_BITS", "field_range", "pack_command",
           "unpack_response"]

ADDR_BITS = 32
DATA_BITS = 32
COUNTER_BITS = 32   # counters count modulo 2**32


class Op(enum.Enum, shape=1):
    READ = 0
    WRITE = 1


class Space(enum.Enum, shape=2):
    WEIGHT = 0
    STATE = 1
    PARAM = 2
    COUNTER = 3


class StateField(enum.IntEnum):
    MEMBRANE = 0
    CURRENT = 1      # only with cuba
    REFRACTORY = 2   # only with refractory_bits > 0
    ACC = 3


class Param(enum.IntEnum):
    THRESHOLD = 0
    LEAK = 1
    CURRENT_LEAK = 2
    BIAS_SHIFT = 3
    REFRACTORY = 4


class Counter(enum.IntEnum):
    EVENTS = 0       # events integrated
    SOPS = 1         # synaptic operations: events x neurons
    SPIKES = 2       # spikes emitted
    DROPPED = 3      # events not integrated: beyond max_events in a timestep, or axon >= A
    TICKS = 4        # ticks completed


class Status(enum.Enum, shape=2):
    OK = 0
    BAD_ADDR = 1     # no such address (or the field does not exist in this configuration)
    BAD_VALUE = 2    # value outside the field's range; nothing was written


class Command(data.Struct):
    """One configuration command; ``data`` is ignored by reads."""
    op: Op
    space: Space
    addr: unsigned(ADDR_BITS)
    data: signed(DATA_BITS)


class Response(data.Struct):
    """The response to one command: the value read (reads), or 0 (writes)."""
    status: Status
    data: signed(DATA_BITS)


def field_range(cfg, space, index):
    """Return the inclusive ``(lo, hi)`` range of a field, or ``None`` if it does not exist.

    ``index`` is the axon (WEIGHT, ``A`` for the bias row), the ``StateField`` (STATE), the
    ``Param`` (PARAM) or the ``Counter`` (COUNTER).  These are the same ranges that
    :class:`~spikeforge.golden_model.CoreParams` checks.
    """
    space = Space(space)
    if space == Space.WEIGHT:
        return signed_range(cfg.weight_bits) if 0 <= index <= cfg.axons else None
    if space == Space.STATE:
        return {
            StateField.MEMBRANE: signed_range(cfg.membrane_bits),
            StateField.CURRENT: signed_range(cfg.current_bits) if cfg.cuba else None,
            StateField.REFRACTORY: (unsigned_range(cfg.refractory_bits)
                                    if cfg.refractory_bits else None),
            StateField.ACC: signed_range(cfg.acc_bits),
        }.get(index)
    if space == Space.PARAM:
        return {
            Param.THRESHOLD: (1, signed_range(cfg.membrane_bits)[1]),
            Param.LEAK: (0, cfg.max_leak),
            Param.CURRENT_LEAK: (0, cfg.max_current_leak) if cfg.cuba else None,
            Param.BIAS_SHIFT: (0, cfg.max_bias_shift),
            Param.REFRACTORY: (0, cfg.max_refractory) if cfg.refractory_bits else None,
        }.get(index)
    if space == Space.COUNTER:
        return (-(1 << 31), (1 << 31) - 1) if index in Counter._value2member_map_ else None
    return None


def pack_command(op, space, addr, value=0):
    """Return the integer bit pattern of a :class:`Command` (for testbenches and drivers)."""
    layout = Command.as_shape()
    if not 0 <= addr < (1 << ADDR_BITS):
        raise ValueError(f"addr: expected an integer in [0, {(1 << ADDR_BITS) - 1}], got {addr}")
    lo, hi = signed_range(DATA_BITS)
    if not lo <= value <= hi:
        raise ValueError(f"value: expected an integer in [{lo}, {hi}], got {value}")
    word = 0
    for name, v in (("op", Op(op).value), ("space", Space(space).value), ("addr", addr),
                    ("data", value & ((1 << DATA_BITS) - 1))):
        f = layout[name]
        word |= (v & ((1 << f.width) - 1)) << f.offset
    return word


def unpack_response(word):
    """Return ``(Status, data)`` from the integer bit pattern of a :class:`Response`."""
    layout = Response.as_shape()
    st, d = layout["status"], layout["data"]
    status = Status((word >> st.offset) & ((1 << st.width) - 1))
    value = (word >> d.offset) & ((1 << DATA_BITS) - 1)
    if value >> (DATA_BITS - 1):
        value -= 1 << DATA_BITS
    return status, value
