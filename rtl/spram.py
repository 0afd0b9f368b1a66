"""One iCE40 UltraPlus single-port RAM (``SB_SPRAM256KA``): 16,384 words of 16 bits.

Yosys never infers SPRAM from an Amaranth memory, so :class:`SPRAM` instantiates the primitive
when it is elaborated for an iCE40 platform, and otherwise (simulation, ``verilog.convert``,
other FPGA families) elaborates to a behavioural model built on :mod:`amaranth.lib.memory` that
follows Yosys's ``cells_sim.v`` model of the primitive:

* one port: a cycle with ``cs`` high either reads (``we`` low) or writes (``we`` high);
* a read is registered: ``rdata`` shows the word one cycle after the read cycle and holds it
  through cycles without ``cs``;
* a write stores the nibbles selected by ``mask`` (4 bits, one per nibble); after a write
  ``rdata`` is **undefined** until the next read (the model shows ``0xDEAD`` there);
* the contents at power-up are **undefined**: the hardware holds whatever the cells settled to
  (the model starts with a pseudo-random pattern, never zeros).  Write every word you read;
  never rely on power-up contents.

``STANDBY`` and ``SLEEP`` are tied low and ``POWEROFF`` high (powered): the RAM keeps its
contents and needs no wake-up time.
"""

from amaranth import Module, Signal, Instance, Mux, ClockSignal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SPRAM", "SPRAM_DEPTH", "SPRAM_WIDTH", "SPRAM_PER_DEVICE", "is_ice40", "check_model",
           "use_model",
           "power_up_pattern"]

SPRAM_DEPTH = 16384
SPRAM_WIDTH = 16
SPRAM_PER_DEVICE = 4        # iCE40 UP3K / UP5K
UNDEFINED = 0xDEAD


def is_ice40(platform):
    """Return whether ``platform`` targets an iCE40 device (the primitive exists there)."""
    if platform is None:
        return False
    from amaranth.vendor import SiliconBluePlatform
    return isinstance(platform, SiliconBluePlatform)


def check_model(model):
    """Check the ``model`` argument of an iCE40 primitive wrapper (None, True or False)."""
    if model not in (None, True, False):
        raise TypeError(f"model: expected None, True or False, not {model!r}")
    return model


def use_model(model, platform):
    """Return whether a primitive wrapper elaborates to its model: as forced by ``model``,
    else everywhere but on iCE40 platforms."""
    return model if model is not None else not is_ice40(platform)


def power_up_pattern(depth, width=SPRAM_WIDTH, seed=0x5EED):
    """Return a deterministic pseudo-random word list standing in for undefined contents."""
    x, out, mask = seed | 1, [], (1 << width) - 1
    for _ in range(depth):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out.append(x & mask)
    return out


class SPRAM(wiring.Component):
    """One ``SB_SPRAM256KA``, or its model off iCE40.

    Parameters
    ----------
    model : bool or None
        ``None`` (default) picks the primitive on iCE40 platforms and the model elsewhere;
        ``True`` forces the model (to simulate a design that is built for iCE40).

    Members
    -------
    addr : In(14)
    wdata : In(16)
    mask : In(4)
        Nibble write enables: bit ``i`` writes ``wdata[4i:4i+4]``.
    we : In(1)
        Write (high) or read (low) when ``cs`` is high.
    cs : In(1)
        Chip select: the cycle does something.
    rdata : Out(16)
        The word of the last read, from the cycle after it.
    """

    addr: In(14)
    wdata: In(16)
    mask: In(4)
    we: In(1)
    cs: In(1)
    rdata: Out(16)

    def __init__(self, *, model=None):
        self._model = check_model(model)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        if not use_model(self._model, platform):
            m.submodules.spram = Instance(
                "SB_SPRAM256KA",
                i_ADDRESS=self.addr, i_DATAIN=self.wdata, i_MASKWREN=self.mask,
                i_WREN=self.we, i_CHIPSELECT=self.cs, i_CLOCK=ClockSignal("sync"),
                i_STANDBY=0, i_SLEEP=0, i_POWEROFF=1,
                o_DATAOUT=self.rdata)
            return m

        m.submodules.mem = mem = memory.Memory(shape=SPRAM_WIDTH, depth=SPRAM_DEPTH,
                                               init=power_up_pattern(SPRAM_DEPTH))
        wp = mem.write_port(granularity=4)
        rp = mem.read_port()
        stale = Signal()
        m.d.comb += [wp.addr.eq(self.addr), wp.data.eq(self.wdata),
                     wp.en.eq(self.mask & (self.cs & self.we).replicate(4)),
                     rp.addr.eq(self.addr), rp.en.eq(self.cs & ~self.we),
                     self.rdata.eq(Mux(stale, UNDEFINED, rp.data))]
        with m.If(self.cs):
            m.d.sync += stale.eq(self.we)
        return m
