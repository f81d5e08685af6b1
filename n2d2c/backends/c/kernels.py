"""The kernel table: the one place a kernel of the lowered Program is declared.

A ``KernelCall`` (program.py) names a kernel, its operand views by role and its
parameters.  Lowering (lowering.py) builds the calls, every C-family emitter
prepares them (``CEmitter.prepare_<kernel>``) and the memory planner asks how
they walk memory; this table is what all three may rely on.  A role or a
parameter written ``name?`` is optional: the call may leave it out.  A required
parameter is always present, though its value may be None where the kernel says
so (a convolution's ``weights`` when they are read at run time).

``memory`` is the generic trait of the kernel's portable template (see
``kernel_memory.KernelMemory``): "rows" (output rows in order, each reading only its
window), "elementwise" or "none".  A target's own templates may refine it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ...errors import InternalError

if TYPE_CHECKING:  # pragma: no cover
    from .kernel_memory import KernelMemory
    from .program import KernelCall

MEMORY_TRAITS = ("rows", "elementwise", "none")


def _required(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(n for n in names if not n.endswith("?"))


def _bare(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(n.rstrip("?") for n in names)


@dataclass(frozen=True)
class KernelSpec:
    """One kernel: operand roles read and written, parameter names, memory trait.

    ``invariants`` states what roles and names cannot (shapes, which operands go
    together); it returns the problems it finds, each a short sentence."""

    name: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    params: tuple[str, ...]
    memory: str
    doc: str
    invariants: Callable[["KernelCall"], list[str]] | None = None

    def __post_init__(self):
        if self.memory not in MEMORY_TRAITS:
            raise InternalError(f"kernel '{self.name}': memory trait {self.memory!r} is not "
                                f"one of {list(MEMORY_TRAITS)}")

    @property
    def read_roles(self) -> tuple[str, ...]:
        return _bare(self.reads)

    @property
    def write_roles(self) -> tuple[str, ...]:
        return _bare(self.writes)

    @property
    def param_names(self) -> tuple[str, ...]:
        return _bare(self.params)

    def problems(self, call: "KernelCall") -> list[str]:
        """What makes ``call`` not an instance of this kernel (empty when it is one)."""
        found = []
        for what, given, declared in (("read", call.reads, self.reads),
                                      ("write", call.writes, self.writes),
                                      ("parameter", call.params, self.params)):
            known = _bare(declared)
            for name in given:
                if name not in known:
                    found.append(f"unknown {what} '{name}' (declared: {', '.join(declared)})")
            for name in _required(declared):
                if name not in given:
                    found.append(f"missing {what} '{name}'")
        if not found and self.invariants is not None:
            found += self.invariants(call)
        return found

    def generic_memory(self) -> "KernelMemory":
        """The ``KernelMemory`` of the portable template (what ``CEmitter.kernel_memory``
        answers for a template named like the kernel)."""
        from .kernel_memory import ELEMENTWISE, NONE, ROWS

        return {"rows": ROWS, "elementwise": ELEMENTWISE, "none": NONE}[self.memory]


def call_problems(call: "KernelCall") -> list[str]:
    """Problems of one call against the table (its kernel may be missing from it)."""
    spec = KERNELS.get(call.kernel)
    if spec is None:
        return [f"unknown kernel '{call.kernel}' (known: {', '.join(sorted(KERNELS))})"]
    return spec.problems(call)


def check_call(call: "KernelCall") -> None:
    """Raise InternalError naming the kernel unless ``call`` matches its table entry."""
    problems = call_problems(call)
    if problems:
        raise InternalError(f"kernel call '{call.kernel}': " + "; ".join(problems))


# -- invariants beyond roles and names ---------------------------------------------------

def _same_shape(call: "KernelCall") -> list[str]:
    y = call.writes["y"]
    return [f"'{role}' has shape {list(v.shape)}, 'y' has {list(y.shape)}"
            for role, v in call.reads.items() if v.shape != y.shape]


# fn -> number of operands, in role order a, b, c, ...
# Comparisons, boolean logic, Where, Sign and casts (lower_logic.py): defined for every
# element type, so the spelling takes them before the integer-only checks.
LOGIC_FNS = {"cast": 1, "to_bool": 1, "equal": 2, "less": 2, "greater": 2, "less_equal": 2,
             "greater_equal": 2, "and": 2, "or": 2, "xor": 2, "not": 1, "where": 3, "sign": 1}
MAP_ARITY = {"identity": 1, "quantize": 1, "dequantize": 1, "add": 2, "sub": 2, "mul": 2,
             "div": 2, "max": 2, "min": 2, "prelu": 2, "pow": 2, "affine": 3, "batchnorm": 5,
             **LOGIC_FNS}
MAP_FN_PARAMS = {"quantize": ("scale", "zero_point"), "dequantize": ("scale", "zero_point"),
                 "batchnorm": ("epsilon",)}


def _map_invariants(call: "KernelCall") -> list[str]:
    fn = call.params["fn"]
    if fn not in MAP_ARITY:
        return [f"unknown function fn={fn!r} (known: {', '.join(MAP_ARITY)})"]
    found = _same_shape(call)
    # The emitter passes the operands to the function positionally, in role order.
    roles = tuple("abcde"[:MAP_ARITY[fn]])
    if tuple(call.reads) != roles:
        found.append(f"fn={fn} reads roles {list(roles)} in that order, got {list(call.reads)}")
    found += [f"fn={fn} needs parameter '{p}'" for p in MAP_FN_PARAMS.get(fn, ())
              if p not in call.params]
    return found


def _conv_invariants(call: "KernelCall") -> list[str]:
    """Weights are a constant parameter or the run-time read 'w' (one of the two); a
    bias is a constant parameter, the run-time read 'b' or absent."""
    found = [f"'{role}' has rank {v.rank}, expected 4 (N, C, H, W)"
             for role, v in (("x", call.reads["x"]), ("y", call.writes["y"])) if v.rank != 4]
    constant = call.params["weights"] is not None
    if constant == ("w" in call.reads):
        found.append("weights must be either the parameter 'weights' or the read 'w'"
                     + (" (both given)" if constant else " (neither given)"))
    if call.params["bias"] is not None and "b" in call.reads:
        found.append("bias given both as the parameter 'bias' and as the read 'b'")
    return found


def _gemm_invariants(call: "KernelCall") -> list[str]:
    a, b, y = call.reads["a"], call.reads["b"], call.writes["y"]
    if min(a.rank, b.rank, y.rank) < 2 or not a.rank == b.rank == y.rank:
        return [f"'a', 'b' and 'y' need one rank >= 2, got {a.rank}, {b.rank}, {y.rank}"]
    expected = (*y.shape[:-2], a.shape[-2], b.shape[-1])
    found = []
    if a.shape[:-2] != y.shape[:-2] or b.shape[:-2] != y.shape[:-2] or y.shape != expected \
            or a.shape[-1] != b.shape[-2]:
        found.append(f"shapes a {list(a.shape)} x b {list(b.shape)} do not make y "
                     f"{list(y.shape)}")
    c = call.reads.get("c")
    if c is not None and c.shape != y.shape:
        found.append(f"'c' has shape {list(c.shape)}, 'y' has {list(y.shape)}")
    return found


def _take_invariants(call: "KernelCall") -> list[str]:
    x, ind, y = call.reads["x"], call.reads["ind"], call.writes["y"]
    found = []
    if x.shape[:-1] != y.shape or ind.shape != y.shape:
        found.append(f"'x' {list(x.shape)} must be 'y' {list(y.shape)} plus the indexed axis, "
                     f"'ind' {list(ind.shape)} must be 'y'")
    if ind.storage.dtype not in ("int32", "int64"):
        found.append(f"'ind' is {ind.storage.dtype}, not int32 or int64")
    return found


def _byte_table_invariants(call: "KernelCall") -> list[str]:
    """What the table kernels share: an 8-bit 'x' indexes a constant 256-entry 'table',
    and 'y' has x's shape."""
    x, table, y = call.reads["x"], call.reads["table"], call.writes["y"]
    found = [] if x.shape == y.shape else [f"'x' has shape {list(x.shape)}, 'y' has "
                                          f"{list(y.shape)}"]
    if x.storage.dtype not in ("int8", "uint8"):
        found.append(f"'x' is {x.storage.dtype}, not int8 or uint8")
    if table.shape != (256,) or table.storage.kind != "const":
        found.append(f"'table' must be a constant of 256 entries, got {list(table.shape)}")
    return found


def _lut_invariants(call: "KernelCall") -> list[str]:
    table, y = call.reads["table"], call.writes["y"]
    found = _byte_table_invariants(call)
    if table.storage.dtype != y.storage.dtype:
        found.append(f"'table' holds {table.storage.dtype}, 'y' is {y.storage.dtype}")
    return found


def _int_softmax_invariants(call: "KernelCall") -> list[str]:
    x, table, y = call.reads["x"], call.reads["table"], call.writes["y"]
    found = _byte_table_invariants(call)
    if table.storage.dtype != "int32":
        found.append(f"'table' holds {table.storage.dtype}, not int32")
    if y.storage.dtype not in ("float32", "int8", "uint8"):
        found.append(f"'y' is {y.storage.dtype}, not float32, int8 or uint8")
    if not 0 <= call.params["axis"] < max(x.rank, 1):
        found.append(f"axis {call.params['axis']} out of range for rank {x.rank}")
    return found


def _arg_reduce_invariants(call: "KernelCall") -> list[str]:
    x, y, axis = call.reads["x"], call.writes["y"], call.params["axis"]
    if not 0 <= axis < x.rank or y.shape != x.shape[:axis] + (1,) + x.shape[axis + 1:]:
        return [f"'y' {list(y.shape)} must be 'x' {list(x.shape)} with axis {axis} of length 1"]
    if y.storage.dtype != "int64":
        return [f"'y' is {y.storage.dtype}, not int64"]
    return []


def _rank4(*roles: str) -> Callable[["KernelCall"], list[str]]:
    def check(call: "KernelCall") -> list[str]:
        views = {**call.reads, **call.writes}
        return [f"'{r}' has rank {views[r].rank}, expected 4 (N, C, H, W)"
                for r in roles if views[r].rank != 4]
    return check


_CONV_PARAMS = ("strides", "pads", "dilations", "group", "kernel", "weights", "bias", "act")
_POOL_PARAMS = ("kernel", "strides", "pads", "dilations")


def _table(*specs: KernelSpec) -> dict[str, KernelSpec]:
    return {spec.name: spec for spec in specs}


KERNELS: dict[str, KernelSpec] = _table(
    KernelSpec("copy", ("x",), ("y",), (), "none",
               "y = x element by element (layout changes, concat slices, inputs, outputs)",
               _same_shape),
    KernelSpec("map", ("a", "b?", "c?", "d?", "e?"), ("y",),
               ("fn", "act?", "scale?", "zero_point?", "epsilon?"), "elementwise",
               "y = act(fn(a, b, ...)) element-wise on views broadcast to y's shape",
               _map_invariants),
    KernelSpec("softmax", ("x",), ("y",), ("axis", "log"), "none",
               "(log-)softmax of x along axis", _same_shape),
    KernelSpec("lrn", ("x",), ("y",), ("size", "alpha", "beta", "bias"), "none",
               "local response normalisation across channels", _same_shape),
    KernelSpec("conv2d", ("x", "w?", "b?"), ("y",), (*_CONV_PARAMS, "rescale", "acc_dtype"),
               "rows", "2-D convolution of NHWC x; bias, batch norm, activation or rescale "
               "fused in the epilogue", _conv_invariants),
    KernelSpec("conv_transpose2d", ("x", "w?", "b?"), ("y",), _CONV_PARAMS, "none",
               "2-D transposed convolution of NHWC x; activation fused in the epilogue",
               _conv_invariants),
    KernelSpec("gemm", ("a", "b", "c?"), ("y",),
               ("alpha", "beta", "act", "rescale?", "acc_dtype?"), "none",
               "y = act(alpha * a @ b + beta * c), batched over leading axes; rescale fused",
               _gemm_invariants),
    KernelSpec("pool2d", ("x",), ("y",),
               ("kind", *_POOL_PARAMS, "ceil_mode", "count_include_pad"), "rows",
               "max or average pooling of NHWC x", _rank4("x", "y")),
    KernelSpec("max_pool_indices", ("x",), ("y", "ind"), (*_POOL_PARAMS, "column_major"),
               "none", "max pooling that also writes each maximum's flat int64 index",
               _rank4("x", "y", "ind")),
    KernelSpec("max_unpool", ("x", "ind"), ("y",), ("accumulate",), "none",
               "scatter x to the positions ind (overwriting, or summing)",
               _rank4("x", "ind", "y")),
    KernelSpec("reduce", ("x",), ("y",), ("fn", "axes", "keepdims"), "none",
               "a reduction of x over axes (fn: the KIND of ir/ops/reduce.py, mean or max "
               "for global pooling)"),
    KernelSpec("gather", ("x",), ("y",), ("maps", "value"), "none",
               "y[i] = x[maps[axis][i_axis] ...], or value where a map is -1 (Pad, nearest "
               "Resize)"),
    KernelSpec("take", ("x", "ind"), ("y",), (), "none",
               "y[i] = x[i, ind[i]] along x's last axis, read at run time; a negative index "
               "counts from the end, one out of range gives 0 (Gather, GatherElements, Trilu)",
               _take_invariants),
    KernelSpec("lut", ("x", "table"), ("y",), ("offset",), "elementwise",
               "y = table[x + offset]: an 8-bit x picks one of the 256 entries of a constant "
               "table (Lookup, offset = -dtype_min(x))", _lut_invariants),
    KernelSpec("int_softmax", ("x", "table"), ("y",), ("axis", "levels"), "none",
               "softmax of 8-bit x along axis by a Q16 exp table read at max(x) - x, an int32 "
               "sum, then round(e * levels / sum) into 8 bits or e / sum in float32 "
               "(IntSoftmax: ir/ops/int_softmax.py)", _int_softmax_invariants),
    KernelSpec("arg_reduce", ("x",), ("y",), ("axis", "largest", "last"), "none",
               "y = the int64 index of the largest (or smallest) x along axis, the first or "
               "the last of equal ones (ArgMax, ArgMin)", _arg_reduce_invariants),
    KernelSpec("resize_linear", ("x",), ("y",), ("axes",), "none",
               "(multi)linear resize: per axis two source indices and two weights"),
    KernelSpec("rescale", ("x",), ("y",), ("op", "axis"), "none",
               "integer requantization of x by the Rescale op, per tensor or along axis",
               _same_shape),
)
