"""``LIFCore`` with its weights in SPRAM (the iCE40 UltraPlus build) against the golden model.

The same randomized testbench as ``test_core_cosim.py`` (``core_tb.core_matches_golden``: all
weights loaded through ``cfg``, every spike, state value and counter checked after every tick),
on a core built with ``memories={"weights": "spram"}``: Verilator simulates the SPRAM model of
:mod:`spikeforge.rtl.spram` (single port, nibble write masks, pseudo-random power-up
contents), so a weight the core reads before it was written shows up as a mismatch.

* ``board``: the iCEBreaker core's geometry (16 lanes of 4-bit weights: four SPRAMs side by
  side), compact pipeline as the iCE40 build uses, the UP5K's 8 DSP blocks computing the leak
  of lanes 0-7, fewer neurons and axons to keep the load short;
* ``banks``: two lanes of 4-bit weights in one SPRAM column, 4,201 x 4 rows: the last axons
  and the bias row (read at every tick) lie in the second SPRAM bank, deep pipeline.
"""

import os
from pathlib import Path

import pytest

from spikeforge.golden_model import CoreConfig
from spikeforge.sim import build

HERE = Path(__file__).resolve().parent

pytestmark = pytest.mark.cosim

CASES = {
    "board": (CoreConfig(neurons=256, axons=60, weight_bits=4, membrane_bits=8, acc_bits=8,
                         lanes=16, leak="shift", reset="zero"), "compact", (1, 2, 3), 40, 8),
    # 8-bit accumulators: at most 16 events per timestep, so the bursts stay short.
    "banks": (CoreConfig(neurons=8, axons=4200, weight_bits=4, membrane_bits=10, acc_bits=8,
                         lanes=2, leak="mult", decay_frac_bits=4, reset="subtract",
                         refractory_bits=2), "deep", (1,), 30, 0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_spram_core_matches_golden(name, cosim_build_root):
    from spikeforge.rtl.core import LIFCore
    from spikeforge.rtl.memory import spram_geometry
    cfg, pipeline, seeds, timesteps, leak_multipliers = CASES[name]
    core = LIFCore(cfg, pipeline=pipeline, memories={"weights": "spram"},
                   leak_multipliers=leak_multipliers)
    depth = (cfg.axons + 1) * cfg.rows
    _, wide, deep, spill = spram_geometry(cfg.lanes, cfg.weight_bits, depth)
    assert spill == 0 and (deep == 2 if name == "banks" else wide == 4)
    b = build(core, root=cosim_build_root, label=f"spram {name}")
    seeds = list(seeds)[:int(os.environ.get("SPIKEFORGE_COSIM_SEEDS") or len(seeds))]
    timesteps = int(os.environ.get("SPIKEFORGE_COSIM_TIMESTEPS") or timesteps)
    params = {"core": cfg.to_dict(), "seeds": seeds, "timesteps": timesteps,
              "profile": "mixed", "acc_every": 4}
    result = b.run("core_tb", params, name=f"spram-{name}", pythonpath=[HERE])
    r = result.results
    print(f"spram {name}: {r['cycles'] + r['cfg_cycles']:,} cycles, {r['ticks']} ticks, "
          f"{r['events']} events, {r['spikes']} spikes, {result.seconds:.1f} s")
    assert r["ticks"] == len(seeds) * timesteps
    assert r["spikes"] > 0
