"""The fit model: exact block RAM / SPRAM counts, refusals, and the report."""

import pytest

from spikeforge.fit import FitError, check_fit, fit
from spikeforge.golden_model import ArrayConfig, ConfigError, CoreConfig


def test_default_arrays_fit():
    report = check_fit("ulx3s-85f")
    assert report["block RAM"].required <= 208
    assert report["DSP"].required == 0
    lines = report.table()
    assert lines[0].split()[:3] == ["resource", "required", "available"]
    d = report.to_dict()
    assert d["fits"] and d["resources"]["block RAM"]["available"] == 208


def test_refuses_oversized():
    big = ArrayConfig.uniform(CoreConfig(neurons=2048, axons=1024, weight_bits=8, lanes=8), 8)
    with pytest.raises(FitError, match="block RAM: needs") as info:
        check_fit("ulx3s-85f", big)
    assert isinstance(info.value, ConfigError)        # the CLI reports it as a config error
    assert not fit("icebreaker", big).fits


def test_icebreaker_second_core_has_no_spram():
    core = CoreConfig(neurons=1024, axons=256, weight_bits=4, membrane_bits=8, acc_bits=8,
                      lanes=16)
    report = fit("icebreaker", ArrayConfig((core, core), phases=1, routes_per_core=256))
    assert report["SPRAM"].required == 4
    assert not report.fits                            # core 1's weights need 256 block RAMs
    assert report["block RAM"].required > 256


def test_icebreaker_spram_weights_need_narrow_lanes():
    # 16 lanes x 8-bit weights = 128 bits: wider than the SPRAM bank; block RAM instead.
    core = CoreConfig(neurons=256, axons=64, weight_bits=8, lanes=16)
    report = fit("icebreaker", ArrayConfig((core,), phases=1))
    assert report["SPRAM"].required == 0


def test_mult_leak_needs_dsps():
    core = CoreConfig(neurons=64, axons=16, weight_bits=4, membrane_bits=8, acc_bits=8,
                      lanes=16, leak="mult")
    report = fit("icebreaker", ArrayConfig((core,), phases=1))
    assert report["DSP"].required == 16 and not report["DSP"].fits
    assert fit("icebreaker", ArrayConfig((core.replace(lanes=8),), phases=1))["DSP"].fits


def test_logic_headroom():
    # Many small cores: memory is cheap but the logic estimate passes the 80 % headroom.
    core = CoreConfig(neurons=64, axons=16, weight_bits=4, membrane_bits=16, lanes=8)
    report = fit("ulx3s-12f", ArrayConfig.uniform(core, 16))
    assert not report["logic (LUT4)"].fits
    assert "at most" in " ".join(report.problems())


def test_unknown_board():
    with pytest.raises(ValueError, match="expected one of"):
        fit("de10-nano")
