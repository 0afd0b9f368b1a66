"""Bad input is refused with a ConfigError naming the field, the expected range and the value."""

import numpy as np
import pytest

from spikeforge.golden_model import (HOST, ArrayConfig, ConfigError, CoreConfig, CoreParams,
                                     Network, Routes, SimulationError, assign_phases)

from .helpers import SIMULATORS, chain

CFG = CoreConfig(neurons=2, axons=3, weight_bits=4, membrane_bits=10, refractory_bits=2)
MULT = CoreConfig(neurons=2, axons=3, leak="mult", decay_frac_bits=8)
W = np.zeros((3, 2), np.int64)


def refused(make, *parts, error=ConfigError):
    """Assert ``make()`` raises ``error`` with every one of ``parts`` in its message."""
    with pytest.raises(error) as info:
        make()
    msg = str(info.value)
    for part in parts:
        assert part in msg, f"{part!r} not in {msg!r}"


def case(make, *parts):
    """One refusal: ``make()`` must raise a ConfigError whose message holds every part."""
    return pytest.param(make, parts, id=" ".join(parts[:2]))


CORE_CONFIG = [
    case(lambda: CoreConfig(0, 1), "neurons", "[1, 65536]", "got 0"),
    case(lambda: CoreConfig(65537, 1), "neurons", "[1, 65536]", "got 65537"),
    case(lambda: CoreConfig("4", 1), "neurons", "integer", "'4'"),
    case(lambda: CoreConfig(4.0, 1), "neurons", "integer", "4.0"),
    case(lambda: CoreConfig(True, 1), "neurons", "integer", "True"),
    case(lambda: CoreConfig(1, 0), "axons", "[1, 65536]", "got 0"),
    case(lambda: CoreConfig(1, 65537), "axons", "[1, 65536]", "got 65537"),
    case(lambda: CoreConfig(1, None), "axons", "integer", "None"),
    case(lambda: CoreConfig(1, 1, weight_bits=0), "weight_bits", "[1, 8]", "got 0"),
    case(lambda: CoreConfig(1, 1, weight_bits=9), "weight_bits", "[1, 8]", "got 9"),
    case(lambda: CoreConfig(1, 1, weight_bits=1, membrane_bits=1), "membrane_bits", "[2, 32]",
         "got 1"),
    case(lambda: CoreConfig(1, 1, membrane_bits=7), "membrane_bits", "[8, 32]", "got 7"),
    case(lambda: CoreConfig(1, 1, membrane_bits=33), "membrane_bits", "[8, 32]", "got 33"),
    case(lambda: CoreConfig(1, 1, acc_bits=7), "acc_bits", "[8, 32]", "got 7"),
    case(lambda: CoreConfig(1, 1, acc_bits=33), "acc_bits", "[8, 32]", "got 33"),
    case(lambda: CoreConfig(1, 1, acc_bits=9.5), "acc_bits", "integer", "9.5"),
    case(lambda: CoreConfig(1, 1, cuba=1), "cuba", "True or False", "got 1"),
    case(lambda: CoreConfig(1, 1, cuba="yes"), "cuba", "True or False", "'yes'"),
    case(lambda: CoreConfig(1, 1, current_bits=1), "current_bits", "[2, 32]", "got 1"),
    case(lambda: CoreConfig(1, 1, current_bits=33), "current_bits", "[2, 32]", "got 33"),
    case(lambda: CoreConfig(1, 1, leak="exp"), "leak", "'shift', 'mult'", "'exp'"),
    case(lambda: CoreConfig(1, 1, leak=None), "leak", "'shift', 'mult'", "None"),
    case(lambda: CoreConfig(1, 1, decay_frac_bits=0), "decay_frac_bits", "[1, 16]", "got 0"),
    case(lambda: CoreConfig(1, 1, decay_frac_bits=17), "decay_frac_bits", "[1, 16]", "got 17"),
    case(lambda: CoreConfig(1, 1, reset="hold"), "reset", "'zero', 'subtract'", "'hold'"),
    case(lambda: CoreConfig(1, 1, compare="le"), "compare", "'ge', 'gt'", "'le'"),
    case(lambda: CoreConfig(1, 1, refractory_bits=-1), "refractory_bits", "[0, 8]", "got -1"),
    case(lambda: CoreConfig(1, 1, refractory_bits=9), "refractory_bits", "[0, 8]", "got 9"),
    case(lambda: CoreConfig(1, 1, lanes=0), "lanes", "[1, 64]", "got 0"),
    case(lambda: CoreConfig(128, 1, lanes=65), "lanes", "[1, 64]", "got 65"),
    case(lambda: CoreConfig(6, 1, lanes=4), "neurons", "multiple of lanes=4", "got 6"),
    case(lambda: CFG.replace(neurons=0), "neurons", "[1, 65536]", "got 0"),
]

ARRAY_CONFIG = [
    case(lambda: ArrayConfig(()), "cores", "at least one CoreConfig", "got none"),
    case(lambda: ArrayConfig((CFG, "x")), "cores[1]", "CoreConfig", "'x'"),
    case(lambda: ArrayConfig(5), "cores", "CoreConfig", "5"),
    case(lambda: ArrayConfig(None), "cores", "CoreConfig", "None"),
    case(lambda: ArrayConfig((CFG,), mesh=(0, 1)), "mesh[0] (rows)", "[1, 8]", "got 0"),
    case(lambda: ArrayConfig((CFG,), mesh=(1, 9)), "mesh[1] (cols)", "[1, 8]", "got 9"),
    case(lambda: ArrayConfig((CFG,), mesh=(1.5, 1)), "mesh[0] (rows)", "integer", "1.5"),
    case(lambda: ArrayConfig((CFG,), mesh=(2,)), "mesh", "(rows, cols)", "(2,)"),
    case(lambda: ArrayConfig((CFG,), mesh=4), "mesh", "(rows, cols)", "4"),
    case(lambda: ArrayConfig((CFG,) * 3, mesh=(1, 2)), "mesh", "at least 3 positions",
         "1x2 = 2"),
    case(lambda: ArrayConfig((CFG,), phases=0), "phases", "[1, 16]", "got 0"),
    case(lambda: ArrayConfig((CFG,), phases=17), "phases", "[1, 16]", "got 17"),
    case(lambda: ArrayConfig((CFG,), phases="2"), "phases", "integer", "'2'"),
    case(lambda: ArrayConfig((CFG,), routes_per_core=0), "routes_per_core", "[1, 65536]",
         "got 0"),
    case(lambda: ArrayConfig((CFG,), routes_per_core=65537), "routes_per_core",
         "[1, 65536]", "got 65537"),
    case(lambda: ArrayConfig.uniform(CFG, 0), "count", "[1, 64]", "got 0"),
    case(lambda: ArrayConfig.uniform(CFG, 65), "count", "[1, 64]", "got 65"),
    case(lambda: ArrayConfig((CFG,)).position(1), "core", "[0, 0]", "got 1"),
]

CORE_PARAMS = [
    case(lambda: CoreParams("cfg", W), "config", "CoreConfig", "'cfg'"),
    case(lambda: CoreParams(CFG, np.zeros((2, 3))), "weights", "shape (3, 2)", "got (2, 3)"),
    case(lambda: CoreParams(CFG, [[0, 0], [0], [0, 0]]), "weights", "shape (3, 2)"),
    case(lambda: CoreParams(CFG, W + [[0, 0], [8, 0], [0, 0]]), "weights[1, 0]", "[-8, 7]",
         "got 8"),
    case(lambda: CoreParams(CFG, W - [[0, 0], [0, 0], [0, 9]]), "weights[2, 1]", "[-8, 7]",
         "got -9"),
    case(lambda: CoreParams(CFG, np.full((3, 2), np.nan)), "weights[0, 0]", "finite integer",
         "nan"),
    case(lambda: CoreParams(CFG, W + [[0, -np.inf], [0, 0], [0, 0]]), "weights[0, 1]",
         "finite integer", "-inf"),
    case(lambda: CoreParams(CFG, W + [[0, 0], [0, 0.5], [0, 0]]), "weights[1, 1]", "integer",
         "0.5"),
    case(lambda: CoreParams(CFG, np.zeros((3, 2), bool)), "weights", "integers", "boolean"),
    case(lambda: CoreParams(CFG, np.full((3, 2), "1")), "weights", "numeric", "dtype"),
    case(lambda: CoreParams(CFG, np.zeros((3, 2), complex)), "weights", "numeric", "complex"),
    case(lambda: CoreParams(CFG, W, bias=[0, 0, 0]), "bias", "shape (2,)", "got (3,)"),
    case(lambda: CoreParams(CFG, W, bias=[0, 8]), "bias[1]", "[-8, 7]", "got 8"),
    case(lambda: CoreParams(CFG, W, bias=[np.nan, 0]), "bias[0]", "finite", "nan"),
    case(lambda: CoreParams(CFG, W, bias_shift=7), "bias_shift", "[0, 6]", "got 7"),
    case(lambda: CoreParams(CFG, W, bias_shift=-1), "bias_shift", "[0, 6]", "got -1"),
    case(lambda: CoreParams(CFG, W, threshold=0), "threshold", "[1, 511]", "got 0"),
    case(lambda: CoreParams(CFG, W, threshold=512), "threshold", "[1, 511]", "got 512"),
    case(lambda: CoreParams(CFG, W, threshold=1.5), "threshold", "integer", "1.5"),
    case(lambda: CoreParams(CFG, W, leak=-1), "leak", "[0, 10]", "got -1"),
    case(lambda: CoreParams(CFG, W, leak=11), "leak", "[0, 10]", "got 11"),
    case(lambda: CoreParams(MULT, W, leak=257), "leak", "[0, 256]", "got 257"),
    case(lambda: CoreParams(CFG, W, current_leak=17), "current_leak", "[0, 16]", "got 17"),
    case(lambda: CoreParams(MULT, W, current_leak=257), "current_leak", "[0, 256]", "got 257"),
    case(lambda: CoreParams(CFG, W, refractory=4), "refractory", "[0, 3]", "got 4"),
    case(lambda: CoreParams(MULT, W, refractory=1), "refractory", "[0, 0]", "got 1"),
    case(lambda: CoreParams(CFG, W, phase=16), "phase", "[0, 15]", "got 16"),
    case(lambda: CoreParams(CFG, W, phase=-1), "phase", "[0, 15]", "got -1"),
]

ROUTES = [
    case(lambda: Routes([[0]], [[0]], [[0]]), "routes.source", "1-D", "(1, 1)"),
    case(lambda: Routes([-1], [0], [0]), "routes.source[0]", "[0, 2147483647]", "got -1"),
    case(lambda: Routes([0, 1], [0, -2], [0, 0]), "routes.core[1]", "[-1, 2147483647]",
         "got -2"),
    case(lambda: Routes([0], [0], [-1]), "routes.axon[0]", "[0, 2147483647]", "got -1"),
    case(lambda: Routes([0, 1], [0], [0, 0]), "routes.core", "shape (2,)", "got (1,)"),
    case(lambda: Routes([0.5], [0], [0]), "routes.source[0]", "integer", "0.5"),
    case(lambda: Routes([0], [np.nan], [0]), "routes.core[0]", "finite", "nan"),
    case(lambda: Routes([[0], [1, 2]], [0, 0], [0, 0]), "routes.source"),
]


def two_cores(phases=(0, 0), n_phases=2, routes=((), ()), routes_per_core=4):
    arr = ArrayConfig((CFG, CFG), phases=n_phases, routes_per_core=routes_per_core)
    cores = tuple(CoreParams(CFG, W, phase=p) for p in phases)
    return Network(arr, cores, tuple(Routes.from_list(r) for r in routes))


def net_with(**kw):
    arr = ArrayConfig((CFG, CFG), phases=2)
    args = dict(array=arr, cores=(CoreParams(CFG, W),) * 2, routes=(Routes.empty(),) * 2)
    args.update(kw)
    return Network(**args)


NETWORK = [
    case(lambda: net_with(array=CFG), "array", "ArrayConfig", "CoreConfig("),
    case(lambda: net_with(cores=(CoreParams(CFG, W),)), "cores", "expected 2 CoreParams",
         "got 1"),
    case(lambda: net_with(cores=None), "cores", "CoreParams", "None"),
    case(lambda: net_with(routes=(Routes.empty(),) * 3), "routes", "expected 2 routing tables",
         "got 3"),
    case(lambda: net_with(cores=(CoreParams(CFG, W), W)), "cores[1]", "CoreParams", "array("),
    case(lambda: net_with(cores=(CoreParams(CFG.replace(lanes=2), W), CoreParams(CFG, W))),
         "cores[0].config", "lanes=1", "lanes=2"),
    case(lambda: two_cores(phases=(0, 2)), "cores[1].phase", "[0, 1]", "got 2"),
    case(lambda: net_with(routes=(Routes.empty(), None)), "routes[1]", "Routes", "None"),
    case(lambda: two_cores(routes=([(0, 1, 0)] * 5, ())), "routes[0]",
         "at most routes_per_core=4", "got 5"),
    case(lambda: two_cores(routes=([(0, 1, 0), (2, 1, 0)], ())), "routes[0].source[1]",
         "[0, 1]", "got 2"),
    case(lambda: two_cores(routes=((), [(0, 2, 0)])), "routes[1].core[0]",
         "[0, 1] or HOST (-1)", "got 2"),
    case(lambda: two_cores(routes=([(0, 1, 3)], ())), "routes[0].axon[0]", "[0, 2]",
         "of core 1", "got 3"),
    case(lambda: two_cores(routes=([(0, HOST, 1)], ())), "routes[0].axon[0]", "[0, 0]",
         "of core -1", "got 1"),
]


@pytest.mark.parametrize("make, parts", CORE_CONFIG + ARRAY_CONFIG + CORE_PARAMS + ROUTES
                         + NETWORK)
def test_refused(make, parts):
    refused(make, *parts)


def test_assign_phases_cycle():
    routes = [Routes.from_list(r) for r in ([(0, 1, 0)], [(0, 2, 0)], [(0, 0, 0), (0, HOST, 0)])]
    refused(lambda: assign_phases(3, routes), "phases", "cycle",
            "core 0 -> core 1 -> core 2 -> core 0")


def test_assign_phases_two_core_cycle_behind_a_chain():
    routes = [Routes.from_list(r) for r in ([(0, 1, 0)], [(0, 2, 0)], [(0, 1, 0)])]
    refused(lambda: assign_phases(3, routes), "cycle", "core 1 -> core 2 -> core 1")


# -- the simulators ------------------------------------------------------------------------

@pytest.fixture(params=SIMULATORS, ids=lambda c: c.__name__)
def sim(request):
    # two one-neuron cores with three axons each (acc_bits 9, weight_bits 8: max_events 2)
    cfg = CoreConfig(neurons=1, axons=3, acc_bits=9)
    arr = ArrayConfig((cfg, cfg), phases=1, routes_per_core=3)
    cores = tuple(CoreParams(cfg, [[1], [1], [1]]) for _ in range(2))
    # core 0 neuron 0 sends to core 1 axons 0, 1 and 2: three events for the next timestep
    routes = (Routes.from_list([(0, 1, 0), (0, 1, 1), (0, 1, 2)]), Routes.empty())
    return request.param(Network(arr, cores, routes))


def test_simulator_needs_a_network():
    for cls in SIMULATORS:
        refused(lambda: cls("net"), "network", "Network", "'net'")


@pytest.mark.parametrize("inputs, parts", [
    (np.zeros((2, 5), np.int64), ("inputs", "(timesteps, 6)", "(2, 5)")),
    (np.zeros(6, np.int64), ("inputs", "(timesteps, 6)", "(6,)")),
    (np.zeros((2, 6)), ("inputs", "boolean or integer", "float64")),
    (np.full((2, 6), "1"), ("inputs", "boolean or integer", "<U1")),
    (np.array([[0, 0, 0, 0, -1, 0]]), ("inputs", ">= 0", "got -1")),
])
def test_bad_run_inputs(sim, inputs, parts):
    refused(lambda: sim.run(inputs), *parts)


def test_too_many_host_events(sim):
    refused(lambda: sim.run(np.array([[0, 0, 0, 3, 0, 0]])), "core 1", "3 events",
            "timestep 0", "max_events=2", error=SimulationError)


def test_max_events_is_allowed(sim):
    res = sim.run(np.array([[0, 0, 0, 1, 1, 0]]))
    assert res.events.tolist() == [0, 2]


def test_too_many_routed_events(sim):
    # neuron 0 of core 0 fires at t0; its three events for t1 exceed core 1's max_events
    refused(lambda: sim.run(np.array([[1, 0, 0, 0, 0, 0], [0] * 6])), "core 1", "3 events",
            "timestep", "max_events=2", error=SimulationError)


def test_simulation_error_is_a_config_error():
    assert issubclass(SimulationError, ConfigError)


def test_bad_step_events():
    from spikeforge.golden_model import Simulator
    s = Simulator(chain([0, 1]))
    refused(lambda: s.step([[0, 0, 0]]), "events", "(k, 2)", "(1, 3)")
    refused(lambda: s.step([[0.0, 0.0]]), "events", "(k, 2)", "float64")
    refused(lambda: s.step([[2, 0]]), "events[0].core", "[0, 1]", "got 2")
    refused(lambda: s.step([[0, 0], [1, 1]]), "events[1].axon", "[0, 0]", "of core 1", "got 1")
    refused(lambda: s.step([[-1, 0]]), "events[0].core", "[0, 1]", "got -1")
