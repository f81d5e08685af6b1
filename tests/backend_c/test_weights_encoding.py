"""Constant arrays are emitted as bytes in string literals: compiled and read back, every
array holds exactly the values given (NaN payloads, infinities, -0 and denormals included),
is aligned, builds warning-free as strict C99 and C++14, and the text is deterministic."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from backend_cpp.harness import require_compiler
from n2d2c.backends.c.formatting import (ROW_BYTES, byte_rows, c_string_body, c_string_rows,
                                        const_bytes)
from n2d2c.backends.c.memory import plan_graph
from n2d2c.backends.c.testing import compiler
from n2d2c.errors import InternalError
from n2d2c.ir import Graph, TensorType, ops

_RNG = np.random.default_rng(7)
_SPECIAL_BITS = [0x7FC00000, 0x7FC00001, 0xFFC00000, 0x7F800001, 0x7FBFFFFF,  # NaNs
                 0x7F800000, 0xFF800000, 0x80000000, 0x00000000,            # +-inf, -0, 0
                 0x00000001, 0x807FFFFF, 0x7F7FFFFF, 0x3F800000]            # denormals, max
ARRAYS = {  # symbol -> (values, C type)
    "special": (np.array(_SPECIAL_BITS, np.uint32).view(np.float32), "float"),
    "several_rows": (_RNG.standard_normal(3 * ROW_BYTES // 4 + 5).astype(np.float32), "float"),
    "from_double": (np.array([0.1, 1e-40, -3.4e38, 2.0 / 3.0]), "float"),
    "every_int8": (np.arange(-128, 128, dtype=np.int8), "int8_t"),
    "every_uint8": (np.arange(256, dtype=np.uint8), "uint8_t"),
    "int16_ends": (np.array([-32768, -1, 0, 1, 32767], np.int16), "int16_t"),
    "int32_ends": (np.array([-2**31, -1, 0, 7, 2**31 - 1], np.int32), "int32_t"),
    "int64_ends": (np.array([-2**63, -1, 0, 2**63 - 1], np.int64), "int64_t"),
    "empty": (np.zeros(0, np.float32), "float"),
}
# What the reader program prints for each symbol: its bytes in hex, and whether it is aligned.
READER = """\
#include <stdio.h>
#include <stdint.h>
#include "{header}"
{using}
static void dump(const char* name, const void* p, size_t n) {{
    const unsigned char* b = (const unsigned char*)p;
    size_t i;
    printf("%s %d ", name, (int)((uintptr_t)p % {alignment} == 0));
    for (i = 0; i < n; ++i) printf("%02x", b[i]);
    printf("\\n");
}}
int main(void) {{
{dumps}
    return 0;
}}
"""


def emitted(target: str):
    """The emitter of a one-ReLU network for ``target`` with ARRAYS added, and its files."""
    graph = Graph("tiny")
    x = graph.add_input("x", TensorType((1, 4)))
    graph.outputs = [graph.add(ops.Relu(name="r"), [x]).output]
    emitter = plan_graph(graph, target=target).emitter
    symbols = {name: emitter.add_const(name, values, "test array", ctype)
               for name, (values, ctype) in ARRAYS.items()}
    return emitter, symbols, emitter.render_files()


@pytest.mark.parametrize("target,language,flags", [
    ("c", "c", ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror"]),
    ("cpp", "c++", ["-std=c++14", "-pedantic", "-Wall", "-Wextra", "-Werror"]),
])
def test_arrays_read_back_bit_exact_and_aligned(tmp_path, target, language, flags):
    require_compiler(language)
    emitter, symbols, files = emitted(target)
    suffix = "c" if language == "c" else "cpp"
    for name in (f"weights.{suffix}", f"weights.{'h' if language == 'c' else 'hpp'}"):
        (tmp_path / name).write_text(files[name])
    sizes = {name: max(values.size, 1) * np.dtype(const_dtype(ctype)).itemsize
             for name, (values, ctype) in ARRAYS.items()}
    (tmp_path / f"reader.{suffix}").write_text(READER.format(
        header="weights.h" if language == "c" else "weights.hpp",
        using="" if language == "c" else f"using namespace {emitter.namespace};",
        alignment=emitter.alignment,
        dumps="\n".join(f'    dump("{name}", {symbols[name]}, {sizes[name]});'
                        for name in ARRAYS)))
    build = subprocess.run([compiler(language), *flags, "-O2", f"reader.{suffix}",
                            f"weights.{suffix}", "-o", "reader"],
                           cwd=tmp_path, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    out = subprocess.run([str(tmp_path / "reader")], capture_output=True, text=True, check=True)
    got = {name: (aligned, data) for name, aligned, data in
           (line.split() for line in out.stdout.splitlines())}
    for name, (values, ctype) in ARRAYS.items():
        expected = values.astype(const_dtype(ctype)) if values.size else np.zeros(1, np.float32)
        assert got[name] == ("1", expected.astype(expected.dtype.newbyteorder("<"))
                             .tobytes().hex()), name


def const_dtype(ctype: str):
    return {"float": np.float32, "int8_t": np.int8, "uint8_t": np.uint8, "int16_t": np.int16,
            "int32_t": np.int32, "int64_t": np.int64}[ctype]


@pytest.mark.parametrize("target", ["c", "cpp"])
def test_weights_text_is_deterministic(target):
    first, second = emitted(target)[2], emitted(target)[2]
    name = "weights.c" if target == "c" else "weights.cpp"
    assert first[name] == second[name]
    assert first[name].count("unsigned char bytes[") == len(ARRAYS)  # bytes, not numbers


@pytest.mark.parametrize("nbytes", [1, 4, ROW_BYTES, ROW_BYTES + 1, 3 * ROW_BYTES - 1, 10**6])
def test_c_rows_stay_within_the_literal_limit_and_pad_little(nbytes):
    rows, row_bytes = byte_rows(nbytes)
    assert row_bytes <= ROW_BYTES < 4095
    assert 0 <= rows * row_bytes - nbytes < rows


def test_string_body_escapes_what_c_reads_specially():
    text = c_string_body(b'a"\\?\n7\x00' + bytes([0xFF]) + b"1$")
    assert text == 'a\\042\\134\\077\\0127\\000\\3771\\044'  # no trigraph, octal never swallows


def _spelled_one_by_one(data: bytes) -> str:
    return "".join(chr(b) if 0x20 <= b < 0x7F and chr(b) not in '"\\?$@`' else "\\%03o" % b
                   for b in data)


@pytest.mark.parametrize("nbytes,row_bytes", [(1, 1), (9, 4), (256, 8), (10_000, ROW_BYTES)])
def test_rows_are_the_bytes_spelled_one_by_one(nbytes, row_bytes):
    data = _RNG.integers(0, 256, nbytes, dtype=np.uint8).tobytes()
    expected = [f'"{_spelled_one_by_one(data[i:i + row_bytes])}"'
                for i in range(0, nbytes, row_bytes)]
    assert c_string_rows(data, row_bytes) == ",\n".join(expected)
    assert c_string_rows(data, row_bytes, separator="\n") == "\n".join(expected)


def test_values_that_do_not_fit_their_c_type_are_an_internal_error():
    with pytest.raises(InternalError, match="do not fit int8_t"):
        const_bytes(np.array([127, 128]), "int8_t")
    with pytest.raises(InternalError, match="float64 values"):
        const_bytes(np.array([0.5]), "int32_t")
    with pytest.raises(InternalError, match="no byte encoding"):
        const_bytes(np.array([1]), "long double")
