"""Graph-to-graph passes, the registry that names them and pass pipelines.

    from n2d2c.passes import Pipeline
    Pipeline.parse("fuse-bn,fuse-padding,equalize-weights{max-iter=20}").run(graph)

Writing a pass: see base.py; rewrites are written as patterns (pattern.py).
"""

from .base import Pass, PassOption, PassResult, option
from .pattern import RewritePattern, apply_patterns
from .pipeline import PassRun, Pipeline, PipelineReport
from .registry import (declare_pass, describe_passes, get_pass, load_pass_module, pass_names,
                       register_pass)

# Built-in passes register themselves on import, one module each.
from .dead_code import DeadCode
from .equalize_weights import EqualizeWeights, EqualizeWeightsResult, LayerRanges
from .fold_constants import FoldConstants
from .fuse_activation import FuseActivation
from .fuse_batchnorm import FuseBatchNorm
from .fuse_padding import FusePadding
from .integer_io import IntegerIO
from .recognize_activations import RecognizeActivations
from .remove_dropout import RemoveDropout
from .set_batch import SetBatch
from .simplify_reshape import SimplifyReshape

__all__ = [
    "DeadCode", "EqualizeWeights", "EqualizeWeightsResult", "FoldConstants", "FuseActivation",
    "FuseBatchNorm", "FusePadding", "IntegerIO", "LayerRanges", "Pass", "PassOption", "PassResult", "PassRun",
    "Pipeline", "PipelineReport", "RecognizeActivations", "RemoveDropout", "RewritePattern",
    "SetBatch", "SimplifyReshape",
    "apply_patterns", "declare_pass", "describe_passes", "get_pass", "load_pass_module", "option",
    "pass_names",
    "register_pass",
]
