"""The evaluator: interprets a checked program with a seed under budgets, producing the scene IR (never Python eval)."""

from __future__ import annotations

import math
import random
import sys
import threading
import weakref
from dataclasses import replace
from typing import Any

from . import ir
from . import nodes as n
from .budgets import DEFAULT, Budgets
from .builtins import CONSTANTS, TABLE, Builtin, Param
from .builtins.colors import parse_hex, require_color
from .check import Checked, DefSig
from .deadline import Deadline
from .diagnostics import Diagnostic, Span, range_hint, range_message
from .hints import choice_hint
from .types import COLOR, NUMBER, PAINT, POINT, STRING, Type
from .values import (
    PAINT_CLASSES,
    Color,
    NumRange,
    Point,
    RuntimeFault,
    VList,
    checks_items,
    first_mismatch,
    matches,
    new_list,
    show,
    size_of,
    type_of,
    weight,
)

_isfinite = math.isfinite
# How a prepared argument's value is checked before falling back to Evaluator._convert.
_ANY_ARG, _NUM_ARG, _COLOR_ARG, _POINT_ARG, _STR_ARG, _PAINT_ARG, _INT_ARG = 0, 1, 2, 3, 4, 5, 6
_PAINT_TYPES = frozenset((Color,) + PAINT_CLASSES)
# The evaluator polls the deadline each time this much fuel has been used (see Context.checkpoint).
CHECK_EVERY = 4096
_CHECKS_ITEMS: dict[int, tuple[Type, bool]] = {}  # id(type) -> (type, checks_items(type))


class Plan:
    """How one call site binds its arguments: the ONE statement of the argument rules, worked out once
    from the call and the signature (a builtin's Params from the table, or a def's DefSig).

    `args`, one per argument in the order written: (parameter name, the argument's node, fuel and value
    of a ready literal (0, None when it is not one), check kind, lo, hi, Param or None, type). A ready
    literal is one whose value always passes its parameter unconverted (see _passes), so evaluating it
    is just charging its fuel. `defaults` is what a builtin call starts from; `params` (defs) is, per
    parameter in order, (name, type, check kind or None for `any`, default expression or None, lo, hi,
    Param).
    `missing`: a required parameter no argument binds (E203, raised after the arguments are evaluated);
    `error`: an argument that binds nothing (code, message), raised before. The plain path
    (Evaluator(fast=False)) evaluates every argument and converts it with Evaluator._convert; the fast
    path takes the ready literals and checks `_passes` inline before falling back to the same _convert."""

    __slots__ = ("b", "args", "defaults", "params", "missing", "error", "label")
    b: Builtin  # builtin calls only

    def __init__(self, c: n.Call, b: Builtin | None = None, sig: DefSig | None = None):
        self.error: tuple[str, str] | None = None
        self.label = False  # a def call's `label=` that names its group (not one of its parameters)
        slots: list[tuple[str, Type, int | None, float, float, Param | None]]
        self.params: tuple[tuple[str, Type, int | None, n.Expr | None, float, float, Param], ...] = ()
        if b is not None:
            self.b = b
            slots = [_slot(p) for p in b.params]
            self.defaults = b.defaults
            required = [p.name for p in b.params if p.required]
        else:
            assert sig is not None
            slots = [
                _slot(p) if p.type.name != "any" else (p.name, p.type, None, -math.inf, math.inf, p) for p in sig.params
            ]
            self.defaults = {}
            self.params = tuple(
                (name, t, kind, decl.default, lo, hi, param)
                for (name, t, kind, lo, hi, _), decl, param in zip(slots, sig.node.params, sig.params)
            )
            required = [p.name for p in sig.params if p.required]
        by_name = {slot[0]: slot for slot in slots}
        args: list[tuple[Any, ...]] = []  # unpacked in the hot loops: see the docstring for the fields
        pi = 0
        for a in c.args:
            if a.name is None:
                if pi >= len(slots):
                    self.error = ("E204", f"`{c.name}` takes at most {len(slots)} positional arguments")
                    break
                slot = slots[pi]
                pi += 1
            elif a.name in by_name:
                slot = by_name[a.name]
            elif b is None and a.name == "label":
                slot = ("label", STRING, None, -math.inf, math.inf, None)
                self.label = True
            else:
                self.error = ("E202", f"`{c.name}` has no parameter `{a.name}`")
                break
            name, t, kind, lo, hi, p = slot
            cost, value = _literal(a.value)
            if cost and not (
                _passes(kind, value, p.choices if p is not None else (), lo, hi)
                if kind is not None
                else type(value) is not tuple
            ):
                cost, value = 0, None  # a literal that needs converting (or is an error) goes the long way
            args.append((name, a.value, cost, value, kind, lo, hi, p, t))
        self.args = tuple(args)
        bound = {a[0] for a in args}
        self.missing = next((r for r in required if r not in bound), None)

    def fault(self, c: n.Call) -> RuntimeFault:
        """The binding error of a call the checker would have rejected."""
        if self.error is not None:  # pragma: no cover - the checker rejects these
            return RuntimeFault(self.error[0], self.error[1], span=c.span)
        return RuntimeFault("E203", f"`{c.name}` needs argument `{self.missing}`", span=c.span)


def _literal(e) -> tuple[int, object]:
    """(fuel steps, value) of a literal that always evaluates to the same immutable value, else (0, None)."""
    t = type(e)
    if t is n.Number or t is n.Percent or t is n.String or t is n.Bool:
        return 1, e.value
    if t is n.ColorLit:
        v = parse_hex(e.raw)
        return (1, v) if v is not None else (0, None)
    if t is n.PointLit:
        (cx, x), (cy, y) = _literal(e.x), _literal(e.y)
        if cx and cy and type(x) is float and type(y) is float:
            return 1 + cx + cy, Point(x, y)
    elif t is n.Unary and e.op in ("-", "+"):
        c, u = _literal(e.operand)
        if c and type(u) is float:
            return 1 + c, -u if e.op == "-" else u
    elif t is n.ListLit:  # as a tuple: expr() returns a fresh list each time
        items = [_literal(i) for i in e.items]
        if all(c and type(v) in (float, str, Point, Color) for c, v in items):
            return 1 + sum(c for c, _ in items), tuple(v for _, v in items)
    return 0, None


def _slot(p: Param) -> tuple:
    """(name, type, check kind, lo, hi, Param): how a parameter's argument is checked."""
    kind = _INT_ARG if p.integer else _arg_kind(p.type)
    return (p.name, p.type, kind, -math.inf if p.min is None else p.min, math.inf if p.max is None else p.max, p)


def _arg_kind(t: Type) -> int:
    return (
        _NUM_ARG
        if t is NUMBER
        else _PAINT_ARG
        if t is PAINT
        else _COLOR_ARG
        if t in (COLOR, PAINT)
        else _POINT_ARG
        if t is POINT
        else _STR_ARG
        if t is STRING
        else _ANY_ARG
    )


def _passes(kind: int, v, choices, lo=-math.inf, hi=math.inf) -> bool:
    """Whether Evaluator._convert would return v unchanged (for a parameter with these choices and
    range, or for a def's parameter with none): its common cases, without the general checks."""
    if kind == _NUM_ARG:
        return type(v) is float and lo <= v <= hi and v - v == 0.0
    if kind == _INT_ARG:
        return type(v) is float and lo <= v <= hi and v.is_integer()
    if kind == _COLOR_ARG:
        return type(v) is Color and not choices
    if kind == _POINT_ARG:
        return type(v) is Point and not choices and _isfinite(v.x) and _isfinite(v.y)
    if kind == _STR_ARG:
        return type(v) is str and (not choices or v in choices)
    if kind == _PAINT_ARG:
        return type(v) in _PAINT_TYPES and not choices
    return False


_PREPARED: "weakref.WeakKeyDictionary[n.Program, tuple[dict, dict]]" = weakref.WeakKeyDictionary()


def _prepared(program: n.Program) -> tuple[dict, dict]:
    """({Call node: Plan}, {node: _literal(node)}), kept while the program lives: both depend only on
    the node (and the builtin table), so every evaluation of the program shares them."""
    d = _PREPARED.get(program)
    if d is None:
        d = _PREPARED[program] = ({}, {})
    return d


def _deeper_than(k: int) -> bool:
    """Whether this thread's Python stack holds more than k frames (walking at most k of them)."""
    try:
        sys._getframe(k)
    except ValueError:
        return False
    return True


def _on_fresh_stack(fn, *args):
    """fn(*args) in a new thread, waited for: Python counts frames against the recursion limit per
    thread, so deep (but budgeted) evaluation goes on there instead of raising the process-wide limit."""
    out: list = []

    def work():
        try:
            out.append((True, fn(*args)))
        except BaseException as e:  # re-raised in the waiting thread
            out.append((False, e))

    t = threading.Thread(target=work, name="vdsl-evaluate", daemon=True)
    try:
        t.start()
    except RuntimeError:  # no thread to be had (e.g. under a tight address-space cap): go on here
        return fn(*args)
    t.join()
    ok, v = out[0]
    if ok:
        return v
    raise v


class _Return:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class _Env:
    """A scope of values; function calls start a fresh one whose parent is their module's globals."""

    __slots__ = ("vars", "parent")

    def __init__(self, parent: "_Env | None"):
        self.vars: dict = {}
        self.parent = parent

    def get(self, name: str):
        e: _Env | None = self
        while e is not None:
            v = e.vars
            if name in v:
                return v[name]
            e = e.parent
        raise KeyError(name)

    def set_existing(self, name: str, value) -> None:
        e: _Env | None = self
        while e is not None:
            if name in e.vars:
                e.vars[name] = value
                return
            e = e.parent
        raise KeyError(name)


class Context:
    """What builtins see while a program runs: the RNG, the budgets, the fuel left, the deadline and the
    scene under construction.

    Cost model: every statement and expression costs one unit of fuel, and work that grows with a
    value (a builtin's Cost, comparing or joining lists and strings, materialising a range) costs
    fuel in proportion, charged before the work is done; every list's expanded size (nested lists
    and their strings included) stays within the collection budget. So evaluation takes time and
    memory linear in the fuel used (bench/bench_cost.py measures the constant)."""

    def __init__(self, seed: int, budgets: Budgets, deadline: Deadline | None = None):
        self.rng = random.Random(seed)
        self.budgets = budgets
        self.deadline = deadline if deadline is not None else Deadline(budgets.time_limit)
        # Fuel is spent from a window of at most CHECK_EVERY units (`fuel`, counted down inline by the
        # evaluator); `reserve` holds the rest. When the window runs out, checkpoint() polls the
        # deadline and refills it, so the hot path tests only `fuel < 0`.
        self.fuel = min(CHECK_EVERY, budgets.fuel)
        self.reserve = budgets.fuel - self.fuel
        self.loops = budgets.loop_iterations
        self.primitives = 0
        self.segments = 0
        self.text_chars = 0
        self.depth = 0
        self.width, self.height = 512, 512
        self.background: ir.RGBA | None = (1.0, 1.0, 1.0, 1.0)
        self.canvas_set = False
        self.stack: list[list] = [[]]
        self.builtin_env: _Env | None = None

    def out_of_fuel(self, span) -> RuntimeFault:
        return RuntimeFault(
            "E401",
            f"the program ran out of fuel ({self.budgets.fuel} steps)",
            "draw with fewer loop iterations, and smaller lists and strings",
            span,
        )

    def fuel_left(self) -> int:
        """Units of fuel not yet used (negative once a charge overdrew it)."""
        return self.fuel + self.reserve

    def checkpoint(self, span=None) -> None:
        """The fuel window is overdrawn (fuel < 0): stop if all the fuel is spent (E401), else poll the
        deadline (E412) and refill the window from the reserve."""
        self.reserve += self.fuel
        self.fuel = 0
        if self.reserve < 0:
            self.fuel, self.reserve = self.reserve, 0
            raise self.out_of_fuel(span)
        try:
            self.deadline.check("evaluating")
        except RuntimeFault as f:
            f.span = span
            raise
        self.fuel = min(CHECK_EVERY, self.reserve)
        self.reserve -= self.fuel

    # -- called by builtins
    def charge(self, k: int, span=None) -> None:
        """Charge k units of fuel for work about to be done (before doing it)."""
        self.fuel -= k
        if self.fuel < 0:
            self.checkpoint(span)

    def list_value(self, items, span=None) -> VList:
        """A new list value, within the collection budget (its expanded size) and nesting limit."""
        v = new_list(items)
        if v.size > self.budgets.collection_size:
            self.check_collection(v.size, span)
        if v.depth > self.budgets.nesting_depth:
            raise RuntimeFault(
                "E410",
                f"lists nested {v.depth} deep (at most {self.budgets.nesting_depth})",
                "build flatter lists",
                span,
            )
        return v

    def joined_lists(self, a, b, span=None) -> VList:
        """a + b for two lists (or ranges); the caller has charged len(a) + len(b)."""
        size = size_of(a) + size_of(b)
        if size > self.budgets.collection_size:  # refused before it is built
            self.check_collection(size, span)
        return self.list_value(list(a) + list(b), span)

    def emit(self, node) -> None:
        self.primitives += 1
        if self.primitives > self.budgets.primitives:
            raise RuntimeFault(
                "E404",
                f"more than {self.budgets.primitives} shapes (the primitive budget)",
                "draw fewer shapes, or use patterns and gradients for texture",
            )
        self.stack[-1].append(node)

    def emit_group(self, group: ir.Group) -> None:
        if group.children:
            self.stack[-1].append(group)

    def use_segments(self, k: int) -> None:
        self.segments += k
        if self.segments > self.budgets.path_segments:
            raise RuntimeFault(
                "E405",
                f"more than {self.budgets.path_segments} path segments (the path budget)",
                "simplify paths and polygons",
            )

    def segments_left(self) -> int:
        return max(0, self.budgets.path_segments - self.segments)

    def use_text(self, k: int) -> None:
        self.text_chars += k
        if self.text_chars > self.budgets.text_chars:
            raise RuntimeFault(
                "E406", f"more than {self.budgets.text_chars} characters of text (the text budget)", "draw less text"
            )

    def check_collection(self, size: int, span: Span | None = None) -> None:
        if size > self.budgets.collection_size:
            raise RuntimeFault(
                "E410",
                f"a list or string of {size} items (nested lists and their text "
                f"counted) is over the collection budget ({self.budgets.collection_size})",
                "build smaller lists and strings",
                span,
            )

    def set_canvas(self, width: float, height: float, background) -> None:
        if self.canvas_set:
            raise RuntimeFault("E301", "canvas() is called twice")
        w, h = int(round(width)), int(round(height))
        if w < 1 or h < 1 or max(w, h) > self.budgets.canvas_side or w * h > self.budgets.canvas_pixels:
            raise RuntimeFault(
                "E407",
                f"a {w}x{h} canvas is over the canvas budget "
                f"({self.budgets.canvas_pixels} pixels, at most {self.budgets.canvas_side} per side)",
                "draw at 512x512 and scale the output with --scale or --size",
            )
        self.width, self.height, self.canvas_set = w, h, True
        self.background = None if background is None or background.a <= 0 else tuple(background)
        if self.builtin_env is not None:
            self.builtin_env.vars["width"] = float(w)
            self.builtin_env.vars["height"] = float(h)


class Evaluator:
    """Runs a checked program. `fast=False` forces the plain path (every argument evaluated and converted,
    no literal folding): the same results and fuel, slower; tests/test_binder.py compares the two."""

    def __init__(
        self,
        checked: Checked,
        seed: int,
        budgets: Budgets,
        params: dict | None,
        deadline: Deadline | None = None,
        *,
        fast: bool = True,
    ):
        self.checked = checked
        self.fast = fast
        self.ctx = Context(seed, budgets, deadline)
        self.params = dict(params or {})
        # Per module file: the defs its code can call and its global values. Calls resolve in the
        # module the calling code was written in, never in the main program's table.
        self.scopes: dict[str, tuple[dict[str, DefSig], _Env]] = {}
        self.current = checked.program.file
        self.defs: dict[str, DefSig] = checked.defs
        benv = _Env(None)
        for name, (_, value, _) in CONSTANTS.items():
            benv.vars[name] = value
        benv.vars["width"], benv.vars["height"] = 512.0, 512.0
        self.ctx.builtin_env = benv
        self.builtin_env = benv
        self.sites, self.literals = _prepared(checked.program)
        if not fast:  # literals are evaluated node by node (the shared cache would fold them)
            self.literals = {}
        # Python's recursion limit is left as it is: when a def call finds the stack deeper than `hop_at`
        # frames, its body goes on on a fresh stack (see _on_fresh_stack), so the budgets, not the limit,
        # bound how deep a program may go. One level of def call takes at most `level_frames` frames
        # (statements, blocks and expressions nested as deep as this program's deepest top-level
        # statement or def, ~3 frames per level of nesting: tests/test_binder.py runs the worst case),
        # so the stack is measured only every `probe_every` levels, with room for that many.
        programs = [m.program for m in checked.modules] + [checked.program]
        nesting = max((getattr(st, "_depth", budgets.nesting_depth) for p in programs for st in p.stmts), default=1)
        self.level_frames = 3 * nesting + 40
        limit = sys.getrecursionlimit()
        self.probe_every = max(1, min(8, (limit // 2) // self.level_frames))
        self.hop_at = max(limit // 4, limit - self.probe_every * self.level_frames - 60)

    # ------------------------------------------------------------ entry
    def run(self) -> ir.Scene:
        if _deeper_than(self.hop_at - self.level_frames):  # called from deep in the host's stack
            return _on_fresh_stack(self._run)
        return self._run()

    def _run(self) -> ir.Scene:
        envs: dict[str, _Env] = {}

        def global_env(uses) -> _Env:
            env = _Env(self.builtin_env)
            for mod in uses:  # the exported values of the modules named in `use`
                src = envs[mod.file].vars
                env.vars.update({k: src[k] for k in mod.values})
            return env

        for mod in self.checked.modules:  # dependencies first
            env = global_env(mod.uses)
            envs[mod.file] = env
            self.scopes[mod.file] = (mod.scope_defs, env)
            self.current, self.defs = mod.file, mod.scope_defs
            for st in mod.program.stmts:
                if isinstance(st, n.Let):
                    env.vars[st.name] = self.expr(st.value, env)
        main = global_env(self.checked.uses)
        self.current, self.defs = self.checked.program.file, self.checked.defs
        self.scopes[self.current] = (self.checked.defs, main)
        for st in self.checked.program.stmts:
            if isinstance(st, (n.Def, n.Use)):
                continue
            self.stmt(st, main)
        ctx = self.ctx
        return ir.Scene(ctx.width, ctx.height, ctx.background, ir.Group(tuple(ctx.stack[0])))

    # ------------------------------------------------------------ statements
    def block(self, stmts, env: _Env):
        for st in stmts:
            r = self.stmt(st, env)
            if r is not None:
                return r
        return None

    def stmt(self, st, env: _Env):
        ctx = self.ctx
        ctx.fuel -= 1  # inline: this runs for every statement and expression
        if ctx.fuel < 0:
            ctx.checkpoint(st.span)
        t = type(st)
        if t is n.CallStmt:
            self.call(st.call, env, st.block, as_value=False)
        elif t is n.Let:
            v = self.expr(st.value, env)
            env.vars[st.name] = v if st.type is None else self._coerce_declared(v, st)
        elif t is n.For:
            return self._for(st, env)
        elif t is n.If:
            c = self.expr(st.cond, env)
            if not isinstance(c, bool):
                raise RuntimeFault("E205", f"a condition must be a bool, got {show(c)}", span=st.cond.span)
            if c:
                return self.block(st.then, _Env(env))
            if st.otherwise is not None:
                return self.block(st.otherwise, _Env(env))
        elif t is n.Assign:
            v = self.expr(st.value, env)
            if st.op != "=":
                v = self.binary(st.op[0], env.get(st.name), v, st.span)
            env.set_existing(st.name, v)
        elif t is n.Return:
            return _Return(self.expr(st.value, env))
        elif t is n.ParamStmt:
            v = self.expr(st.value, env)  # evaluated even when overridden: later random draws stay put
            if st.name in self.params:
                v = self._param_override(st, self.params[st.name])
            env.vars[st.name] = self._coerce_declared(v, st)
        return None

    def _coerce_declared(self, v, st):
        """`let c: color = "red"` and `let cs: list[color] = ["red", "blue"]` hold colours, not text."""
        t = st.type
        if t is None:
            return v
        if (isinstance(v, str) and t.name in ("color", "paint")) or (
            isinstance(v, list) and t.name == "list" and t.arg is not None and t.arg.name in ("color", "paint")
        ):
            if isinstance(v, list):  # converting each item: charged
                self.ctx.charge(len(v), st.value.span)
            return _colors_from_text(v, st.value.span)
        return v

    def _param_override(self, st: n.ParamStmt, raw):
        """A value given from outside (API `params=`, CLI `--param`): checked like a literal would be."""
        want = self.checked.params.get(st.name)
        v = raw
        try:
            if isinstance(raw, str) and want is not None and want.name != "string":
                if want.name == "number":
                    try:
                        v = float(raw)
                    except ValueError:
                        v = raw
                elif want.name == "bool" and raw in ("true", "false"):
                    v = raw == "true"
                elif want.name in ("color", "paint"):
                    v = require_color(raw)
            elif isinstance(raw, int) and not isinstance(raw, bool):
                v = float(raw)
            elif isinstance(raw, list):
                v = self._adopt(raw, {})
        except OverflowError:
            v = math.inf
        except RuntimeFault as f:
            f.span = st.span
            raise
        if want is not None and not matches(v, want):
            raise RuntimeFault(
                "E205", f"param `{st.name}` is {want}; the override {str(raw)[:40]!r} is not", span=st.span
            )
        if isinstance(v, float) and not math.isfinite(v):
            raise RuntimeFault(
                "E305",
                f"param `{st.name}`: the override {str(raw)[:40]} is not a finite number",
                "pass an ordinary number",
                st.span,
            )
        return v

    def _adopt(self, v, memo: dict):
        """A list given from outside as a list value (whole numbers as floats, sizes measured once per
        distinct list, so shared structure costs nothing extra to measure)."""
        if isinstance(v, list):
            r = memo.get(id(v))
            if r is None:
                self.ctx.charge(len(v))
                r = memo[id(v)] = self.ctx.list_value([self._adopt(x, memo) for x in v])
            return r
        if isinstance(v, int) and not isinstance(v, bool):
            return float(v)
        return v

    def _iterate(self, it, span: Span):
        if isinstance(it, (list, NumRange)):
            n_items = len(it)
        else:
            raise RuntimeFault("E205", f"cannot loop over {show(it)}", span=span)
        ctx = self.ctx
        ctx.loops -= n_items
        if ctx.loops < 0:
            raise RuntimeFault(
                "E403",
                f"loops ran more than {ctx.budgets.loop_iterations} iterations in all (the loop budget)",
                "use fewer iterations",
                span,
            )
        return it

    def _for(self, st: n.For, env: _Env):
        items = self._iterate(self.expr(st.iterable, env), st.iterable.span)
        body = st.body
        for i, item in enumerate(items):
            inner = _Env(env)
            if st.var2 is not None:
                inner.vars[st.var] = float(i)
                inner.vars[st.var2] = item
            else:
                inner.vars[st.var] = item
            r = self.block(body, inner)
            if r is not None:
                return r
        return None

    # ------------------------------------------------------------ calls
    def call(self, c: n.Call, env: _Env, block=None, as_value: bool = True):
        sig = self.defs.get(c.name)  # the defs of self.current's module
        if sig is not None:
            return self._call_def(c, sig, env, as_value)
        plan = self.sites.get(c)
        if plan is None:
            plan = self.sites[c] = Plan(c, TABLE[c.name])
        b = plan.b
        try:
            if b.variadic is not None:
                args = [self.expr(a.value, env) for a in c.args]
                for v in args:
                    if not matches(v, b.variadic):
                        raise RuntimeFault("E205", f"`{c.name}` takes {b.variadic}s, got {show(v)}")
                return _finite_result(b.impl(self.ctx, *args), c.name)
            if plan.error is not None or not self.fast:
                kwargs = self._bind_builtin(c, plan, env)
            else:  # _bind_builtin with the plan's ready literals and inline checks (every builtin call runs it)
                ctx = self.ctx
                kwargs = dict(plan.defaults)  # builtins never mutate their arguments: defaults can be shared
                for name, node, cost, value, kind, lo, hi, p, t in plan.args:
                    if cost and ctx.fuel >= cost:  # a ready literal: charge the steps expr() would take
                        ctx.fuel -= cost
                        kwargs[name] = value
                        continue
                    v = self.expr(node, env)
                    if kind == _NUM_ARG:
                        if type(v) is float and lo <= v <= hi and v - v == 0.0:
                            kwargs[name] = v
                            continue
                    elif kind != _ANY_ARG and _passes(kind, v, p.choices, lo, hi):
                        kwargs[name] = v
                        continue
                    kwargs[name] = self._convert(v, t, p, c.name, node.span)
                if plan.missing is not None:  # pragma: no cover - the checker rejects missing arguments
                    raise plan.fault(c)
            if b.cost is not None:  # work that grows with the arguments: charged before it is done
                self.ctx.charge(b.cost.fuel(kwargs), c.span)
            if b.block:
                ctx = self.ctx
                ctx.stack.append([])
                try:
                    if block:
                        r = self.block(block, _Env(env))
                        if r is not None:
                            raise RuntimeFault("E214", "`return` inside a drawing block", span=c.span)
                finally:
                    children = ctx.stack.pop()
                return b.impl(self.ctx, children, **kwargs)
            r = b.impl(self.ctx, **kwargs)
            if r is None:
                return r
            if type(r) is list:  # pragma: no cover - list builtins return list values (VList)
                r = self.ctx.list_value(r)
            return _finite_result(r, c.name)
        except RuntimeFault as f:
            if f.span is None:
                f.span = c.span
            raise
        except (OverflowError, ValueError, ZeroDivisionError) as e:
            raise RuntimeFault("E301", f"`{c.name}`: {e}", span=c.span) from None

    def _bind_builtin(self, c: n.Call, plan: Plan, env: _Env) -> dict:
        """The plain path: every argument evaluated, then converted, in the order written."""
        if plan.error is not None:  # pragma: no cover - the checker rejects these
            raise plan.fault(c)
        kwargs = dict(plan.defaults)
        for name, node, _, _, _, _, _, p, t in plan.args:
            kwargs[name] = self._convert(self.expr(node, env), t, p, c.name, node.span)
        if plan.missing is not None:  # pragma: no cover - the checker rejects missing arguments
            raise plan.fault(c)
        return kwargs

    def _convert(self, v, t: Type, p, fname: str, span: Span):
        if type(v) is float and t is NUMBER and v - v == 0.0 and (p is None or p.in_range(v)):
            return v  # a finite number in range: the common case
        if isinstance(v, str) and t in (COLOR, PAINT):
            return _colors_from_text(v, span)
        if type(v) is NumRange:
            v = self._materialize(v, span)
        if isinstance(v, list):
            c = _CHECKS_ITEMS.get(id(t))
            if c is None or c[0] is not t:
                c = _CHECKS_ITEMS[id(t)] = (t, checks_items(t))
            if c[1]:  # every item's type is checked (nested lists too): charged for
                ctx = self.ctx
                ctx.fuel -= 1 + v.size if type(v) is VList else weight(v)
                if ctx.fuel < 0:
                    ctx.checkpoint(span)
            if t.name == "list" and t.elem in (COLOR, PAINT) and any(isinstance(x, str) for x in v):
                v = _colors_from_text(v, span)
        if not matches(v, t):
            what = f"argument `{p.name}` of `{fname}`" if p is not None else f"the value of `{fname}`"
            i = first_mismatch(v, t) if isinstance(v, list) else None
            got = f"a list whose item {i} is {type_of(v[i])}" if i is not None else type_of(v)
            raise RuntimeFault("E205", f"{what} must be {t}, got {got}", span=span)
        if p is not None:
            if p.choices and v not in p.choices:
                msg = f'`{p.name}` must be one of {", ".join(p.choices)}; got "{v}"'
                raise RuntimeFault("E217", msg, choice_hint(p, v) if isinstance(v, str) else None, span)
            if isinstance(v, float):
                if not math.isfinite(v):
                    raise RuntimeFault("E305", f"`{p.name}` is {v}, not a finite number", span=span)
                if not p.in_range(v):
                    raise RuntimeFault("E301", range_message(p, fname, show(v)), range_hint(p), span)
            elif isinstance(v, Point) and not (math.isfinite(v.x) and math.isfinite(v.y)):
                raise RuntimeFault("E305", f"`{p.name}` is not a finite point", span=span)
            elif isinstance(v, list) and (p.min is not None or p.max is not None):  # ranges hold for every item
                for x in v:
                    if isinstance(x, float) and not p.in_range(x):
                        raise RuntimeFault("E301", range_message(p, fname, show(x)), range_hint(p), span)
        return v

    def _call_def(self, c: n.Call, sig: DefSig, env: _Env, as_value: bool = True):
        ctx = self.ctx
        ctx.depth += 1
        if ctx.depth > ctx.budgets.call_depth:
            raise RuntimeFault(
                "E402",
                f"calls nested deeper than {ctx.budgets.call_depth} (the call-depth budget)",
                "recursion must stop: check its base case",
                c.span,
            )
        caller, caller_defs = self.current, self.defs
        try:
            plan = self.sites.get(c)
            if plan is None:
                plan = self.sites[c] = Plan(c, sig=sig)
            if plan.error is not None:  # pragma: no cover - the checker rejects these
                raise plan.fault(c)
            local = _Env(self.scopes[sig.module][1])
            given: dict[str, Any] = {}
            fast = self.fast
            for name, node, cost, value, _, _, _, _, _ in plan.args:  # evaluated in the caller, in order
                if cost and fast and ctx.fuel >= cost:  # a ready literal: charge the steps expr() would take
                    ctx.fuel -= cost
                    given[name] = value
                else:
                    given[name] = self.expr(node, env)
            label = given.pop("label", sig.name) if plan.label else sig.name
            self.current = sig.module  # the body (and defaults) run in the def's own module
            self.defs = self.scopes[sig.module][0]
            for pname, ptype, kind, default, lo, hi, p in plan.params:
                if pname in given:
                    v = given[pname]
                elif default is not None:  # defaults may use the parameters before them
                    v = self.expr(default, local)
                else:  # pragma: no cover - the checker rejects this
                    raise plan.fault(c)
                if kind is not None and not (fast and _passes(kind, v, p.choices, lo, hi)):
                    v = self._convert(v, ptype, p, c.name, c.span)
                local.vars[pname] = v
            ctx.stack.append([])
            try:
                if ctx.depth % self.probe_every == 0 and _deeper_than(self.hop_at):
                    r = _on_fresh_stack(self.block, sig.node.body, local)
                else:
                    r = self.block(sig.node.body, local)
            finally:
                drawn = ctx.stack.pop()
            if drawn:
                if len(drawn) == 1 and isinstance(drawn[0], ir.Shape) and drawn[0].label is None:
                    ctx.stack[-1].append(replace(drawn[0], label=label))
                else:
                    ctx.stack[-1].append(ir.Group(tuple(drawn), label=label))
            value = r.value if r is not None else None
            if value is None and as_value and sig.returns.name not in ("none", "any"):
                raise RuntimeFault(
                    "E205",
                    f"`{sig.name}` ended without returning a {sig.returns}",
                    f"every path through `{sig.name}` must end in `return`",
                    c.span,
                )
            if value is not None and sig.node.returns is not None:
                value = self._convert(value, sig.returns, None, c.name, c.span)
            return value
        except RuntimeFault as f:
            # A fault inside another module's def is reported at the call in the caller's file.
            if f.span is not None and f.span.file != c.span.file:
                f.message += f" (inside `{sig.name}`, {f.span.file}:{f.span.line}:{f.span.col})"
                f.span = c.span
            raise
        finally:
            self.current, self.defs = caller, caller_defs
            ctx.depth -= 1

    # ------------------------------------------------------------ expressions
    def expr(self, e, env: _Env):
        ctx = self.ctx
        ctx.fuel -= 1  # inline: this runs for every statement and expression
        if ctx.fuel < 0:
            ctx.checkpoint(e.span)
        t = type(e)
        if t is n.Number or t is n.Percent:
            return e.value
        if t is n.Name:
            name = e.name
            scope: _Env | None = env
            while scope is not None:  # _Env.get inlined: this runs for every name
                if name in scope.vars:
                    return scope.vars[name]
                scope = scope.parent
            raise RuntimeFault("E200", f"`{name}` is used before it is defined", span=e.span)
        if t is n.Binary:
            op = e.op
            if op == "and":
                left = self._bool(self.expr(e.left, env), e.left)
                return left and self._bool(self.expr(e.right, env), e.right)
            if op == "or":
                left = self._bool(self.expr(e.left, env), e.left)
                return left or self._bool(self.expr(e.right, env), e.right)
            return self.binary(op, self.expr(e.left, env), self.expr(e.right, env), e.span)
        if t is n.Call:
            return self.call(e, env)
        if t is n.PointLit or t is n.Unary or t is n.ListLit:
            lit = self.literals.get(e)
            if lit is None:
                lit = _literal(e) if self.fast else (0, None)
                if t is n.ListLit and lit[0]:  # the items, and their size (flat: depth 1)
                    lit = (lit[0], (lit[1], new_list(lit[1]).size))
                self.literals[e] = lit
            cost, value = lit
            if cost and ctx.fuel >= cost - 1:  # a constant: charge the steps its evaluation would take
                ctx.fuel -= cost - 1
                if t is n.ListLit:  # a fresh list value each time
                    items, size = value  # type: ignore[misc]  # a ListLit's literal is (items, size)
                    if size > ctx.budgets.collection_size:
                        ctx.check_collection(size, e.span)
                    v = VList(items)
                    v.size, v.depth = size, 1
                    return v
                return value
        if t is n.PointLit:
            x, y = self.expr(e.x, env), self.expr(e.y, env)
            if not (isinstance(x, float) and isinstance(y, float)):
                raise RuntimeFault("E205", "point coordinates must be numbers", span=e.span)
            return Point(x, y)
        if t is n.String:
            return e.value
        if t is n.ColorLit:
            return parse_hex(e.raw)
        if t is n.Bool:
            return e.value
        if t is n.Unary:
            v = self.expr(e.operand, env)
            if e.op == "not":
                return not self._bool(v, e.operand)
            if isinstance(v, float) and not isinstance(v, bool):
                return -v if e.op == "-" else v
            if isinstance(v, Point):
                return Point(-v.x, -v.y) if e.op == "-" else v
            raise RuntimeFault("E211", f"unary `{e.op}` needs a number or point, got {show(v)}", span=e.span)
        if t is n.ListLit:
            if len(e.items) > ctx.budgets.collection_size:
                ctx.check_collection(len(e.items), e.span)
            return ctx.list_value([self._plain(self.expr(i, env)) for i in e.items], e.span)
        if t is n.Comprehension:
            items = self._iterate(self.expr(e.iterable, env), e.iterable.span)
            out = []
            for item in items:
                inner = _Env(env)
                inner.vars[e.var] = item
                if e.cond is not None and not self._bool(self.expr(e.cond, inner), e.cond):
                    continue
                out.append(self._plain(self.expr(e.item, inner)))
            return ctx.list_value(out, e.span)
        if t is n.Ternary:
            c = self._bool(self.expr(e.cond, env), e.cond)
            return self.expr(e.then if c else e.otherwise, env)
        if t is n.Field:
            v = self.expr(e.obj, env)
            if isinstance(v, Point) and e.name in ("x", "y"):
                return getattr(v, e.name)
            if isinstance(v, Color) and e.name in ("r", "g", "b", "a"):
                return getattr(v, e.name)
            raise RuntimeFault("E213", f"{show(v)} has no field `{e.name}`", span=e.span)
        if t is n.Index:
            return self._index(self.expr(e.obj, env), self.expr(e.index, env), e)
        raise RuntimeFault("E300", f"cannot evaluate {t.__name__}", span=e.span)  # pragma: no cover

    def _plain(self, v):
        """A range stored in a list becomes a list value: charged for its numbers."""
        if type(v) is NumRange:
            return self._materialize(v)
        return v

    def _materialize(self, r: NumRange, span=None) -> VList:
        self.ctx.charge(len(r), span)
        return self.ctx.list_value(r, span)

    @staticmethod
    def _bool(v, e) -> bool:
        if not isinstance(v, bool):
            raise RuntimeFault("E205", f"expected a bool, got {show(v)}", "compare explicitly, e.g. x != 0", e.span)
        return v

    def _index(self, obj, idx, e):
        if not isinstance(idx, float) or isinstance(idx, bool):
            raise RuntimeFault("E205", "an index must be a number", span=e.span)
        if isinstance(obj, (list, str, Point, NumRange)):
            i = int(idx)
            if i != idx:
                raise RuntimeFault("E302", f"index {show(idx)} is not a whole number", span=e.span)
            size = len(obj)
            if not -size <= i < size:
                raise RuntimeFault(
                    "E302",
                    f"index {show(idx)} is outside a list of {size} items",
                    span=e.span,
                    hint="indexes start at 0; -1 is the last item",
                )
            return obj.item(i % size) if type(obj) is NumRange else obj[i]
        raise RuntimeFault("E211", f"cannot index {show(obj)}", span=e.span)

    def binary(self, op: str, a, b, span: Span):
        ta, tb = type(a), type(b)
        try:
            if ta is float and tb is float:
                if op == "+":
                    r = a + b
                elif op == "-":
                    r = a - b
                elif op == "*":
                    r = a * b
                elif op == "/":
                    if b == 0:
                        raise RuntimeFault("E303", "division by zero", span=span)
                    r = a / b
                elif op == "%":
                    if b == 0:
                        raise RuntimeFault("E303", "modulo by zero", span=span)
                    r = math.fmod(a, b)
                    if r and (r < 0) != (b < 0):
                        r += b
                elif op == "**":
                    if a == 0 and b < 0:
                        raise RuntimeFault("E303", "zero to a negative power (a division by zero)", span=span)
                    r = a**b
                    if isinstance(r, complex):
                        raise RuntimeFault("E301", "a negative number to a fractional power", span=span)
                elif op == "<":
                    return a < b
                elif op == "<=":
                    return a <= b
                elif op == ">":
                    return a > b
                elif op == ">=":
                    return a >= b
                elif op == "==":
                    return a == b
                elif op == "!=":
                    return a != b
                else:
                    raise RuntimeFault("E211", f"unknown operator {op}", span=span)
                if not math.isfinite(r):
                    raise RuntimeFault("E305", f"{show(a)} {op} {show(b)} is not a finite number", span=span)
                return float(r)
            if op == "==" or op == "!=":  # linear in the smaller operand's expanded size
                if ta is NumRange or tb is NumRange:  # compared item by item, like the list it stands for
                    self.ctx.charge(min(len(a), len(b)) + 1, span)
                    a, b = self._plain(a) if ta is NumRange else a, self._plain(b) if tb is NumRange else b
                    ta = type(a)
                if ta is VList or ta is str or ta is list:
                    self.ctx.charge(min(weight(a), weight(b)), span)
                return (a == b) == (op == "==")
            if ta is Point:
                if tb is Point and op in ("+", "-", "*", "/"):
                    return Point(self.binary(op, a.x, b.x, span), self.binary(op, a.y, b.y, span))
                if tb is float and op in ("*", "/"):
                    return Point(self.binary(op, a.x, b, span), self.binary(op, a.y, b, span))
            if ta is float and tb is Point and op == "*":
                return Point(self.binary(op, a, b.x, span), self.binary(op, a, b.y, span))
            if ta is str and tb is str:
                if op == "+":
                    self.ctx.check_collection(len(a) + len(b))
                    self.ctx.charge(len(a) + len(b), span)
                    return a + b
                if op in ("<", "<=", ">", ">="):
                    self.ctx.charge(min(len(a), len(b)), span)
                    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
            if op == "+" and isinstance(a, (list, NumRange)) and isinstance(b, (list, NumRange)):
                self.ctx.charge(len(a) + len(b), span)
                return self.ctx.joined_lists(a, b, span)
        except OverflowError:
            raise RuntimeFault("E305", f"{show(a)} {op} {show(b)} overflows", span=span) from None
        except RuntimeFault as f:  # budgets checked inside (collection size) carry no span
            if f.span is None:
                f.span = span
            raise
        raise RuntimeFault("E211", f"cannot apply `{op}` to {type_of(a)} and {type_of(b)}", span=span)


def _colors_from_text(v, span: Span):
    """A colour written as text ("red", "#f00") — or a list holding some — as colours."""
    try:
        if isinstance(v, str):
            return require_color(v)
        return new_list([require_color(x) if isinstance(x, str) else x for x in v])
    except RuntimeFault as f:
        f.span = span
        raise


def _finite_result(v, name: str):
    """No NaN or infinity enters a program: a builtin that overflows (gauss(0, 1e308)) is a fault."""
    if type(v) is float:
        if not math.isfinite(v):
            raise RuntimeFault(
                "E305", f"`{name}` gave {v!r}, not a finite number", "keep the arguments in a sensible range"
            )
    elif type(v) is Point and not (math.isfinite(v.x) and math.isfinite(v.y)):
        raise RuntimeFault(
            "E305", f"`{name}` gave a point that is not finite", "keep the arguments in a sensible range"
        )
    return v


def evaluate(
    checked: Checked,
    seed: int = 0,
    budgets: Budgets = DEFAULT,
    params: dict | None = None,
    deadline: Deadline | None = None,
    *,
    fast: bool = True,
) -> tuple[ir.Scene | None, list[Diagnostic]]:
    """Run a checked program. Returns (scene, warnings) or (None, diagnostics).

    The deadline (by default one of budgets.time_limit seconds from now) is polled every CHECK_EVERY
    units of fuel; passing it in lets compile, evaluate and render share one time limit."""
    if not checked.ok:
        return None, list(checked.diagnostics)
    return outcome(Evaluator(checked, seed, budgets, params, deadline, fast=fast))


def outcome(ev: Evaluator) -> tuple[ir.Scene | None, list[Diagnostic]]:
    """Run an evaluator, errors as values: (scene, []) or (None, [the diagnostic]); ev.ctx.fuel_left()
    says afterwards how much fuel it left."""
    file = ev.checked.program.file
    try:
        return ev.run(), []
    except RuntimeFault as f:
        sp = f.span or Span(1, 1, 1, 2, file)
        return None, [Diagnostic(f.code, f.message, sp, f.hint)]
    except RecursionError:
        return None, [
            Diagnostic(
                "E402", "calls nested too deeply", Span(1, 1, 1, 2, file), "recursion must stop: check its base case"
            )
        ]
    except MemoryError:  # pragma: no cover - budgets keep memory small
        return None, [Diagnostic("E410", "the program used too much memory", Span(1, 1, 1, 2, file))]
