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
