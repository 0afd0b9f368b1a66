"""``LIFCore`` in the Amaranth simulator against the golden model (``ref_x`` vs ``rtl_x``).

The differential tests load random :class:`CoreParams` through the cfg port, run timesteps of
random events (bursts, gaps, more than ``max_events``) with random stalls on ``spikes.ready``,
and compare the spikes of every tick and the state of every neuron, read back through the cfg
port, with :class:`spikeforge.golden_model.Simulator`.  Waveforms: ``SPIKEFORGE_VCD=<dir>``.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifcore_harness import CoreBench, random_params, ref_run
from spikeforge.golden_model import CoreConfig, Network, Simulator as GoldenSimulator
from spikeforge.rtl.cfgbus import Counter, Op, Param, Space, StateField, Status, field_range
from spikeforge.rtl.core import LIFCore

SETTINGS = dict(deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def core_configs(draw):
    """Small configurations across every mode; narrow membranes saturate often."""
    lanes = draw(st.sampled_from([1, 2, 4]))
    rows = draw(st.integers(1, 8))
    weight_bits = draw(st.sampled_from([1, 4, 8]))
    axons = draw(st.integers(1, 5))
    acc_bits = draw(st.one_of(st.none(), st.integers(max(2, weight_bits),
                                                     max(2, weight_bits) + 2)))
    return CoreConfig(
        neurons=lanes * rows, axons=axons, lanes=lanes, weight_bits=weight_bits,
        membrane_bits=draw(st.integers(max(2, weight_bits), 12)), acc_bits=acc_bits,
        cuba=draw(st.booleans()), current_bits=draw(st.integers(2, 10)),
        leak=draw(st.sampled_from(["shift", "mult"])),
        decay_frac_bits=draw(st.integers(1, 6)),
        reset=draw(st.sampled_from(["zero", "subtract"])),
        compare=draw(st.sampled_from(["ge", "gt"])),
        refractory_bits=draw(st.sampled_from([0, 2])))


def random_steps(cfg, rng, steps):
    """Return per-timestep axon lists (sometimes more than max_events) and gap lists."""
    out = []
    for _ in range(steps):
        k = int(rng.integers(0, min(12, cfg.max_events + 3) + 1))
        axons = rng.integers(0, cfg.axons, size=k).tolist()
        burst = rng.random() < 0.5                    # back to back, or random gaps
        gaps = [0] * k if burst else rng.integers(0, 4, size=k).tolist()
        out.append((axons, gaps))
    return out


def rtl_run(cfg, params, steps, *, pipeline, stall, seed, init_state=None, memories=None,
            leak_multipliers=0, weight_bank_rows=0, packed_weights=False):
    """Run ``steps`` on the simulated core; return per-step (spikes, state) and the bench."""
    bench = CoreBench(cfg, pipeline=pipeline, stall=stall, seed=seed, memories=memories,
                      leak_multipliers=leak_multipliers, weight_bank_rows=weight_bank_rows,
                      packed_weights=packed_weights)
    got = []

    async def testbench(ctx):
        await bench.load(ctx, params)
        if init_state is not None:
            for name, field in (("v", StateField.MEMBRANE), ("i", StateField.CURRENT),
                                ("ref", StateField.REFRACTORY)):
                if name in init_state:
                    for n, value in enumerate(init_state[name]):
                        await bench.write(ctx, Space.STATE, field * cfg.neurons + n,
                                          int(value))
        for axons, gaps in steps:
            await bench.send_events(ctx, axons, gaps)
            spikes = await bench.tick(ctx)
            got.append((spikes, await bench.read_state(ctx)))

    bench.run(testbench, vcd="differential")
    return got, bench


def ref_with_state(params, steps, init_state):
    """Like :func:`ref_run`, starting from ``init_state`` (as written through STATE)."""
    sim = GoldenSimulator(Network.single(params))
    n = params.config.neurons
    for name in init_state:
        getattr(sim, name)[:n] = init_state[name]
    spikes, states = [], []
    for axons in steps:
        axons = list(axons)[:params.config.max_events]
        s = sim.step(np.array([(0, a) for a in axons], np.int64).reshape(-1, 2))
        spikes.append(sorted(np.flatnonzero(s).tolist()))
        states.append(sim.state(0))
    return spikes, states


def check_equal(cfg, got, ref_spikes, ref_states):
    assert len(got) == len(ref_spikes)
    for t, (spikes, state) in enumerate(got):
        assert spikes == ref_spikes[t], f"timestep {t}: spikes"
        for name, values in state.items():
            expect = ref_states[t][name]
            bad = np.flatnonzero(values != expect)
            assert not len(bad), (f"timestep {t}: {name}[{bad[0]}] = {values[bad[0]]}, golden "
                                  f"{expect[bad[0]]} ({cfg})")


@pytest.mark.parametrize("pipeline", ["deep", "compact"])
@settings(max_examples=14, **SETTINGS)
@given(cfg=core_configs(), seed=st.integers(0, 2**32 - 1), saturate=st.booleans(),
       stall=st.sampled_from([0.0, 0.3, 0.7]))
def test_differential(pipeline, cfg, seed, saturate, stall):
    rng = np.random.default_rng(seed)
    params = random_params(cfg, rng, saturate=saturate)
    steps = random_steps(cfg, rng, 3)
    init_state = None
    if rng.random() < 0.5:
        init_state = {"v": rng.integers(*cfg.membrane_range, endpoint=True, size=cfg.neurons)}
        if cfg.cuba:
            init_state["i"] = rng.integers(*cfg.current_range, endpoint=True, size=cfg.neurons)
        if cfg.refractory_bits:
            init_state["ref"] = rng.integers(0, cfg.max_refractory, endpoint=True,
                                             size=cfg.neurons)
    got, _ = rtl_run(cfg, params, steps, pipeline=pipeline, stall=stall, seed=seed,
                     init_state=init_state)
    axons = [a for a, _ in steps]
    if init_state is None:
        ref_spikes, ref_states = ref_run(params, axons)
    else:
        ref_spikes, ref_states = ref_with_state(params, axons, init_state)
    check_equal(cfg, got, ref_spikes, ref_states)


@pytest.mark.parametrize("pipeline", ["deep", "compact"])
@pytest.mark.parametrize("cfg", [
    # Saturation everywhere: 8-bit weights into a 4-bit membrane, CUBA current pinned.
    CoreConfig(neurons=8, axons=4, lanes=2, weight_bits=8, membrane_bits=8, cuba=True,
               current_bits=4, leak="mult", decay_frac_bits=3, reset="subtract",
               refractory_bits=2),
    # Lanes that are not a power of two (sequential address divider), rows == 1 forwarding.
    CoreConfig(neurons=3, axons=3, lanes=3, weight_bits=4, membrane_bits=6),
    CoreConfig(neurons=12, axons=2, lanes=3, weight_bits=4, membrane_bits=7, compare="gt",
               refractory_bits=1),
], ids=["saturating", "lanes3-rows1", "lanes3-rows4"])
def test_differential_fixed(pipeline, cfg):
    rng = np.random.default_rng(7)
    params = random_params(cfg, rng, saturate=True)
    steps = random_steps(cfg, rng, 4)
    got, _ = rtl_run(cfg, params, steps, pipeline=pipeline, stall=0.5, seed=3)
    check_equal(cfg, got, *ref_run(params, [a for a, _ in steps]))


@pytest.mark.parametrize("pipeline", ["deep", "compact"])
@pytest.mark.parametrize("cfg,memories", [
    # Weights in the SPRAM model (4-bit lanes pack 16 to a 64-bit row; 3-bit lanes are padded
    # to nibbles), state in distributed RAM.
    (CoreConfig(neurons=32, axons=5, lanes=16, weight_bits=4, membrane_bits=8, acc_bits=7,
                refractory_bits=2), {"weights": "spram", "v": "lutram", "ref": "lutram"}),
    (CoreConfig(neurons=12, axons=4, lanes=3, weight_bits=3, membrane_bits=6, cuba=True,
                current_bits=5), {"weights": "spram", "i": "lutram", "acc": "lutram",
                                   "queue": "lutram"}),
    (CoreConfig(neurons=8, axons=3, lanes=2, weight_bits=8, membrane_bits=10),
     {"weights": "spram"}),
], ids=["w4-l16", "w3-l3-cuba", "w8-l2"])
def test_differential_memories(pipeline, cfg, memories):
    """Every memory placement computes what the block RAM build does (the golden model);
    SPRAM starts from a pseudo-random pattern, so everything read must have been written."""
    rng = np.random.default_rng(11)
    params = random_params(cfg, rng, saturate=True)
    steps = random_steps(cfg, rng, 4)
    got, bench = rtl_run(cfg, params, steps, pipeline=pipeline, stall=0.3, seed=5,
                         memories=memories)
    assert bench.dut.memories["weights"] == memories["weights"]
    check_equal(cfg, got, *ref_run(params, [a for a, _ in steps]))


@pytest.mark.parametrize("pipeline", ["deep", "compact"])
@settings(max_examples=6, **SETTINGS)
@given(cfg=core_configs(), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_differential_leak_multipliers(pipeline, cfg, seed, data):
    """Lanes that leak through a multiplier (the DSP form) beside lanes with the shifter, from
    every membrane, including the saturated ones a random initial state brings."""
    cfg = cfg.replace(leak="shift")
    n_mul = data.draw(st.integers(1, cfg.lanes), label="leak_multipliers")
    rng = np.random.default_rng(seed)
    params = random_params(cfg, rng, saturate=True)
    steps = random_steps(cfg, rng, 3)
    init_state = {"v": rng.integers(*cfg.membrane_range, endpoint=True, size=cfg.neurons)}
    init_state["v"][0], init_state["v"][-1] = cfg.membrane_range     # both ends
    got, bench = rtl_run(cfg, params, steps, pipeline=pipeline, stall=0.3, seed=seed,
                         init_state=init_state, leak_multipliers=n_mul)
    assert bench.dut.leak_multipliers == n_mul
    check_equal(cfg, got, *ref_with_state(params, [a for a, _ in steps], init_state))


@pytest.mark.parametrize("bits,leak", [(8, k) for k in range(9)] + [(9, 0), (9, 1), (9, 5),
                                                                      (9, 9)])
def test_leak_multiplier_every_membrane(bits, leak):
    """Every membrane value, leaked through the multiplier forms (8 bits: halves of a DSP
    block; 9 bits: a whole block), for every leak: one timestep without input, against the
    golden model."""
    from spikeforge.golden_model import CoreParams
    n = 1 << bits
    cfg = CoreConfig(neurons=n, axons=1, lanes=4, weight_bits=4, membrane_bits=bits)
    params = CoreParams(cfg, np.zeros((1, n), np.int64), np.zeros(n, np.int64),
                        threshold=cfg.membrane_range[1], leak=leak)
    init_state = {"v": np.arange(*cfg.membrane_range, dtype=np.int64).tolist() + [
        cfg.membrane_range[1]]}
    got, _ = rtl_run(cfg, params, [([], [])], pipeline="compact", stall=0.0, seed=1,
                     init_state=init_state, leak_multipliers=3)
    check_equal(cfg, got, *ref_with_state(params, [[]], init_state))


@pytest.mark.parametrize("cfg,bank,packed,pipeline", [
    # 4 rows a neuron's axon, 10 axons and the bias row: 44 rows in banks of 16, 16 and 12.
    (CoreConfig(neurons=16, axons=10, lanes=4, weight_bits=8, membrane_bits=12), 16, False,
     "deep"),
    # 1 row: 6 rows in banks of 2 (a bank per axon pair), CUBA.
    (CoreConfig(neurons=4, axons=5, lanes=4, weight_bits=5, membrane_bits=9, cuba=True,
                current_bits=7), 2, False, "deep"),
    # Packed weights (a row-wide write enable, weight writes read-modify-write the row):
    # nine lanes in banks (the 400,896-synapse ULX3S-85F array), lanes in one memory, banks
    # of a power-of-two lane count, and the compact pipeline.
    (CoreConfig(neurons=18, axons=6, lanes=9, weight_bits=8, membrane_bits=12), 4, True,
     "deep"),
    (CoreConfig(neurons=12, axons=5, lanes=3, weight_bits=7, membrane_bits=10, cuba=True,
                current_bits=8), 0, True, "deep"),
    (CoreConfig(neurons=16, axons=4, lanes=4, weight_bits=6, membrane_bits=8), 8, True,
     "deep"),
    (CoreConfig(neurons=16, axons=4, lanes=4, weight_bits=4, membrane_bits=8), 0, True,
     "compact"),
], ids=["3-banks", "bank-2-cuba", "packed-9-lanes-banks", "packed-3-lanes",
        "packed-4-lanes-banks", "packed-compact"])
def test_differential_weight_banks(cfg, bank, packed, pipeline):
    """Weights in banks, each read into a register of its own (the ECP5 placement of deep
    weight memories), or packed (written a row at a time): the same spikes and state as the
    golden model, and every weight reads back as written, its row's other lanes untouched."""
    rng = np.random.default_rng(4)
    params = random_params(cfg, rng, saturate=True)
    steps = random_steps(cfg, rng, 5)
    got, _ = rtl_run(cfg, params, steps, pipeline=pipeline, stall=0.3, seed=2,
                     weight_bank_rows=bank, packed_weights=packed)
    check_equal(cfg, got, *ref_run(params, [a for a, _ in steps]))

    bench = CoreBench(cfg, pipeline=pipeline, weight_bank_rows=bank, packed_weights=packed)
    N, read = cfg.neurons, {}
    # Then every weight again, in random order (each write lands on a row last written from
    # elsewhere): a read-modify-write that merged a stale row would show here.
    lo, hi = cfg.weight_range
    again = rng.integers(lo, hi + 1, size=(cfg.axons + 1, N))
    order = rng.permutation((cfg.axons + 1) * N).tolist()

    async def testbench(ctx):
        await bench.load(ctx, params)
        for a in range(cfg.axons + 1):
            for n in range(N):
                read[a, n] = await bench.read(ctx, Space.WEIGHT, a * N + n)
        for k in order:
            await bench.write(ctx, Space.WEIGHT, k, int(again.flat[k]))
        for k in range(again.size):
            read["again", k] = await bench.read(ctx, Space.WEIGHT, k)

    bench.run(testbench)
    expect = np.vstack([params.weights, params.bias[None, :]])
    got_w = np.array([[read[a, n] for n in range(N)] for a in range(cfg.axons + 1)])
    assert got_w.tolist() == expect.tolist()
    assert [read["again", k] for k in range(again.size)] == again.flatten().tolist()


def test_constructor_checks():
    with pytest.raises(TypeError, match=r"cfg must be a spikeforge CoreConfig, not \{'neurons"):
        LIFCore({"neurons": 4, "axons": 2})
    with pytest.raises(TypeError, match="not 16"):
        LIFCore(16)
    with pytest.raises(ValueError, match="pipeline must be one of 'deep', 'compact', not 'x'"):
        LIFCore(CoreConfig(neurons=4, axons=2), pipeline="x")
    with pytest.raises(ValueError, match="memories: role must be one of .*, not 'bias'"):
        LIFCore(CoreConfig(neurons=4, axons=2), memories={"bias": "bram"})
    with pytest.raises(ValueError, match=r"memories\['v'\]: expected one of bram, lutram, "
                       r"not 'spram'"):
        LIFCore(CoreConfig(neurons=4, axons=2), memories={"v": "spram"})
    with pytest.raises(ValueError, match=r"leak_multipliers: expected an int from 0 to lanes "
                       r"\(2\), not 3"):
        LIFCore(CoreConfig(neurons=4, axons=2, lanes=2), leak_multipliers=3)
    with pytest.raises(ValueError, match="leak_multipliers: only with leak='shift'"):
        LIFCore(CoreConfig(neurons=4, axons=2, leak="mult"), leak_multipliers=1)
    with pytest.raises(ValueError, match="leak_multipliers: membrane_bits must be at most 15 "
                       "to multiply the leak, not 16"):
        LIFCore(CoreConfig(neurons=4, axons=2, membrane_bits=16), leak_multipliers=1)
    with pytest.raises(ValueError, match="weight_bank_rows: expected 0 or a power of two, "
                       "not 12"):
        LIFCore(CoreConfig(neurons=4, axons=2), weight_bank_rows=12)
    with pytest.raises(ValueError, match="weight_bank_rows: needs pipeline 'deep' and the "
                       "weights in 'bram', not pipeline 'compact'"):
        LIFCore(CoreConfig(neurons=4, axons=2), pipeline="compact", weight_bank_rows=4)


def test_config_errors_change_nothing():
    """BAD_ADDR and BAD_VALUE answers, and the fields they name keep their values."""
    cfg = CoreConfig(neurons=4, axons=2, lanes=2, weight_bits=4, membrane_bits=6,
                     refractory_bits=2)
    N = cfg.neurons
    bench = CoreBench(cfg)
    log = []

    async def testbench(ctx):
        async def cmd(op, space, addr, value=0):
            log.append(((op, space, addr, value), await bench.command(ctx, op, space, addr,
                                                                       value)))
            return log[-1][1]

        await bench.write(ctx, Space.WEIGHT, 1 * N + 3, -5)
        await bench.write(ctx, Space.WEIGHT, 2 * N + 0, 7)          # bias row
        await bench.write(ctx, Space.STATE, StateField.MEMBRANE * N + 2, -9)
        await bench.write(ctx, Space.PARAM, Param.LEAK, 3)
        bad_addr = [(Op.WRITE, Space.WEIGHT, 3 * N, 1), (Op.READ, Space.WEIGHT, 3 * N),
                    (Op.WRITE, Space.WEIGHT, 2**32 - 1, 0),
                    (Op.WRITE, Space.STATE, StateField.CURRENT * N + 1, 1),   # no cuba
                    (Op.READ, Space.STATE, StateField.CURRENT * N),
                    (Op.WRITE, Space.STATE, 4 * N, 0),
                    (Op.WRITE, Space.PARAM, Param.CURRENT_LEAK, 1),
                    (Op.READ, Space.PARAM, 5), (Op.WRITE, Space.PARAM, 8 + Param.LEAK, 1),
                    (Op.WRITE, Space.COUNTER, 5, 0), (Op.READ, Space.COUNTER, 8)]
        for c in bad_addr:
            assert (await cmd(*c)) == (Status.BAD_ADDR, 0), c
        bad_value = [(Space.WEIGHT, 1 * N + 3, 8), (Space.WEIGHT, 1 * N + 3, -9),
                     (Space.WEIGHT, 2 * N + 0, 2**31 - 1),
                     (Space.STATE, StateField.MEMBRANE * N + 2, 32),
                     (Space.STATE, StateField.MEMBRANE * N + 2, -2**31),
                     (Space.STATE, StateField.REFRACTORY * N + 2, 4),
                     (Space.STATE, StateField.REFRACTORY * N + 2, -1),
                     (Space.STATE, StateField.ACC * N + 2, 1 << cfg.acc_bits),
                     (Space.PARAM, Param.THRESHOLD, 0), (Space.PARAM, Param.THRESHOLD, 32),
                     (Space.PARAM, Param.LEAK, cfg.max_leak + 1),
                     (Space.PARAM, Param.LEAK, -1), (Space.PARAM, Param.BIAS_SHIFT, 3),
                     (Space.PARAM, Param.REFRACTORY, 4)]
        for space, addr, value in bad_value:
            assert (await cmd(Op.WRITE, space, addr, value)) == (Status.BAD_VALUE, 0)
        # Everything still holds what was written before, and only that.
        assert await bench.read(ctx, Space.WEIGHT, 1 * N + 3) == -5
        assert await bench.read(ctx, Space.WEIGHT, 2 * N + 0) == 7
        for n in range(N):
            if n != 2:
                assert await bench.read(ctx, Space.STATE, StateField.MEMBRANE * N + n) == 0
        assert await bench.read(ctx, Space.STATE, StateField.MEMBRANE * N + 2) == -9
        assert await bench.read(ctx, Space.STATE, StateField.REFRACTORY * N + 2) == 0
        assert await bench.read(ctx, Space.STATE, StateField.ACC * N + 2) == 0
        assert await bench.read(ctx, Space.PARAM, Param.THRESHOLD) == 1     # reset value
        assert await bench.read(ctx, Space.PARAM, Param.LEAK) == 3
        assert await bench.read(ctx, Space.PARAM, Param.BIAS_SHIFT) == 0
        assert await bench.read(ctx, Space.PARAM, Param.REFRACTORY) == 0
        for a in range(cfg.axons + 1):
            for n in range(N):
                if (a, n) not in ((1, 3), (2, 0)):
                    assert await bench.read(ctx, Space.WEIGHT, a * N + n) == 0
        # The ends of every range are accepted, and read back sign-extended.
        for space, index, addr in [(Space.WEIGHT, 0, 1), (Space.STATE, StateField.MEMBRANE,
                                                          StateField.MEMBRANE * N + 1),
                                   (Space.STATE, StateField.REFRACTORY,
                                    StateField.REFRACTORY * N + 3),
                                   (Space.STATE, StateField.ACC, StateField.ACC * N),
                                   (Space.PARAM, Param.THRESHOLD, Param.THRESHOLD),
                                   (Space.PARAM, Param.LEAK, Param.LEAK)]:
            for value in field_range(cfg, space, index):
                await bench.write(ctx, space, addr, value)
                assert await bench.read(ctx, space, addr) == value, (space, addr, value)

    bench.run(testbench, vcd="config_errors")
    assert len(log) == 25


def test_events_during_tick_go_to_next_timestep():
    """Events offered while a tick runs wait (ready low) and land in the next timestep."""
    cfg = CoreConfig(neurons=8, axons=3, lanes=1, weight_bits=4, membrane_bits=8)
    params = random_params(cfg, np.random.default_rng(5))
    bench = CoreBench(cfg, stall=0.5, seed=1)
    first, late = [0, 1, 1], [2, 0, 1]
    seen = {}

    async def testbench(ctx):
        await bench.load(ctx, params)
        await bench.send_events(ctx, first)
        await bench.put(ctx, bench.dut.tick)
        # Offer the next events at once: none may be taken before done.
        ctx.set(bench.dut.events.valid, 1)
        ctx.set(bench.dut.events.payload, late[0])
        _, _, ready, busy = await ctx.tick().sample(bench.dut.events.ready, bench.dut.busy)
        seen["ready"], seen["busy"] = ready, busy
        await bench.send_events(ctx, late)
        await ctx.tick().until(~bench.dut.busy)
        seen["second"] = await bench.tick(ctx)

    bench.run(testbench, vcd="events_during_tick")
    assert seen["ready"] == 0 and seen["busy"] == 1
    assert len(bench.done) == 2
    assert bench.events[-len(late)] > bench.done[0]
    first_spikes = sorted(n for c, n in bench.spikes if c <= bench.done[0])
    assert [first_spikes, seen["second"]] == ref_run(params, [first, late])[0]


@pytest.mark.parametrize("pipeline", ["deep", "compact"])
def test_dropped_and_counters(pipeline):
    """Events beyond max_events are dropped and counted; counters count and can be written."""
    cfg = CoreConfig(neurons=4, axons=3, lanes=2, weight_bits=4, membrane_bits=12,
                     acc_bits=6)                      # max_events = 4
    assert cfg.max_events == 4
    params = random_params(cfg, np.random.default_rng(2))
    steps = [[0, 1, 2, 2, 1, 0, 2], [1, 1], [2, 2, 2, 2, 2]]
    bench = CoreBench(cfg, pipeline=pipeline)
    counters = {}
    states = []

    async def testbench(ctx):
        await bench.load(ctx, params)
        for axons in steps:
            await bench.send_events(ctx, axons)
            states.append(await bench.read(ctx, Space.STATE, StateField.ACC * 4 + 1))
            await bench.tick(ctx)
        for cn in Counter:
            counters[cn] = await bench.read(ctx, Space.COUNTER, cn)
        await bench.write(ctx, Space.COUNTER, Counter.SOPS, -1)
        await bench.send_events(ctx, [0])
        counters["sops_wrapped"] = await bench.read(ctx, Space.COUNTER, Counter.SOPS)
        for cn in Counter:
            await bench.write(ctx, Space.COUNTER, cn, 0)
        counters["cleared"] = [await bench.read(ctx, Space.COUNTER, cn) for cn in Counter]

    bench.run(testbench, vcd="dropped")
    kept = [s[:4] for s in steps]
    assert states == [int(params.weights[a, 1].sum()) for a in map(np.array, kept)]
    ref_spikes, _ = ref_run(params, steps)
    assert counters[Counter.EVENTS] == 4 + 2 + 4
    assert counters[Counter.DROPPED] == 3 + 0 + 1
    assert counters[Counter.SOPS] == 10 * cfg.neurons
    assert counters[Counter.TICKS] == 3
    assert counters[Counter.SPIKES] == sum(map(len, ref_spikes))
    assert counters["sops_wrapped"] == cfg.neurons - 1        # -1 + 4 modulo 2**32
    assert counters["cleared"] == [0] * 5


@pytest.mark.parametrize("pipeline", ["deep", "compact"])
def test_counters_at_once(pipeline):
    """A command right after the core counted sees the count; a count right after a command
    write adds to the written value (no count is lost or reordered)."""
    cfg = CoreConfig(neurons=4, axons=3, lanes=4, weight_bits=4, membrane_bits=8)
    bench = CoreBench(cfg, pipeline=pipeline)
    seen = []

    async def testbench(ctx):
        d = bench.dut
        for _ in range(3):                            # axon 3 >= A: dropped, back to back
            await bench.put(ctx, d.events, 3)
        seen.append(await bench.read(ctx, Space.COUNTER, Counter.DROPPED))
        await bench.put(ctx, d.events, 3)
        await bench.write(ctx, Space.COUNTER, Counter.DROPPED, 100)
        await bench.put(ctx, d.events, 3)
        await bench.put(ctx, d.events, 3)
        seen.append(await bench.read(ctx, Space.COUNTER, Counter.DROPPED))
        await bench.write(ctx, Space.COUNTER, Counter.EVENTS, 7)
        await bench.put(ctx, d.events, 0)
        await bench.put(ctx, d.events, 1)
        seen.append(await bench.read(ctx, Space.COUNTER, Counter.EVENTS))
        await bench.tick(ctx)
        seen.append(await bench.read(ctx, Space.COUNTER, Counter.TICKS))
        await bench.write(ctx, Space.COUNTER, Counter.TICKS, -2)
        await bench.tick(ctx)
        await bench.tick(ctx)
        seen.append(await bench.read(ctx, Space.COUNTER, Counter.TICKS))
        seen.append(await bench.read(ctx, Space.COUNTER, Counter.SOPS))

    bench.run(testbench, vcd="counters_at_once")
    assert seen == [3, 102, 9, 1, 0, 2 * cfg.neurons]


@pytest.mark.parametrize("pipeline", ["deep", "compact"])
@pytest.mark.parametrize("neurons,lanes,cuba", [(16, 1, False), (16, 4, False), (8, 8, False),
                                               (4, 4, False), (8, 4, True), (16, 2, True)])
def test_throughput(pipeline, neurons, lanes, cuba):
    """Back-to-back events cost rows cycles each; a sweep costs <= rows + 8 (+ spike stalls)."""
    cfg = CoreConfig(neurons=neurons, axons=4, lanes=lanes, weight_bits=4, membrane_bits=8,
                     acc_bits=10, cuba=cuba, refractory_bits=2 if cuba else 0)
    rows, k = cfg.rows, 40
    bench = CoreBench(cfg, pipeline=pipeline)
    marks = {}

    async def testbench(ctx):
        # No spikes in the first tick: threshold above anything 40 events can sum to.
        await bench.write(ctx, Space.PARAM, Param.THRESHOLD, 127)
        for n in range(neurons):
            await bench.write(ctx, Space.WEIGHT, n, 1)
        start = bench.cycle
        await bench.send_events(ctx, [0] * k)
        await ctx.tick().until(~bench.dut.busy)
        marks["integrate"] = bench.cycle - start
        marks["tick"] = len(bench.done)
        await bench.tick(ctx)
        marks["tick_cycles"] = bench.done[-1] - bench.ticks[-1]
        # Now every neuron fires: the serializer sets the pace.
        await bench.write(ctx, Space.PARAM, Param.THRESHOLD, 1)
        await bench.send_events(ctx, [0, 0])
        await bench.tick(ctx)
        marks["spike_tick_cycles"] = bench.done[-1] - bench.ticks[-1]

    bench.run(testbench, vcd=f"throughput_{pipeline}_{neurons}_{lanes}_{int(cuba)}")
    ev = bench.events[-k - 2:-2]
    gaps = np.diff(ev)[1:]       # the first two: issue stage + one buffer, within two cycles
    assert (gaps == rows).all(), gaps                       # rows cycles per event, no bubble
    sustained = (k - 2) * neurons / (ev[-1] - ev[1])        # synaptic ops per cycle
    assert sustained >= 0.9 * lanes
    # From the first event to busy falling: k * rows cycles plus the pipeline.
    assert marks["integrate"] <= k * rows + 6
    assert marks["tick_cycles"] <= rows + 8
    # Every neuron fires: the serializer (one spike per cycle) sets the pace; with spikes.ready
    # always high it adds at most one cycle per spike.
    assert marks["spike_tick_cycles"] <= rows + 8 + neurons


@pytest.mark.parametrize("lo,hi", [(-128, 127), (-(2**31), 2**31 - 1), (0, 3), (0, 8), (0, 0),
                                   (1, 127), (1, 5), (2, 9), (-5, 7)])
def test_range_check(lo, hi):
    """The carry-free range check used by the cfg decoder agrees with ``lo <= x <= hi``."""
    from amaranth import Module, Signal, signed
    from amaranth.sim import Simulator

    from spikeforge.rtl.core import _in_range

    x = Signal(signed(32))
    ok = Signal()
    m = Module()
    m.d.comb += ok.eq(_in_range(x, lo, hi))
    values = sorted(v for v in {lo - 1, lo, lo + 1, hi - 1, hi, hi + 1, 0, -1, 2**31 - 1,
                                -(2**31), 256, -256, 1 << 20} if -(2**31) <= v < 2**31)
    got = {}

    async def testbench(ctx):
        for v in values:
            ctx.set(x, v)
            got[v] = ctx.get(ok)

    sim = Simulator(m)
    sim.add_testbench(testbench)
    sim.run()
    assert got == {v: int(lo <= v <= hi) for v in values}


@pytest.mark.parametrize("width", [1, 2, 3, 5, 8, 11])
def test_at_most_two(width):
    """The spike serializer's test for "one bit left after this transfer", every input."""
    from amaranth import Module, Signal
    from amaranth.sim import Simulator
    from spikeforge.rtl.core import _at_most_two
    x, y = Signal(width), Signal()
    m = Module()
    m.d.comb += y.eq(_at_most_two(x))
    wrong = []

    async def testbench(ctx):
        for v in range(1 << width):
            ctx.set(x, v)
            if ctx.get(y) != (bin(v).count("1") <= 2):
                wrong.append(v)

    sim = Simulator(m)
    sim.add_testbench(testbench)
    sim.run()
    assert wrong == []
