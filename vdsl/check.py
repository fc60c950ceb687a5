"""The checker: resolves every name, checks every call against the signature table, infers types; all errors in one pass."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import nodes as n
from .budgets import DEFAULT, Budgets
from .builtins import CONSTANTS, REQUIRED, TABLE, Builtin, Param
from .builtins.colors import parse_color_text, parse_hex, suggest_color
from .check_clips import check_clip_forms
from .diagnostics import Diagnostic, Span, range_hint, range_message, sort_diagnostics
from .hints import (
    ARG_ALIASES,
    ARG_HINTS,
    CALL_HINTS,
    FOREIGN_NAMES,
    FUNCTION_ALIASES,
    NAME_ALIASES,
    STATE_CALLS,
    choice_hint,
    did_you_mean,
)
from .modules import (
    STDLIB_POLICIES,
    FileAccessDenied,
    ModuleSource,
    file_source,
    stdlib_allowed,
    stdlib_names,
    stdlib_source,
)
from .types import (
    ANY,
    BOOL,
    COLOR,
    NAMED,
    NONE,
    NUMBER,
    PAINT,
    POINT,
    STRING,
    TYPE_ALIASES,
    Type,
    assignable,
    join,
    list_of,
)

# Number parameters measured in pixels: a percentage there (50% = 0.5) is almost surely a mistake.
_PIXEL_PARAMS = frozenset(
    {"x", "y", "w", "h", "r", "rx", "ry", "width", "height", "size", "stroke_width", "spacing", "dx", "dy"}
)

# Only these argument expressions can be a literal number, the case _check_literal_range looks at.
_RANGE_CHECKED = (n.Number, n.Percent, n.Unary)

# Parameters that hold an angle in degrees (besides the `x` of sin, cos and tan): `pi` in one is a
# radian habit (W504).
_ANGLE_PARAMS = frozenset({"angle", "rotate", "degrees", "start", "end", "start_angle", "arm_left", "arm_right"})
_TRIG = frozenset({"sin", "cos", "tan"})


def _radians_in(e: n.Expr) -> bool:
    """Whether an angle expression uses `pi` or `tau` without a 180 or 360 that converts it."""
    seen_pi = converts = False
    stack: list[object] = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, n.Name):
            seen_pi |= x.name in ("pi", "tau", "PI")
        elif isinstance(x, n.Number):
            converts |= x.value in (180.0, 360.0)
        elif isinstance(x, n.Binary):
            stack += [x.left, x.right]
        elif isinstance(x, n.Unary):
            stack.append(x.operand)
        elif isinstance(x, n.Ternary):
            stack += [x.then, x.otherwise]
        elif isinstance(x, n.Call):
            stack += [a.value for a in x.args]
    return seen_pi and not converts


# Values every program can read besides the constants table: the canvas size (set by canvas()).
CANVAS_NAMES = {"width": NUMBER, "height": NUMBER}


@dataclass
class DefSig:
    name: str
    # its parameters in the one signature form builtins use (type, range, choices, unit); a
    # Param's default is the default's expression (n.Expr), or REQUIRED
    params: list[Param]
    returns: Type
    node: n.Def
    module: str  # the file it is written in (program or module)

    def signature(self, defaults: bool = False) -> str:
        """`name(p: number in 0..1 = …)`; defaults=True writes the default expressions out."""
        from .format import expr

        def default(p: Param) -> str | None:
            if p.required:
                return None
            if not defaults:
                return "…"
            try:
                return expr(p.default)
            except Exception:  # an expression form the formatter does not know
                return "…"

        ps = ", ".join(p.text(default(p), doc=defaults) for p in self.params)
        return f"{self.name}({ps})" + ("" if self.returns == NONE else f" -> {self.returns}")


@dataclass(eq=False)
class ModuleInfo:
    name: str
    program: n.Program
    defs: dict[str, DefSig]  # what `use` exports: its own defs not starting with `_`
    values: dict[str, Type]  # ... and its own top-level `let`s not starting with `_`
    deps: list["ModuleInfo"]  # every module it needs, dependencies first
    uses: list["ModuleInfo"]  # the modules it names in `use` itself
    scope_defs: dict[str, DefSig]  # every def its own code can call (own, private and imported)
    diagnostics: list[Diagnostic]

    @property
    def file(self) -> str:
        return self.program.file


@dataclass
class Checked:
    program: n.Program
    diagnostics: list[Diagnostic]
    defs: dict[str, DefSig] = field(default_factory=dict)
    modules: list[ModuleInfo] = field(default_factory=list)  # dependencies first
    params: dict[str, Type] = field(default_factory=dict)
    values: dict[str, Type] = field(default_factory=dict)  # top-level `let`s and params
    uses: list[ModuleInfo] = field(default_factory=list)  # the modules named in `use`

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


@dataclass
class _Var:
    type: Type
    mutable: bool
    owner: int  # id of the function scope (0 = top level) that may assign it


class _Scope:
    def __init__(self, parent: "_Scope | None", owner: int):
        self.parent, self.owner = parent, owner
        self.vars: dict[str, _Var] = {}

    def lookup(self, name: str) -> _Var | None:
        s: _Scope | None = self
        while s is not None:
            v = s.vars.get(name)
            if v is not None:
                return v
            s = s.parent
        return None

    def size(self) -> int:
        """How many names names() would return, at most (without building the set)."""
        out = 0
        s: _Scope | None = self
        while s is not None:
            out += len(s.vars)
            s = s.parent
        return out

    def names(self) -> set[str]:
        out: set[str] = set()
        s: _Scope | None = self
        while s is not None:
            out |= set(s.vars)
            s = s.parent
        return out


# Checked stdlib modules are immutable and shared by every compile in the process.
_STDLIB_CACHE: dict[tuple[str, Budgets], ModuleInfo] = {}


class ModuleLoader:
    """Loads, parses and checks modules once (stdlib modules once per process); detects cycles."""

    def __init__(self, base_dir: str | None = None, budgets: Budgets = DEFAULT, stdlib: str = "all"):
        self.base_dir, self.budgets, self.stdlib = base_dir, budgets, stdlib
        self.cache: dict[str, ModuleInfo] = {}
        self.loading: set[str] = set()

    def load(self, use: n.Use, diags: list[Diagnostic]) -> ModuleInfo | None:
        key = ("file:" if use.is_path else "std:") + use.module
        if key in self.cache:
            return self.cache[key]
        shared = None if use.is_path else _STDLIB_CACHE.get((use.module, self.budgets))
        if shared is not None:
            diags.extend(shared.diagnostics)
            self.cache[key] = shared
            return shared
        if key in self.loading:
            diags.append(Diagnostic("E208", f"module `{use.module}` uses itself (a `use` cycle)", use.span))
            return None
        try:
            src: ModuleSource | None = (
                file_source(use.module, self.base_dir) if use.is_path else stdlib_source(use.module)
            )
        except FileAccessDenied as e:
            diags.append(Diagnostic("E218", f'cannot use "{use.module}": {e}', use.span))
            return None
        if src is None:
            names = stdlib_names()
            s = did_you_mean(use.module, names)
            diags.append(
                Diagnostic(
                    "E208",
                    f"unknown module `{use.module}`",
                    use.span,
                    f"did you mean `{s}`?"
                    if s
                    else (
                        f"stdlib modules: {', '.join(names)}" if names else "the standard library has no modules yet"
                    ),
                )
            )
            return None
        from .syntax import parse

        program, pdiags = parse(src.text, src.file, self.budgets)
        if program is None:
            diags.extend(pdiags)
            return None
        self.loading.add(key)
        try:
            checked = Checker(self, is_module=True).check(program)
        finally:
            self.loading.discard(key)
        diags.extend(checked.diagnostics)
        exported = {k: v for k, v in checked.defs.items() if v.module == src.file and not k.startswith("_")}
        values = {k: v for k, v in checked.values.items() if not k.startswith("_")}
        info = ModuleInfo(
            use.module, program, exported, values, checked.modules, checked.uses, checked.defs, checked.diagnostics
        )
        self.cache[key] = info
        if not use.is_path:
            _STDLIB_CACHE[(use.module, self.budgets)] = info
        return info


def stdlib_exports() -> dict[str, list[str]]:
    """{name: [stdlib modules that define it]} for every public def and top-level `let` of the
    standard library (read once), so an unknown name can say which `use` it needs."""
    global _EXPORTS
    if _EXPORTS is None:
        from .syntax import parse

        out: dict[str, list[str]] = {}
        for mod in stdlib_names():
            src = stdlib_source(mod)
            program = parse(src.text, src.file)[0] if src is not None else None
            for st in program.stmts if program is not None else ():
                if isinstance(st, (n.Def, n.Let)) and not st.name.startswith("_"):
                    out.setdefault(st.name, []).append(mod)
        _EXPORTS = out
    return _EXPORTS


_EXPORTS: dict[str, list[str]] | None = None


def use_hint(name: str) -> str | None:
    """`add "use solids"` for a name the standard library defines (None for any other name)."""
    mods = stdlib_exports().get(name)
    if not mods:
        return None
    return f"`{name}` is in the standard library: add `use {mods[0]}` at the top" + "".join(
        f" (or `use {m}`)" for m in mods[1:]
    )


# Did-you-mean work per program, in candidates compared: each lookup compares the unknown word
# with every name in scope (or every parameter), so many unknown names in a program of many names
# would cost names x unknowns. Past this, unknown names are reported without a suggestion.
_SUGGESTION_WORK = 20_000


class Checker:
    def __init__(self, loader: ModuleLoader | None = None, is_module: bool = False, budgets: Budgets = DEFAULT):
        self.loader = loader or ModuleLoader(budgets=budgets)
        self.is_module = is_module
        self.diags: list[Diagnostic] = []
        self.defs: dict[str, DefSig] = {}
        self.modules: list[ModuleInfo] = []
        self.uses: list[ModuleInfo] = []
        self.params: dict[str, Type] = {}
        self._owner_counter = 0
        self._fn_stack: list[DefSig] = []
        self._returns: dict[int, list[Type]] = {}
        self._canvas_seen = False
        self._drew = False
        self._item_types: dict[int, list[Type]] = {}  # id(list literal) -> its items' types
        self._suggestion_work = _SUGGESTION_WORK

    def _may_suggest(self, candidates: int) -> bool:
        """Whether a did-you-mean lookup among this many candidates fits the work left for them."""
        if candidates > self._suggestion_work:
            return False
        self._suggestion_work -= candidates
        return True

    # ------------------------------------------------------------ reporting
    def err(self, code: str, msg: str, span: Span, hint: str | None = None) -> None:
        self.diags.append(Diagnostic(code, msg, span, hint))

    # ------------------------------------------------------------ entry
    def check(self, program: n.Program) -> Checked:
        file = program.file
        builtins_scope = _Scope(None, 0)
        for name, (t, _, _) in CONSTANTS.items():
            builtins_scope.vars[name] = _Var(t, False, -1)
        for name, t in CANVAS_NAMES.items():
            builtins_scope.vars[name] = _Var(t, False, -1)
        top = _Scope(builtins_scope, 0)
        # 1. modules, 2. def signatures (hoisted), 3. def bodies, 4. top-level statements in order.
        for st in program.stmts:
            if isinstance(st, n.Use):
                if not (self.is_module or st.is_path or stdlib_allowed(st.module, self.loader.stdlib)) and (
                    st.module in stdlib_names()
                ):
                    self._refuse_module(st)
                    continue
                info = self.loader.load(st, self.diags)
                if info is not None:
                    self._import(info, top)
        for st in program.stmts:
            if isinstance(st, n.Def):
                if st.name in self.defs and self.defs[st.name].module == file:
                    self.err("E207", f"`{st.name}` is defined twice", st.span, "rename one of them")
                self.defs[st.name] = self._def_signature(st, file)
        forward = _Scope(top, 0)  # top-level values are visible inside defs (as `any` until bound)
        for st in program.stmts:
            if isinstance(st, (n.Let, n.ParamStmt)):
                forward.vars.setdefault(st.name, _Var(ANY, isinstance(st, n.Let), 0))
        for st in program.stmts:
            if isinstance(st, n.Def):
                self._check_def_body(st, forward)
        self._drew = False
        for st in program.stmts:
            if not isinstance(st, (n.Def, n.Use)):
                self.stmt(st, top, top_level=True)
        self.diags.extend(check_clip_forms(program.stmts))
        values = {k: v.type for k, v in top.vars.items() if v.owner != -1}
        return Checked(program, sort_diagnostics(self.diags), self.defs, self.modules, self.params, values, self.uses)

    def _refuse_module(self, st: n.Use) -> None:
        """E219: the program uses a stdlib module the run's policy (--stdlib) leaves out."""
        policy = self.loader.stdlib
        allowed = sorted(STDLIB_POLICIES[policy] or ())
        self.err(
            "E219",
            f"`use {st.module}` is not allowed here: this run's stdlib is `{policy}`",
            st.span,
            "draw it from the builtins (shapes, paths, groups) and your own `def`s"
            + (f"; the modules allowed are: {', '.join(allowed)}" if allowed else "; no stdlib module is allowed"),
        )

    def _import(self, info: ModuleInfo, top: _Scope) -> None:
        for dep in info.deps:
            if dep not in self.modules:
                self.modules.append(dep)
        if info not in self.modules:
            self.modules.append(info)
        if info not in self.uses:
            self.uses.append(info)
        for name, sig in info.defs.items():
            self.defs.setdefault(name, sig)
        for name, t in info.values.items():
            top.vars.setdefault(name, _Var(t, False, -1))

    # ------------------------------------------------------------ types
    def resolve_type(self, ref: n.TypeRef | None) -> Type | None:
        if ref is None:
            return None
        if ref.name == "list":
            if ref.arg is None:
                return list_of(ANY)
            inner = self.resolve_type(ref.arg)
            return list_of(inner or ANY)
        if ref.arg is not None:
            self.err("E212", f"`{ref.name}` takes no type argument", ref.span)
        t = NAMED.get(ref.name)
        if t is None:
            alias = TYPE_ALIASES.get(ref.name) or did_you_mean(ref.name, list(NAMED) + ["list"])
            self.err(
                "E212",
                f"unknown type `{ref.name}`",
                ref.span,
                f"did you mean `{alias}`?" if alias else "types: number, bool, string, color, point, paint, list[T]",
            )
            return ANY
        return t

    def _def_signature(self, d: n.Def, module: str) -> DefSig:
        params = []
        seen = set()
        for p in d.params:
            if p.name in seen:
                self.err("E207", f"parameter `{p.name}` appears twice", p.span)
            seen.add(p.name)
            params.append(self._param(p))
        ret = self.resolve_type(d.returns)
        if ret is None:
            ret = ANY if _has_return(d.body) else NONE
        return DefSig(d.name, params, ret, d, module)

    def _param(self, p: n.ParamDecl) -> Param:
        """A def parameter as a Param: its type with the limits written on it (`number in 0..1`,
        `int in 3..`, `"a"|"b"`), checked like a builtin's."""
        ref, integer = p.type, False
        if ref is not None and ref.name == "int" and ref.arg is None:
            t: Type | None = NUMBER  # `int`: a whole number, for def parameters
            integer = True
        else:
            t = self.resolve_type(ref)
        if t is None and p.default is not None:
            t = self._literal_type(p.default)
        lo, hi, choices = (ref.min, ref.max, ref.choices) if ref is not None else (None, None, ())
        if (lo is not None or hi is not None) and t not in (NUMBER, list_of(NUMBER)):
            self.err(
                "E212", f"only numbers have a range; `{p.name}` is {t}", ref.span if ref else p.span, "remove `in ..`"
            )
            lo = hi = None
        if lo is not None and hi is not None and lo > hi:
            self.err(
                "E212",
                f"the range of `{p.name}` is empty: {lo:g} > {hi:g}",
                ref.span if ref else p.span,
                f"write the smaller end first: {hi:g}..{lo:g}",
            )
        default = REQUIRED if p.default is None else p.default
        return Param(p.name, t or ANY, default, p.doc, choices, lo, hi, integer, p.doc)

    @staticmethod
    def _literal_type(e: n.Expr) -> Type | None:
        if isinstance(e, (n.Number, n.Percent)):
            return NUMBER
        if isinstance(e, n.String):
            return STRING
        if isinstance(e, n.ColorLit):
            return COLOR
        if isinstance(e, n.Bool):
            return BOOL
        if isinstance(e, n.PointLit):
            return POINT
        return None

    def _check_def_body(self, d: n.Def, outer: _Scope) -> None:
        sig = self.defs.get(d.name)
        if sig is None or sig.node is not d:
            sig = self._def_signature(d, "")
        self._owner_counter += 1
        scope = _Scope(outer, self._owner_counter)
        for p, decl in zip(sig.params, d.params):
            if decl.default is not None:  # a default may use the parameters before it
                dt = self.expr(decl.default, scope)
                self._expect(dt, p.type, decl.default, f"default of `{p.name}`")
                self._check_constraints(d.name, p, decl.default)
            scope.vars[p.name] = _Var(p.type, True, self._owner_counter)
        self._fn_stack.append(sig)
        self._returns[id(sig)] = []
        self.block(d.body, scope)
        self._fn_stack.pop()
        rets = self._returns.pop(id(sig))
        if d.returns is None and rets:
            t = rets[0]
            for r in rets[1:]:
                t = join(t, r)
            sig.returns = t

    # ------------------------------------------------------------ statements
    def block(self, stmts: list[n.Stmt], scope: _Scope) -> None:
        for st in stmts:
            self.stmt(st, scope, top_level=False)

    def stmt(self, st: n.Stmt, scope: _Scope, top_level: bool) -> None:
        if isinstance(st, n.Let):
            t = self.expr(st.value, scope)
            if t == NONE:
                self.err(
                    "E205",
                    f"`{st.name}` would hold nothing: the call draws but returns no value",
                    st.value.span,
                    "call drawing functions as statements, not in `let`",
                )
            declared = self.resolve_type(st.type)
            if declared is not None:
                self._expect(t, declared, st.value, f"`{st.name}`")
                t = declared
            self._bind(scope, st.name, t, st.span, mutable=True)
        elif isinstance(st, n.ParamStmt):
            if not top_level or self.is_module:
                self.err(
                    "E214",
                    "`param` is only allowed at the top level of a program",
                    st.span,
                    "use `let` inside blocks and modules",
                )
            t = self.expr(st.value, scope)
            declared = self.resolve_type(st.type)
            if declared is not None:
                self._expect(t, declared, st.value, f"param `{st.name}`")
                t = declared
            self.params[st.name] = t
            self._bind(scope, st.name, t, st.span, mutable=False)
        elif isinstance(st, n.Assign):
            self._assign(st, scope)
        elif isinstance(st, n.CallStmt):
            self._call_stmt(st, scope, top_level)
        elif isinstance(st, n.For):
            it = self.expr(st.iterable, scope)
            elem = ANY
            if it.name == "list":
                elem = it.elem or ANY
            elif it != ANY:
                self.err(
                    "E205",
                    f"`for` needs a list to loop over, got {it}",
                    st.iterable.span,
                    "loop over range(n) or a list",
                )
            inner = _Scope(scope, scope.owner)
            if st.var2 is not None:
                inner.vars[st.var] = _Var(NUMBER, False, scope.owner)
                inner.vars[st.var2] = _Var(elem, False, scope.owner)
            else:
                inner.vars[st.var] = _Var(elem, False, scope.owner)
            self.block(st.body, inner)
        elif isinstance(st, n.If):
            self._cond(st.cond, scope)
            self.block(st.then, _Scope(scope, scope.owner))
            if st.otherwise is not None:
                self.block(st.otherwise, _Scope(scope, scope.owner))
        elif isinstance(st, n.Return):
            t = self.expr(st.value, scope)
            if not self._fn_stack:
                self.err("E214", "`return` outside a `def`", st.span)
            else:
                sig = self._fn_stack[-1]
                if sig.node.returns is not None:
                    self._expect(t, sig.returns, st.value, f"the result of `{sig.name}`")
                self._returns[id(sig)].append(t)
        elif isinstance(st, n.Def):
            self.err("E214", "`def` is only allowed at the top level", st.span, "move the definition out of the block")
            if st.name not in self.defs:  # still checked, and callable: its calls are not a second error
                self.defs[st.name] = self._def_signature(st, st.span.file)
                self._check_def_body(st, scope)
        elif isinstance(st, n.Use):
            self.err("E214", "`use` is only allowed at the top level", st.span)

    def _bind(self, scope: _Scope, name: str, t: Type, span: Span, mutable: bool) -> None:
        prev = scope.vars.get(name)
        if prev is not None and prev.owner != -1:
            self.err(
                "E207",
                f"`{name}` is already defined in this scope",
                span,
                f"assign a new value with `{name} = ...`, or pick another name",
            )
        scope.vars[name] = _Var(t, mutable, scope.owner)

    def _assign(self, st: n.Assign, scope: _Scope) -> None:
        t = self.expr(st.value, scope)
        var = scope.lookup(st.name)
        if var is None:
            self.err("E200", f"`{st.name}` is not defined", st.span, f"declare it first: `let {st.name} = ...`")
            return
        if not var.mutable or var.owner != scope.owner:
            why = "a param, loop variable or constant" if not var.mutable else "defined outside this `def`"
            self.err(
                "E215",
                f"cannot assign to `{st.name}`: it is {why}",
                st.span,
                "use a new `let` name, or return a value from the def",
            )
            return
        if st.op != "=":
            t = self._binary_type(st.op[0], var.type, t, st)
        if not assignable(t, var.type):
            self.err("E205", f"`{st.name}` holds {var.type}, cannot assign {t}", st.value.span)

    def _cond(self, e: n.Expr, scope: _Scope) -> None:
        t = self.expr(e, scope)
        if not assignable(t, BOOL):
            self.err(
                "E205",
                f"a condition must be a bool, got {t}",
                e.span,
                "compare explicitly, e.g. `x != 0` or `len(xs) > 0`",
            )

    def _call_stmt(self, st: n.CallStmt, scope: _Scope, top_level: bool) -> None:
        c = st.call
        b = TABLE.get(c.name) if c.name not in self.defs else None
        if self.is_module and top_level:
            self.err(
                "E214",
                "a module may only define things; it cannot draw at its top level",
                st.span,
                "wrap the drawing in a `def`",
            )
        if c.name == "canvas" and b is not None:
            if not top_level:
                self.err("E214", "canvas() must be at the top level", st.span)
            elif self._canvas_seen:
                self.err("E214", "canvas() is called twice", st.span, "call canvas() once, first")
            elif self._drew:
                self.err(
                    "E214", "canvas() comes after drawing has started", st.span, "call canvas() first, before any shape"
                )
            self._canvas_seen = True
        elif b is not None and b.returns == NONE:
            self._drew = True
        self.call(c, scope, block=st.block)
        if st.block is not None:
            self.block(st.block, _Scope(scope, scope.owner))

    # ------------------------------------------------------------ calls
    def call(self, c: n.Call, scope: _Scope, block: list | None = None, as_value: bool = False) -> Type:
        sig = self.defs.get(c.name)
        if sig is not None:
            return self._call_def(c, sig, scope, block, as_value)
        b = TABLE.get(c.name)
        if b is None:
            for a in c.args:
                self.expr(a.value, scope)
            if scope.lookup(c.name) is not None:
                self.err(
                    "E201",
                    f"`{c.name}` is a value, not a function",
                    c.name_span,
                    f"only builtins and `def`s can be called; to multiply write `{c.name} * (...)`",
                )
                return ANY
            cands = list(TABLE) + list(self.defs) if self._may_suggest(len(TABLE) + len(self.defs)) else []
            s = did_you_mean(c.name, cands, FUNCTION_ALIASES) if cands else None
            hint = f"did you mean `{s}`?" if s else None
            if s and FUNCTION_ALIASES.get(c.name) == s and s in TABLE:
                hint = f"vdsl calls it `{s}`: {TABLE[s].short_signature()}"
            if c.name in STATE_CALLS and not as_value:
                hint = f"vdsl has no drawing state: {STATE_CALLS[c.name]}"
            hint = use_hint(c.name) or CALL_HINTS.get(c.name) or hint
            self.err("E201", f"unknown function `{c.name}`", c.name_span, hint)
            return ANY
        return self._call_builtin(c, b, scope, block, as_value)

    def _bind_args(
        self, c: n.Call, names: Sequence[str], positional: int, scope: _Scope, what: str, signature: str = ""
    ) -> tuple[dict[str, tuple[Type, n.Arg]], bool]:
        """Bind arguments to parameter names; also says whether extra positional ones were refused."""
        bound: dict[str, tuple[Type, n.Arg]] = {}
        pos_i = 0
        refused = False
        known = set(names)  # a def may have thousands of parameters: no list scan per argument
        for a in c.args:
            t = self.expr(a.value, scope)
            if a.name is None:
                if pos_i >= positional:
                    refused = True
                    sig = f": {signature}" if signature else ""
                    if positional == 0:
                        self.err(
                            "E204", f"`{c.name}` takes keyword arguments only", a.span, f"name every argument{sig}"
                        )
                    else:
                        self.err(
                            "E204",
                            f"{what} takes at most {positional} positional argument{'s' if positional != 1 else ''}",
                            a.span,
                            f"pass the rest by name{sig}",
                        )
                    pos_i += 1
                    continue
                pname = names[pos_i]
                pos_i += 1
            else:
                pname = a.name
                if pname not in known:
                    self.err(
                        "E202",
                        f"unknown argument `{pname}` for `{c.name}`",
                        a.span,
                        self._unknown_arg_hint(c, pname, names) if self._may_suggest(len(names)) else None,
                    )
                    continue
            if pname in bound:
                self.err("E206", f"argument `{pname}` is given twice", a.span)
                continue
            bound[pname] = (t, a)
        return bound, refused

    @staticmethod
    def _unknown_arg_hint(c: n.Call, pname: str, names: Sequence[str]) -> str:
        s = did_you_mean(pname, names, ARG_ALIASES)
        if s in ("center", "at") and pname in ("x", "y", "cx", "cy", "left", "top"):
            return f"did you mean `{s}`? It takes a point: {s}=(x, y)"
        if s:
            return f"did you mean `{s}`?"
        if pname in ARG_HINTS:
            return ARG_HINTS[pname]
        return f"`{c.name}` takes: {', '.join(names)}"

    def _call_builtin(self, c: n.Call, b: Builtin, scope: _Scope, block, as_value: bool) -> Type:
        if b.variadic is not None:
            if not c.args:
                self.err("E203", f"`{c.name}` needs at least one argument", c.span)
            for a in c.args:
                t = self.expr(a.value, scope)
                if a.name is not None:
                    self.err("E202", f"`{c.name}` takes positional arguments only", a.span)
                elif t.name == "list" and b.variadic == NUMBER:
                    self.err(
                        "E205",
                        f"`{c.name}` takes numbers, not a list",
                        a.value.span,
                        f"write {c.name}(a, b, ...) with the numbers themselves",
                    )
                else:
                    self._expect(t, b.variadic, a.value, f"argument of `{c.name}`")
            return self._result(c, b.result_type({}), block, b.block, as_value)
        names = b.param_names
        bound, refused = self._bind_args(c, names, b.positional, scope, f"`{c.name}`", b.short_signature())
        if c.name in ("rgb", "rgba"):
            self._fractional_rgb(c, bound)
        suggested = self._suggested_for_unknown(c, names)
        types: dict[str, Type] = {}
        for p in b.params:
            if p.name in bound:
                t, a = bound[p.name]
                types[p.name] = t
                if not assignable(t, p.type):  # (the message is only built for a mismatch)
                    if c.name == "canvas" and p.name == "background" and assignable(t, PAINT):
                        self.err(
                            "E205",
                            f"the canvas background must be a color, got {t}",
                            a.value.span,
                            "for a gradient or pattern background, draw a full-canvas rect first: "
                            "rect(x=0, y=0, w=width, h=height, fill=linear(...))",
                        )
                    else:
                        self._expect(t, p.type, a.value, f"argument `{p.name}` of `{c.name}`", p)
                self._check_constraints(c.name, p, a.value)
            elif p.default is REQUIRED and p.name not in suggested and not refused:
                self.err("E203", f"`{c.name}` needs argument `{p.name}` ({p.type})", c.span, b.short_signature())
        if c.name == "text" and "text" in bound and isinstance(bound["text"][1].value, n.String):
            self._check_glyphs(bound["text"][1].value)
        return self._result(c, b.result_type(types), block, b.block, as_value)

    def _check_glyphs(self, lit: n.String) -> None:
        """W505 for characters of a constant text that no bundled font has (they would draw as boxes)."""
        from . import fonts

        missing = fonts.missing_chars(lit.value)
        if missing:
            self.err("W505", fonts.missing_message(missing), lit.span, fonts.missing_hint(missing))

    def _fractional_rgb(self, c: n.Call, bound: dict[str, tuple[Type, n.Arg]]) -> None:
        """rgb(0.5, 0.2, 0.1): channels written 0-1 where vdsl reads 0-255 (an almost black colour)."""
        vals = [bound[k][1].value for k in "rgb" if k in bound]
        if len(vals) == 3 and all(isinstance(v, n.Number) for v in vals):
            nums = [v.value for v in vals]  # type: ignore[attr-defined]
            if all(0 <= x <= 1 for x in nums) and any(0 < x < 1 for x in nums):
                fix = ", ".join(str(round(x * 255)) for x in nums)
                self.err(
                    "W502",
                    "rgb channels are 0-255: these 0-1 values make an almost black colour",
                    c.span,
                    f"write rgb({fix}), or use hsl() or a colour name",
                )

    def _check_constraints(self, fname: str, p: Param, e: n.Expr) -> None:
        """A literal argument outside its parameter's choices or range is reported now (as at run time)."""
        if (p.name in _ANGLE_PARAMS or (fname in _TRIG and p.name == "x")) and _radians_in(e):
            self.err(
                "W504",
                f"`{p.name}` of `{fname}` is in degrees, but this uses `pi` (radians)",
                e.span,
                "vdsl angles are degrees: sin(90) is 1, a half turn is 180",
            )
        if p.choices and isinstance(e, n.String) and e.value not in p.choices:
            self.err(
                "E217",
                f'`{p.name}` must be one of {", ".join(p.choices)}; got "{e.value}"',
                e.span,
                choice_hint(p, e.value),
            )
        if isinstance(e, _RANGE_CHECKED):
            self._check_literal_range(fname, p, e)
        elif isinstance(e, n.ListLit) and (p.min is not None or p.max is not None):  # dash=[-1, 5]
            for item in e.items:
                if isinstance(item, _RANGE_CHECKED):
                    self._check_literal_range(fname, p, item)

    def _check_literal_range(self, fname: str, p, e: n.Expr) -> None:
        """A literal number outside a parameter's range is reported now (as it would be at run time)."""
        if isinstance(e, n.Unary) and e.op == "-":
            neg, lit = True, e.operand
        else:
            neg, lit = False, e
        if not isinstance(lit, (n.Number, n.Percent)) or not math.isfinite(lit.value):
            return
        v = -lit.value if neg else lit.value
        if not p.in_range(v):
            self.err("E301", range_message(p, fname, f"{v:g}"), e.span, range_hint(p))
        if isinstance(lit, n.Percent) and (p.name in _PIXEL_PARAMS or (fname in ("rgb", "rgba") and p.name in "rgb")):
            scale = "0-255" if fname in ("rgb", "rgba") else "pixels"
            self.err(
                "W502",
                f"{lit.raw} is the number {v:g}, not a share of the canvas or of 255",
                e.span,
                f"`{p.name}` is in {scale}: write the number itself"
                + (", or use hsl(h, s%, l%) for percentages" if scale == "0-255" else ""),
            )

    def _suggested_for_unknown(self, c: n.Call, names: Sequence[str]) -> set[str]:
        """Parameters that an unknown argument's did-you-mean already points at (no second error)."""
        known = set(names)
        return {
            s
            for a in c.args
            if a.name is not None
            and a.name not in known
            and self._may_suggest(len(names))
            and (s := did_you_mean(a.name, names, ARG_ALIASES)) is not None
        }

    def _call_def(self, c: n.Call, sig: DefSig, scope: _Scope, block, as_value: bool) -> Type:
        names = [p.name for p in sig.params]
        # Every def call may carry `label=` (its drawing is labelled with the def's name otherwise).
        extra_label = "label" not in names
        bound, refused = self._bind_args(
            c, names + ["label"] * extra_label, len(names), scope, f"`{c.name}`", sig.signature()
        )
        if extra_label and "label" in bound:
            t, a = bound.pop("label")
            self._expect(t, STRING, a.value, f"`label` of `{c.name}`")
        suggested = self._suggested_for_unknown(c, names)
        for p in sig.params:
            if p.name in bound:
                t, a = bound[p.name]
                if not assignable(t, p.type):
                    self._expect(t, p.type, a.value, f"argument `{p.name}` of `{c.name}`")
                self._check_constraints(c.name, p, a.value)
            elif p.required and p.name not in suggested and not refused:
                self.err("E203", f"`{c.name}` needs argument `{p.name}` ({p.type})", c.span, sig.signature())
        return self._result(c, sig.returns, block, False, as_value)

    def _result(self, c: n.Call, t: Type, block, takes_block: bool, as_value: bool) -> Type:
        if block is not None and not takes_block:
            self.err(
                "E209",
                f"`{c.name}` does not take a `{{ ... }}` block",
                c.span,
                "only " + ", ".join(sorted(k for k, v in TABLE.items() if v.block)) + " take blocks",
            )
        if block is None and takes_block and not as_value:
            self.err(
                "E210",
                f"`{c.name}` needs a `{{ ... }}` block of shapes",
                c.span,
                f"write `{c.name}(...) {{ circle(...) }}`",
            )
        if as_value and takes_block:
            self.err("E214", f"`{c.name}` draws a block; it cannot be used as a value", c.span)
        return t

    def _expect(self, t: Type, want: Type, e: n.Expr, what: str, param: Param | None = None) -> None:
        if assignable(t, want):
            return
        if (
            want.name == "list"
            and want.elem is not None
            and isinstance(e, n.ListLit)
            and e.items
            and assignable(COLOR, want.elem)
            and id(e) in self._item_types
        ):
            # [red, "blue", "#ff8800"]: string literals in a list of colours are colours too
            types = self._item_types[id(e)]
            if all(
                assignable(it, want.elem) or (it == STRING and isinstance(item, n.String))
                for item, it in zip(e.items, types)
            ):
                for item, it in zip(e.items, types):
                    self._expect(it, want.elem, item, what)
                return
        if t == STRING and (assignable(COLOR, want)) and isinstance(e, n.String):
            if parse_color_text(e.value) is None:
                s = suggest_color(e.value)
                color_hint = f"did you mean {s}?" if s else "use a CSS colour name or hex like #ff8800"
                if e.value.strip().startswith("#"):
                    color_hint = "hex colours have 3, 4, 6 or 8 digits: #f80, #f80c, #ff8800, #ff8800cc"
                elif "(" in e.value and e.value.split("(")[0].strip().lower() in TABLE:
                    color_hint = f"write the call without quotes: {e.value.strip()}"
                self.err("E216", f'unknown colour "{e.value}"', e.span, color_hint)
            return  # a colour written as a string literal ("red", "#ff0000") is accepted
        hint: str | None = None
        if want == POINT and t.name == "list":
            hint = "write points as (x, y), not [x, y]"
        elif want == list_of(POINT) and t.name == "list" and t.elem is not None and t.elem.name == "list":
            hint = "write each point as (x, y), not [x, y]: [(0, 0), (10, 0), (5, 8)]"
        elif t == STRING and assignable(COLOR, want):
            hint = (
                "a colour is a value, not text: write `red` or `#ff0000` without quotes "
                '(or declare `let c: color = "red"`)'
            )
        elif want == POINT and t == NUMBER:
            hint = "a point is written (x, y)"
        elif want.name == "list" and t == POINT:
            hint = "a list is written [a, b, ...]"
        elif want == STRING and t == NUMBER:
            hint = "convert with str(x)"
        elif want == NUMBER and t == STRING:
            hint = "write numbers without quotes"
        elif want == NUMBER and t == POINT:
            hint = "use p.x or p.y for one coordinate"
        elif t == NONE:
            hint = "this call draws and returns no value"
        if hint is None and param is not None:  # say what the parameter takes (smooth=true -> a number in 0..2)
            from .values import show

            default = "" if param.required or param.default is None else f" (default {show(param.default)})"
            flag = ", not true/false" if t == BOOL else ""
            hint = f"`{param.name}` takes a {param.type_text()}{flag}{default}"
        self.err("E205", f"{what} must be {want}, got {t}", e.span, hint)

    def _too_large(self, e: n.Number | n.Percent) -> None:
        shown = e.raw if len(e.raw) <= 24 else f"{e.raw[:12]}...{e.raw[-8:]} ({len(e.raw)} characters)"
        self.err("E305", f"the number {shown} is too large", e.span)

    # ------------------------------------------------------------ expressions
    def expr(self, e: n.Expr, scope: _Scope) -> Type:
        # (the node classes are disjoint: the commonest are tested first)
        if isinstance(e, n.Number):
            if not math.isfinite(e.value):
                self._too_large(e)
            return NUMBER
        if isinstance(e, n.Name):
            return self._name(e, scope)
        if isinstance(e, n.PointLit):
            for part in (e.x, e.y):
                t = self.expr(part, scope)
                if not assignable(t, NUMBER):
                    self.err("E205", f"point coordinates must be numbers, got {t}", part.span)
            return POINT
        if isinstance(e, n.Call):
            t = self.call(e, scope, as_value=True)
            return t
        if isinstance(e, n.Binary):
            if e.op in ("and", "or"):
                for side in (e.left, e.right):
                    self._cond(side, scope)
                return BOOL
            lt, rt = self.expr(e.left, scope), self.expr(e.right, scope)
            return self._binary_type(e.op, lt, rt, e)
        if isinstance(e, n.ColorLit):
            if parse_hex(e.raw) is None:
                self.err(
                    "E106",
                    f"`{e.raw}` is not a valid colour",
                    e.span,
                    "hex colours have 3, 4, 6 or 8 digits: #f80, #f80c, #ff8800, #ff8800cc",
                )
            return COLOR
        if isinstance(e, n.String):
            return STRING
        if isinstance(e, n.Percent):
            if not math.isfinite(e.value):
                self._too_large(e)
            return NUMBER
        if isinstance(e, n.Bool):
            return BOOL
        if isinstance(e, n.ListLit):
            elem: Type | None = None
            items = []
            for item in e.items:
                it = self.expr(item, scope)
                items.append(it)
                elem = it if elem is None else join(elem, it)
            self._item_types[id(e)] = items
            return list_of(elem or ANY)
        if isinstance(e, n.Unary):
            t = self.expr(e.operand, scope)
            if e.op == "not":
                if not assignable(t, BOOL):
                    self.err("E211", f"`not` needs a bool, got {t}", e.span)
                return BOOL
            if t in (NUMBER, POINT, ANY):
                return t
            self.err("E211", f"unary `{e.op}` needs a number or point, got {t}", e.span)
            return ANY
        if isinstance(e, n.Field):
            if (
                isinstance(e.obj, n.Name)
                and scope.lookup(e.obj.name) is None
                and e.obj.name not in self.defs
                and e.obj.name not in TABLE
            ):
                return self._module_field(e, e.obj, scope)
            t = self.expr(e.obj, scope)
            fields = {"point": ("x", "y"), "color": ("r", "g", "b", "a")}.get(t.name)
            if t == ANY:
                return ANY
            if fields is None or e.name not in fields:
                hint = (
                    f"{t} has fields {', '.join(fields)}"
                    if fields
                    else "only points (.x, .y) and colours (.r, .g, .b, .a) have fields"
                )
                if t.name == "list" and e.name in ("length", "len", "size", "count"):
                    hint = "use len(xs)"
                self.err("E213", f"{t} has no field `{e.name}`", e.name_span or e.span, hint)
                return ANY
            return NUMBER
        if isinstance(e, n.Index):
            t = self.expr(e.obj, scope)
            it = self.expr(e.index, scope)
            if not assignable(it, NUMBER):
                self.err("E205", f"an index must be a number, got {it}", e.index.span)
            if t.name == "list":
                return t.elem or ANY
            if t == STRING:
                return STRING
            if t == POINT:
                return NUMBER
            if t != ANY:
                self.err("E211", f"cannot index a {t}", e.span, "only lists and strings can be indexed")
            return ANY
        if isinstance(e, n.Ternary):
            self._cond(e.cond, scope)
            return join(self.expr(e.then, scope), self.expr(e.otherwise, scope))
        if isinstance(e, n.Comprehension):
            it = self.expr(e.iterable, scope)
            elem = it.elem if it.name == "list" and it.elem else ANY
            if it.name != "list" and it != ANY:
                self.err("E205", f"a comprehension needs a list to loop over, got {it}", e.iterable.span)
            inner = _Scope(scope, scope.owner)
            inner.vars[e.var] = _Var(elem, False, scope.owner)
            if e.cond is not None:
                self._cond(e.cond, inner)
            return list_of(self.expr(e.item, inner))
        return ANY  # pragma: no cover

    def _module_field(self, e: n.Field, obj: n.Name, scope: _Scope) -> Type:
        """`Math.PI`, `math.pi`, `np.pi`: a module prefix from another language."""
        names = scope.names() if self._may_suggest(scope.size()) else set()
        s = did_you_mean(e.name, names, NAME_ALIASES, cutoff=0.8)
        if s is None and e.name.lower() in names:
            s = e.name.lower()
        hint = (
            f"vdsl has no modules or objects: write `{s}`"
            if s
            else "vdsl has no modules or objects; only points (.x, .y) and colours (.r, .g, .b, .a) have fields"
        )
        self.err("E200", f"unknown name `{obj.name}`", obj.span, hint)
        return ANY

    def _name(self, e: n.Name, scope: _Scope) -> Type:
        v = scope.lookup(e.name)
        if v is not None:
            return v.type
        if e.name in self.defs or e.name in TABLE:
            sig = self.defs[e.name].signature() if e.name in self.defs else TABLE[e.name].short_signature()
            self.err("E200", f"`{e.name}` is a function; call it with (...)", e.span, f"call it: {sig}")
            return ANY
        suggest = self._may_suggest(scope.size())
        names = scope.names() | {"true", "false"} if suggest else set()
        s = did_you_mean(e.name, names, NAME_ALIASES) if suggest else None
        if s is None and e.name in NAME_ALIASES:
            s = NAME_ALIASES[e.name]  # `true`, `false`: keywords, not names in scope
        hint = f"did you mean `{s}`?" if s else None
        if e.name in FOREIGN_NAMES:
            hint = FOREIGN_NAMES[e.name]
        if suggest and s is None and e.name[:1].isalpha() and e.name.isalpha() and e.name.lower() not in names:
            c = suggest_color(e.name)
            if c:
                hint = f"did you mean the colour `{c}`?"
        hint = use_hint(e.name) or hint
        self.err("E200", f"unknown name `{e.name}`", e.span, hint)
        return ANY

    def _binary_type(self, op: str, lt: Type, rt: Type, e: n.Node) -> Type:
        if op in ("==", "!="):
            return BOOL
        if op in ("<", "<=", ">", ">="):
            if (lt in (NUMBER, ANY) and rt in (NUMBER, ANY)) or (lt == rt == STRING):
                return BOOL
            self.err("E211", f"cannot compare {lt} {op} {rt}", e.span)
            return BOOL
        if ANY in (lt, rt) or lt.name == "any" or rt.name == "any":
            other = rt if lt == ANY else lt
            if op == "+" and other.name in ("string", "list"):
                return other
            return ANY
        if lt == NUMBER and rt == NUMBER:
            return NUMBER
        if op in ("+", "-") and lt == POINT and rt == POINT:
            return POINT
        if op in ("*", "/") and lt == POINT and rt in (NUMBER, POINT):
            return POINT
        if op == "*" and lt == NUMBER and rt == POINT:
            return POINT
        if op == "+" and lt == STRING and rt == STRING:
            return STRING
        if op == "+" and lt.name == "list" and rt.name == "list":
            return join(lt, rt)
        hint = None
        if op == "+" and STRING in (lt, rt):
            hint = "convert with str(x) before joining text"
        elif op == "+" and POINT in (lt, rt):
            hint = "add points to points: (x, y) + (dx, dy)"
        elif COLOR in (lt, rt):
            hint = "use mix(), lighten(), darken() or with_alpha() to change colours"
        self.err("E211", f"cannot apply `{op}` to {lt} and {rt}", e.span, hint)
        return ANY


def _has_return(stmts) -> bool:
    stack = list(stmts)
    while stack:
        s = stack.pop()
        if isinstance(s, n.Return):
            return True
        if isinstance(s, n.For):
            stack.extend(s.body)
        elif isinstance(s, n.If):
            stack.extend(s.then)
            stack.extend(s.otherwise or [])
        elif isinstance(s, n.CallStmt) and s.block:
            stack.extend(s.block)
    return False


def check(program: n.Program, base_dir: str | None = None, budgets: Budgets = DEFAULT, stdlib: str = "all") -> Checked:
    """Check a parsed program (and the modules it uses); `stdlib` (all, shapes, none) is what `use` may name (E219)."""
    return Checker(ModuleLoader(base_dir, budgets, stdlib), budgets=budgets).check(program)
