"""The host-facing bus of a :class:`NeuromorphicArray`: packets, targets, registers.

A host (the UART host link on a board, or a cocotb testbench) talks to an array through four
streams:

* ``cmd`` / ``rsp``: :class:`ArrayCommand` in, :class:`~.cfgbus.Response` out, exactly one
  response per command.  ``target`` selects a core's configuration bus (:data:`Target.CORE`, the
  command is forwarded unchanged, see :mod:`.cfgbus`), a core's routing table
  (:data:`Target.ROUTES`) or the array's own registers (:data:`Target.ARRAY`).
* ``events``: :class:`HostEvent` in; each is delivered to ``(core, axon)`` in the open
  timestep.  Taken while the array is not running timesteps.
* ``spikes``: :class:`HostSpike` out; every spike routed to the host, as ``(core, neuron)``.

Routing table address map (``Target.ROUTES``, ``cmd.space`` ignored):

* ``addr = ROUTE_POINTER | neuron``: value ``start | count << 16``: the neuron's entries are
  ``start .. start + count - 1``;
* ``addr = entry``: value ``axon | core << 16 | host << 24`` (``host = 1`` sends to the host).

Array registers (``Target.ARRAY``; ``core`` selects the core for per-core registers):
:class:`ArrayReg`.
"""

import enum as py_enum

from amaranth import unsigned
from amaranth.lib import data, enum

from .cfgbus import Command, pack_command

__all__ = ["Target", "ArrayReg", "ArrayCommand", "HostEvent", "HostSpike", "ROUTE_POINTER",
           "CORE_BITS", "INDEX_BITS", "pack_route_entry", "pack_route_pointer",
           "pack_array_command", "pack_host_event", "unpack_host_spike"]

CORE_BITS = 8          # up to 256 cores addressable (the mesh holds at most 64)
INDEX_BITS = 16        # axon and neuron indices (cores hold at most 65,536 of each)
ROUTE_POINTER = 1 << 31


class Target(enum.Enum, shape=2):
    CORE = 0
    ROUTES = 1
    ARRAY = 2


class ArrayReg(py_enum.IntEnum):
    RUN = 0          # write N >= 1: run N timesteps; reads the timesteps still to run
    TIMESTEP = 1     # timesteps completed (writable, e.g. to clear)
    STATUS = 2       # read: bit 0 running, bit 1 events in flight
    CLEAR = 3        # write: clear neuron state, accumulators and counters of every core
    PHASE = 4        # per core (``core`` field): the core's phase
    BAD_EVENTS = 5   # host events refused: no such core or axon (writable, e.g. to clear)


class ArrayCommand(data.Struct):
    target: Target
    core: unsigned(CORE_BITS)
    cmd: Command


class HostEvent(data.Struct):
    core: unsigned(CORE_BITS)
    axon: unsigned(INDEX_BITS)


class HostSpike(data.Struct):
    core: unsigned(CORE_BITS)
    neuron: unsigned(INDEX_BITS)


def pack_route_entry(core, axon, host=False):
    """Return the routing-table word of one fan-out entry."""
    if not 0 <= axon < (1 << INDEX_BITS):
        raise ValueError(f"axon: expected an integer in [0, {(1 << INDEX_BITS) - 1}], got {axon}")
    if not 0 <= core < (1 << CORE_BITS):
        raise ValueError(f"core: expected an integer in [0, {(1 << CORE_BITS) - 1}], got {core}")
    return axon | core << 16 | int(bool(host)) << 24


def pack_route_pointer(start, count):
    """Return the routing-table pointer word of one neuron."""
    for name, v in (("start", start), ("count", count)):
        if not 0 <= v < (1 << 16):
            raise ValueError(f"{name}: expected an integer in [0, 65535], got {v}")
    return start | count << 16


def _field(layout, name):
    f = layout[name]
    return f.offset, f.width


def pack_array_command(target, core, op, space, addr, value=0):
    """Return the integer bit pattern of an :class:`ArrayCommand`."""
    layout = ArrayCommand.as_shape()
    if not 0 <= core < (1 << CORE_BITS):
        raise ValueError(f"core: expected an integer in [0, {(1 << CORE_BITS) - 1}], got {core}")
    word = Target(target).value << _field(layout, "target")[0]
    word |= core << _field(layout, "core")[0]
    word |= pack_command(op, space, addr, value) << _field(layout, "cmd")[0]
    return word


def pack_host_event(core, axon):
    """Return the integer bit pattern of a :class:`HostEvent`."""
    layout = HostEvent.as_shape()
    for name, v, bits in (("core", core, CORE_BITS), ("axon", axon, INDEX_BITS)):
        if not 0 <= v < (1 << bits):
            raise ValueError(f"{name}: expected an integer in [0, {(1 << bits) - 1}], got {v}")
    return core << _field(layout, "core")[0] | axon << _field(layout, "axon")[0]


def unpack_host_spike(word):
    """Return ``(core, neuron)`` from the integer bit pattern of a :class:`HostSpike`."""
    layout = HostSpike.as_shape()
    (co, cw), (no, nw) = _field(layout, "core"), _field(layout, "neuron")
    return (word >> co) & ((1 << cw) - 1), (word >> no) & ((1 << nw) - 1)
