"""AER packets: the address-event word that travels through the mesh of routers.

A packet names its destination router (``row``, ``col``), whether it leaves the mesh at the host
egress (``host``), and an ``index``:

* a core-bound packet (``host = 0``) carries the destination **axon** of the core at
  ``(row, col)``;
* a host-bound packet (``host = 1``) carries its **source** ``(core, neuron)`` packed as
  ``core * 2**neuron_bits + neuron`` (``neuron_bits`` is the largest ``CoreConfig.neuron_bits``
  of the array); ``row`` and ``col`` are ignored by the routers and set to 0 by the helpers.

The layout is an :class:`amaranth.lib.data.StructLayout` with fields in this order (least
significant first): ``row``, ``col``, ``host``, ``index``.  :func:`pack` and :func:`unpack`
convert between field dicts and the integer word for testbenches and host drivers; they check
every range and never truncate.
"""

from amaranth import unsigned
from amaranth.lib import data

from ..golden_model.checks import ConfigError, check_int
from ..golden_model.config import ArrayConfig

__all__ = ["fabric_layout", "packet_layout", "index_bits", "pack", "unpack",
           "check_destination", "core_packet", "host_packet", "check_network", "mesh_shape"]


def _bits(count):
    """Return the width of an unsigned field holding ``0 .. count - 1`` (at least 1)."""
    return max(1, (count - 1).bit_length())


def fabric_layout(rows, cols, index_bits):
    """Return the packet layout of a ``rows`` x ``cols`` mesh with ``index_bits``-wide indices.

    Parameters
    ----------
    rows, cols : int
        Mesh shape, 1 to 8 each.
    index_bits : int
        Width of the ``index`` field, 1 to 32.
    """
    rows = check_int("rows", rows, 1, 8)
    cols = check_int("cols", cols, 1, 8)
    index_bits = check_int("index_bits", index_bits, 1, 32)
    return data.StructLayout({
        "row": unsigned(_bits(rows)),
        "col": unsigned(_bits(cols)),
        "host": unsigned(1),
        "index": unsigned(index_bits),
    })


def index_bits(array_cfg):
    """Return the ``index`` width an array needs: any axon, or any packed ``(core, neuron)``."""
    _check_array(array_cfg)
    axon_bits = max(c.axon_bits for c in array_cfg.cores)
    neuron_bits = max(c.neuron_bits for c in array_cfg.cores)
    source_bits = _bits(array_cfg.n_cores) + neuron_bits
    return max(axon_bits, source_bits)


def packet_layout(array_cfg):
    """Return the packet layout of ``array_cfg`` (see the module docstring)."""
    _check_array(array_cfg)
    rows, cols = array_cfg.mesh
    return fabric_layout(rows, cols, index_bits(array_cfg))


def mesh_shape(layout):
    """Return the largest ``(rows, cols)`` the ``row`` and ``col`` fields of ``layout`` address."""
    _check_layout(layout)
    return 1 << layout["row"].shape.width, 1 << layout["col"].shape.width


def pack(layout, **fields):
    """Return the integer word of a packet with ``fields`` (every field of ``layout``, in range).

    Raises :class:`ConfigError` for a missing or unknown field, or a value that does not fit.
    """
    _check_layout(layout)
    names = {name for name, _ in layout}
    if set(fields) != names:
        missing, unknown = sorted(names - set(fields)), sorted(set(fields) - names)
        raise ConfigError(f"packet fields: expected {sorted(names)}, missing {missing}, "
                          f"unknown {unknown}")
    word = 0
    for name, field in layout:
        width = field.shape.width
        value = check_int(f"packet.{name}", fields[name], 0, (1 << width) - 1)
        word |= value << field.offset
    return word


def unpack(layout, word):
    """Return the field dict of the packet ``word`` (an integer of ``layout.size`` bits)."""
    _check_layout(layout)
    word = check_int("packet word", word, 0, (1 << layout.size) - 1)
    return {name: (word >> field.offset) & ((1 << field.shape.width) - 1)
            for name, field in layout}


def check_destination(array_cfg, core):
    """Return ``core`` if it is a core of ``array_cfg``; raise :class:`ConfigError` if not."""
    _check_array(array_cfg)
    return check_int("destination core", core, 0, array_cfg.n_cores - 1)


def core_packet(array_cfg, core, axon):
    """Return the fields of a packet to ``axon`` of ``core`` (both checked)."""
    core = check_destination(array_cfg, core)
    axon = check_int(f"axon of core {core}", axon, 0, array_cfg.cores[core].axons - 1)
    row, col = array_cfg.position(core)
    return dict(row=row, col=col, host=0, index=axon)


def host_packet(array_cfg, core, neuron):
    """Return the fields of a host-bound packet from ``neuron`` of ``core`` (both checked)."""
    core = check_destination(array_cfg, core)
    neuron = check_int(f"neuron of core {core}", neuron, 0, array_cfg.cores[core].neurons - 1)
    neuron_bits = max(c.neuron_bits for c in array_cfg.cores)
    return dict(row=0, col=0, host=1, index=(core << neuron_bits) | neuron)


def check_network(network):
    """Check that every route of ``network`` becomes a packet of its array's layout.

    :class:`~spikeforge.golden_model.Network` already refuses routes to missing cores or axons;
    this check is the gateware's own guard, run at elaboration time by the array, so a table
    built by other means cannot send a packet to a router or axon that does not exist.
    """
    from ..golden_model.network import HOST

    arr = network.array
    for c, routes in enumerate(network.routes):
        for e in range(len(routes)):
            dst, axon = int(routes.core[e]), int(routes.axon[e])
            if dst == HOST:
                host_packet(arr, c, int(routes.source[e]))
            else:
                core_packet(arr, dst, axon)


def _check_array(array_cfg):
    if not isinstance(array_cfg, ArrayConfig):
        raise ConfigError(f"array_cfg: expected an ArrayConfig, got {array_cfg!r}")


def _check_layout(layout):
    if not isinstance(layout, data.StructLayout) or \
            {name for name, _ in layout} != {"row", "col", "host", "index"}:
        raise ConfigError(f"layout: expected a packet StructLayout (row, col, host, index), "
                          f"got {layout!r}")
