"""Every IR operation, one dataclass each, grouped by family."""

from .activation import FusedActivation
from .constant import Constant
from .detection import AnchorBoxes, RegionProposal, RoiPool
from .indexing import DepthToSpace, Expand, Gather, GatherElements, SpaceToDepth, Tile, Trilu
from .elementwise import (Add, BinaryOp, Clip, Div, Dropout, HardSigmoid, HardSwish, Identity,
                          LeakyRelu, LogSoftmax, Max, Min, Mish, Mul, PRelu, Relu, Sigmoid, Softmax, Softplus,
                          Sub, Swish, Tanh, UnaryOp)
from .lookup import LOOKUP_INPUTS, Lookup
from .int_softmax import IntSoftmax, softmax_table
from .logic import (ARG_REDUCTIONS, COMPARISONS, LOGICAL, And, ArgMax, ArgMin, Cast, Equal,
                    Greater, GreaterOrEqual, Less, LessOrEqual, Not, Or, Sign, Where, Xor)
from .math import (GELU_APPROXIMATIONS, UNARY_MATH, Abs, Ceil, Erf, Exp, Floor, Gelu, Log, Neg,
                   Pow, Reciprocal, Sqrt)
from .nn import LRN, BatchNorm, Conv2d, ConvTranspose2d, Gemm, MatMul
from .pool import (AvgPool2d, GlobalAvgPool, GlobalMaxPool, MaxPool2d, MaxPool2dWithIndices,
                   MaxUnpool2d)
from .quant import Dequantize, Quantize, Rescale
from .registry import OPS, register_op
from .reduce import (REDUCTIONS, Reduce, ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp,
                     ReduceMax, ReduceMean, ReduceMin, ReduceProd, ReduceSum, ReduceSumSquare)
from .shape import Concat, Pad, Reshape, Resize, Slice, Split, Transpose

__all__ = [name for name in dir() if not name.startswith("_")]
