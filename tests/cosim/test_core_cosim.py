"""``LIFCore`` against the golden model in cocotb, one Verilator build per configuration.

Each case builds the core once (cached under ``build/cosim/<hash>``) and runs
``core_tb.core_matches_golden`` over several seeds inside one simulation.  The cases together
span neurons 16 to 1024, lanes 1/4/16, weight widths 1/4/8, both reset, leak and compare modes,
refractory and CUBA on and off, and stimuli that pin the membrane and the current at their
limits.  Run with ``pytest -m cosim -n 2``; ``SPIKEFORGE_WAVES=1`` records waveforms,
``SPIKEFORGE_COVERAGE=1`` line coverage (summary at the end of the session);
``SPIKEFORGE_COSIM_SEEDS`` / ``SPIKEFORGE_COSIM_TIMESTEPS`` shorten a run (quick checks only).
"""

import dataclasses
import os
from pathlib import Path

import pytest

from spikeforge.golden_model import CoreConfig
from spikeforge.sim import build

HERE = Path(__file__).resolve().parent

pytestmark = pytest.mark.cosim


@dataclasses.dataclass(frozen=True)
class Case:
    core: CoreConfig
    seeds: tuple = (1, 2, 3, 4, 5)
    timesteps: int = 50
    profile: str = "mixed"
    acc_every: int = 4
    leak_multipliers: int = 0       # lanes whose leak is the multiplier (DSP) form
    weight_bank_rows: int = 0       # weights in banks of this many rows (ECP5 placement)
    packed_weights: bool = False    # weights written a row at a time (ECP5 placement)

    @property
    def id(self):
        c = self.core
        flags = [c.reset[:3], c.leak, c.compare]
        flags += ["cuba"] if c.cuba else []
        flags += [f"ref{c.refractory_bits}"] if c.refractory_bits else []
        flags += [f"mul{self.leak_multipliers}"] if self.leak_multipliers else []
        flags += [f"bank{self.weight_bank_rows}"] if self.weight_bank_rows else []
        flags += ["packed"] if self.packed_weights else []
        return (f"n{c.neurons}-a{c.axons}-l{c.lanes}-w{c.weight_bits}-v{c.membrane_bits}-"
                + "-".join(flags) + f"-{self.profile}")


CASES = [
    # Small cores: every mode, cheap enough for many events.
    # Leak multipliers: half a DSP block (6-bit membranes), a whole block (10 bits) below.
    Case(CoreConfig(neurons=16, axons=8, weight_bits=1, membrane_bits=6, lanes=1,
                    reset="subtract", leak="shift", compare="ge"), leak_multipliers=1),
    Case(CoreConfig(neurons=16, axons=16, weight_bits=4, membrane_bits=10, lanes=16,
                    cuba=True, current_bits=8, leak="mult", decay_frac_bits=4,
                    reset="subtract", compare="gt", refractory_bits=3)),
    Case(CoreConfig(neurons=16, axons=16, weight_bits=8, membrane_bits=8, lanes=4, cuba=True,
                    current_bits=8, leak="mult", decay_frac_bits=8, reset="zero",
                    compare="ge", refractory_bits=2), profile="saturate"),
    Case(CoreConfig(neurons=64, axons=16, weight_bits=8, membrane_bits=10, lanes=4,
                    cuba=True, current_bits=9, leak="shift", reset="zero", compare="gt"),
         profile="saturate", leak_multipliers=2),
    # 12 axons: indices 12..15 fit the port and must be dropped.
    Case(CoreConfig(neurons=64, axons=12, weight_bits=4, membrane_bits=12, lanes=1,
                    leak="mult", decay_frac_bits=6, reset="subtract", compare="gt",
                    refractory_bits=2)),
    # Weights in banks, each read into a register of its own: 17 x 16 rows in banks of 64
    # (the last one 16 rows).
    Case(CoreConfig(neurons=64, axons=16, weight_bits=8, membrane_bits=12, lanes=4,
                    leak="shift", reset="subtract", compare="gt"), profile="saturate",
         weight_bank_rows=64),
    # The rows past the last full bank stack three rows of blocks deep (1,536 x 64 in 8-bit
    # lanes, 512 x 36 blocks), so they are two banks, one row of blocks each: 1,792 x 2 rows
    # in banks of 2,048, 1,024 and 512 (the ULX3S-85F cores' last banks).
    Case(CoreConfig(neurons=16, axons=1791, weight_bits=8, membrane_bits=12, lanes=8,
                    leak="shift", reset="subtract", compare="gt"), seeds=(1, 2), timesteps=20,
         weight_bank_rows=2048),
    # Nine lanes, packed weights in banks (the 400,896-synapse ULX3S-85F array's cores,
    # smaller): every weight write is a read-modify-write of its row; 17 x 8 rows in banks
    # of 64.
    Case(CoreConfig(neurons=72, axons=16, weight_bits=8, membrane_bits=16, lanes=9,
                    leak="shift", reset="zero", compare="ge"), profile="saturate",
         weight_bank_rows=64, packed_weights=True),
    # Three lanes: the configuration decoder divides addresses by L.
    Case(CoreConfig(neurons=48, axons=8, weight_bits=8, membrane_bits=12, lanes=3, cuba=True,
                    current_bits=10, leak="shift", reset="subtract", compare="ge",
                    refractory_bits=1)),
    Case(CoreConfig(neurons=256, axons=8, weight_bits=8, membrane_bits=16, lanes=4, cuba=True,
                    current_bits=12, leak="shift", reset="zero", compare="ge",
                    refractory_bits=4)),
    Case(CoreConfig(neurons=256, axons=16, weight_bits=1, membrane_bits=8, lanes=16,
                    leak="mult", decay_frac_bits=3, reset="subtract", compare="ge",
                    refractory_bits=1)),
    Case(CoreConfig(neurons=1024, axons=8, weight_bits=4, membrane_bits=16, lanes=16,
                    leak="shift", reset="zero", compare="ge"), seeds=(1, 2, 3, 4, 5),
         acc_every=10),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_core_matches_golden(case, cosim_build_root, record_property):
    from spikeforge.rtl.core import LIFCore   # being written; a missing core fails here
    b = build(LIFCore(case.core, leak_multipliers=case.leak_multipliers,
                      weight_bank_rows=case.weight_bank_rows,
                      packed_weights=case.packed_weights),
              root=cosim_build_root, label=case.id)
    seeds = list(case.seeds)[:int(os.environ.get("SPIKEFORGE_COSIM_SEEDS") or len(case.seeds))]
    timesteps = int(os.environ.get("SPIKEFORGE_COSIM_TIMESTEPS") or case.timesteps)
    params = {"core": case.core.to_dict(), "seeds": seeds, "timesteps": timesteps,
              "profile": case.profile, "acc_every": case.acc_every}
    result = b.run("core_tb", params, name=case.id, pythonpath=[HERE])
    r = result.results
    record_property("cycles", r["cycles"] + r["cfg_cycles"])
    record_property("sim_seconds", round(result.seconds, 2))
    if result.coverage_file:
        record_property("coverage_file", str(result.coverage_file))
    print(f"{case.id}: {r['cycles'] + r['cfg_cycles']:,} cycles, {r['ticks']} ticks, "
          f"{r['events']} events ({r['early_events']} offered during a tick), {r['spikes']} "
          f"spikes, {r['dropped']} dropped, membrane at a limit {r['v_at_limit']}x, current "
          f"{r['i_at_limit']}x, refused commands {r['cfg_errors']}, build reused {b.reused}, "
          f"{result.seconds:.1f} s")
    assert r["ticks"] == len(seeds) * timesteps
