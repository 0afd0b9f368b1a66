"""Lane memories: one interface over the memory kinds of each FPGA family.

A core keeps its weights and neuron state as rows of ``lanes`` values (one row feeds the ``L``
lanes of its datapath in one cycle).  :class:`LaneMemory` is such a memory, with ports shaped
like :mod:`amaranth.lib.memory`'s: a read port (``addr``, ``en``, ``data``; the read is
registered: ``data`` shows the row one cycle after a cycle with ``en`` high, and holds
otherwise) and a write port (``addr``, ``data``, ``en`` with one bit per lane).  ``data`` is an
:class:`~amaranth.lib.data.ArrayLayout`, so ``port.data[i]`` is lane ``i``.  Two kinds:

``"bram"``
    :class:`amaranth.lib.memory.Memory`, which Yosys maps to block RAM (iCE40 ``SB_RAM40_4K``,
    ECP5 ``DP16KD``; forced with Yosys's ``ram_style = "block"`` attribute, so even a small
    memory takes a block and the block counts below are what synthesis produces).  Simple
    dual port: a read and a write may use different addresses in
    the same cycle; a read of the row being written returns the old row.
``"lutram"``
    The same, forced into distributed RAM (ECP5 ``DPR16X4``; costs LUTs, no block RAM): for
    shallow, wide state memories, where a block RAM would waste most of its depth.  Not on
    iCE40, which has none (Yosys would build it from flip-flops).
``"spram"``
    The iCE40 UltraPlus SPRAM bank (:class:`~.spram.SPRAM`): each lane padded to a multiple of
    4 bits (the SPRAM write mask is per nibble), ``ceil(lanes * padded / 16)`` SPRAMs side by
    side (4 SPRAMs = 64 bits = 16 lanes of 4-bit weights per cycle), as many banks deep as the
    4 SPRAMs allow.  Rows past the SPRAM capacity spill into a small block RAM (on the UP5K,
    the bias row of a 256-axon, 1,024-neuron core: 257 x 64 rows).  **Single port:** a cycle
    with any write enable writes and does not read; ``read.data`` is undefined after a write
    until the next read.  Contents at power-up are undefined: write before you read.

The block counts that :mod:`spikeforge.fit` predicts come from :func:`bram_blocks` and
:func:`spram_blocks` here, from the same geometry the gateware uses.
"""

import math

from amaranth import Cat, Const, Module, Mux, Shape, Signal
from amaranth.lib import data, fifo, memory, wiring
from amaranth.lib.wiring import Out

from .spram import SPRAM, SPRAM_DEPTH, SPRAM_PER_DEVICE, SPRAM_WIDTH

__all__ = ["FAMILIES", "BRAM_MODES", "BRAM_BITS", "bram_blocks", "bram_tiling",
           "weight_bank_depths", "spram_geometry", "spram_blocks", "lutram_luts", "family_of",
           "LaneMemory", "StyledFIFO"]

FAMILIES = ("ice40", "ecp5")

#: Block RAM aspect ratios (depth, width) per family, for a simple dual-port memory with
#: registered reads.  ECP5's 512 x 36 is the pseudo dual-port PDPW16KD mode.
BRAM_MODES = {
    "ice40": ((256, 16), (512, 8), (1024, 4), (2048, 2)),
    "ecp5": ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1)),
}
BRAM_BITS = {"ice40": 4096, "ecp5": 18432}


def _check_family(family):
    if family not in BRAM_MODES:
        raise ValueError(f"family: expected one of {sorted(BRAM_MODES)}, not {family!r}")


def bram_blocks(family, depth, width, granularity=None):
    """Return the block RAMs a ``depth`` x ``width`` memory takes, as Yosys's
    ``memory_libmap`` maps it: one aspect ratio tiled over the memory, the one with the least
    cost, ``128`` per block plus about ``0.65`` per output bit per extra row of blocks (the
    read multiplexer; the weight that reproduces Yosys's choices below).  On ECP5 a write
    granularity (``granularity`` bits per write enable, e.g. a lane) of at most 9 bits puts
    each lane in its own 9-bit byte of the 9/18/36-bit modes.
    Checked against Yosys 0.70 (YoWASP) synthesis of lane memories (ECP5, 8-bit lanes):
    5,632 x 64 -> 24, 12,672 x 32 -> 26, 3,104 x 128 -> 28, 2,560 x 160 -> 25, 6,144 x 64 -> 24,
    2,048 x 72 -> 9 blocks; without a granularity (a row-wide write enable) 2,048 x 72 -> 8,
    1,536 x 72 -> 6 (``tests/boards/test_memory.py``).  Yosys may tile slices of one memory
    with different ratios, which this single-ratio count does not model: 1,536 x 72 with
    8-bit lanes is counted 9 here and takes 7 (eight lanes at 512 x 36, one at 2048 x 9)."""
    return bram_tiling(family, depth, width, granularity)[0]


def bram_tiling(family, depth, width, granularity=None):
    """Return ``(blocks, rows)`` of a ``depth`` x ``width`` memory in block RAM: the block
    count of :func:`bram_blocks` and the depth of the aspect ratio it tiles with, the rows of
    one row of blocks (``(0, 0)`` for an empty memory)."""
    _check_family(family)
    if depth <= 0 or width <= 0:
        return 0, 0
    best = None
    for d, w in BRAM_MODES[family]:
        if family == "ecp5" and granularity and w >= 9 and width % granularity == 0:
            lanes = width // granularity
            per = (w // 9) // math.ceil(granularity / 9)
            wide = math.ceil(lanes / per) if per else math.inf
        else:
            wide = math.ceil(width / w)
        deep = math.ceil(depth / d)
        cost = 128 * wide * deep + 0.65 * width * (deep - 1)
        if best is None or cost < best[0]:
            best = (cost, wide * deep, d)
    return best[1], best[2]


def weight_bank_depths(depth, bank, width, granularity=None):
    """Return the depths of the banks an ECP5 block RAM weight memory of ``depth`` x ``width``
    bits (``granularity`` bits per write enable, as in :func:`bram_tiling`) is split into with
    banks of ``bank`` rows (a power of two: the rows of one row of blocks).  Full banks come
    first.  The rows left over are one more bank if their own tiling is one row of blocks;
    if it stacks deeper (e.g. 1,536 x 64 in 8-bit lanes: three rows of 512 x 36), they are
    split into banks of the powers of two of their count until what is left is one row deep.
    So no bank's slow block RAM outputs meet a multiplexer before the bank's register.  Each
    bank starts at a multiple of its depth rounded up to a power of two, so a compare of the
    high address bits selects it."""
    if not (isinstance(bank, int) and bank > 0 and bank & (bank - 1) == 0):
        raise ValueError(f"bank: expected a power of two, not {bank!r}")
    banks = [bank] * (depth // bank)
    rest = depth % bank
    while rest and bram_tiling("ecp5", rest, width, granularity)[1] < rest:
        banks.append(1 << (rest.bit_length() - 1))
        rest -= banks[-1]
    return banks + ([rest] if rest else [])


def spram_geometry(lanes, lane_bits, depth, sprams=SPRAM_PER_DEVICE):
    """Return ``(padded_bits, wide, deep, spill_rows)`` of a lane memory in SPRAM.

    ``wide`` SPRAMs side by side hold one row, ``deep`` such banks stack in depth, and
    ``spill_rows`` rows past their capacity go to block RAM.  Raises ``ValueError`` if a row
    is wider than the SPRAMs together.
    """
    padded = 4 * math.ceil(lane_bits / 4)
    wide = math.ceil(lanes * padded / SPRAM_WIDTH)
    if wide > sprams:
        raise ValueError(f"lanes x padded bits = {lanes} x {padded} = {lanes * padded} bits: "
                         f"expected at most {sprams * SPRAM_WIDTH} (the {sprams} SPRAMs)")
    deep = min(sprams // wide, math.ceil(depth / SPRAM_DEPTH))
    spill = max(0, depth - deep * SPRAM_DEPTH)
    return padded, wide, deep, spill


def spram_blocks(lanes, lane_bits, depth, sprams=SPRAM_PER_DEVICE):
    """Return ``(sprams, spill_rows, spill_width)`` used by a lane memory in SPRAM."""
    padded, wide, deep, spill = spram_geometry(lanes, lane_bits, depth, sprams)
    return wide * deep, spill, lanes * lane_bits


def lutram_luts(depth, width):
    """Return the logic an ECP5 distributed RAM takes, as nextpnr counts ``TRELLIS_COMB``: 16 x
    4 bits per ``DPR16X4``, which occupies 6 (four LUTs in RAM mode and the write-port slice;
    measured: 4,176 of them took about 28,600 cells with their read multiplexers) and a read
    multiplexer over the 16-row slices."""
    slices = math.ceil(depth / 16)
    return slices * math.ceil(width / 4) * 6 + (slices - 1) * width


def family_of(platform):
    """Return ``"ice40"``, ``"ecp5"`` or ``None`` (simulation, other families)."""
    if platform is None:
        return None
    from amaranth.vendor import LatticePlatform, SiliconBluePlatform
    if isinstance(platform, SiliconBluePlatform):
        return "ice40"
    if isinstance(platform, LatticePlatform) and getattr(platform, "family", None) == "ecp5":
        return "ecp5"
    return None


class LaneMemory(wiring.Component):
    """A memory of ``depth`` rows of ``lanes`` values (see the module docstring).

    Parameters
    ----------
    lanes : int
        Values per row, 1 to 64.
    shape : shape-like
        Shape of one value (e.g. ``signed(4)``).
    depth : int
        Rows.
    kind : ``"bram"``, ``"lutram"`` or ``"spram"``
    sprams : int
        SPRAMs the ``"spram"`` kind may use (4 on the UP5K).
    model : bool or None
        Passed to :class:`~.spram.SPRAM`: ``None`` uses the primitive on iCE40 platforms only.

    Members
    -------
    read : Out(memory.ReadPort.Signature(...))
    write : Out(memory.WritePort.Signature(..., granularity=1))
        ``write.en`` has one bit per lane.
    """

    def __init__(self, *, lanes, shape, depth, kind="bram", sprams=SPRAM_PER_DEVICE,
                 model=None):
        if not (isinstance(lanes, int) and 1 <= lanes <= 64):
            raise ValueError(f"lanes: expected an integer in [1, 64], not {lanes!r}")
        if not (isinstance(depth, int) and depth >= 1):
            raise ValueError(f"depth: expected an integer >= 1, not {depth!r}")
        if kind not in ("bram", "lutram", "spram"):
            raise ValueError(f"kind: expected 'bram', 'lutram' or 'spram', not {kind!r}")
        self._lanes, self._shape, self._depth, self._kind = lanes, shape, depth, kind
        self._sprams, self._model = sprams, model
        self._bits = Shape.cast(shape).width
        if kind == "spram":
            self._geometry = spram_geometry(lanes, self._bits, depth, sprams)
        layout = data.ArrayLayout(shape, lanes)
        addr_width = max(1, (depth - 1).bit_length())
        super().__init__({
            "read": Out(memory.ReadPort.Signature(addr_width=addr_width, shape=layout)),
            "write": Out(memory.WritePort.Signature(addr_width=addr_width, shape=layout,
                                                    granularity=1)),
        })

    lanes = property(lambda self: self._lanes)
    depth = property(lambda self: self._depth)
    kind = property(lambda self: self._kind)
    single_port = property(lambda self: self._kind == "spram")

    def elaborate(self, platform):
        if self._kind in ("bram", "lutram"):
            return self._elaborate_bram()
        return self._elaborate_spram()

    def _connect(self, m, mem, read_en=None, write_en=None):
        wp, rp = mem.write_port(granularity=1), mem.read_port()
        m.d.comb += [wp.addr.eq(self.write.addr), wp.data.eq(self.write.data),
                     wp.en.eq(self.write.en if write_en is None else write_en),
                     rp.addr.eq(self.read.addr),
                     rp.en.eq(self.read.en if read_en is None else read_en)]
        return rp

    def _elaborate_bram(self):
        m = Module()
        style = "block" if self._kind == "bram" else "distributed"
        m.submodules.mem = mem = memory.Memory(
            shape=data.ArrayLayout(self._shape, self._lanes), depth=self._depth, init=[],
            attrs={"ram_style": style})
        rp = self._connect(m, mem)
        m.d.comb += self.read.data.eq(rp.data)
        return m

    def _elaborate_spram(self):
        m = Module()
        padded, wide, deep, spill = self._geometry
        bits, lanes = self._bits, self._lanes
        writing = self.write.en.any()
        addr = Mux(writing, self.write.addr, self.read.addr)
        bank = addr >> 14
        local = addr[:14]

        wdata = Cat(Cat(self.write.data.as_value()[i * bits:(i + 1) * bits],
                        Const(0, padded - bits)) for i in range(lanes))
        nibble_en = Cat(self.write.en[(4 * n) // padded] for n in range(lanes * padded // 4))
        width = wide * SPRAM_WIDTH
        nibble_en = Cat(nibble_en, Const(0, width // 4 - len(nibble_en)))
        wdata = Cat(wdata, Const(0, width - len(wdata)))

        banks = []
        for d in range(deep):
            rdata = Signal(width, name=f"bank{d}_rdata")
            for j in range(wide):
                ram = SPRAM(model=self._model)
                m.submodules[f"spram_{d}_{j}"] = ram
                m.d.comb += [ram.addr.eq(local), ram.wdata.eq(wdata[16 * j:16 * j + 16]),
                             ram.mask.eq(nibble_en[4 * j:4 * j + 4]), ram.we.eq(writing),
                             ram.cs.eq((bank == d) & (writing | self.read.en)),
                             rdata[16 * j:16 * j + 16].eq(ram.rdata)]
            banks.append(rdata)

        # Which bank (or the spill RAM) the last read came from.
        last = Signal(range(deep + 1))
        with m.If(self.read.en & ~writing):
            m.d.sync += last.eq(Mux(bank < deep, bank, deep))
        packed = Signal(width)
        with m.Switch(last):
            for d, rdata in enumerate(banks):
                with m.Case(d):
                    m.d.comb += packed.eq(rdata)
        unpacked = Cat(packed[i * padded:i * padded + bits] for i in range(lanes))
        if spill:
            m.submodules.spill = mem = memory.Memory(
                shape=data.ArrayLayout(self._shape, lanes), depth=spill, init=[],
                attrs={"ram_style": "block"})
            in_spill = bank >= deep
            wp, rp = mem.write_port(granularity=1), mem.read_port()
            base = deep * SPRAM_DEPTH
            m.d.comb += [wp.addr.eq(self.write.addr - base), wp.data.eq(self.write.data),
                         wp.en.eq(self.write.en & in_spill.replicate(lanes)),
                         rp.addr.eq(self.read.addr - base),
                         rp.en.eq(self.read.en & ~writing & in_spill)]
            m.d.comb += self.read.data.eq(Mux(last == deep, rp.data.as_value(), unpacked))
        else:
            m.d.comb += self.read.data.eq(unpacked)
        return m


class StyledFIFO(fifo.SyncFIFOBuffered):
    """:class:`amaranth.lib.fifo.SyncFIFOBuffered` whose memory carries a Yosys ``ram_style``
    (``"block"``, ``"distributed"`` or ``"logic"``): the placement of :mod:`.placement` decides
    where each FIFO lives instead of Yosys's size heuristics."""

    def __init__(self, *, width, depth, ram_style="block"):
        if ram_style not in ("block", "distributed", "logic"):
            raise ValueError(f"ram_style: expected 'block', 'distributed' or 'logic', "
                             f"not {ram_style!r}")
        super().__init__(width=width, depth=depth)
        self.ram_style = ram_style

    def elaborate(self, platform):
        m = super().elaborate(platform)
        if self.depth > 1:
            m.submodules.storage.attrs["ram_style"] = self.ram_style
        return m
