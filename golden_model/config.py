"""Structural configuration: what the hardware is built with.

A :class:`CoreConfig` fixes everything that changes the gateware of one neuron core (sizes,
widths, leak and reset modes, lanes).  An :class:`ArrayConfig` tiles cores onto a mesh.  The
RTL generators and the golden model both read these objects and nothing else, so there is one
source of truth for every parameter.  What a trained network puts *into* that hardware at run
time (weights, thresholds, leaks, routes, phases) lives in :mod:`.network`.

All values are checked on construction; a bad one raises :class:`ConfigError` naming the field,
the expected range and the value.
"""

import dataclasses
import json
import math

from .checks import ConfigError, check_bool, check_choice, check_int, signed_range

__all__ = ["CoreConfig", "ArrayConfig", "LEAK_MODES", "RESET_MODES", "COMPARE_MODES"]

LEAK_MODES = ("shift", "mult")
RESET_MODES = ("zero", "subtract")
COMPARE_MODES = ("ge", "gt")


@dataclasses.dataclass(frozen=True)
class CoreConfig:
    """One leaky integrate-and-fire core (see ``docs/semantics.md`` for the equations).

    Parameters
    ----------
    neurons : int
        Neurons N in the core, 1 to 65,536, a multiple of ``lanes``.
    axons : int
        Input lines A (synaptic rows), 1 to 65,536.  The synaptic memory holds A x N weights.
    weight_bits : int
        Width W of a signed weight, 1 to 8.  Weights lie in ``[-2**(W-1), 2**(W-1) - 1]``; the
        per-neuron bias has the same width.
    membrane_bits : int
        Width V of the signed membrane potential, W to 32 (at least 2).  The membrane saturates
        at the ends of its range; it never wraps.
    acc_bits : int or None
        Width of the signed per-neuron input accumulator, W to 32.  ``None`` picks
        ``W + ceil(log2(A))``, enough for one event on every axon in a timestep.  The sum of a
        timestep's inputs is exact for up to ``max_events = 2**(acc_bits - W)`` events.
    cuba : bool
        Add a synaptic current state (current-based LIF): inputs feed the current, the current
        feeds the membrane.
    current_bits : int
        Width of the signed synaptic current, 2 to 32 (used when ``cuba``).
    leak : str
        ``"shift"``: ``decay(x) = x - (x >> k)``; ``"mult"``: ``decay(x) = (x * alpha) >> F``.
    decay_frac_bits : int
        F, the fraction bits of the multiplicative decay factor, 1 to 16.
    reset : str
        ``"zero"`` sets the membrane to 0 after a spike, ``"subtract"`` subtracts the threshold.
    compare : str
        ``"ge"`` fires when ``v >= threshold``, ``"gt"`` when ``v > threshold``.
    refractory_bits : int
        Width of the refractory counter, 0 (no refractory period) to 8.
    lanes : int
        Neurons L updated per clock cycle in the RTL, 1 to 64.  Does not change results.
    """

    neurons: int
    axons: int
    weight_bits: int = 8
    membrane_bits: int = 16
    acc_bits: int | None = None
    cuba: bool = False
    current_bits: int = 16
    leak: str = "shift"
    decay_frac_bits: int = 8
    reset: str = "zero"
    compare: str = "ge"
    refractory_bits: int = 0
    lanes: int = 1

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "neurons", check_int("neurons", self.neurons, 1, 65536))
        set_(self, "axons", check_int("axons", self.axons, 1, 65536))
        set_(self, "weight_bits", check_int("weight_bits", self.weight_bits, 1, 8))
        set_(self, "membrane_bits", check_int("membrane_bits", self.membrane_bits,
                                              max(2, self.weight_bits), 32))
        if self.acc_bits is None:
            set_(self, "acc_bits", _default_acc_bits(self.weight_bits, self.axons))
        set_(self, "acc_bits", check_int("acc_bits", self.acc_bits,
                                         max(2, self.weight_bits), 32))
        set_(self, "cuba", check_bool("cuba", self.cuba))
        set_(self, "current_bits", check_int("current_bits", self.current_bits, 2, 32))
        check_choice("leak", self.leak, LEAK_MODES)
        set_(self, "decay_frac_bits", check_int("decay_frac_bits", self.decay_frac_bits, 1, 16))
        check_choice("reset", self.reset, RESET_MODES)
        check_choice("compare", self.compare, COMPARE_MODES)
        set_(self, "refractory_bits", check_int("refractory_bits", self.refractory_bits, 0, 8))
        set_(self, "lanes", check_int("lanes", self.lanes, 1, 64))
        if self.neurons % self.lanes:
            raise ConfigError(f"neurons: expected a multiple of lanes={self.lanes}, "
                              f"got {self.neurons}")

    # Derived quantities; the RTL sizes its memories and ports from these.
    @property
    def rows(self):
        """Memory rows per axon (and per state field): ``neurons // lanes``."""
        return self.neurons // self.lanes

    @property
    def max_events(self):
        """Events per timestep up to which the input sum is exact (see ``acc_bits``)."""
        return 1 << (self.acc_bits - self.weight_bits)

    @property
    def weight_range(self):
        return signed_range(self.weight_bits)

    @property
    def membrane_range(self):
        return signed_range(self.membrane_bits)

    @property
    def current_range(self):
        return signed_range(self.current_bits)

    @property
    def acc_range(self):
        return signed_range(self.acc_bits)

    @property
    def max_leak(self):
        """Largest leak parameter: shift ``k`` up to V (0 disables), or ``alpha`` up to 2**F."""
        return self.membrane_bits if self.leak == "shift" else 1 << self.decay_frac_bits

    @property
    def max_current_leak(self):
        return self.current_bits if self.leak == "shift" else 1 << self.decay_frac_bits

    @property
    def max_refractory(self):
        return (1 << self.refractory_bits) - 1

    @property
    def max_bias_shift(self):
        """``bias << bias_shift`` stays within the membrane range."""
        return self.membrane_bits - self.weight_bits

    @property
    def axon_bits(self):
        return max(1, (self.axons - 1).bit_length())

    @property
    def neuron_bits(self):
        return max(1, (self.neurons - 1).bit_length())

    def replace(self, **changes):
        """Return a copy with ``changes`` applied (and checked).

        A defaulted ``acc_bits`` is derived again from the new ``weight_bits`` and ``axons``.
        """
        if "acc_bits" not in changes and self.acc_bits == _default_acc_bits(self.weight_bits,
                                                                           self.axons):
            changes["acc_bits"] = None
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data):
        _check_keys("core", data, {f.name for f in dataclasses.fields(cls)},
                    required={"neurons", "axons"})
        return cls(**data)


@dataclasses.dataclass(frozen=True)
class ArrayConfig:
    """Cores tiled on a 2D mesh of routers, ticked in phases.

    Parameters
    ----------
    cores : tuple of CoreConfig
        The cores, placed on the mesh row by row: core ``c`` sits at row ``c // cols``, column
        ``c % cols``.  Cores may differ in size and mode.
    mesh : (rows, cols)
        Mesh shape, each 1 to 8; ``rows * cols`` must be at least ``len(cores)``.
    phases : int
        Number of tick phases, 1 to 16.  Every core has a phase; in a timestep the phases tick
        in ascending order.
    routes_per_core : int or None
        Capacity of each core's routing table (fan-out entries), 1 to 65,536.  ``None``
        gives ``2 * neurons`` of the largest core.
    """

    cores: tuple
    mesh: tuple | None = None
    phases: int = 4
    routes_per_core: int | None = None

    def __post_init__(self):
        set_ = object.__setattr__
        if isinstance(self.cores, CoreConfig):
            cores = (self.cores,)
        elif isinstance(self.cores, (list, tuple)):
            cores = tuple(self.cores)
        else:
            raise ConfigError(f"cores: expected a CoreConfig or a sequence of them, got "
                              f"{self.cores!r}")
        if not cores:
            raise ConfigError("cores: expected at least one CoreConfig, got none")
        for i, core in enumerate(cores):
            if not isinstance(core, CoreConfig):
                raise ConfigError(f"cores[{i}]: expected a CoreConfig, got {core!r}")
        set_(self, "cores", cores)
        if self.mesh is None:
            cols = math.ceil(math.sqrt(len(cores)))
            set_(self, "mesh", (math.ceil(len(cores) / cols), cols))
        if not isinstance(self.mesh, (tuple, list)) or len(self.mesh) != 2:
            raise ConfigError(f"mesh: expected (rows, cols), got {self.mesh!r}")
        rows = check_int("mesh[0] (rows)", self.mesh[0], 1, 8)
        cols = check_int("mesh[1] (cols)", self.mesh[1], 1, 8)
        set_(self, "mesh", (rows, cols))
        if rows * cols < len(cores):
            raise ConfigError(f"mesh: expected at least {len(cores)} positions for "
                              f"{len(cores)} cores, got {rows}x{cols} = {rows * cols}")
        set_(self, "phases", check_int("phases", self.phases, 1, 16))
        if self.routes_per_core is None:
            set_(self, "routes_per_core", 2 * max(c.neurons for c in cores))
        set_(self, "routes_per_core",
             check_int("routes_per_core", self.routes_per_core, 1, 65536))

    @classmethod
    def uniform(cls, core, count, **kwargs):
        """Return an array of ``count`` identical cores."""
        count = check_int("count", count, 1, 64)
        return cls(cores=(core,) * count, **kwargs)

    @property
    def n_cores(self):
        return len(self.cores)

    @property
    def neurons(self):
        return sum(c.neurons for c in self.cores)

    @property
    def synapses(self):
        return sum(c.neurons * c.axons for c in self.cores)

    def position(self, core):
        """Return the mesh position ``(row, col)`` of ``core``."""
        core = check_int("core", core, 0, self.n_cores - 1)
        return divmod(core, self.mesh[1])

    def to_dict(self):
        return {"cores": [c.to_dict() for c in self.cores], "mesh": list(self.mesh),
                "phases": self.phases, "routes_per_core": self.routes_per_core}

    @classmethod
    def from_dict(cls, data):
        _check_keys("array", data, {"cores", "mesh", "phases", "routes_per_core"},
                    required={"cores"})
        data = dict(data)
        if not isinstance(data["cores"], (list, tuple)):
            raise ConfigError(f"array.cores: expected a list of core mappings, got "
                              f"{data['cores']!r}")
        data["cores"] = tuple(CoreConfig.from_dict(c) for c in data["cores"])
        if "mesh" in data and data["mesh"] is not None:
            data["mesh"] = tuple(data["mesh"])
        return cls(**data)

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"array config: not valid JSON ({exc})") from exc
        return cls.from_dict(data)


def _default_acc_bits(weight_bits, axons):
    """Enough accumulator bits for one event on every axon in a timestep."""
    if not isinstance(axons, int) or axons < 1 or not isinstance(weight_bits, int):
        return None   # the field checks report the bad value
    return max(2, weight_bits + math.ceil(math.log2(axons)))


def _check_keys(what, data, allowed, required=()):
    if not isinstance(data, dict):
        raise ConfigError(f"{what}: expected a mapping, got {type(data).__name__}")
    unknown = set(data) - allowed
    if unknown:
        raise ConfigError(f"{what}: unknown field(s) {sorted(unknown)}; "
                          f"expected some of {sorted(allowed)}")
    missing = set(required) - set(data)
    if missing:
        raise ConfigError(f"{what}: missing field(s) {sorted(missing)}")
