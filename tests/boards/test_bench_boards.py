"""``spikeforge bench boards`` without building: the sweep points and the plot."""

from spikeforge.bench.boards import SWEEPS, array_for, plot, points


def test_sweep_points():
    pts = list(points(sorted(SWEEPS), quick=False))
    assert len(pts) == len(set((b, tuple(sorted({**SWEEPS[b]["base"], s: v}.items())))
                               for b, s, v in pts))          # no point built twice
    for board, sweep, value in pts:
        arr = array_for(board, sweep, value)
        got = {"lanes": arr.cores[0].lanes, "cores": arr.n_cores,
               "weight_bits": arr.cores[0].weight_bits}[sweep]
        assert got == value
    assert len(list(points(["icebreaker"], quick=True))) == 2


def test_plot_writes_png(tmp_path):
    rows = [{"board": "icebreaker", "sweep": "lanes", "value": v, "logic_cells": 1000 * v,
             "brams": v, "peak_gsop_per_s": 0.03 * v} for v in (2, 4, 8)]
    rows.append({"board": "icebreaker", "sweep": "cores", "value": 2,
                 "error": "RuntimeError: place and route failed"})
    path = tmp_path / "plots" / "b.png"
    plot(rows, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_keeps_every_point_measured(tmp_path, monkeypatch):
    """``--save`` rewrites the file after each point: a sweep stopped part-way keeps them."""
    import argparse
    import json

    from spikeforge.bench import boards as bench

    saved = []

    def fake_build(board_name, array, build_dir):
        if saved:                      # the file already holds every earlier point
            assert len(json.loads(out.read_text())) == len(saved)
        saved.append(array.cores[0].lanes)
        return {"board": board_name, "fmax_mhz": 40.0, "clock_mhz": 27, "logic_cells": 100,
                "brams": 1, "peak_gsop_per_s": 0.1, "seconds": 0}

    out = tmp_path / "sweep" / "points.json"
    monkeypatch.setattr(bench, "build_point", fake_build)
    args = argparse.Namespace(board=["icebreaker"], quick=True, json=False, keep=None,
                              plot=str(tmp_path / "p.png"), save=str(out))
    assert bench.run(args) == 0
    rows = json.loads(out.read_text())
    assert [r["value"] for r in rows] == saved == [2, 4]
    assert all(r["board"] == "icebreaker" and "fits" in r for r in rows)
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
