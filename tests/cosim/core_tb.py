"""cocotb testbench: one ``LIFCore`` against the golden model, randomized, checked every tick.

Run by ``test_core_cosim.py`` through :mod:`spikeforge.sim` (parameters arrive as JSON, see
:func:`spikeforge.sim.params.load_params`): ``core`` (a ``CoreConfig`` dict), ``seeds``,
``timesteps``, ``profile``, ``acc_every``.  Per seed:

1. reset; load random weights, bias row and parameter registers through ``cfg``/``rsp`` (every
   status OK); write a random initial state (membrane, current, refractory; accumulators 0)
   and read every register back;
2. per timestep: a burst of events with random gaps, concurrent with reading back the state of
   the previous tick; every ``acc_every`` timesteps the accumulators are read before the tick;
   then a tick, and with probability one half some events of the next timestep are offered
   while the tick runs (the core must hold them until it is done);
3. after every tick: the spikes of the tick (ascending, exactly the golden set), the membrane,
   current and refractory state of every neuron read through ``cfg``, and the five counters.

The spike output and the response port see random backpressure (``none``, ``p10``, ``p50``,
``bursty``; the spike pattern cycles with the seed).  The first mismatch fails the test with a
description of where the core and the model part ways.  At the end nothing may be left over:
no unanswered command or unexpected response, no queued event, no spike outside a tick, one
``done`` per tick, no event accepted while a tick was running.
"""

import random

import cocotb
import numpy as np

from spikeforge.golden_model import CoreConfig
from spikeforge.rtl.cfgbus import Counter, Op, Param, Space, StateField, Status, field_range
from spikeforge.sim.core_driver import READY_PATTERNS, CoreDriver, DriverError
from spikeforge.sim.params import load_params, write_results

from core_model import CoreModel, random_burst, random_params, random_state


class Mismatch(AssertionError):
    """The core and the golden model disagree."""


def _diff(name, got, want, step, seed, limit=8):
    got, want = np.asarray(got, np.int64), np.asarray(want, np.int64)
    bad = np.flatnonzero(got != want)
    if len(bad):
        rows = ", ".join(f"n{j}: rtl {got[j]} model {want[j]}" for j in bad[:limit])
        raise Mismatch(f"seed {seed} timestep {step}: {name} differs at {len(bad)} of "
                       f"{len(got)} neurons: {rows}")


class Scoreboard:
    """Feeds the model with transfers in clock order and checks each tick's spikes.

    Members
    -------
    expected : list of list of int
        The golden spikes of every tick, in order.
    order_errors : list of str
        Protocol violations found while feeding (same-cycle event and tick, events accepted
        while a tick runs).
    """

    def __init__(self, drv):
        self.drv = drv
        self.model = None
        self.expected = []
        self.tick_cycles = []
        self.order_errors = []
        drv.events.on_transfer = self._event
        drv.tick_src.on_transfer = self._tick

    def attach(self, model):
        self.model = model

    def _event(self, cycle, axon):
        if self.tick_cycles and self.tick_cycles[-1] == cycle:
            self.order_errors.append(f"cycle {cycle}: event and tick transferred together")
        done = self.drv.done.cycles
        if self.tick_cycles and (not done or done[-1] <= self.tick_cycles[-1]):
            self.order_errors.append(f"cycle {cycle}: event on axon {axon} accepted while the "
                                     f"tick of cycle {self.tick_cycles[-1]} was running")
        self.model.event(axon)

    def _tick(self, cycle, _):
        self.tick_cycles.append(cycle)
        self.expected.append(self.model.tick())


async def _load_and_check(drv, params, v0, i0, ref0, seed):
    """Load ``params`` and the initial state, then read every register and state back."""
    cfg = drv.cfg
    await drv.load(params)
    for field, values in ((StateField.MEMBRANE, v0), (StateField.CURRENT, i0),
                          (StateField.REFRACTORY, ref0),
                          (StateField.ACC, np.zeros(cfg.neurons, np.int64))):
        if field in drv.state_fields():
            await drv.write_state(field, values)
    # Parameter registers read back as written.
    want = drv.param_values(params)
    rsps = await drv.host.transact([(Op.READ, Space.PARAM, int(p), 0) for p in want])
    for (p, value), (st, got) in zip(want.items(), rsps):
        if st != Status.OK or got != value:
            raise Mismatch(f"seed {seed}: PARAM {Param(p).name} reads {st.name} {got}, "
                           f"wrote {value}")
    # A sample of weights (every one would double the load time) and the whole bias row.
    n = cfg.neurons
    rng = random.Random(seed)
    sample = sorted(rng.sample(range(cfg.axons * n), min(64, cfg.axons * n)))
    sample += [cfg.axons * n + j for j in range(n)]
    rsps = await drv.host.transact([(Op.READ, Space.WEIGHT, a, 0) for a in sample])
    w = np.concatenate([params.weights.reshape(-1), params.bias])
    for a, (st, got) in zip(sample, rsps):
        if st != Status.OK or got != w[a]:
            raise Mismatch(f"seed {seed}: WEIGHT[{a}] (axon {a // n}, neuron {a % n}) reads "
                           f"{st.name} {got}, wrote {w[a]}")
    for field, values in ((StateField.MEMBRANE, v0), (StateField.CURRENT, i0),
                          (StateField.REFRACTORY, ref0)):
        if field in drv.state_fields():
            _diff(f"{field.name} after write", await drv.read_state(field), values, -1, seed)


async def _check_counters(drv, model, base, step, seed):
    got = await drv.read_counters()
    want = model.counters()
    for c in Counter:
        g = (got[c] - base[c]) & 0xFFFF_FFFF
        if g != want[c]:
            raise Mismatch(f"seed {seed} timestep {step}: counter {c.name} is {g} (since "
                           f"reset), model {want[c]}; all: rtl "
                           f"{ {k.name: (got[k] - base[k]) & 0xFFFF_FFFF for k in Counter} } "
                           f"model { {k.name: v for k, v in want.items()} }")


async def _check_state(drv, model, step, seed):
    st = model.state()
    fields = drv.state_fields()
    _diff("membrane", await drv.read_state(StateField.MEMBRANE), st["v"], step, seed)
    if StateField.CURRENT in fields:
        _diff("current", await drv.read_state(StateField.CURRENT), st["i"], step, seed)
    if StateField.REFRACTORY in fields:
        _diff("refractory", await drv.read_state(StateField.REFRACTORY), st["ref"], step, seed)


async def run_seed(drv, board, seed, k, p, stats):
    """Run one seed: load, then ``p["timesteps"]`` checked timesteps."""
    cfg = drv.cfg
    rng = np.random.default_rng(seed)
    profile = p.get("profile", "mixed")
    spike_ready = READY_PATTERNS[k % len(READY_PATTERNS)]
    rsp_ready = READY_PATTERNS[(k * 3 + 1) % len(READY_PATTERNS)]
    drv.set_backpressure(spike_ready=spike_ready, rsp_ready=rsp_ready)
    drv.dut._log.info("seed %d: profile %s, spike backpressure %s, response backpressure %s",
                      seed, profile, spike_ready, rsp_ready)
    await drv.reset()
    params = random_params(cfg, rng, profile)
    model = CoreModel(params)
    board.attach(model)
    v0, i0, ref0 = random_state(cfg, rng, profile)
    model.set_state(v0, i0, ref0)
    await _load_and_check(drv, params, v0, i0, ref0, seed)
    base = await drv.read_counters()
    start_cycle = drv.cycle
    acc_every = p.get("acc_every", 4)
    tick_index = len(board.expected)
    for step in range(p["timesteps"]):
        axons, gaps = random_burst(cfg, rng, profile)
        drv.offer_events(axons, gaps)
        if step:   # the previous tick's state, read while this burst goes in
            await _check_state(drv, model, step - 1, seed)
        if rng.random() < 0.25:
            # Offer the tick while the burst is still going in: the core takes it in a gap
            # (events first), and the rest of the burst falls into the next timestep.
            await drv.loop.cycles(int(rng.integers(0, 8)))
        else:
            await drv.quiescent()
            if step % acc_every == 0:
                _diff("accumulator before tick", await drv.read_state(StateField.ACC),
                      model.acc(), step, seed)
        t = await drv.tick()
        early = []
        if rng.random() < 0.5:   # events of the next timestep, offered during the tick
            early, early_gaps = random_burst(cfg, rng, "sparse")
            drv.offer_events(early, early_gaps)
        d = await drv.wait_done(t)
        if board.order_errors:
            raise Mismatch(f"seed {seed} timestep {step}: " + "; ".join(board.order_errors[:4]))
        got = drv.spikes_between(t, d)
        want = board.expected[tick_index]
        tick_index += 1
        stats["spikes"] += len(want)
        stats["events"] += len(axons) + len(early)
        if got != want:
            extra = sorted(set(got) - set(want))
            missing = sorted(set(want) - set(got))
            raise Mismatch(f"seed {seed} timestep {step}: spikes differ: rtl {len(got)} "
                           f"{got[:16]}, model {len(want)} {want[:16]}; extra {extra[:8]}, "
                           f"missing {missing[:8]}, ascending {got == sorted(set(got))}")
        await drv.quiescent()
        await _check_counters(drv, model, base, step, seed)
        st = model.state()
        stats["v_at_limit"] += int(np.count_nonzero(np.isin(st["v"], cfg.membrane_range)))
        if cfg.cuba:
            stats["i_at_limit"] += int(np.count_nonzero(np.isin(st["i"], cfg.current_range)))
        stats["early_events"] += len(early)
    await _check_state(drv, model, p["timesteps"] - 1, seed)
    stats["dropped"] += model.counters()[Counter.DROPPED]
    stats["seed_cycles"].append(drv.cycle - start_cycle)


def _check_nothing_left(drv, board):
    """The end-of-test checks: every transfer accounted for, no protocol debris."""
    drv.host.check_idle()
    if not drv.events.idle:
        raise DriverError("events still queued at the end")
    if len(drv.done.cycles) != len(board.tick_cycles):
        raise DriverError(f"{len(drv.done.cycles)} done pulses for {len(board.tick_cycles)} "
                          f"ticks (done cycles {drv.done.cycles[-6:]})")
    windows = list(zip(board.tick_cycles, drv.done.cycles))
    for (t, d), t_next in zip(windows, board.tick_cycles[1:] + [float("inf")]):
        if not t < d < t_next:
            raise DriverError(f"done at cycle {d} outside its tick window ({t}, {t_next})")
    inside = sum(len(drv.spikes_between(t, d)) for t, d in windows)
    if inside != len(drv.spikes.transfers):
        stray = [(c, n) for c, n in drv.spikes.transfers
                 if not any(t < c <= d for t, d in windows)]
        raise DriverError(f"{len(stray)} spikes outside any tick: {stray[:8]}")
    if sum(map(len, board.expected)) != len(drv.spikes.transfers):
        raise DriverError("spike count differs from the golden total")


@cocotb.test()
async def core_matches_golden(dut):
    """Every tick of every seed matches the golden model bit for bit."""
    p = load_params()
    cfg = CoreConfig.from_dict(p["core"])
    drv = CoreDriver(dut, cfg, random.Random(p["seeds"][0]))
    board = Scoreboard(drv)
    await drv.start()
    stats = {"spikes": 0, "events": 0, "early_events": 0, "dropped": 0, "v_at_limit": 0,
             "i_at_limit": 0, "seed_cycles": []}
    for k, seed in enumerate(p["seeds"]):
        await run_seed(drv, board, seed, k, p, stats)
    await drv.loop.cycles(32)   # anything still coming out would be caught below
    _check_nothing_left(drv, board)
    stats.update(cycles=drv.cycle, ticks=len(board.tick_cycles),
                 commands=drv.host.commands)
    dut._log.info("done: %s", stats)
    write_results(stats)


def _expected_status(cfg, op, space, addr, value):
    """Return the status the core must answer (``cfgbus`` rules: address, then value)."""
    n = cfg.neurons
    if space == Space.WEIGHT:
        index = addr // n if addr < (cfg.axons + 1) * n else None
    elif space == Space.STATE:
        index = addr // n if addr < 4 * n else None
    else:
        index = addr if addr < 8 else None
    rng = field_range(cfg, space, index) if index is not None else None
    if rng is None or (space in (Space.PARAM, Space.COUNTER) and addr not in
                       (Param._value2member_map_ if space == Space.PARAM
                        else Counter._value2member_map_)):
        return Status.BAD_ADDR
    if op == Op.WRITE and not rng[0] <= value <= rng[1]:
        return Status.BAD_VALUE
    return Status.OK


@cocotb.test()
async def cfg_port_refuses_bad_commands(dut):
    """Bad addresses and out-of-range values are refused, answered once and change nothing."""
    p = load_params()
    cfg = CoreConfig.from_dict(p["core"])
    rng = random.Random(p["seeds"][0] * 7919)
    drv = CoreDriver(dut, cfg, rng, spike_ready="p10", rsp_ready="p50")
    await drv.start()
    n = cfg.neurons
    known = {}          # (space, addr) -> value last written successfully
    sizes = {Space.WEIGHT: (cfg.axons + 1) * n, Space.STATE: 4 * n, Space.PARAM: 5,
             Space.COUNTER: 5}
    checked = {s_: 0 for s_ in Status}
    for _ in range(p.get("cfg_commands", 400)):
        space = rng.choice(list(Space))
        size = sizes[space]
        addr = rng.choice([rng.randrange(size), rng.randrange(size), size, size + 1,
                           rng.randrange(size, size + 64), (1 << 32) - 1, 7, 8])
        op = rng.choice([Op.READ, Op.WRITE, Op.WRITE])
        index = addr // n if space in (Space.WEIGHT, Space.STATE) else addr
        fr = field_range(cfg, space, index) if addr < (1 << 31) else None
        lo, hi = fr if fr else (-8, 8)
        value = rng.choice([rng.randint(lo, hi), lo - 1, hi + 1, lo, hi,
                            rng.randint(-(1 << 31), (1 << 31) - 1)])
        value = max(-(1 << 31), min((1 << 31) - 1, value))
        want = _expected_status(cfg, op, space, addr, value)
        (st, data), = await drv.host.transact([(op, space, addr, value)])
        checked[want] += 1
        if st != want:
            raise Mismatch(f"{Op(op).name} {Space(space).name}[{addr}] = {value}: status "
                           f"{st.name}, expected {want.name}")
        if op == Op.WRITE:
            if data != 0:
                raise Mismatch(f"write {Space(space).name}[{addr}] answered data {data}, not 0")
            if st == Status.OK:
                known[(space, addr)] = value
        elif st == Status.OK and (space, addr) in known and space != Space.COUNTER:
            if data != known[(space, addr)]:
                raise Mismatch(f"{Space(space).name}[{addr}] reads {data}, last written "
                               f"{known[(space, addr)]}")
    # Every value written last must still be there, whatever was refused after it.
    items = [(k, v) for k, v in known.items() if k[0] != Space.COUNTER]
    rsps = await drv.host.transact([(Op.READ, sp, a, 0) for (sp, a), _ in items])
    for ((sp, a), v), (st, d) in zip(items, rsps):
        if st != Status.OK or d != v:
            raise Mismatch(f"{Space(sp).name}[{a}] reads {st.name} {d} at the end, "
                           f"last written {v}")
    await drv.loop.cycles(16)
    drv.host.check_idle()
    if drv.spikes.transfers or drv.done.cycles:
        raise DriverError("spikes or done without a tick")
    dut._log.info("statuses checked: %s", {k.name: v for k, v in checked.items()})
    write_results({"cfg_errors": {k.name: v for k, v in checked.items()},
                   "cfg_cycles": drv.cycle})
