"""The typed graph IR: tensor types, ops as data, graphs, textual form."""

from . import ops
from .graph import Graph, Operation, Value
from .parser import parse_graph
from .printer import print_graph
from .types import DType, Layout, TensorType
from .verify import verify

__all__ = ["DType", "Graph", "Layout", "Operation", "TensorType", "Value", "ops",
           "parse_graph", "print_graph", "verify"]
