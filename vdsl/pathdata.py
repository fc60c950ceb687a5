"""Parse SVG path data into vdsl's absolute, normalised path segments (and bound and serialise them)."""

from __future__ import annotations

import math
import re
from typing import NoReturn

__all__ = [
    "PathDataError",
    "PathBudgetExceeded",
    "parse_path_data",
    "segments_bounds",
    "segments_to_d",
]


class PathDataError(Exception):
    """Malformed SVG path data; ``offset`` is the 0-based index into the d string."""

    def __init__(self, message: str, offset: int):
        super().__init__(f"{message} (at offset {offset})")
        self.message = message
        self.offset = offset


class PathBudgetExceeded(PathDataError):
    """The path data would produce more segments than ``max_segments`` allows."""


# ---------------------------------------------------------------- tokens
# SVG white space (SVG 2 adds form feed).  Written out: `\s` would accept Unicode spaces.
_W = "[ \\t\\n\\r\\f]"
# One number (SVG 2 grammar).  Atomic, so "12" can never be split into "1" "2"
# by backtracking; ASCII digits only (`\d` would accept e.g. Arabic-Indic digits).
_NUM_BODY = r"(?>[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
_NUM = "(" + _NUM_BODY + ")"
_FLAG = "([01])"
_LEAD = _W + "*+"  # before a command's first number
_SEP = _W + "*+(?:," + _W + "*+)?+"  # comma-wsp? between numbers / argument sets

_WS_RE = re.compile(_LEAD)
_SEP_RE = re.compile(_SEP)
_NUM_RE = re.compile(_NUM)
_FLAG_RE = re.compile(_FLAG)
_NONFINITE_RE = re.compile(r"[+-]?(?:nan|inf(?:inity)?)", re.IGNORECASE)

# argument kinds per command: n = number, f = arc flag
_ARGS = {
    "M": "nn",
    "L": "nn",
    "H": "n",
    "V": "n",
    "C": "nnnnnn",
    "S": "nnnn",
    "Q": "nnnn",
    "T": "nn",
    "A": "nnnffnn",
    "Z": "",
}
_NUMBER_START = frozenset("0123456789.+-")


def _set_pattern(kinds: str, lead: str) -> "re.Pattern[str]":
    parts = [lead]
    for i, k in enumerate(kinds):
        if i:
            parts.append(_SEP)
        parts.append(_NUM if k == "n" else _FLAG)
    return re.compile("".join(parts))


# command letter -> (upper letter, is_relative, first-set regex, repeat-set regex)
_CMDS: dict[str, tuple[str, bool, "re.Pattern[str] | None", "re.Pattern[str] | None"]] = {}
for _up, _kinds in _ARGS.items():
    _first = _set_pattern(_kinds, _LEAD) if _kinds else None
    _rep = _set_pattern(_kinds, _SEP) if _kinds else None
    _CMDS[_up] = (_up, False, _first, _rep)
    _CMDS[_up.lower()] = (_up, True, _first, _rep)
del _up, _kinds, _first, _rep

_INF = math.inf


def _skip(pattern: "re.Pattern[str]", d: str, pos: int) -> int:
    """End of `pattern` (white space or a separator, which may be empty, so it always matches) at pos."""
    m = pattern.match(d, pos)
    assert m is not None  # every use is a pattern that matches the empty string
    return m.end()


def _found(d: str, pos: int) -> str:
    if pos >= len(d):
        return "the end of the data"
    return repr(d[pos])


def _nonfinite_at(d: str, pos: int) -> None:
    m = _NONFINITE_RE.match(d, pos)
    if m is not None:
        raise PathDataError(f"non-finite number {m.group(0)!r} is not allowed", pos)


def _diagnose(d: str, pos: int, letter: str, first: bool) -> NoReturn:
    """Re-scan an argument set that failed to match, one token at a time, and raise the error."""
    kinds = _ARGS[letter.upper()]
    count = len(kinds)
    p = pos
    for i, k in enumerate(kinds):
        q = _skip(_WS_RE if (i == 0 and first) else _SEP_RE, d, p)
        m = (_NUM_RE if k == "n" else _FLAG_RE).match(d, q)
        if m is None:
            _nonfinite_at(d, q)
            if i == 0 and not first:
                if q > p and "," in d[p:q]:
                    raise PathDataError(f"expected a number after ',', found {_found(d, q)}", q)
                raise PathDataError(f"expected a number or a command, found {_found(d, q)}", q)
            if k == "f" and q < len(d) and d[q] in _NUMBER_START:
                raise PathDataError(f"arc flag must be 0 or 1, found {_found(d, q)}", q)
            msg = f"command {letter} needs {count} numbers, got {i}"
            if q < len(d):
                msg += f", found {_found(d, q)}"
            raise PathDataError(msg, q)
        p = m.end()
    raise PathDataError(f"malformed arguments for command {letter}", pos)  # pragma: no cover


def _overflow(d: str, m: "re.Match[str]", letter: str) -> NoReturn:
    """A set produced a non-finite value: blame a literal that overflowed, else the arithmetic."""
    for i in range(1, (m.lastindex or 0) + 1):
        if math.isinf(float(m.group(i))):
            raise PathDataError(f"number {m.group(i)!r} is out of range", m.start(i))
    raise PathDataError(f"command {letter} produces a coordinate out of range", m.start(1))


def parse_path_data(d: str, max_segments: int | None = None) -> tuple[tuple, ...]:
    """Parse SVG path data into absolute, normalised segments (see vdsl/ir.py Segment):
    ("M",x,y) ("L",x,y) ("C",x1,y1,x2,y2,x,y) ("Q",x1,y1,x,y) ("A",rx,ry,rot,large,sweep,x,y) ("Z",)

    H/V become L, S/T become C/Q with the reflected control point, relative forms are
    resolved, arcs get absolute radii, a zero-radius arc becomes L and an arc whose end
    point equals its start point is dropped (SVG implementation notes F.6.2).
    Raises PathDataError (or PathBudgetExceeded) on bad input; never any other exception."""
    if not isinstance(d, str):
        raise TypeError("path data must be a str")
    n = len(d)
    pos = _skip(_WS_RE, d, 0)
    if pos >= n:
        return ()
    if d[pos] not in "Mm":
        raise PathDataError(f"path data must start with M or m, found {_found(d, pos)}", pos)
    limit = n + 1 if max_segments is None else max_segments  # n chars never yield n+1 segments
    if limit < 0:
        limit = 0

    out: list[tuple] = []
    append = out.append
    isfinite = math.isfinite
    cx = cy = 0.0  # current point
    sx = sy = 0.0  # start of the current subpath
    kx = ky = 0.0  # last control point of a C/S (prev == "C") or Q/T (prev == "Q")
    prev = ""
    last_z = False

    while True:
        ws = _WS_RE.match(d, pos)  # (inlined _skip: one call less per command)
        assert ws is not None
        pos = ws.end()
        if pos >= n:
            break
        ch = d[pos]
        info = _CMDS.get(ch)
        if info is None:
            _nonfinite_at(d, pos)
            if ch in _NUMBER_START:
                if last_z:
                    raise PathDataError("command Z takes no numbers", pos)
                raise PathDataError(f"expected a command, found {ch!r}", pos)  # pragma: no cover
            if ch == ",":
                raise PathDataError("unexpected ','", pos)
            if ch.isalpha():
                raise PathDataError(f"unknown command {ch!r}", pos)
            raise PathDataError(f"unexpected character {ch!r}", pos)
        up, rel, first_re, rep_re = info
        cmd_pos = pos
        pos += 1
        if up == "Z":
            if len(out) >= limit:
                raise PathBudgetExceeded(f"path has more than {limit} segments", cmd_pos)
            append(("Z",))
            cx, cy = sx, sy
            prev = ""
            last_z = True
            continue
        last_z = False
        assert first_re is not None and rep_re is not None  # only Z has no argument patterns
        m = first_re.match(d, pos)
        if m is None:
            _diagnose(d, pos, ch, True)
        while True:
            pos = m.end()
            if len(out) >= limit:
                raise PathBudgetExceeded(f"path has more than {limit} segments", m.start(1))
            if up == "L" or up == "M":
                x = float(m.group(1))
                y = float(m.group(2))
                if rel:
                    x += cx
                    y += cy
                if not (isfinite(x) and isfinite(y)):
                    _overflow(d, m, ch)
                if up == "M":
                    append(("M", x, y))
                    sx, sy = x, y
                    up = "L"  # extra pairs after M/m are implicit L/l
                else:
                    append(("L", x, y))
                cx, cy = x, y
                prev = ""
            elif up == "H" or up == "V":
                v = float(m.group(1))
                if up == "H":
                    x = v + cx if rel else v
                    y = cy
                else:
                    x = cx
                    y = v + cy if rel else v
                if not (isfinite(x) and isfinite(y)):
                    _overflow(d, m, ch)
                append(("L", x, y))
                cx, cy = x, y
                prev = ""
            elif up == "C":
                x1, y1, x2, y2, x, y = map(float, m.groups())
                if rel:
                    x1 += cx
                    y1 += cy
                    x2 += cx
                    y2 += cy
                    x += cx
                    y += cy
                seg = ("C", x1, y1, x2, y2, x, y)
                if not all(map(isfinite, seg[1:])):
                    _overflow(d, m, ch)
                append(seg)
                cx, cy, kx, ky = x, y, x2, y2
                prev = "C"
            elif up == "S":
                x2, y2, x, y = map(float, m.groups())
                if rel:
                    x2 += cx
                    y2 += cy
                    x += cx
                    y += cy
                if prev == "C":
                    x1 = 2.0 * cx - kx
                    y1 = 2.0 * cy - ky
                else:
                    x1, y1 = cx, cy
                seg = ("C", x1, y1, x2, y2, x, y)
                if not all(map(isfinite, seg[1:])):
                    _overflow(d, m, ch)
                append(seg)
                cx, cy, kx, ky = x, y, x2, y2
                prev = "C"
            elif up == "Q":
                x1, y1, x, y = map(float, m.groups())
                if rel:
                    x1 += cx
                    y1 += cy
                    x += cx
                    y += cy
                qseg = ("Q", x1, y1, x, y)
                if not all(map(isfinite, qseg[1:])):
                    _overflow(d, m, ch)
                append(qseg)
                cx, cy, kx, ky = x, y, x1, y1
                prev = "Q"
            elif up == "T":
                x = float(m.group(1))
                y = float(m.group(2))
                if rel:
                    x += cx
                    y += cy
                if prev == "Q":
                    x1 = 2.0 * cx - kx
                    y1 = 2.0 * cy - ky
                else:
                    x1, y1 = cx, cy
                qseg = ("Q", x1, y1, x, y)
                if not all(map(isfinite, qseg[1:])):
                    _overflow(d, m, ch)
                append(qseg)
                cx, cy, kx, ky = x, y, x1, y1
                prev = "Q"
            else:  # "A"
                g = m.groups()
                rx = abs(float(g[0]))
                ry = abs(float(g[1]))
                rot = float(g[2])
                large = 1 if g[3] == "1" else 0
                sweep = 1 if g[4] == "1" else 0
                x = float(g[5])
                y = float(g[6])
                if rel:
                    x += cx
                    y += cy
                if not (isfinite(rx) and isfinite(ry) and isfinite(rot) and isfinite(x) and isfinite(y)):
                    _overflow(d, m, ch)
                if x == cx and y == cy:
                    pass  # identical end points: the arc is omitted entirely
                elif rx == 0.0 or ry == 0.0:
                    append(("L", x, y))
                else:
                    append(("A", rx, ry, rot, large, sweep, x, y))
                cx, cy = x, y
                prev = ""
            m = rep_re.match(d, pos)
            if m is None:
                q = _skip(_SEP_RE, d, pos)
                if (q < n and d[q] in _NUMBER_START) or (q > pos and "," in d[pos:q]):
                    _diagnose(d, pos, ch, False)
                break
    return tuple(out)


# ---------------------------------------------------------------- bounds
def _arc_extent(x1: float, y1: float, seg: tuple, acc: list) -> None:
    """Add the extreme points of the SVG arc `seg` starting at (x1, y1) to acc (F.6.5 / F.6.6)."""
    _, rx, ry, rot, large, sweep, x2, y2 = seg
    rx, ry = abs(rx), abs(ry)
    acc.append((x2, y2))
    if (x1 == x2 and y1 == y2) or rx == 0.0 or ry == 0.0:
        return
    phi = math.radians(rot % 360.0)
    cp, sp = math.cos(phi), math.sin(phi)
    dx2, dy2 = (x1 - x2) / 2.0, (y1 - y2) / 2.0
    x1p = cp * dx2 + sp * dy2
    y1p = -sp * dx2 + cp * dy2
    lam = (x1p / rx) ** 2 + (y1p / ry) ** 2
    if lam > 1.0:
        s = math.sqrt(lam)
        rx, ry = rx * s, ry * s
    rx2, ry2 = rx * rx, ry * ry
    den = rx2 * y1p * y1p + ry2 * x1p * x1p
    num = rx2 * ry2 - den
    coef = math.sqrt(num / den) if (den > 0.0 and num > 0.0) else 0.0
    if bool(large) == bool(sweep):
        coef = -coef
    cxp = coef * rx * y1p / ry
    cyp = -coef * ry * x1p / rx
    ccx = cp * cxp - sp * cyp + (x1 + x2) / 2.0
    ccy = sp * cxp + cp * cyp + (y1 + y2) / 2.0
    t1 = math.atan2((y1p - cyp) / ry, (x1p - cxp) / rx)
    t2 = math.atan2((-y1p - cyp) / ry, (-x1p - cxp) / rx)
    dt = t2 - t1
    if sweep and dt < 0.0:
        dt += 2.0 * math.pi
    elif not sweep and dt > 0.0:
        dt -= 2.0 * math.pi
    tx = math.atan2(-ry * sp, rx * cp)  # d x / d theta == 0
    ty = math.atan2(ry * cp, rx * sp)  # d y / d theta == 0
    two_pi = 2.0 * math.pi
    for t in (tx, tx + math.pi, ty, ty + math.pi):
        inside = ((t - t1) % two_pi <= dt + 1e-12) if dt >= 0.0 else ((t1 - t) % two_pi <= -dt + 1e-12)
        if inside:
            ct, st = math.cos(t), math.sin(t)
            acc.append((ccx + rx * cp * ct - ry * sp * st, ccy + rx * sp * ct + ry * cp * st))


def segments_bounds(segments) -> tuple[float, float, float, float] | None:
    """(min_x, min_y, max_x, max_y) over end points and control points (arcs: their end points
    plus the extreme points of the arc itself); None if there are no points."""
    pts: list[tuple[float, float]] = []
    cx = cy = sx = sy = 0.0
    for seg in segments:
        k = seg[0]
        if k == "M":
            cx, cy = sx, sy = seg[1], seg[2]
            pts.append((cx, cy))
        elif k == "L":
            if not pts:
                pts.append((cx, cy))
            cx, cy = seg[1], seg[2]
            pts.append((cx, cy))
        elif k == "C" or k == "Q":
            if not pts:
                pts.append((cx, cy))
            vals = seg[1:]
            pts.extend(zip(vals[0::2], vals[1::2]))
            cx, cy = vals[-2], vals[-1]
        elif k == "A":
            if not pts:
                pts.append((cx, cy))
            _arc_extent(cx, cy, seg, pts)
            cx, cy = seg[6], seg[7]
        elif k == "Z":
            cx, cy = sx, sy
        else:
            raise ValueError(f"unknown segment kind {k!r}")
    if not pts:
        return None
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    return (min(xs), min(ys), max(xs), max(ys))


# ---------------------------------------------------------------- serialise
def _fmt(v: float) -> str:
    v = float(v)
    if abs(v) >= 1e15:
        return format(v, ".17g")
    s = f"{v:.4f}".rstrip("0").rstrip(".")
    if s in ("-0", ""):
        return "0"
    return s


def segments_to_d(segments) -> str:
    """Serialise normalised segments back to compact SVG path data (numbers with at most
    four decimals and no trailing zeros; a space between numbers except before a minus sign)."""
    parts: list[str] = []
    for seg in segments:
        k = seg[0]
        if k not in _ARGS or k == "H" or k == "V" or k == "S" or k == "T":
            raise ValueError(f"unknown segment kind {k!r}")
        parts.append(k)
        first = True
        for i, v in enumerate(seg[1:]):
            if k == "A" and i in (3, 4):
                s = "1" if v else "0"
            else:
                s = _fmt(v)
            if not first and s[0] != "-":
                parts.append(" ")
            parts.append(s)
            first = False
    return "".join(parts)
