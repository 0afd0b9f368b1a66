"""Simulation helpers for the AER fabric: stream sources, stalling sinks, packet tracking.

Used by the fabric tests and benches (and meant for the array-level ones): one testbench drives
every source and sink of a design cycle by cycle with :meth:`TickTrigger.sample`, so a run of a
4x4 mesh costs one coroutine switch per cycle.

* Sources follow the stream rules as a producer: ``valid`` rises without looking at ``ready``
  and stays high, with the payload unchanged, until the transfer; idle cycles (``valid`` low)
  are inserted only between packets.
* Sinks drive ``ready`` from a :func:`ready_pattern`; the driver checks each output as a
  consumer would: once ``valid`` is high it must stay high with the same payload until
  ``ready`` takes it.
* A watchdog fails the run when packets are pending and no transfer happens for ``watchdog``
  cycles.  Optional ``alarms`` (1-bit signals such as ``misroute``) must never rise.
"""

import random

from amaranth.sim import Simulator

__all__ = ["READY_PATTERNS", "ready_pattern", "FabricStall", "run_streams"]

#: Backpressure patterns of a sink (see :func:`ready_pattern`).
READY_PATTERNS = ("none", "pause_3_in_4", "random_10", "random_50", "bursty", "long_stall")


class FabricStall(AssertionError):
    """Packets were pending and nothing moved for the watchdog period."""


def ready_pattern(kind, rng, *, stall=64, start=0):
    """Yield ``ready`` for a sink, one bool per cycle, forever.

    Parameters
    ----------
    kind : str
        ``"none"`` (always ready), ``"pause_3_in_4"`` (ready one cycle in four),
        ``"random_10"`` / ``"random_50"`` (not ready with that probability each cycle),
        ``"bursty"`` (ready and not ready in runs of 1 to 24 cycles), ``"long_stall"`` (ready
        except for one run of ``stall`` cycles starting at cycle ``start``).
    rng : random.Random
        Source of randomness (one per sink, so sinks stall independently).
    """
    if kind not in READY_PATTERNS:
        raise ValueError(f"kind: expected one of {READY_PATTERNS}, not {kind!r}")
    cycle = 0
    while True:
        if kind == "none":
            yield True
        elif kind == "pause_3_in_4":
            yield cycle % 4 == 3
        elif kind == "random_10":
            yield rng.random() >= 0.10
        elif kind == "random_50":
            yield rng.random() >= 0.50
        elif kind == "bursty":
            on = rng.random() < 0.5
            for _ in range(rng.randint(1, 24)):
                yield on
            cycle += 1
            continue
        else:
            yield not (start <= cycle < start + stall)
        cycle += 1


def run_streams(dut, sources, sinks, *, idle=0.0, watchdog=1024, alarms=(), seed=0,
                tail=32, max_cycles=200_000):
    """Simulate ``dut`` with packets pushed into ``sources`` and taken from ``sinks``.

    Parameters
    ----------
    dut : Elaboratable
        The design.
    sources : list of (stream, list of int)
        Each input stream with the packet words to send through it, in order.
    sinks : list of (stream, iterator of bool)
        Each output stream with its ``ready`` pattern.
    idle : float
        Probability of an idle cycle before each packet of a source.
    watchdog : int
        Cycles without any transfer, while packets are pending, that fail the run.
    alarms : list of Signal
        1-bit signals that must stay low.
    tail : int
        Cycles to keep running (every sink ready) after the last expected packet, to catch
        packets that appear from nowhere.

    Returns
    -------
    sent : list of list of int
        Per source, the cycle of each packet's transfer.
    received : list of list of (int, int)
        Per sink, ``(cycle, word)`` of each transfer, in order.
    cycles : int
        Cycles simulated.
    """
    rng = random.Random(seed)
    total = sum(len(words) for _, words in sources)
    sent = [[] for _ in sources]
    received = [[] for _ in sinks]
    result = {}

    async def testbench(ctx):
        pos = [0] * len(sources)
        waiting = [False] * len(sources)   # a packet is presented (valid high)
        sample = [s.ready for s, _ in sources]
        for s, _ in sinks:
            sample += [s.valid, s.payload.as_value()]
        sample += list(alarms)
        ns, nk = len(sources), len(sinks)
        last = [None] * nk                 # (valid, word, ready) of each sink last cycle
        cycle, quiet, moved_total, tail_left = 0, 0, 0, tail
        while True:
            for i, (s, words) in enumerate(sources):
                if not waiting[i] and pos[i] < len(words) and rng.random() >= idle:
                    ctx.set(s.payload.as_value(), words[pos[i]])
                    ctx.set(s.valid, 1)
                    waiting[i] = True
            draining = moved_total >= total
            readies = []
            for k, (s, pattern) in enumerate(sinks):
                r = True if draining else next(pattern)
                readies.append(r)
                ctx.set(s.ready, r)
            _, _, *v = await ctx.tick().sample(*sample)
            moved = 0
            for i in range(ns):
                if waiting[i] and v[i]:
                    sent[i].append(cycle)
                    pos[i] += 1
                    waiting[i] = False
                    ctx.set(sources[i][0].valid, 0)
                    moved += 1
            for k in range(nk):
                valid, word = v[ns + 2 * k], v[ns + 2 * k + 1]
                prev = last[k]
                if prev is not None and prev[0] and not prev[2]:
                    if not valid or word != prev[1]:
                        raise AssertionError(
                            f"cycle {cycle}: sink {k} dropped valid or changed its payload "
                            f"while ready was low (was {prev[1]:#x}, now valid={valid} "
                            f"{word:#x})")
                last[k] = (valid, word, readies[k])
                if valid and readies[k]:
                    received[k].append((cycle, word))
                    moved_total += 1
                    moved += 1
            for j, alarm in enumerate(v[ns + 2 * nk:]):
                if alarm:
                    raise AssertionError(f"cycle {cycle}: alarm {alarms[j].name} is high")
            cycle += 1
            quiet = 0 if moved else quiet + 1
            if quiet >= watchdog:
                raise FabricStall(f"cycle {cycle}: {total - moved_total} packet(s) pending "
                                  f"and nothing moved for {watchdog} cycles")
            if moved_total >= total and all(p == len(w) for p, (_, w) in zip(pos, sources)):
                tail_left -= 1
                if tail_left <= 0:
                    break
            if cycle >= max_cycles:
                raise FabricStall(f"gave up after {max_cycles} cycles")
        result["cycles"] = cycle

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    return sent, received, result["cycles"]
