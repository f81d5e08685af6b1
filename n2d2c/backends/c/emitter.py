"""The C-family emitter: renders a lowered Program as C (this class) or a dialect (subclasses).

A target subclasses ``CEmitter`` and overrides only what differs, in the way
tinygrad's C-style renderers do:

* spelling: ``restrict``, ``const_int``, ``align``, ``parallel_for``, the
  helper names used by ``act``/``scalar_fn``;
* where kernels come from: ``template_dirs`` is searched first to last, so a
  target's ``<kernel>.j2`` shadows the generic one and the rest fall back;
* how a kernel is prepared: ``prepare_<kernel>(call)`` returns the template
  name and its context (loop nests, tables, weights in the layout that
  template wants).  A target that wants another weight layout overrides the
  prepare method next to its template;
* which files make the project: ``file_templates``.

Every kernel template defines ``body(k)`` (the statements of one call) and may
define ``support()`` (file-scope helpers emitted once per output when the
kernel is used).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import jinja2
import numpy as np

from ...errors import InternalError, UnsupportedError
from .buffers import ArenaPlacement, BufferPlan, BufferRequest, make_plan
from .formatting import Nest, c_float, c_float_array, c_int_array, reindent
from .program import Activation, KernelCall, Layer, Program, c_identifier
from .views import Storage, View, loop_nest

GENERIC_TEMPLATES = Path(__file__).parent / "templates" / "generic"


class Ctx(dict):
    """A template context: a dict whose keys read as attributes too."""

    __getattr__ = dict.get


class Pointer:
    """A C pointer expression for a view, resolved when rendered (after memory planning)."""

    def __init__(self, emitter: "CEmitter", view: View):
        self.emitter = emitter
        self.view = view

    def __str__(self) -> str:
        return self.emitter.pointer_expr(self.view)

    def __html__(self) -> str:  # pragma: no cover - jinja only calls __str__ without autoescape
        return str(self)


@dataclass(frozen=True)
class Operand:
    """A kernel operand as templates see it: a pointer expression and its view."""

    name: str
    ptr: Pointer
    view: View

    @property
    def shape(self):
        return self.view.shape

    @property
    def strides(self):
        return self.view.strides


@dataclass
class ConstArray:
    symbol: str
    data: np.ndarray
    ctype: str
    comment: str


class CEmitter:
    target: ClassVar[str] = "generic"
    template_dirs: ClassVar[tuple[Path, ...]] = (GENERIC_TEMPLATES,)
    # output file -> template that renders it
    file_templates: ClassVar[dict[str, str]] = {
        "network.h": "files/network.h.j2",
        "network.c": "files/network.c.j2",
        "weights.h": "files/weights.h.j2",
        "weights.c": "files/weights.c.j2",
        "n2d2c_support.h": "files/support.h.j2",
    }
    # files whose layout comes from brace depth (templates need not indent kernels)
    reindented_files: ClassVar[tuple[str, ...]] = ("network.c",)
    language: ClassVar[str] = "c"
    float_t: ClassVar[str] = "float"
    index_t: ClassVar[str] = "int"
    arena_ctype: ClassVar[str] = "float"
    restrict: ClassVar[str] = "restrict"
    alignment: ClassVar[int] = 64
    # below this many multiply-adds (or elements), a loop is not worth parallelising
    parallel_threshold: ClassVar[int] = 1 << 18

    def __init__(self, program: Program, *, plan: BufferPlan | str | None = None):
        self.program = program
        self.plan = make_plan(plan, self.alignment)
        self.consts: list[ConstArray] = []
        self._const_symbols: dict[str, str] = {}
        self._symbols: set[str] = set()
        self._supports: list[str] = []
        self.placement: ArenaPlacement | None = None
        self.requests: list[BufferRequest] = []
        self.layer_code: list[tuple[Layer, str]] = []
        self._scratch: list[tuple[int, Storage]] = []   # (id of the kernel call, storage)
        self._decls: dict[str, list[str]] = {}
        # Set by prepare_all: per layer, the (template, context) of each of its calls.
        self.prepared: list[tuple[Layer, list[tuple[str, Ctx]]]] | None = None
        # Bytes per activation element when planning for reports only (None: real sizes).
        self.memory_itemsize: int | None = None
        self._current_call: KernelCall | None = None
        self._aliased = False   # the call being rendered reads and writes overlapping bytes

    # -- templates ---------------------------------------------------------------
    @functools.cached_property
    def env(self) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d)) for d in self.template_dirs]),
            undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
            trim_blocks=True, lstrip_blocks=True, autoescape=False)
        env.globals["e"] = self
        env.filters["cfloat"] = c_float
        return env

    def template(self, name: str) -> jinja2.Template:
        return self.env.get_template(name)

    def kernel_template(self, kernel: str) -> jinja2.Template:
        return self.template(f"{kernel}.j2")

    # -- spelling --------------------------------------------------------------------
    @property
    def c_name(self) -> str:
        """The network's name as a C identifier (prefix of the C API)."""
        return c_identifier(self.program.name)

    @property
    def macro_prefix(self) -> str:
        return self.c_name.upper()

    def const_int(self, name: str, value: int) -> str:
        return f"enum {{ {name} = {int(value)} }};"

    def align(self, n: int | None = None) -> str:
        return f"__attribute__((aligned({n or self.alignment})))"

    def parallel_for(self, work: int, collapse: int = 1) -> str:
        """A pragma that parallelises the next loop; plain C runs single-threaded."""
        return ""

    def f(self, x: float) -> str:
        return c_float(x)

    CTYPES: ClassVar[dict[str, str]] = {"float32": "float", "int8": "int8_t", "uint8": "uint8_t",
                                        "int16": "int16_t", "int32": "int32_t", "int64": "int64_t"}

    def ctype(self, dtype: str) -> str:
        return self.float_t if dtype == "float32" else self.CTYPES[dtype]

    @property
    def restrict_kw(self) -> str:
        """``restrict``, except in a call whose output shares bytes with an input (in-place
        and wrapped kernels), where it would be a lie."""
        return "" if self._aliased else f" {self.restrict}"

    def in_ptr(self, name: str, operand: Operand) -> str:
        ctype = self.ctype(operand.view.storage.dtype)
        return f"const {ctype}*{self.restrict_kw} {name} = {operand.ptr};"

    def out_ptr(self, name: str, operand: Operand) -> str:
        ctype = self.ctype(operand.view.storage.dtype)
        return f"{ctype}*{self.restrict_kw} {name} = {operand.ptr};"

    def cast_ptr(self, ctype: str, expr: str) -> str:
        return f"(({ctype}*)({expr}))"

    @property
    def byte_arena(self) -> bool:
        """Integer and float buffers share the arena: declare it as bytes."""
        dtypes = {st.dtype for st in self.program.arena.values()}
        dtypes |= {st.dtype for _, st in self._scratch}
        return dtypes - {"float32"} != set()

    def arena_decl(self) -> str:
        if self.byte_arena:
            return (f"static unsigned char arena[{self.arena_bytes_declared}] "
                    f"{self.align()};") + self.external_decls()
        return (f"static {self.float_t} arena[{self.arena_elements()}] {self.align()};"
                + self.external_decls())

    @property
    def arena_bytes_declared(self) -> int:
        """The planned arena size (an empty arena is declared with one element)."""
        return self.placement.nbytes or (1 if self.byte_arena else 4)

    def external_symbol(self, name: str) -> str:
        return f"ext_{name}"

    @property
    def external_storages(self) -> list[Storage]:
        return [self.program.arena[name] for name in sorted(self.placement.external)]

    def external_decls(self) -> str:
        """Buffers kept out of the arena (graph inputs with IncludeInputInBuffer=0)."""
        return "".join(f"\nstatic {self.ctype(st.dtype)} {self.external_symbol(st.name)}"
                       f"[{st.size}] {self.align()};  // {st.size * st.itemsize} bytes, "
                       "outside the arena" for st in self.external_storages)

    def array_body(self, const: ConstArray) -> str:
        if const.data.dtype.kind not in "iu":
            return c_float_array(const.data)
        return c_int_array(const.data.ravel(), suffix="LL" if const.data.dtype.itemsize == 8 else "")

    def int_table(self, name: str, values) -> str:
        values = [int(v) for v in values]
        return f"static const int {name}[{max(len(values), 1)}] = {{\n{c_int_array(values)}\n}};"

    def float_table(self, name: str, values) -> str:
        values = np.asarray(values, np.float32)
        return (f"static const {self.float_t} {name}[{max(values.size, 1)}] = {{\n"
                f"{c_float_array(values)}\n}};")

    def int_literal(self, value: int, dtype: str = "int32") -> str:
        value = int(value)
        if value == -2**63:
            return "INT64_MIN"
        if value == 2**63 - 1:
            return "INT64_MAX"
        if dtype == "int64" or not -2**31 < value < 2**31:
            return f"INT64_C({value})"
        return str(value)

    # element-wise expressions (helpers are defined in the support header)
    def act(self, act: Activation | None, expr: str, dtype: str = "float32") -> str:
        if act is None:
            return expr
        if dtype != "float32":
            return self.int_act(act, expr, dtype)
        k = act.kind
        if k == "relu":
            return f"n2d2c_relu({expr})"
        if k == "leaky_relu":
            return f"n2d2c_leaky_relu({expr}, {self.f(act.attr('alpha'))})"
        if k == "clip":
            lo, hi = act.attr("min"), act.attr("max")
            if lo == float("-inf") and hi == float("inf"):
                return expr
            if lo == float("-inf"):
                return f"n2d2c_min({expr}, {self.f(hi)})"
            if hi == float("inf"):
                return f"n2d2c_max({expr}, {self.f(lo)})"
            return f"n2d2c_clip({expr}, {self.f(lo)}, {self.f(hi)})"
        if k == "sigmoid":
            return f"n2d2c_sigmoid({expr})"
        if k == "tanh":
            return f"tanhf({expr})"
        if k == "softplus":
            return f"n2d2c_softplus({expr})"
        if k == "hard_sigmoid":
            return (f"n2d2c_hard_sigmoid({expr}, {self.f(act.attr('alpha'))}, "
                    f"{self.f(act.attr('beta'))})")
        if k == "hard_swish":
            return f"n2d2c_hard_swish({expr})"
        raise InternalError(f"unknown activation {k!r}")

    def int_act(self, act: Activation, expr: str, dtype: str) -> str:
        """ReLU / Clip on integers: bounds rounded inwards and saturated to the type."""
        info = np.iinfo(np.dtype(dtype))
        if act.kind == "relu":
            return f"n2d2c_clamp_i64({expr}, 0, {self.int_literal(info.max, 'int64')})"
        if act.kind == "clip":
            lo, hi = act.attr("min"), act.attr("max")
            lo = info.min if lo == float("-inf") else max(info.min, min(info.max, math.ceil(lo)))
            hi = info.max if hi == float("inf") else max(info.min, min(info.max, math.floor(hi)))
            return (f"n2d2c_clamp_i64({expr}, {self.int_literal(lo, 'int64')}, "
                    f"{self.int_literal(hi, 'int64')})")
        raise UnsupportedError(f"activation '{act.kind}' on {dtype} integers")

    def scalar_fn(self, fn: str, args: list[str], params: dict) -> str:
        if fn == "identity":
            return args[0]
        if fn == "quantize":
            info = np.iinfo(np.dtype(params["out_dtype"]))
            return (f"n2d2c_quantize({args[0]}, {float(params['scale'])!r}, "
                    f"{self.int_literal(params['zero_point'], 'int64')}, "
                    f"{self.int_literal(info.min, 'int64')}, {self.int_literal(info.max, 'int64')})")
        if fn == "dequantize":
            return (f"(float)((double)((int64_t){args[0]} - "
                    f"{self.int_literal(params['zero_point'], 'int64')}) * {float(params['scale'])!r})")
        if params.get("out_dtype", "float32") != "float32":
            ctype = self.ctype(params["out_dtype"])
            if fn == "add":
                return f"({ctype}){args[0]} + ({ctype}){args[1]}"
            if fn in ("max", "min"):
                return f"({args[0]} {'>' if fn == 'max' else '<'} {args[1]} ? {args[0]} : {args[1]})"
            raise UnsupportedError(f"'{fn}' on {params['out_dtype']} integers")
        ops = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
        if fn in ops:
            return f"{args[0]} {ops[fn]} {args[1]}"
        if fn in ("max", "min"):
            return f"n2d2c_{fn}({args[0]}, {args[1]})"
        if fn == "prelu":
            return f"n2d2c_prelu({args[0]}, {args[1]})"
        if fn == "affine":
            return f"{args[0]} * {args[1]} + {args[2]}"
        if fn == "batchnorm":
            x, scale, bias, mean, var = args
            return f"({x} - {mean}) / sqrtf({var} + {self.f(params['epsilon'])}) * {scale} + {bias}"
        raise InternalError(f"unknown element-wise function {fn!r}")

    # -- symbols and memory ------------------------------------------------------------
    def symbol(self, base: str) -> str:
        base = c_identifier(base)
        name, i = base, 1
        while name in self._symbols:
            name = f"{base}_{i}"
            i += 1
        self._symbols.add(name)
        return name

    def add_const(self, base: str, data: np.ndarray, comment: str = "",
                  ctype: str | None = None) -> str:
        """Emit ``data`` as a const array in the weights file; returns its symbol."""
        symbol = self.symbol(base)
        data = np.ascontiguousarray(data)
        if ctype is None:
            ctype = self.ctype(data.dtype.name if data.dtype.kind in "iu" else "float32")
        self.consts.append(ConstArray(symbol, data, ctype, comment))
        return symbol

    def const_symbol(self, storage_name: str) -> str:
        """Symbol of a data constant of the program (emitted on first use)."""
        if storage_name not in self._const_symbols:
            data = self.program.consts[storage_name]
            self._const_symbols[storage_name] = self.add_const(
                storage_name, data, f"shape {list(data.shape)}", self.ctype(data.dtype.name))
        return self._const_symbols[storage_name]

    def arena_offset(self, view: View) -> int:
        """Offset of a view's first element, in elements of the arena's declared type."""
        if self.placement is None:
            raise InternalError("arena offsets are known only once memory is planned")
        if view.storage.name not in self.placement.regions:
            raise InternalError(f"buffer '{view.storage.name}' has no region in the arena")
        region = self.placement.region(view.storage.name)
        if self.byte_arena:
            return region.offset + view.offset * view.storage.itemsize
        return region.offset // 4 + view.offset

    def pointer(self, view: View) -> Pointer:
        """The address of a view's first element (rendered once the arena is planned)."""
        if view.storage.kind == "const":
            self.const_symbol(view.storage.name)     # emit the constant now, in use order
        return Pointer(self, view)

    def scratch(self, layer: Layer, name: str, size: int, dtype: str = "float32") -> View:
        """A temporary arena buffer of ``size`` elements, live only while the kernel call
        being prepared runs (planned into the arena like every other buffer)."""
        storage = Storage("arena", f"{layer.name}__{name}", int(size), dtype=dtype)
        self._scratch.append((id(self._current_call), storage))
        return View.dense(storage, (int(size),))

    def pointer_expr(self, view: View) -> str:
        st = view.storage
        if st.kind == "arena" and st.name in self.placement.external:
            base = self.external_symbol(st.name)
            return base if view.offset == 0 else f"{base} + {view.offset}"
        if st.kind == "arena":
            if self.byte_arena:
                return self.cast_ptr(self.ctype(st.dtype), f"arena + {self.arena_offset(view)}")
            return f"arena + {self.arena_offset(view)}"
        if st.kind == "const":
            base = self.const_symbol(st.name)
        elif st.kind == "input":
            base = f"inputs[{st.index}]"
        elif st.kind == "output":
            base = f"outputs[{st.index}]"
        else:
            raise InternalError(f"unknown storage {st}")
        return base if view.offset == 0 else f"{base} + {view.offset}"

    def operand(self, name: str, view: View) -> Operand:
        return Operand(name, self.pointer(view), view)

    def const_data(self, view: View) -> np.ndarray | None:
        """The logical array behind a view of a constant (strides applied), else None."""
        if view.storage.kind != "const":
            return None
        flat = self.program.consts[view.storage.name].ravel()
        idx = np.full(view.shape, view.offset, dtype=np.int64)
        for axis, stride in enumerate(view.strides):
            shape = [1] * view.rank
            shape[axis] = view.shape[axis]
            idx = idx + (np.arange(view.shape[axis]) * stride).reshape(shape)
        return flat[idx]

    # -- layers ------------------------------------------------------------------------
    def layer_symbol(self, layer: Layer) -> str:
        return f"layer_{layer.name}" if layer.kind == "op" else layer.name

    def layer_params(self, layer: Layer) -> str:
        if layer.kind == "load":
            return f"const {self.float_t}* const* inputs"
        if layer.kind == "store":
            return f"{self.float_t}* const* outputs"
        return "void"

    def layer_args(self, layer: Layer) -> str:
        return {"load": "inputs", "store": "outputs"}.get(layer.kind, "")

    def plan_memory(self) -> ArenaPlacement:
        """Describe every arena buffer (lifetime in kernel-call steps, sharing its kernels
        allow: see memory.py), place them with the plan and validate the placement."""
        from .memory import ProblemBuilder

        if self.prepared is None:
            self.prepare_all()
        self.requests = ProblemBuilder(self, self.memory_itemsize).requests()
        placement = self.plan.place(self.requests)
        placement.check(self.requests)
        return placement

    def kernel_memory(self, call: KernelCall, template: str, ctx: Ctx):
        """How a prepared call walks memory (``memory.KernelMemory``).  Only kernels whose
        access order is known to be safe say they may share bytes: the generic convolution
        and pooling (row-ordered variant when the plan overlaps them) and element-wise maps."""
        from .memory import NONE, KernelMemory

        if template in ("conv2d", "pool2d"):
            return KernelMemory(rows=True)
        if template == "map":
            return KernelMemory(elementwise=True)
        return NONE

    def prepare_call(self, layer: Layer, call: KernelCall) -> tuple[str, Ctx]:
        prepare = getattr(self, f"prepare_{call.kernel}", None)
        if prepare is None:
            raise InternalError(f"target '{self.target}' has no kernel '{call.kernel}'")
        self._current_call = call
        try:
            return prepare(call, layer)
        finally:
            self._current_call = None

    def prepare_all(self) -> None:
        """Prepare every kernel call (kernel choice, constants, scratch buffers)."""
        self.prepared = [(layer, [self.prepare_call(layer, call) for call in layer.calls])
                         for layer in self.program.layers]

    def call_aliases(self, call: KernelCall) -> bool:
        """Does the plan make bytes this call writes (its outputs, its scratch) share memory
        with other bytes it reads (its inputs, its scratch)?"""
        regions = self.placement.regions
        scratch = [st.name for cid, st in self._scratch if cid == id(call)]
        reads = [v.storage.name for v in call.reads.values() if v is not None] + scratch
        writes = [v.storage.name for v in call.writes.values()] + scratch
        spans = {n: regions[n] for n in set(reads + writes) if n in regions}
        for w in writes:
            for r in reads:
                if w != r and w in spans and r in spans and spans[w].nbytes and spans[r].nbytes \
                        and spans[w].offset < spans[r].end and spans[r].offset < spans[w].end:
                    return True
        return False

    def render_call(self, layer: Layer, template_name: str, ctx: Ctx) -> str:
        module = self.kernel_template(template_name).module
        if hasattr(module, "support") and template_name not in self._supports:
            self._supports.append(template_name)
        if hasattr(module, "decls"):
            self._decls.setdefault(layer.name, []).append(str(module.decls(ctx)))
        if ctx.requant_decl:
            # The requantize function of a rescale or of a fused epilogue (see requantizer).
            self._decls.setdefault(layer.name, []).append(ctx.requant_decl)
        return str(module.body(ctx))

    def render_layers(self) -> None:
        """Prepare every kernel call, place the buffers (scratch included), then render.

        A call whose buffers the plan overlaps renders with ``ctx.aliased`` set (templates
        then keep the access order the planner relied on) and without ``restrict``."""
        if self.prepared is None:
            self.prepare_all()
        if self.placement is None:
            self.placement = self.plan_memory()
        self.layer_code = []
        for layer, calls in self.prepared:
            parts = []
            for call, (name, ctx) in zip(layer.calls, calls):
                self._aliased = self.call_aliases(call)
                if self._aliased and not self.kernel_memory(call, name, ctx).may_alias:
                    raise InternalError(f"{layer.name}: the buffer plan overlaps the operands "
                                        f"of kernel '{name}', whose access order allows no "
                                        "sharing")
                ctx["aliased"] = self._aliased
                try:
                    parts.append(f"{{\n{self.render_call(layer, name, ctx)}\n}}")
                finally:
                    self._aliased = False
            self.layer_code.append((layer, "\n".join(parts)))

    def decls(self, layer: Layer) -> str:
        """File-scope declarations a layer's kernels need (e.g. compile-time shape structs)."""
        return "\n".join(self._decls.get(layer.name, []))

    def support_code(self) -> str:
        return "\n".join(str(self.kernel_template(name).module.support())
                         for name in self._supports)

    @property
    def code_layers(self) -> list[tuple[Layer, str]]:
        """Layers that have code (aliases such as Reshape have none)."""
        return [(layer, code) for layer, code in self.layer_code if code]

    def plan_description(self) -> str:
        """How the plan was made, for the generated code's header comment."""
        plan = self.placement.plan if self.placement is not None else None
        if plan is None:
            return ""
        return (f": strategy {plan.strategy}, lower bound {plan.lower_bound} bytes"
                + (" (reached)" if plan.arena_size <= plan.lower_bound else ""))

    def arena_elements(self) -> int:
        return -(-self.arena_bytes_declared // np.dtype(np.float32).itemsize)

    def render_files(self) -> dict[str, str]:
        """Every generated file: name -> text."""
        self.render_layers()
        files = {}
        # Weights last: rendering the network registers the constants it uses.
        names = sorted(self.file_templates, key=lambda n: n.startswith("weights"))
        for out_name in names:
            text = self.template(self.file_templates[out_name]).render(p=self.program)
            files[out_name] = reindent(text) if out_name in self.reindented_files else text
        return dict(sorted(files.items()))

    # -- kernel preparation (generic) ------------------------------------------------
    def _nest(self, shape, named_views: dict[str, View], order_by: str | None = None,
              var: str = "i", merge: bool = True) -> Nest:
        names = list(named_views)
        order = names.index(order_by) if order_by else 0
        loops = loop_nest(shape, [named_views[n].strides for n in names], order_by=order,
                          merge=merge)
        return Nest(loops, names, var)

    def prepare_copy(self, call: KernelCall, layer: Layer):
        x, y = call.reads["x"], call.writes["y"]
        nest = self._nest(y.shape, {"y": y, "x": x})
        return "copy", Ctx(x=self.operand("x", x), y=self.operand("y", y), nest=nest,
                           pragma=self.parallel_for(nest.total // 8))

    def prepare_map(self, call: KernelCall, layer: Layer):
        y = call.writes["y"]
        views = {"y": y, **call.reads}
        nest = self._nest(y.shape, views)
        args = [f"{n}[{nest.index(n)}]" for n in call.reads]
        params = dict(call.params, out_dtype=y.storage.dtype)
        expr = self.act(call.params.get("act"), self.scalar_fn(call.params["fn"], args, params),
                        y.storage.dtype)
        operands = [self.operand(n, v) for n, v in call.reads.items()]
        return "map", Ctx(y=self.operand("y", y), inputs=operands, nest=nest, expr=expr,
                          pragma=self.parallel_for(nest.total // 4))

    def prepare_softmax(self, call: KernelCall, layer: Layer):
        x, y = call.reads["x"], call.writes["y"]
        axis = call.params["axis"]
        outer = [d for d in range(x.rank) if d != axis]
        nest = self._nest([x.shape[d] for d in outer],
                          {"y": _pick(y, outer), "x": _pick(x, outer)})
        return "softmax", Ctx(x=self.operand("x", x), y=self.operand("y", y), nest=nest,
                              n=x.shape[axis] if x.rank else 1,
                              sx=x.strides[axis] if x.rank else 0,
                              sy=y.strides[axis] if y.rank else 0,
                              log=call.params["log"],
                              pragma=self.parallel_for(x.size * 8))

    def prepare_reduce(self, call: KernelCall, layer: Layer):
        x, y = call.reads["x"], call.writes["y"]
        axes = call.params["axes"]
        fn = call.params["fn"]
        kept = [d for d in range(x.rank) if d not in axes]
        y_strides = []
        for d in range(x.rank):
            if d in axes:
                y_strides.append(0)
            else:
                yd = d if call.params["keepdims"] else kept.index(d)
                y_strides.append(y.strides[yd])
        y_over_x = View(y.storage, y.offset, x.shape, tuple(y_strides))
        count = 1
        for d in axes:
            count *= x.shape[d]
        k = Ctx(x=self.operand("x", x), y=self.operand("y", y), fn=fn, count=count,
                yt=self.ctype(y.storage.dtype), integer=y.storage.dtype != "float32")
        if k.integer:
            # One exact int64 accumulator per output (ir/ops/quant.py).
            k.outer = self._nest([x.shape[d] for d in kept],
                                 {"y": _pick(y_over_x, kept), "x": _pick(x, kept)}, var="j")
            k.inner = self._nest([x.shape[d] for d in axes], {"x": _pick(x, axes)})
            info = np.iinfo(np.dtype(y.storage.dtype))
            k.init = self.int_literal(info.min, "int64") if fn == "max" else "0"
        else:
            k.init_nest = self._nest(y.shape, {"y": y}, var="j")
            k.acc = self._nest(x.shape, {"x": x, "y": y_over_x})
            k.init = "(-INFINITY)" if fn == "max" else "0.0f"
        return "reduce", k

    def prepare_gather(self, call: KernelCall, layer: Layer):
        """Pad and nearest Resize: per-axis tables of source offsets (-1: the pad value)."""
        x, y = call.reads["x"], call.writes["y"]
        dims, tables, conds, xi = [], [], [], []
        for d in sorted(range(y.rank), key=lambda d: -y.strides[d]):
            m = np.asarray(call.params["maps"][d], np.int64)
            v = f"i{d}"
            dims.append(Ctx(var=v, extent=int(m.size)))
            if not (m < 0).any() and m.size == x.shape[d] and (m == np.arange(m.size)).all():
                if x.strides[d]:
                    xi.append(f"{v} * {x.strides[d]}" if x.strides[d] != 1 else v)
                continue
            table = self.symbol(f"map{d}")
            tables.append(self.int_table(table, np.where(m < 0, -1, m * x.strides[d])))
            xi.append(f"{table}[{v}]")
            if (m < 0).any():
                conds.append(f"{table}[{v}] < 0")
        yi = " + ".join(f"i{d} * {y.strides[d]}" if y.strides[d] != 1 else f"i{d}"
                        for d in range(y.rank) if y.strides[d]) or "0"
        if y.storage.dtype == "float32":
            value = self.f(call.params["value"])
        else:   # an integer pad value, saturated to the element type
            info = np.iinfo(np.dtype(y.storage.dtype))
            value = self.int_literal(min(max(int(round(call.params["value"])), info.min),
                                         info.max), y.storage.dtype)
        rhs = f"x[{' + '.join(xi) or '0'}]"
        if conds:
            rhs = f"({' || '.join(conds)}) ? {value} : {rhs}"
        return "gather", Ctx(x=self.operand("x", x), y=self.operand("y", y), dims=dims,
                             tables=tables, yi=yi, rhs=rhs, pragma=self.parallel_for(y.size // 4))

    def prepare_resize_linear(self, call: KernelCall, layer: Layer):
        """(Multi)linear Resize: per resized axis two source offsets and two weights."""
        x, y = call.reads["x"], call.writes["y"]
        dims, tables, lerps, plain = [], [], [], []
        for d in sorted(range(y.rank), key=lambda d: -y.strides[d]):
            v = f"i{d}"
            dims.append(Ctx(var=v, extent=y.shape[d]))
            coeffs = call.params["axes"][d]
            if coeffs is None:
                if x.strides[d]:
                    plain.append(f"{v} * {x.strides[d]}")
                continue
            i0, i1, w0, w1 = coeffs
            names = [self.symbol(f"{kind}_{d}") for kind in ("i0", "i1", "w0", "w1")]
            tables += [self.int_table(names[0], i0 * x.strides[d]),
                       self.int_table(names[1], i1 * x.strides[d]),
                       self.float_table(names[2], w0), self.float_table(names[3], w1)]
            lerps.append((v, names))
        yi = " + ".join(f"i{d} * {y.strides[d]}" for d in range(y.rank) if y.strides[d]) or "0"

        def expr(level: int, base: str) -> str:
            if level == len(lerps):
                return f"x[{base}]"
            v, (i0, i1, w0, w1) = lerps[level]
            return (f"{w0}[{v}] * ({expr(level + 1, f'{base} + {i0}[{v}]')}) + "
                    f"{w1}[{v}] * ({expr(level + 1, f'{base} + {i1}[{v}]')})")

        return "resize_linear", Ctx(x=self.operand("x", x), y=self.operand("y", y), dims=dims,
                                    tables=tables, yi=yi,
                                    expr=expr(0, " + ".join(plain) or "0"),
                                    pragma=self.parallel_for(y.size))

    def prepare_lrn(self, call: KernelCall, layer: Layer):
        x, y = call.reads["x"], call.writes["y"]
        rest = [0] + list(range(2, x.rank))
        nest = self._nest([x.shape[d] for d in rest], {"y": _pick(y, rest), "x": _pick(x, rest)})
        size = call.params["size"]
        return "lrn", Ctx(x=self.operand("x", x), y=self.operand("y", y), nest=nest,
                          c=x.shape[1], sx=x.strides[1], sy=y.strides[1],
                          before=(size - 1) // 2, after=size - 1 - (size - 1) // 2,
                          alpha_over_size=self.f(call.params["alpha"] / size),
                          beta=self.f(-call.params["beta"]), bias=self.f(call.params["bias"]),
                          pragma=self.parallel_for(x.size * size))

    def prepare_gemm(self, call: KernelCall, layer: Layer):
        a, b, y = call.reads["a"], call.reads["b"], call.writes["y"]
        c = call.reads.get("c")
        m, k = a.shape[-2:]
        n = b.shape[-1]
        batch = y.shape[:-2]
        views = {"y": y, "a": a, "b": b}
        if c is not None:
            views["c"] = c
        cut = len(batch)
        bnest = self._nest(batch, {name: _pick(v, range(cut)) for name, v in views.items()},
                           var="t")
        ctx = Ctx(a=self.operand("a", a), b=self.operand("b", b), y=self.operand("y", y),
                  c=self.operand("c", c) if c is not None else None, batch=bnest,
                  m=m, n=n, k=k, sam=a.strides[-2], sak=a.strides[-1],
                  sbk=b.strides[-2], sbn=b.strides[-1], sym=y.strides[-2], syn=y.strides[-1],
                  scm=c.strides[-2] if c is not None else 0,
                  scn=c.strides[-1] if c is not None else 0,
                  alpha=call.params["alpha"], beta=call.params["beta"],
                  act=call.params.get("act"),
                  at=self.ctype(a.storage.dtype), bt=self.ctype(b.storage.dtype),
                  acct=self.ctype(call.params.get("acc_dtype", y.storage.dtype)),
                  yt=self.ctype(y.storage.dtype), ydtype=y.storage.dtype,
                  integer=y.storage.dtype != "float32",
                  pragma=self.parallel_for(m * n * k, 1))
        self._requant_epilogue(ctx, call, layer, channels=n)
        return "gemm", ctx

    def _conv_common(self, call: KernelCall, transpose: bool) -> Ctx:
        x, y = call.reads["x"], call.writes["y"]
        p = call.params
        n, c, h, w = x.shape
        _, m, oh, ow = y.shape
        kh, kw = p["kernel"]
        group = p["group"]
        wdtype = (p["weights"].dtype.name if p.get("weights") is not None
                  else call.reads["w"].storage.dtype)
        acc_dtype = p.get("acc_dtype", y.storage.dtype)
        return Ctx(x=self.operand("x", x), y=self.operand("y", y), n=n, c=c, height=h, width=w, m=m,
                   xt=self.ctype(x.storage.dtype), wt=self.ctype(wdtype),
                   acct=self.ctype(acc_dtype),
                   yt=self.ctype(y.storage.dtype), ydtype=y.storage.dtype,
                   integer=y.storage.dtype != "float32",
                   oh=oh, ow=ow, kh=kh, kw=kw, sh=p["strides"][0], sw=p["strides"][1],
                   pt=p["pads"][0], pl=p["pads"][1], dh=p["dilations"][0], dw=p["dilations"][1],
                   group=group, cg=c // group, mg=m // group,
                   xn=x.strides[0], xh=x.strides[2], xw=x.strides[3],
                   yn=y.strides[0], yh=y.strides[2], yw=y.strides[3], act=p.get("act"))

    def _bias(self, call: KernelCall, layer: Layer) -> str | None:
        if call.params.get("bias") is not None:
            return self.add_const(f"b_{layer.name}", call.params["bias"], "bias")
        if "b" in call.reads:
            return self.pointer(call.reads["b"])
        return None

    def prepare_conv2d(self, call: KernelCall, layer: Layer):
        k = self._conv_common(call, False)
        wts = call.params.get("weights")
        if wts is not None:
            # OHWI: the reduction over input channels reads weights and NHWC input contiguously.
            k.w = self.add_const(f"w_{layer.name}", wts.transpose(0, 2, 3, 1),
                                 f"weights of {layer.name}, OHWI")
            k.wm, k.wh, k.ww, k.wc = k.kh * k.kw * k.cg, k.kw * k.cg, k.cg, 1
        else:
            wv = call.reads["w"]
            k.w = self.pointer(wv)
            k.wm, k.wc, k.wh, k.ww = wv.strides
        k.b = self._bias(call, layer)
        self._requant_epilogue(k, call, layer)
        k.pragma = self.parallel_for(k.oh * k.ow * k.m * k.cg * k.kh * k.kw)
        return "conv2d", k

    def _requant_epilogue(self, k: Ctx, call: KernelCall, layer: Layer,
                          channels: int | None = None) -> None:
        """``k.requantize``: the function a convolution or dense layer applies to each
        accumulator before storing it when the lowering fused the following rescale into it
        (else None)."""
        op = call.params.get("rescale")
        k.requantize = k.requant_decl = None
        if op is not None:
            k.requantize, k.requant_decl = self.requantizer(
                layer, op, k.m if channels is None else channels, k.ydtype)

    def prepare_conv_transpose2d(self, call: KernelCall, layer: Layer):
        k = self._conv_common(call, True)
        wts = call.params.get("weights")
        if wts is not None:
            # [C, M/g, kh, kw] -> [M][kh][kw][C/g]: per output channel, contiguous input channels.
            g, cg, mg = k.group, k.cg, k.mg
            arr = wts.reshape(g, cg, mg, k.kh, k.kw).transpose(0, 2, 3, 4, 1)
            k.w = self.add_const(f"w_{layer.name}", arr, f"weights of {layer.name}, O HWI per group")
            k.wm = k.kh * k.kw * cg
            k.wg = mg * k.kh * k.kw
            k.wh, k.ww, k.wc = k.kw * cg, cg, 1
        else:
            wv = call.reads["w"]
            k.w = self.pointer(wv)
            k.wg, k.wm, k.wh, k.ww = wv.strides
            k.wc = wv.strides[0]
        k.b = self._bias(call, layer)
        k.pragma = self.parallel_for(k.height * k.width * k.m * k.cg * k.kh * k.kw)
        return "conv_transpose2d", k

    def prepare_pool2d(self, call: KernelCall, layer: Layer):
        x, y = call.reads["x"], call.writes["y"]
        p = call.params
        n, c, h, w = x.shape
        oh, ow = y.shape[2:]
        ranges = [pool_taps(size, out, p["kernel"][a], p["strides"][a], p["pads"][a],
                            p["pads"][a + 2], p["dilations"][a], p["count_include_pad"])
                  for a, (size, out) in enumerate(((h, oh), (w, ow)))]
        k = Ctx(x=self.operand("x", x), y=self.operand("y", y), kind=p["kind"], n=n, c=c,
                oh=oh, ow=ow, sh=p["strides"][0], sw=p["strides"][1], pt=p["pads"][0],
                pl=p["pads"][1], dh=p["dilations"][0], dw=p["dilations"][1],
                xn=x.strides[0], xh=x.strides[2], xw=x.strides[3],
                yn=y.strides[0], yh=y.strides[2], yw=y.strides[3],
                h_lo=ranges[0][0], h_hi=ranges[0][1], h_cnt=ranges[0][2],
                w_lo=ranges[1][0], w_hi=ranges[1][1], w_cnt=ranges[1][2],
                tables=self.symbol(f"{layer.name}_taps"),
                yt=self.ctype(y.storage.dtype), integer=y.storage.dtype != "float32",
                pragma=self.parallel_for(y.size * p["kernel"][0] * p["kernel"][1]))
        if k.integer:
            info = np.iinfo(np.dtype(y.storage.dtype))
            k.init = self.int_literal(info.min, "int64") if k.kind == "max" else "0"
        else:
            k.init = "(-INFINITY)" if k.kind == "max" else "0.0f"
        return "pool2d", k

    def prepare_max_pool_indices(self, call: KernelCall, layer: Layer):
        x, y, ind = call.reads["x"], call.writes["y"], call.writes["ind"]
        p = call.params
        n, c, h, w = x.shape
        return "max_pool_indices", Ctx(
            x=self.operand("x", x), y=self.operand("y", y), ind=self.operand("ind", ind),
            n=n, c=c, height=h, width=w, oh=y.shape[2], ow=y.shape[3],
            kh=p["kernel"][0], kw=p["kernel"][1], sh=p["strides"][0], sw=p["strides"][1],
            pt=p["pads"][0], pl=p["pads"][1], dh=p["dilations"][0], dw=p["dilations"][1],
            column_major=p["column_major"], xt=self.ctype(x.storage.dtype),
            xn=x.strides[0], xc=x.strides[1], xh=x.strides[2], xw=x.strides[3],
            yn=y.strides[0], yc=y.strides[1], yh=y.strides[2], yw=y.strides[3],
            in_n=ind.strides[0], in_c=ind.strides[1], in_h=ind.strides[2], in_w=ind.strides[3],
            pragma=self.parallel_for(y.size * p["kernel"][0] * p["kernel"][1]))

    def prepare_max_unpool(self, call: KernelCall, layer: Layer):
        x, ind, y = call.reads["x"], call.reads["ind"], call.writes["y"]
        n, c, oh, ow = y.shape
        # Scatter in the input's logical (row-major NCHW) order, whatever its layout: with
        # repeated indices that order decides which value stays.
        logical = View.dense(x.storage, x.shape)
        walk = self._nest(x.shape, {"pos": logical, "x": x, "ind": ind}, merge=False)
        return "max_unpool", Ctx(
            x=self.operand("x", x), ind=self.operand("ind", ind), y=self.operand("y", y),
            zero=self._nest(y.shape, {"y": y}), walk=walk, total=y.size, c=c, oh=oh, ow=ow,
            yn=y.strides[0], yc=y.strides[1], yh=y.strides[2], yw=y.strides[3],
            accumulate=call.params["accumulate"], pragma=self.parallel_for(y.size // 8))

    def prepare_rescale(self, call: KernelCall, layer: Layer):
        """Requantization, per tensor or per channel along ``axis`` (ir/ops/quant.py)."""
        x, y = call.reads["x"], call.writes["y"]
        op, axis = call.params["op"], call.params["axis"]
        channels = x.shape[axis] if x.rank else 1
        fn, decl = self.requantizer(layer, op, channels, y.storage.dtype)
        varying = op.varying()
        # Per-channel parameters need the channel index: keep the axis as its own loop.
        nest = self._nest(y.shape, {"y": y, "x": x}, merge=not varying)
        cvar = "0"
        if varying and x.rank:
            level = next((i for i, lp in enumerate(nest.loops)
                          if lp.extent == channels and lp.strides == (y.strides[axis],
                                                                      x.strides[axis])), None)
            if level is None:
                raise InternalError(f"{layer.name}: no loop walks the channel axis {axis}")
            cvar = f"{nest.var}{level}"
        return "rescale", Ctx(x=self.operand("x", x), y=self.operand("y", y), nest=nest,
                              requantize=fn, requant_decl=decl, cvar=cvar,
                              pragma=self.parallel_for(y.size // 2))

    def requantizer(self, layer: Layer, op, channels: int, ydtype: str) -> tuple[str, str]:
        """A file-scope function ``ytype fn(int64_t acc, int c)`` computing ``op``'s rescale
        (ir/ops/quant.py) of channel ``c``: used by the rescale kernel and by every kernel
        that fuses a rescale into its epilogue, so both spell the arithmetic the same way.
        Returns (name, definition)."""
        lo, hi = op.bounds(channels)
        per_channel = {"scales": op.scales, "multipliers": op.multipliers, "shifts": op.shifts,
                       "left_shifts": op.left_shifts, "out_min": lo, "out_max": hi}
        varying = op.varying()
        tables = []

        def param(name: str, kind: str) -> str:
            values = np.asarray(per_channel[name]).reshape(-1)
            if name not in varying:
                value = values[0]
                return repr(float(value)) if kind == "f" else self.int_literal(int(value), "int64")
            symbol = f"{name}_"
            if kind == "f":
                tables.append(f"static const double {symbol}[{channels}] = {{"
                              + ", ".join(repr(float(v)) for v in values) + "};")
            else:
                tables.append(f"static const int64_t {symbol}[{channels}] = {{"
                              + ", ".join(self.int_literal(int(v), "int64") for v in values)
                              + "};")
            return f"{symbol}[c]"

        mode = op.mode
        if mode == "floating-point":
            rounded = f"n2d2c_round_half_away((double)v * {param('scales', 'f')})"
        elif mode in ("fixed-point16", "fixed-point32"):
            rounded = f"n2d2c_shift_round(v * {param('multipliers', 'i')}, (int){param('shifts', 'i')})"
        elif mode == "single-shift":
            rounded = f"n2d2c_shift_round(v, (int){param('shifts', 'i')})"
        elif mode == "double-shift":
            # v + (v << l) written as a product: shifting a negative value left is undefined.
            rounded = (f"n2d2c_shift_round(v + v * ((int64_t)1 << {param('left_shifts', 'i')}), "
                       f"(int){param('shifts', 'i')})")
        else:
            raise UnsupportedError(f"{layer.name}: rescale mode '{mode}'")
        zp = self.int_literal(op.zero_point, "int64")
        lo_c, hi_c = param("out_min", "i"), param("out_max", "i")
        clamp = (f"n2d2c_clamp_f64({rounded} + (double){zp}, {lo_c}, {hi_c})"
                 if mode == "floating-point" else f"n2d2c_clamp_i64({rounded} + {zp}, {lo_c}, {hi_c})")
        yt = self.ctype(ydtype)
        name = self.symbol(f"{layer.name}_requantize")
        izp = op.input_zero_point
        lines = [f"// {op.name}: {mode} rescale to {op.dtype}"
                 + (f", per channel ({', '.join(varying)})" if varying else ", per tensor"),
                 f"static inline {yt} {name}(int64_t v, int c)", "{",
                 *tables,
                 *([] if varying else ["(void)c;"]),
                 *([f"v -= {self.int_literal(izp, 'int64')};"] if izp else []),
                 f"return ({yt}){clamp};", "}"]
        return name, "\n".join(lines)


def _pick(view: View, dims) -> View:
    dims = list(dims)
    return View(view.storage, view.offset, tuple(view.shape[d] for d in dims),
                tuple(view.strides[d] for d in dims))


def pool_taps(size: int, out: int, kernel: int, stride: int, pad_begin: int, pad_end: int,
              dilation: int, count_include_pad: bool):
    """Per output index: first and end kernel tap inside the input, and the average's divisor."""
    lo, hi, count = [], [], []
    for o in range(out):
        start = o * stride - pad_begin
        valid = [t for t in range(kernel) if 0 <= start + t * dilation < size]
        lo.append(valid[0] if valid else 0)
        hi.append(valid[-1] + 1 if valid else 0)
        if count_include_pad:
            # Padded cells count, the part of a ceil-mode window past the padding does not.
            count.append(sum(1 for t in range(kernel)
                             if -pad_begin <= start + t * dilation < size + pad_end))
        else:
            count.append(len(valid))
    return lo, hi, [max(v, 1) for v in count]
