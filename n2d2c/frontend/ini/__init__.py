"""The N2D2 INI language: sections, values, variables, expressions, templates.

This package turns an N2D2 INI file into an ``IniDocument`` -- ordered
sections whose values keep their source location and are evaluated lazily.
Turning the document into a network is the job of the lowering, not of this
package.

    doc = load_ini("LeNet.ini", env={"N2D2_MODELS": "/models"})
    doc.section_names()                 # ['database', 'sp', 'sp.Transformation_1', ...]
    doc.get_int("conv1", "NbOutputs")   # 6
    doc.evaluate("pool1", "NbOutputs")  # 6, via the [conv1]NbOutputs reference

``load_ini_network`` lowers the network the document describes to an IR graph
(see ``network.py``):

    graph = load_ini_network("LeNet.ini", params="weights/", env={...})
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

from ...errors import ResourceLimitError
from .document import IniDocument, Property, Section
from .evaluator import Resolver
from .expressions import FUNCTIONS as EXPRESSION_FUNCTIONS
from .limits import IniLimits
from .values import Expression, Literal, PropRef, Value, VarRef

__all__ = [
    "load_ini", "load_ini_network", "IniDocument", "Section", "Property", "Value", "IniLimits",
    "Resolver", "Literal", "VarRef", "PropRef", "Expression", "EXPRESSION_FUNCTIONS",
]


def load_ini(path: str | os.PathLike, *, env: Mapping[str, str] | None = None,
             allow_dirs: Sequence[str | os.PathLike] = (),
             limits: IniLimits | None = None) -> IniDocument:
    """Load an N2D2 INI file, expanding ``[name@file.ini.tpl]`` template instances.

    ``env`` supplies ``${VAR}`` values not defined in the file (default: a copy
    of ``os.environ``).  Templates, includes and files named by properties may
    only be opened in the INI file's folder or in ``allow_dirs``.  Every failure
    is an ``N2D2CError`` (``ParseError`` with file:line:col for bad syntax).
    """
    from .loader import Loader  # local import keeps the package import light

    limits = limits or IniLimits()
    env = dict(os.environ if env is None else env)
    file = Path(path)
    try:
        return Loader(file, env, [Path(d) for d in allow_dirs], limits).load(file)
    except RecursionError:
        raise ResourceLimitError(
            f"{file}: the INI file nests too deeply to be loaded",
            hint="reduce the nesting of templates/expressions, or lower the --max-* limits"
        ) from None


def load_ini_network(path: str | os.PathLike, *, allow_dirs: Sequence[str | os.PathLike] = (),
                     env: Mapping[str, str] | None = None, params=None, seed: int = 0,
                     **options):
    """Lower the N2D2 network of the INI file ``path`` to a verified IR graph.

    ``params`` is a folder of N2D2 ``.syntxt`` files, an ``.npz`` file or a
    mapping of arrays (untrained networks use the fillers, seeded by ``seed``).
    Other options (``batch_size``, ``init``, ``limits``, ``max_param_bytes``) are
    described in ``network.load_ini_network``.
    """
    from .network import load_ini_network as lower  # local import keeps the package light
    return lower(path, allow_dirs=allow_dirs, env=env, params=params, seed=seed, **options)
