"""Element types at the generated network's API, and float16 in C.

The generated ``run`` takes every input and returns every output in its declared element
type (the graph's: float32, float16, int8, uint8, int16, int32, int64 or bool).  While
every input and output is float32 the pointer arrays stay ``const float* const*`` /
``float* const*`` (the API of float networks is unchanged); otherwise they are
``const void* const*`` / ``void* const*`` and entry ``i`` points to elements of input
``i``'s type, which the header names (``typed_api``).  Booleans are bytes holding 0 or 1
(numpy's and onnxruntime's layout).

float16 is an IEEE binary16 bit pattern in a ``uint16_t``, not ``_Float16``: C99 has no
half type and GCC offers ``_Float16`` only on some targets (x86 since GCC 12, C++ since
GCC 13), so the generated code would not build everywhere.  ``n2d2c_f16_to_f32`` is exact;
``n2d2c_f32_to_f16`` rounds to nearest even, like numpy's ``astype(float16)`` (subnormals,
overflow to infinity, NaN kept quiet).  The two functions are defined in the network's
header, where callers of the API find them too.  float16 is only ever stored, copied and
cast (the ONNX frontend computes float16 models in float32), so no kernel does float16
arithmetic: ``check_float16`` refuses any other op on float16 values.
"""

from __future__ import annotations

from ...errors import UnsupportedError
from ...ir import ops
from ...ir.types import DType

# numpy's .npy descriptor of each storage type (booleans are stored as uint8 0/1 but
# written as numpy bools, so that np.load gives the graph's type back).
NPY_DESCR = {"float32": "<f4", "float16": "<f2", "int8": "|i1", "uint8": "|u1",
             "int16": "<i2", "int32": "<i4", "int64": "<i8", "bool": "|b1"}

# Ops that may read or write float16 in the C backends: casts and pure data movement.
FLOAT16_OPS = (ops.Cast, ops.Identity, ops.Reshape)

HALF_HELPERS = r"""
/* float16 <-> float32 on IEEE binary16 bit patterns held in uint16_t (see io_types.py). */
static inline float n2d2c_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (uint32_t)(h >> 10) & 0x1fu;
    uint32_t mant = (uint32_t)h & 0x3ffu, x;
    float f;
    if (exp == 0x1fu) {
        x = sign | 0x7f800000u | (mant << 13);           /* inf, NaN */
    } else if (exp != 0) {
        x = sign | ((exp + 112u) << 23) | (mant << 13);  /* normal */
    } else if (mant == 0) {
        x = sign;                                        /* +-0 */
    } else {                                             /* subnormal: normalise */
        exp = 113u;
        while (!(mant & 0x400u)) { mant <<= 1; --exp; }
        x = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
    }
    memcpy(&f, &x, sizeof f);
    return f;
}

static inline uint16_t n2d2c_f32_to_f16(float f)
{
    uint32_t x, sign, h, rem;
    memcpy(&x, &f, sizeof x);
    sign = (x >> 16) & 0x8000u;
    x &= 0x7fffffffu;
    if (x > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((x >> 13) & 0x3ffu)); /* NaN */
    if (x >= 0x47800000u) return (uint16_t)(sign | 0x7c00u);  /* >= 65536: inf */
    if (x < 0x38800000u) {  /* below 2^-14: a subnormal half or zero */
        uint32_t shift, mant, halfway;
        if (x < 0x33000000u) return (uint16_t)sign;  /* below 2^-25: rounds to zero */
        shift = 126u - (x >> 23);                    /* 14 .. 24 */
        mant = (x & 0x7fffffu) | 0x800000u;
        h = mant >> shift;
        rem = mant & ((1u << shift) - 1u);
        halfway = 1u << (shift - 1u);
        if (rem > halfway || (rem == halfway && (h & 1u))) ++h;
        return (uint16_t)(sign | h);
    }
    h = (((x >> 23) - 112u) << 10) | ((x >> 13) & 0x3ffu);
    rem = x & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  /* a carry may reach inf: right */
    return (uint16_t)(sign | h);
}
"""


def io_dtype(value) -> str:
    """The storage element type of a graph input or output."""
    return "bool" if value.type.dtype is DType.BOOL else value.type.dtype.numpy.name


def typed_api(program) -> bool:
    """Does the API need per-input element types (not every input and output float32)?"""
    return any(v.type.dtype is not DType.F32 for v in (*program.inputs, *program.outputs))


def uses_float16(program) -> bool:
    """Is float16 stored anywhere: at the API, in a buffer or in a constant?"""
    return any(v.type.dtype is DType.F16 for v in (*program.inputs, *program.outputs)) or any(
        st.dtype == "float16" for st in program.arena.values()) or any(
        a.dtype.name == "float16" for a in program.consts.values())


def check_float16(op) -> None:
    """float16 values only at the API and in casts: no kernel computes in float16 (the
    lowerings' own checks keep integers to the ops of the quantized IR)."""
    if isinstance(op, FLOAT16_OPS):
        return
    for v in (*op.inputs, *op.outputs):
        if v.type.dtype is DType.F16:
            raise UnsupportedError(
                f"{op.label}: the C backends hold float16 only at the API and in casts, but "
                f"this op reads or writes %{v.name} as f16",
                hint="compute in float32 with casts at the boundary (the ONNX frontend does "
                     "this for float16 models)")


def cast_expr(x: str, in_dtype: str, out_dtype: str, out_ctype: str) -> str:
    """C expression converting element ``x`` (stored as ``in_dtype``) to ``out_dtype``;
    None where a plain C conversion is right (no float16 on either side)."""
    if in_dtype == "float16":
        x = f"n2d2c_f16_to_f32({x})"
        if out_dtype == "float16":
            return f"n2d2c_f32_to_f16({x})"
        return x if out_dtype == "float32" else f"({out_ctype})({x})"
    if out_dtype == "float16":
        return f"n2d2c_f32_to_f16((float)({x}))"
    return None


def to_double(value, x: str) -> str:
    """Element ``x`` of a graph output as a double (testbench comparisons)."""
    if value.type.dtype is DType.F16:
        return f"(double)n2d2c_f16_to_f32({x})"
    return f"(double)({x})"


def to_bool_expr(x: str, in_dtype: str) -> str | None:
    """``x != 0`` of a float16 bit pattern (-0 is false, NaN true); None for other types."""
    if in_dtype == "float16":
        return f"(uint8_t)(n2d2c_f16_to_f32({x}) != 0.0f)"
    return None


def io_pointer(emitter, storage) -> str:
    """The caller's pointer of an input/output storage, typed for the kernels."""
    array = "inputs" if storage.kind == "input" else "outputs"
    base = f"{array}[{storage.index}]"
    if not typed_api(emitter.program):
        return base
    const = "const " if storage.kind == "input" else ""
    return f"(({const}{emitter.ctype(storage.dtype)}*){base})"


def api_element(emitter) -> str:
    """The pointee of the API's pointer arrays: float while every input/output is float32."""
    return "void" if typed_api(emitter.program) else emitter.float_t


def describe_io(emitter, value) -> str:
    """``float16 (uint16_t bit patterns)``, ``int64 (int64_t)`` ...: for the headers."""
    dtype = io_dtype(value)
    ctype = emitter.ctype(storage_dtype_name(dtype))
    if dtype == "float16":
        return "float16 (IEEE binary16 bit patterns in uint16_t)"
    if dtype == "bool":
        return "bool (uint8_t 0 or 1)"
    return f"{dtype} ({ctype})"


def storage_dtype_name(dtype: str) -> str:
    return "uint8" if dtype == "bool" else dtype
