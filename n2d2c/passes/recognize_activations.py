"""`recognize-activations`: turn the subgraphs that exporters write for activations
back into the IR's single ops, so that kernels, fusions and the quantizer see one op.

    x * clip(x + 3, 0, 6) / 6 (or * 1/6), x * hard_sigmoid(x)  ⇒ hard_swish(x)
    clip(x + b, 0, c) * k, k c = 1          ⇒ hard_sigmoid(x) {alpha = k, beta = k b}
    x * sigmoid(a * x)                      ⇒ swish(x) {alpha = a}
    x * tanh(softplus(x)), softplus also as log(exp(x) + 1)  ⇒ mish(x)
    0.5 * x * (1 + erf(x / sqrt 2))         ⇒ gelu(x)
    0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))  ⇒ gelu(x) {approximate = "tanh"}
    max(x, 0)                               ⇒ relu(x)
    min(max(x, lo), hi), max(min(x, hi), lo), min(relu(x), hi), lo <= hi
                                            ⇒ clip(x) {min = lo, max = hi}

A product is read as a whole: Mul trees and divisions by a scalar constant are
flattened into (coefficient, factors), so every association and operand order
PyTorch writes (``x * 0.5 * u``, ``(x * u) * 0.5``, ``0.5 * x * u``, ``x * u / 2``)
is one case.  Legality, checked by the driver for every recognizer:

* the constants are scalars (one element) and match within ``rtol`` (relative);
* every op of the match keeps ``x``'s type, so no constant broadcasts the result to
  another shape or rank;
* every intermediate result has exactly one reader and is not a graph output:
  otherwise the subgraph has to stay and the rewrite would only add an op.

The new op takes the name of the last op of the subgraph and its result keeps that
result's name, whether or not it is a graph output: calibration statistics are keyed
by value names (quantization/calibration.py), so the quantizer, which runs this pass
in ``prepare_graph``, still finds the statistics of every value it keeps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

from ..ir import Graph, Operation, Value
from ..ir.ops import (Add, Clip, Div, Erf, Exp, Gelu, HardSigmoid, HardSwish, Log, Max, Min,
                      Mish, Mul, Pow, Relu, Sigmoid, Softplus, Swish, Tanh)
from .base import Pass, PassResult, option
from .pattern import RewritePattern, apply_patterns, forward, sole_user
from .registry import register_pass


class Match(NamedTuple):
    x: Value               # the activation's operand
    op: Operation          # the op that replaces the subgraph (not yet in the graph)
    ops: list[Operation]   # the subgraph's ops, root included


class Product(NamedTuple):
    coef: float
    factors: list[Value]
    ops: list[Operation]


class Matcher:
    """The graph and the tolerance; the reading helpers every recognizer shares."""

    def __init__(self, graph: Graph, rtol: float):
        self.graph = graph
        self.rtol = rtol

    def near(self, value: float | None, target: float) -> bool:
        return value is not None and abs(value - target) <= self.rtol * abs(target)

    def scalar(self, value: Value) -> float | None:
        """The number behind a one-element constant, else None."""
        array = self.graph.constant_value(value)
        if array is None or array.size != 1:
            return None
        return float(array.reshape(()))

    def producer(self, value: Value, *classes: type) -> Operation | None:
        """``value``'s producer if it is one of ``classes`` and ``value`` may be absorbed
        (a single reader; the driver re-checks every op of a match)."""
        op = value.producer
        if isinstance(op, classes) and sole_user(self.graph, value) is not None:
            return op
        return None

    def with_scalar(self, op: Operation) -> tuple[Value, float] | None:
        """(other operand, constant) of a binary op with one scalar constant operand;
        the constant may come first only for the commutative Add, Mul, Max and Min."""
        a, b = op.inputs
        c = self.scalar(b)
        if c is not None and self.scalar(a) is None:
            return a, c
        c = self.scalar(a)
        if c is not None and isinstance(op, (Add, Mul, Max, Min)) and self.scalar(b) is None:
            return b, c
        return None

    def product(self, value: Value, top: bool = True) -> Product:
        """``value`` as coef * factors..., through Mul and division by a scalar constant;
        below the top only through results that have a single reader."""
        c = None if top else self.scalar(value)
        if c is not None:
            return Product(c, [], [])
        op = value.producer
        if not isinstance(op, (Mul, Div)) or not (top or sole_user(self.graph, value)):
            return Product(1.0, [value], [])
        if isinstance(op, Div):
            d = self.scalar(op.inputs[1])
            if not d:
                return Product(1.0, [value], [])
            p = self.product(op.inputs[0], False)
            return Product(p.coef / d, p.factors, p.ops + [op])
        a, b = (self.product(v, False) for v in op.inputs)
        return Product(a.coef * b.coef, a.factors + b.factors, a.ops + b.ops + [op])

    def scaled(self, value: Value) -> tuple[Value, float, list[Operation]] | None:
        """(x, k, ops) when ``value`` is k * x (k = 1 when it is x itself)."""
        p = self.product(value, False)
        return (p.factors[0], p.coef, p.ops) if len(p.factors) == 1 else None

    def plus_one(self, value: Value) -> tuple[Value, list[Operation]] | None:
        """(u, ops) when ``value`` is u + 1."""
        op = self.producer(value, Add)
        operands = op and self.with_scalar(op)
        if operands and self.near(operands[1], 1.0):
            return operands[0], [op]
        return None

    def pairs(self, p: Product):
        """(x, other) for both orders of a two-factor product."""
        if len(p.factors) == 2:
            a, b = p.factors
            yield a, b
            yield b, a


# -- the recognizers: (matcher, root op) -> Match | None -------------------------------
def _hard_sigmoid_form(m: Matcher, value: Value):
    """(x, alpha, beta, scale, ops) when ``value`` is scale * hard_sigmoid(alpha x + beta):
    a HardSigmoid, or clip(x + b, 0, c) = c * hard_sigmoid(x / c + b / c)."""
    op = m.producer(value, HardSigmoid, Clip)
    if isinstance(op, HardSigmoid):
        return op.inputs[0], op.alpha, op.beta, 1.0, [op]
    if op is None or op.min != 0 or not 0 < op.max < math.inf:
        return None
    add = m.producer(op.inputs[0], Add)
    operands = add and m.with_scalar(add)
    if not operands:
        return None
    x, b = operands
    return x, 1 / op.max, b / op.max, op.max, [op, add]


def hard_sigmoid(m: Matcher, root: Operation) -> Match | None:
    p = m.product(root.output)
    form = len(p.factors) == 1 and _hard_sigmoid_form(m, p.factors[0])
    if not form or isinstance(form[4][0], HardSigmoid):  # already the op
        return None
    x, alpha, beta, scale, ops = form
    if not m.near(p.coef * scale, 1.0):
        return None
    return Match(x, HardSigmoid(alpha=alpha, beta=beta), p.ops + ops)


def hard_swish(m: Matcher, root: Operation) -> Match | None:
    p = m.product(root.output)
    for x, gate in m.pairs(p):
        form = _hard_sigmoid_form(m, gate)
        if form and form[0] is x and m.near(p.coef * form[3], 1.0) and m.near(
                form[1], 1 / 6) and m.near(form[2], 0.5):
            return Match(x, HardSwish(), p.ops + form[4])
    return None


def swish(m: Matcher, root: Operation) -> Match | None:
    p = m.product(root.output)
    if not m.near(p.coef, 1.0):
        return None
    for x, gate in m.pairs(p):
        sigmoid = m.producer(gate, Sigmoid)
        inner = sigmoid and m.scaled(sigmoid.inputs[0])
        if inner and inner[0] is x:
            return Match(x, Swish(alpha=inner[1]), p.ops + [sigmoid] + inner[2])
    return None


def _softplus_of(m: Matcher, value: Value) -> tuple[Value, list[Operation]] | None:
    """(x, ops) when ``value`` is softplus(x), as the op or as log(exp(x) + 1)."""
    op = m.producer(value, Softplus, Log)
    if isinstance(op, Softplus):
        return op.inputs[0], [op]
    inner = op and m.plus_one(op.inputs[0])
    exp = inner and m.producer(inner[0], Exp)
    return (exp.inputs[0], [op, *inner[1], exp]) if exp else None


def mish(m: Matcher, root: Operation) -> Match | None:
    p = m.product(root.output)
    if not m.near(p.coef, 1.0):
        return None
    for x, gate in m.pairs(p):
        tanh = m.producer(gate, Tanh)
        softplus = tanh and _softplus_of(m, tanh.inputs[0])
        if softplus and softplus[0] is x:
            return Match(x, Mish(), p.ops + [tanh] + softplus[1])
    return None


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _cubic(m: Matcher, value: Value, x: Value) -> list[Operation] | None:
    """The ops of x + 0.044715 x^3 (x^3 as pow(x, 3) or x * x * x), when ``value`` is that."""
    add = m.producer(value, Add)
    for a, b in ((add.inputs[0], add.inputs[1]), (add.inputs[1], add.inputs[0])) if add else ():
        term = m.product(b, False)
        if a is not x or not m.near(term.coef, 0.044715):
            continue
        if term.factors == [x, x, x]:
            return [add] + term.ops
        cube = len(term.factors) == 1 and m.producer(term.factors[0], Pow)
        if cube and cube.inputs[0] is x and m.near(m.scalar(cube.inputs[1]), 3.0):
            return [add, cube] + term.ops
    return None


def gelu(m: Matcher, root: Operation) -> Match | None:
    p = m.product(root.output)
    if not m.near(p.coef, 0.5):
        return None
    for x, gate in m.pairs(p):
        one_plus = m.plus_one(gate)
        fn = one_plus and m.producer(one_plus[0], Erf, Tanh)
        inner = fn and m.scaled(fn.inputs[0])
        if not inner:
            continue
        ops = p.ops + one_plus[1] + [fn] + inner[2]
        if isinstance(fn, Erf) and inner[0] is x and m.near(inner[1], math.sqrt(0.5)):
            return Match(x, Gelu(), ops)
        cubic = isinstance(fn, Tanh) and m.near(inner[1], _SQRT_2_OVER_PI) and _cubic(
            m, inner[0], x)
        if cubic:
            return Match(x, Gelu(approximate="tanh"), ops + cubic)
    return None


def relu(m: Matcher, root: Operation) -> Match | None:
    operands = m.with_scalar(root)
    if operands and operands[1] == 0:
        return Match(operands[0], Relu(), [root])
    return None


def clamp(m: Matcher, root: Operation) -> Match | None:
    """min(max(x, lo), hi) and max(min(x, hi), lo) (a relu is max(x, 0))."""
    outer = m.with_scalar(root)
    if not outer:
        return None
    inner_cls = (Max, Relu) if isinstance(root, Min) else (Min,)
    inner = m.producer(outer[0], *inner_cls)
    if isinstance(inner, Relu):
        x, c = inner.inputs[0], 0.0
    else:
        operands = inner and m.with_scalar(inner)
        if not operands:
            return None
        x, c = operands
    lo, hi = (c, outer[1]) if isinstance(root, Min) else (outer[1], c)
    return Match(x, Clip(min=lo, max=hi), [root, inner]) if lo <= hi else None


class Recognizer(NamedTuple):
    name: str
    roots: tuple[type[Operation], ...]
    match: Callable[[Matcher, Operation], Match | None]


# Tried in this order on each op; the first that matches wins.  The clamp pair comes
# before relu so that max(min(x, 6), 0) becomes one clip, not relu(min(x, 6)).
RECOGNIZERS = (
    Recognizer("hard-swish", (Mul, Div), hard_swish),
    Recognizer("hard-sigmoid", (Mul, Div), hard_sigmoid),
    Recognizer("swish", (Mul,), swish),
    Recognizer("mish", (Mul,), mish),
    Recognizer("gelu", (Mul, Div), gelu),
    Recognizer("clamp", (Min, Max), clamp),
    Recognizer("relu", (Max,), relu),
)


def legal(graph: Graph, match: Match, root: Operation) -> bool:
    """The conditions of the module docstring that the recognizers leave to the driver."""
    x = match.x
    if not x.type.dtype.is_float:
        return False
    for op in match.ops:
        if len(op.outputs) != 1 or op.output.type != x.type:
            return False
        if op is not root and sole_user(graph, op.output) is None:
            return False
    return True


def find(graph: Graph, op: Operation, rtol: float,
         recognizers=RECOGNIZERS) -> tuple[Recognizer, Match] | None:
    """The first recognizer that matches at ``op`` (its root) legally, with its match."""
    m = Matcher(graph, rtol)
    for recognizer in recognizers:
        if isinstance(op, recognizer.roots):
            match = recognizer.match(m, op)
            if match is not None and legal(graph, match, op):
                return recognizer, match
    return None


class Recognize(RewritePattern):
    """One family of the table (its counter in the pass statistics)."""

    def __init__(self, recognizer: Recognizer, rtol: float):
        self.recognizer = recognizer
        self.roots = recognizer.roots
        self.rtol = rtol

    @property
    def name(self) -> str:
        return self.recognizer.name

    def match_and_rewrite(self, root: Operation, graph: Graph) -> bool:
        found = find(graph, root, self.rtol, (self.recognizer,))
        if found is None:
            return False
        match = found[1]
        name = root.output.name
        match.op.name = root.name
        new = graph.add(match.op, [match.x], before=root).output
        forward(graph, root, new)  # erases the subgraph: its results had one reader each
        graph.rename(new, name)
        return True


@register_pass
@dataclass(frozen=True)
class RecognizeActivations(Pass):
    """Replace decomposed hard-swish, hard-sigmoid, swish, mish, GELU, relu and relu6
    subgraphs by their single op."""

    name = "recognize-activations"

    rtol: float = option(1e-5, "relative tolerance of the constants a pattern expects")

    def apply(self, graph: Graph) -> PassResult:
        counts = apply_patterns(graph, [Recognize(r, self.rtol) for r in RECOGNIZERS])
        return PassResult({r.name: counts[r.name] for r in RECOGNIZERS})


def recognizable(graph: Graph, rtol: float = 1e-5) -> bool:
    """Whether `recognize-activations` would change ``graph``."""
    return any(find(graph, op, rtol) is not None for op in graph.ops)
