"""The lowered Program's verifier (program_verify.py) and the kernel table's check at
construction (kernels.py): each bad program is built by breaking one invariant of a
correct one, and the error must name the kernel, layer or storage at fault."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from n2d2c.backends.c.buffers import ArenaPlacement, Region
from n2d2c.backends.c.kernels import KERNELS
from n2d2c.backends.c.program import KernelCall, lower_graph
from n2d2c.backends.c.program_verify import verify_program
from n2d2c.backends.c.views import Storage, View
from n2d2c.errors import InternalError
from n2d2c.ir import parse_graph

TEXT = """graph @net(%x: tensor<1x2x3x3xf32>) {
  %w = constant dense<[1.0, -1.0, 0.5, 2.0]> : tensor<2x2x1x1xf32>
  %conv = conv2d(%x, %w) : tensor<1x2x3x3xf32>
  %y = sigmoid(%conv) : tensor<1x2x3x3xf32>
  %s = constant dense<[1.0, 2.0]> : tensor<2x1x1xf32>
  %z = mul(%y, %s) : tensor<1x2x3x3xf32>
  return %z, %conv
}
"""


def program():
    # %conv is an output, so the sigmoid is a map of its own (layer y).
    return lower_graph(parse_graph(TEXT), "net")


def call_of(prog, layer_name):
    return next(layer for layer in prog.layers if layer.name == layer_name).calls[0]


def whole_placement(prog, **sizes):
    """Every arena buffer in a region of its own (``sizes`` overrides some byte counts)."""
    regions, offset = {}, 0
    for st in prog.arena.values():
        nbytes = sizes.get(st.name, st.size * st.itemsize)
        regions[st.name] = Region(offset, nbytes)
        offset += -(-nbytes // 64) * 64
    return ArenaPlacement(regions, max(offset, 64), 64)


def problems_of(prog, placement=None) -> str:
    with pytest.raises(InternalError) as err:
        verify_program(prog, placement)
    return str(err.value)


def test_a_lowered_program_is_valid():
    prog = program()
    verify_program(prog)
    verify_program(prog, whole_placement(prog))


def test_unknown_kernel_names_layer_and_kernel():
    prog = program()
    call_of(prog, "conv").kernel = "winograd"
    text = problems_of(prog)
    assert "layer conv, call 0 (winograd): unknown kernel 'winograd'" in text


def test_missing_role_names_the_role():
    prog = program()
    del call_of(prog, "conv").reads["x"]
    assert "layer conv, call 0 (conv2d): missing read 'x'" in problems_of(prog)


def test_unknown_role_and_parameter():
    prog = program()
    call = call_of(prog, "y")
    call.writes["z"] = call.writes["y"]
    call.params["alpha"] = 0.5
    text = problems_of(prog)
    assert "layer y, call 0 (map): unknown write 'z'" in text
    assert "unknown parameter 'alpha'" in text
    assert "breaks 2 invariant(s)" in text   # both reported at once


def test_kernel_invariants():
    prog = program()
    conv = call_of(prog, "conv")
    conv.reads["w"] = conv.reads["x"]        # weights both constant and read at run time
    z = call_of(prog, "z")
    z.reads = {"a": z.reads["a"]}            # mul without its second operand
    text = problems_of(prog)
    assert "(conv2d): weights must be either the parameter 'weights' or the read 'w' " \
           "(both given)" in text
    assert "layer z, call 0 (map): fn=mul reads roles ['a', 'b'] in that order" in text


def test_view_outside_its_storage_names_the_storage():
    prog = program()
    call = call_of(prog, "y")
    y = call.writes["y"]
    call.writes["y"] = dataclasses.replace(y, offset=4)
    text = problems_of(prog)
    assert f"layer y, call 0 (map): write 'y': %{y.storage.name}<1x2x3x3 nhwc +4> reaches " \
           f"elements 4..21 of a 18-element storage" in text


def test_negative_strides_stay_inside():
    prog = program()
    call = call_of(prog, "y")
    x = call.reads["a"]
    call.reads["a"] = View(x.storage, 17, x.shape, tuple(-s for s in x.strides))
    verify_program(prog)                       # a reversed view of the whole buffer
    call.reads["a"] = View(x.storage, 16, x.shape, tuple(-s for s in x.strides))
    assert "reaches elements -1..16" in problems_of(prog)


def test_storages_must_be_the_registered_ones():
    prog = program()
    call = call_of(prog, "y")
    y = call.writes["y"]
    call.writes["y"] = View(Storage("arena", "stray", 18), 0, y.shape, y.strides)
    z = call_of(prog, "z")
    s = z.reads["b"]
    prog.consts[s.storage.name] = np.zeros(3, np.float32)
    text = problems_of(prog)
    assert "arena buffer %stray is not in program.arena" in text
    assert f"const ${s.storage.name} is 2xfloat32 but its data is 3xfloat32" in text


def test_calls_write_only_arena_buffers_and_outputs():
    prog = program()
    z = call_of(prog, "z")
    z.writes["y"] = z.reads["b"]
    assert "write 'y': $c_s<1x2x3x3 [0, 1, 0, 0]>: storage kind 'const'" in problems_of(prog)


def test_arena_buffer_without_region_names_the_buffer():
    prog = program()
    placement = whole_placement(prog)
    name = call_of(prog, "y").writes["y"].storage.name
    regions = {n: r for n, r in placement.regions.items() if n != name}
    text = problems_of(prog, dataclasses.replace(placement, regions=regions))
    assert f"layer y, call 0 (map): arena buffer %{name} has no region in the placement" in text


def test_region_too_small_and_external_buffers():
    prog = program()
    name = call_of(prog, "y").writes["y"].storage.name
    assert f"arena buffer %{name} needs 72 bytes, its region has 8" in problems_of(
        prog, whole_placement(prog, **{name: 8}))
    placement = whole_placement(prog)
    regions = {n: r for n, r in placement.regions.items() if n != "x"}
    verify_program(prog, dataclasses.replace(placement, regions=regions, external={"x": 72}))
    # Plans made for memory reports count every element as ``itemsize`` bytes.
    small = whole_placement(prog, **{st.name: st.size for st in prog.arena.values()})
    verify_program(prog, small, itemsize=1)


def test_construction_checks_against_the_table():
    prog = program()
    x = call_of(prog, "y").reads["a"]
    with pytest.raises(InternalError, match=r"kernel call 'pool2d': missing parameter 'kind'"):
        KernelCall("pool2d", {"x": x}, {"y": x}, {"kernel": (2, 2), "strides": (1, 1),
                                                  "pads": (0,) * 4, "dilations": (1, 1),
                                                  "ceil_mode": False,
                                                  "count_include_pad": False})
    with pytest.raises(InternalError, match=r"kernel call 'copy': unknown read 'a'"):
        KernelCall("copy", {"a": x}, {"y": x})
    with pytest.raises(InternalError, match=r"unknown kernel 'im2col'"):
        KernelCall("im2col", {"x": x}, {"y": x})


def test_table_entries_are_consistent():
    for name, spec in KERNELS.items():
        assert spec.name == name and spec.doc
        assert spec.memory in ("rows", "elementwise", "none")
        assert len(set(spec.read_roles)) == len(spec.reads)
        assert len(set(spec.param_names)) == len(spec.params)
    assert KERNELS["conv2d"].generic_memory().rows
    assert KERNELS["map"].generic_memory().elementwise
    assert not KERNELS["gemm"].generic_memory().may_alias


def test_the_generic_emitter_implements_the_table():
    """One generic preparation and template per kernel, and the same memory traits."""
    from n2d2c.backends.c.emitter import GENERIC_TEMPLATES, CEmitter
    from n2d2c.backends.c.kernel_memory import NONE

    prepared = {a[len("prepare_"):] for a in dir(CEmitter) if a.startswith("prepare_")}
    assert prepared - {"all", "call"} == set(KERNELS)
    for name, spec in KERNELS.items():
        assert (GENERIC_TEMPLATES / f"{name}.j2").exists(), name
        assert CEmitter.MEMORY_TRAITS.get(name, NONE) == spec.generic_memory(), name
