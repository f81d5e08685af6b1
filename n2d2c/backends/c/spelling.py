"""How a C-family target spells things: types, qualifiers, literals, tables, expressions.

``CSpelling`` is the part of ``CEmitter`` a target overrides to change the
language, as tinygrad's C-style renderers do: ``restrict``, ``const_int``,
``align``, ``parallel_for``, type names and pointer casts are Python methods;
the arithmetic of activations, scalar functions, integer clamps and the
requantize function of a rescale is spelled by jinja2 macros (``spelling.j2``):
``spell(macro, ...)`` calls the first definition found along the target's
template directories, so a target's ``spelling.j2`` overrides only the macros
it redefines and the generic ones serve the rest.
"""

from __future__ import annotations

import functools
import math
from typing import ClassVar

import numpy as np

from ...errors import InternalError, UnsupportedError
from .context import Operand
from .formatting import c_float, c_float_array, c_int_array
from .io_types import cast_expr, to_bool_expr
from .kernels import LOGIC_FNS
from .program import Activation, Layer, c_identifier
from .views import Storage


class CSpelling:
    """Spelling rules of portable C (mixed into ``CEmitter``; see the module docstring)."""

    float_t: ClassVar[str] = "float"
    index_t: ClassVar[str] = "int"
    arena_ctype: ClassVar[str] = "float"
    restrict: ClassVar[str] = "restrict"
    alignment: ClassVar[int] = 64

    # -- macros ------------------------------------------------------------------------
    @functools.cached_property
    def _spelling_modules(self) -> list:
        """The ``spelling.j2`` module of each template directory that has one, in order."""
        modules = []
        for directory in self.template_dirs:
            if (directory / "spelling.j2").is_file():
                modules.append(self.env.get_template(f"{directory.name}/spelling.j2").module)
        return modules

    def spell(self, macro: str, *args) -> str:
        """The text of ``macro(*args)`` from the first spelling.j2 that defines it."""
        for module in self._spelling_modules:
            fn = getattr(module, macro, None)
            if fn is not None:
                return str(fn(*args)).strip()
        raise InternalError(f"target '{self.target}': no spelling macro '{macro}'")

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

    def profile_mark(self, index: int) -> str:
        """A statement ``run`` executes before layer ``index`` (and, with ``index`` the
        number of layers, after the last): a target's profiling hook; nothing here."""
        return ""

    def layer_attributes(self) -> str:
        """What precedes ``void`` in each layer's static function (with a trailing space),
        e.g. a target's ``__attribute__((noinline))``; nothing here."""
        return ""

    def f(self, x: float) -> str:
        return c_float(x)

    CTYPES: ClassVar[dict[str, str]] = {"float32": "float", "int8": "int8_t", "uint8": "uint8_t",
                                        "int16": "int16_t", "int32": "int32_t", "int64": "int64_t",
                                        "float16": "uint16_t"}  # bit patterns: io_types.py

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


    @property
    def max_rank(self) -> int:
        return max([1] + [v.type.rank for v in (*self.program.inputs, *self.program.outputs)])

    def c_strings(self, values) -> str:
        return ", ".join('"' + v.name.replace("\\", "\\\\").replace('"', '\\"') + '"'
                         for v in values)

    def shape_rows(self, values) -> str:
        rows = []
        for v in values:
            dims = list(v.shape) + [1] * (self.max_rank - v.type.rank)
            rows.append("{" + ", ".join(str(d) for d in dims) + "}")
        return ", ".join(rows)

    # -- element-wise expressions (helpers are defined in the support header) ----------
    def act(self, act: Activation | None, expr: str, dtype: str = "float32") -> str:
        if act is None:
            return expr
        if dtype != "float32":
            return self.int_act(act, expr, dtype)
        k = act.kind
        if k == "clip":
            lo, hi = act.attr("min"), act.attr("max")
            if lo == float("-inf") and hi == float("inf"):
                return expr
            if lo == float("-inf"):
                return self.spell("act_min", expr, self.f(hi))
            if hi == float("inf"):
                return self.spell("act_max", expr, self.f(lo))
            return self.spell("act_clip", expr, self.f(lo), self.f(hi))
        if k not in ACTIVATION_ARGS:
            raise InternalError(f"unknown activation {k!r}")
        return self.spell(f"act_{k}", expr, *(self.f(act.attr(a)) for a in ACTIVATION_ARGS[k]))

    def int_act(self, act: Activation, expr: str, dtype: str) -> str:
        """ReLU / Clip on integers: bounds rounded inwards and saturated to the type."""
        info = np.iinfo(np.dtype(dtype))
        if act.kind == "relu":
            lo, hi = 0, info.max
        elif act.kind == "clip":
            lo, hi = act.attr("min"), act.attr("max")
            lo = info.min if lo == float("-inf") else max(info.min, min(info.max, math.ceil(lo)))
            hi = info.max if hi == float("inf") else max(info.min, min(info.max, math.floor(hi)))
        else:
            raise UnsupportedError(f"activation '{act.kind}' on {dtype} integers")
        return self.spell("int_clamp", expr, self.int_literal(lo, "int64"),
                          self.int_literal(hi, "int64"))

    def scalar_fn(self, fn: str, args: list[str], params: dict) -> str:
        if fn == "identity":
            return args[0]
        if fn == "quantize":
            info = np.iinfo(np.dtype(params["out_dtype"]))
            return self.spell("fn_quantize", args[0], repr(float(params["scale"])),
                              self.int_literal(params["zero_point"], "int64"),
                              self.int_literal(info.min, "int64"),
                              self.int_literal(info.max, "int64"))
        if fn == "dequantize":
            return self.spell("fn_dequantize", args[0],
                              self.int_literal(params["zero_point"], "int64"),
                              repr(float(params["scale"])))
        if fn in LOGIC_FNS:  # any element type
            in_dtype = params.get("in_dtypes", ("float32",))[0]
            if fn == "cast":
                out = params["out_dtype"]
                return (cast_expr(args[0], in_dtype, out, self.ctype(out))
                        or self.spell("fn_cast", *args, self.ctype(out)))
            if fn == "to_bool" and to_bool_expr(args[0], in_dtype):
                return to_bool_expr(args[0], in_dtype)
            return self.spell(f"fn_{fn}", *args)
        if params.get("out_dtype", "float32") != "float32":
            if fn in ("add", "sub", "mul"):  # exact in the i32 result (ir/ops/quant.py)
                return self.spell(f"int_{fn}", *args, self.ctype(params["out_dtype"]))
            if fn in ("max", "min"):
                return self.spell(f"int_{fn}", *args)
            raise UnsupportedError(f"'{fn}' on {params['out_dtype']} integers")
        if fn == "batchnorm":
            return self.spell("fn_batchnorm", *args, self.f(params["epsilon"]))
        if fn in ("add", "sub", "mul", "div", "max", "min", "prelu", "pow", "affine"):
            return self.spell(f"fn_{fn}", *args)
        raise InternalError(f"unknown element-wise function {fn!r}")

    def requantizer(self, layer: Layer, op, channels: int, ydtype: str) -> tuple[str, str]:
        """A file-scope function ``ytype fn(int64_t acc, int c)`` computing ``op``'s rescale
        (ir/ops/quant.py) of channel ``c`` (macro ``requantize_function``): used by the
        rescale kernel and by every kernel that fuses a rescale into its epilogue, so both
        spell the arithmetic the same way.  Returns (name, definition)."""
        if op.mode not in REQUANTIZE_MODES:
            raise UnsupportedError(f"{layer.name}: rescale mode '{op.mode}'")
        lo, hi = op.bounds(channels)
        per_channel = {"scales": op.scales, "multipliers": op.multipliers, "shifts": op.shifts,
                       "left_shifts": op.left_shifts, "out_min": lo, "out_max": hi}
        varying = op.varying()
        tables = []

        def param(name: str, kind: str) -> str:
            values = np.asarray(per_channel[name]).reshape(-1)
            spelled = [repr(float(v)) if kind == "f" else self.int_literal(int(v), "int64")
                       for v in values]
            if name not in varying:
                return spelled[0]
            symbol = f"{name}_"
            tables.append({"symbol": symbol, "kind": kind, "values": spelled})
            return f"{symbol}[c]"

        mode = op.mode
        spelled = {"scale": param("scales", "f") if mode == "floating-point" else None,
                   "multiplier": (param("multipliers", "i")
                                  if mode in ("fixed-point16", "fixed-point32") else None),
                   "shift": param("shifts", "i") if mode != "floating-point" else None,
                   "left_shift": param("left_shifts", "i") if mode == "double-shift" else None}
        name = self.symbol(f"{layer.name}_requantize")
        r = {"name": name, "mode": mode, "yt": self.ctype(ydtype), "varying": bool(varying),
             "comment": f"{op.name}: {mode} rescale to {op.dtype}"
                        + (f", per channel ({', '.join(varying)})" if varying else ", per tensor"),
             "zero_point": self.int_literal(op.zero_point, "int64"),
             "input_zero_point": self.int_literal(op.input_zero_point or 0, "int64"),
             **spelled, "lo": param("out_min", "i"), "hi": param("out_max", "i"),
             "tables": tables}
        return name, self.spell("requantize_function", r)


# Activation kind -> the attributes its macro ``act_<kind>`` takes after the expression.
ACTIVATION_ARGS = {"relu": (), "leaky_relu": ("alpha",), "sigmoid": (), "tanh": (),
                   "softplus": (), "hard_sigmoid": ("alpha", "beta"), "hard_swish": (),
                   "swish": ("alpha",), "mish": (), "gelu": (), "gelu_tanh": (),
                   **{name: () for name in ("sqrt", "reciprocal", "exp", "log", "erf", "abs",
                                            "neg", "floor", "ceil")}}
REQUANTIZE_MODES = ("floating-point", "fixed-point16", "fixed-point32", "single-shift",
                    "double-shift")

__all__ = ["ACTIVATION_ARGS", "CSpelling", "REQUANTIZE_MODES"]
