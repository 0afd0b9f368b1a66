"""Network helpers and serialization: Network.single, assign_phases, save/load, JSON."""

import gc
import io
import json
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spikeforge.golden_model import (HOST, ArrayConfig, ConfigError, CoreConfig, CoreParams,
                                     Network, Routes, Simulator, assign_phases)

from .helpers import PROPERTY, chain, core_configs, inputs_for, networks

SCALARS = ("bias_shift", "threshold", "leak", "current_leak", "refractory", "phase")


def assert_same_network(a, b):
    assert a.array == b.array
    for p, q in zip(a.cores, b.cores, strict=True):
        assert p.config == q.config
        np.testing.assert_array_equal(p.weights, q.weights)
        np.testing.assert_array_equal(p.bias, q.bias)
        assert p.scalars() == q.scalars()
    for r, s in zip(a.routes, b.routes, strict=True):
        for k in ("source", "core", "axon"):
            np.testing.assert_array_equal(getattr(r, k), getattr(s, k))


# -- Network.single and assign_phases ------------------------------------------------------

def test_single_routes_every_neuron_to_host_by_default():
    p = CoreParams(CoreConfig(neurons=3, axons=1), np.zeros((1, 3)))
    r = Network.single(p).routes[0]
    assert r.source.tolist() == [0, 1, 2] and r.core.tolist() == [HOST] * 3
    assert Network.single(p).array.phases == 1


def test_single_keeps_an_explicitly_empty_routing_table():
    # Routes.empty() has len 0 and is falsy; it must not be replaced by the default host routes
    p = CoreParams(CoreConfig(neurons=3, axons=1), np.zeros((1, 3)))
    assert len(Network.single(p, Routes.empty()).routes[0]) == 0


def routes_of(*tables):
    return [Routes.from_list(t) for t in tables]


@pytest.mark.parametrize("tables, phases", [
    (([(0, 1, 0)], [(0, 2, 0)], [(0, HOST, 0)]), [0, 1, 2]),          # chain
    (([(0, 1, 0), (0, 2, 0)], [(0, 3, 0)], [(0, 3, 0)], []), [0, 1, 1, 2]),   # diamond
    (([(0, 0, 0)], [(0, 1, 0), (0, HOST, 0)]), [0, 0]),                 # self routes only
    (([], [(0, 0, 0)], [(0, 1, 0)]), [2, 1, 0]),                        # backwards numbering
    (([(0, 2, 0)], [(0, 2, 0)], [], [(0, 1, 0)]), [0, 1, 2, 0]),        # longest path wins
])
def test_assign_phases(tables, phases):
    assert assign_phases(len(tables), routes_of(*tables)) == phases


def test_assigned_phases_make_a_chain_zero_delay():
    tables = ([], [(0, 0, 0)], [(0, 1, 0)])          # core 2 -> core 1 -> core 0 -> nowhere
    phases = assign_phases(3, routes_of(*tables))
    net = chain(phases, routes=[[(0, HOST, 0)], [(0, 0, 0)], [(0, 1, 0)]])
    res = Simulator(net).run(np.array([[0, 0, 1], [0, 0, 0]]))
    assert res.spikes.tolist() == [[True, True, True], [False, False, False]]


# -- save / load ---------------------------------------------------------------------------

@PROPERTY
@given(data=st.data())
def test_save_load_round_trip(tmp_path_factory, data):
    net = data.draw(networks())
    path = tmp_path_factory.mktemp("net") / "net.npz"
    net.save(path)
    back = Network.load(path)
    assert_same_network(net, back)
    inputs = data.draw(inputs_for(net))
    try:
        a = Simulator(net).run(inputs, record=True)
    except ConfigError:
        return
    b = Simulator(back).run(inputs, record=True)
    np.testing.assert_array_equal(a.spikes, b.spikes)
    np.testing.assert_array_equal(a.membrane, b.membrane)


def test_save_load_file_object():
    net = chain([0, 1, 2])
    buf = io.BytesIO()
    net.save(buf)
    buf.seek(0)
    assert_same_network(net, Network.load(buf))


@PROPERTY
@given(st.lists(core_configs(max_neurons=64, max_axons=64), min_size=1, max_size=4),
       st.integers(1, 16))
def test_array_config_json_round_trip(cores, phases):
    arr = ArrayConfig(tuple(cores), phases=phases)
    back = ArrayConfig.from_json(arr.to_json())
    assert back == arr
    assert ArrayConfig.from_dict(json.loads(arr.to_json())) == arr


@pytest.fixture
def saved(tmp_path):
    net = chain([0, 1], routes=[[(0, 1, 0)], [(0, HOST, 0)]])
    path = tmp_path / "net.npz"
    net.save(path)
    return path


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def meta(obj):
    return np.frombuffer(json.dumps(obj).encode(), np.uint8)


def load_refused(path):
    """Return the ConfigError message of loading ``path``, and the ResourceWarnings raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        msg = None
        try:
            Network.load(path)
        except ConfigError as exc:
            msg = str(exc)
        gc.collect()        # a leaked file object warns when it is collected
    return msg, [w for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.mark.parametrize("keep", [0, 10, 100, 0.5, -22, -1])
def test_truncated_file(saved, keep):
    blob = saved.read_bytes()
    n = int(len(blob) * keep) if isinstance(keep, float) else keep % len(blob)
    saved.write_bytes(blob[:n])
    msg, leaked = load_refused(saved)
    assert msg is not None and "not a readable spikeforge network" in msg
    assert not leaked, "Network.load left the file open: " + str(leaked[0].message)


def corrupt_positions():
    # every byte inside the compressed members (found from the zip directory)
    net = chain([0, 1], routes=[[(0, 1, 0)], [(0, HOST, 0)]])
    buf = io.BytesIO()
    net.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        info = z.infolist()[0]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    return buf.getvalue(), range(start, start + info.compress_size)


def test_corrupted_compressed_data():
    # a flipped byte in a compressed member raises ConfigError, not zlib.error
    blob, positions = corrupt_positions()
    failures = []
    for pos in positions:
        bad = bytearray(blob)
        bad[pos] ^= 0xFF
        try:
            Network.load(io.BytesIO(bytes(bad)))
        except ConfigError:
            pass
        except Exception as exc:   # noqa: BLE001 -- any other exception is the failure
            failures.append((pos, type(exc).__name__, str(exc)))
    assert not failures, failures[:3]


def test_not_a_zip(tmp_path):
    (tmp_path / "x.npz").write_text("hello")
    msg, leaked = load_refused(tmp_path / "x.npz")
    assert msg is not None and "not a readable spikeforge network" in msg
    assert not leaked


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not a readable spikeforge network"):
        Network.load(tmp_path / "nothing.npz")


def test_wrong_format(tmp_path):
    path = write_npz(tmp_path / "x.npz", meta=meta({"format": "other"}))
    with pytest.raises(ConfigError, match=r"format: expected 'spikeforge-network', got 'other'"):
        Network.load(path)


def test_meta_not_json(tmp_path):
    path = write_npz(tmp_path / "x.npz", meta=np.frombuffer(b"{not json", np.uint8))
    with pytest.raises(ConfigError, match="not a readable spikeforge network"):
        Network.load(path)


@pytest.mark.parametrize("bad_meta", [
    [], "text", {"format": "spikeforge-network"},
    {"format": "spikeforge-network", "array": {"phases": 1}, "cores": []},
])
def test_malformed_meta(tmp_path, bad_meta):
    path = write_npz(tmp_path / "x.npz", meta=meta(bad_meta))
    with pytest.raises(ConfigError):
        Network.load(path)


def test_missing_member(saved, tmp_path):
    with np.load(saved) as f:
        data = {k: f[k] for k in f.files if k != "weights1"}
    path = write_npz(tmp_path / "y.npz", **data)
    with pytest.raises(ConfigError, match="incomplete"):
        Network.load(path)


def test_out_of_range_content(saved, tmp_path):
    with np.load(saved) as f:
        data = {k: f[k] for k in f.files}
    data["weights0"] = np.array([[1000]])
    path = write_npz(tmp_path / "y.npz", **data)
    with pytest.raises(ConfigError, match=r"weights\[0, 0\]: expected an integer in "
                                          r"\[-128, 127\], got 1000"):
        Network.load(path)


@pytest.mark.parametrize("text, parts", [
    ("{not json", ("array config", "not valid JSON")),
    ("[]", ("array", "expected a mapping", "list")),
    ('{"cores": [], "colour": 1}', ("array", "unknown field", "colour")),
    ('{"cores": [{"neurons": 0, "axons": 1}]}', ("neurons", "[1, 65536]", "got 0")),
    ('{"cores": [{"neurons": 1, "axons": 1, "size": 2}]}', ("core", "unknown field", "size")),
    ('{"cores": [5]}', ("core", "expected a mapping", "int")),
    ("{}", ("cores", "missing")),
    ('{"cores": [{"neurons": 1}]}', ("axons", "missing")),
])
def test_bad_array_json(text, parts):
    with pytest.raises(ConfigError) as info:
        ArrayConfig.from_json(text)
    for part in parts:
        assert part in str(info.value)
