"""ONNX models of the comparison, logic, Where, Cast, Sign and ArgMax/ArgMin ops with
float32 graph inputs and outputs and bool/integer tensors in between, shared by the
simulator tests (tests/runtime/test_logic_ops.py) and the C/C++ tests
(test_logic_ops.py).  ``SIMULATOR_ONLY`` holds the float16 casts, which the C tests
build on their own (test_float16_casts_round_like_onnxruntime)."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto as T
from onnx import helper, numpy_helper

from .harness import Case, finish_model, rand


def chain(name: str, nodes, feeds: dict[str, np.ndarray], consts: dict[str, np.ndarray] = (),
          opset: int = 17) -> Case:
    """A model of ``nodes`` reading the float inputs ``feeds`` and the initializers
    ``consts``; the last node's first result is the output ``y``."""
    inputs = [helper.make_tensor_value_info(n, T.FLOAT, a.shape) for n, a in feeds.items()]
    inits = [numpy_helper.from_array(np.asarray(a), n) for n, a in dict(consts).items()]
    model = finish_model(nodes, inputs, ["y"], inits, name, opset)
    return Case(name, model, {n: a.astype(np.float32) for n, a in feeds.items()})


def n(op: str, inputs, output: str, **attrs):
    return helper.make_node(op, list(inputs), [output], **attrs)


def f32(*v):
    return np.array(v, np.float32)


def _steps(*shape, name: str, scale: float = 2.0) -> np.ndarray:
    """Values on a coarse grid (floor(x * scale) / scale): comparisons and arg-reductions
    see ties and exact equalities."""
    return np.floor(rand(*shape, name=name) * scale) / scale


def _casts() -> list[Case]:
    x = rand(2, 3, 5, name="cast", low=-100.0, high=100.0)
    pos = rand(4, 6, name="castu", low=0.0, high=250.0)
    cases = [chain(f"cast_f32_{to}_f32", [n("Cast", ["x"], "c", to=code),
                                          n("Cast", ["c"], "y", to=T.FLOAT)], {"x": x})
             for to, code in (("int8", T.INT8), ("int16", T.INT16), ("int32", T.INT32),
                              ("int64", T.INT64), ("bool", T.BOOL))]
    x_bool = x.copy()
    x_bool[0, 0, :3] = (0.0, -0.0, np.nan)      # zero, negative zero and NaN to bool
    cases[-1].feeds["x"] = x_bool
    cases += [
        chain("cast_f32_uint8_f32", [n("Cast", ["x"], "c", to=T.UINT8),
                                     n("Cast", ["c"], "y", to=T.FLOAT)], {"x": pos}),
        # int -> narrower int wraps (two's complement) in onnxruntime, numpy and C
        chain("cast_int32_int8_f32", [n("Cast", ["x"], "a", to=T.INT32),
                                      n("Cast", ["a"], "b", to=T.INT8),
                                      n("Cast", ["b"], "y", to=T.FLOAT)],
              {"x": rand(3, 7, name="wrap", low=-1000.0, high=1000.0)}),
        chain("cast_bool_int64_f32", [n("Greater", ["x", "zero"], "b"),
                                      n("Cast", ["b"], "i", to=T.INT64),
                                      n("Cast", ["i"], "y", to=T.FLOAT)],
              {"x": rand(2, 6, name="bi")}, {"zero": f32(0.0)}),
        chain("cast_f32_f32_noop", [n("Cast", ["x"], "y", to=T.FLOAT)], {"x": rand(3, name="n")}),
        chain("castlike_int32", [n("CastLike", ["x", "like"], "c"),
                                 n("Cast", ["c"], "y", to=T.FLOAT)],
              {"x": x}, {"like": np.zeros(1, np.int32)}),
    ]
    return cases


def _compare() -> list[Case]:
    x, y = _steps(2, 3, 4, name="cx"), _steps(2, 3, 4, name="cy")
    out = []
    for op in ("Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"):
        out.append(chain(f"{op.lower()}_cast", [n(op, ["x", "z"], "b"),
                                                n("Cast", ["b"], "y", to=T.FLOAT)],
                         {"x": x, "z": y}))
    out += [
        # broadcast against a row and a scalar constant
        chain("equal_broadcast_const", [n("Equal", ["x", "c"], "b"),
                                        n("Cast", ["b"], "y", to=T.FLOAT)],
              {"x": x}, {"c": f32(-0.5, 0.0, 0.5, 1.0)}),
        chain("less_scalar_broadcast", [n("Less", ["x", "c"], "b"),
                                        n("Cast", ["b"], "y", to=T.FLOAT)],
              {"x": rand(3, 1, name="ls")}, {"c": np.array(0.25, np.float32)}),
        # integer comparison: the attention mask idiom Equal(mask, 0) on int64
        chain("equal_int64_mask", [n("Cast", ["m"], "mi", to=T.INT64),
                                   n("Equal", ["mi", "zero"], "b"),
                                   n("Cast", ["b"], "y", to=T.FLOAT)],
              {"m": np.floor(rand(2, 8, name="mask", low=0.0, high=2.0))},
              {"zero": np.array(0, np.int64)}),
    ]
    return out


def _logic() -> list[Case]:
    x, z = rand(3, 4, name="lx"), rand(1, 4, name="lz")
    gt = n("Greater", ["x", "zero"], "p")
    lt = n("Less", ["z", "half"], "q")
    consts = {"zero": f32(0.0), "half": f32(0.5)}
    out = [chain(f"{op.lower()}_bool", [gt, lt, n(op, ["p", "q"], "b"),
                                        n("Cast", ["b"], "y", to=T.FLOAT)],
                 {"x": x, "z": z}, consts)
           for op in ("And", "Or", "Xor")]
    out.append(chain("not_less", [n("Less", ["x", "zero"], "p"), n("Not", ["p"], "b"),
                                  n("Cast", ["b"], "y", to=T.FLOAT)], {"x": x}, consts))
    return out


def _where() -> list[Case]:
    x, z = rand(2, 3, 4, name="wx"), rand(2, 3, 4, name="wz")
    return [
        chain("where_greater_max", [n("Greater", ["x", "z"], "c"),
                                    n("Where", ["c", "x", "z"], "y")], {"x": x, "z": z}),
        chain("where_not_less_neg_inf", [n("Less", ["x", "zero"], "c"), n("Not", ["c"], "k"),
                                         n("Where", ["k", "x", "ninf"], "y")],
              {"x": x}, {"zero": f32(0.0), "ninf": np.array(-3.0e38, np.float32)}),
        # attention masking: scores [2, 3, 4] masked by a [2, 1, 4] mask read at run time
        chain("where_mask_broadcast", [n("Cast", ["m"], "mi", to=T.INT64),
                                       n("Equal", ["mi", "zero"], "c"),
                                       n("Where", ["c", "ninf", "s"], "y")],
              {"s": x, "m": np.floor(rand(2, 1, 4, name="wm", low=0.0, high=2.0))},
              {"zero": np.array(0, np.int64), "ninf": np.array(-1e9, np.float32)}),
        # a constant condition, both branches broadcast
        chain("where_const_cond", [n("Where", ["c", "x", "z"], "y")],
              {"x": rand(3, 1, name="w1"), "z": rand(1, 4, name="w2")},
              {"c": np.array([[True, False, True, True]])}),
        # integer branches
        chain("where_int32", [n("Cast", ["x"], "xi", to=T.INT32), n("Greater", ["x", "zero"], "c"),
                              n("Where", ["c", "xi", "seven"], "w"),
                              n("Cast", ["w"], "y", to=T.FLOAT)],
              {"x": rand(4, 5, name="wi", low=-50.0, high=50.0)},
              {"zero": f32(0.0), "seven": np.array([7], np.int32)}),
    ]


def _sign() -> list[Case]:
    x = _steps(3, 5, name="sg")
    x[0, :3] = (0.0, -0.0, 1e-30)
    return [
        chain("sign_float", [n("Sign", ["x"], "y")], {"x": x}),
        chain("sign_int32", [n("Cast", ["x"], "i", to=T.INT32), n("Sign", ["i"], "s"),
                             n("Cast", ["s"], "y", to=T.FLOAT)], {"x": x * 3}),
    ]


def _arg() -> list[Case]:
    x = _steps(2, 4, 5, name="am")       # ties on the grid
    out = []
    for op in ("ArgMax", "ArgMin"):
        for axis, keepdims, last in ((1, 0, 0), (-1, 1, 0), (0, 1, 1), (2, 0, 1)):
            out.append(chain(f"{op.lower()}_axis{axis}_keep{keepdims}_last{last}".replace("-", "m"),
                             [n(op, ["x"], "i", axis=axis, keepdims=keepdims,
                                select_last_index=last),
                              n("Cast", ["i"], "y", to=T.FLOAT)], {"x": x}))
    out.append(chain("argmax_int32", [n("Cast", ["x"], "xi", to=T.INT32),
                                      n("ArgMax", ["xi"], "i", axis=1),
                                      n("Cast", ["i"], "y", to=T.FLOAT)], {"x": x * 4}))
    return out


CASES = {"cast": _casts(), "compare": _compare(), "logic": _logic(), "where": _where(),
         "sign": _sign(), "arg": _arg()}
ALL = [case for cases in CASES.values() for case in cases]

SIMULATOR_ONLY = [
    chain("cast_f32_f16_f32", [n("Cast", ["x"], "h", to=T.FLOAT16),
                               n("Cast", ["h"], "y", to=T.FLOAT)],
          {"x": rand(3, 4, name="h", low=-70000.0, high=70000.0)}),
    chain("castlike_f16", [n("CastLike", ["x", "like"], "h"), n("Cast", ["h"], "y", to=T.FLOAT)],
          {"x": rand(3, 4, name="hl")}, {"like": np.zeros(1, np.float16)}),
]
