"""Command line: `n2d2c {info,ir,run,compile,passes,backends,quantize,evaluate}`.

Every user error ends in one paragraph on stderr and a category exit code
(see errors.py); `--debug` shows the traceback instead.  The parser is in
parser.py, the commands in commands.py and quantize.py, what they share in
common.py.
"""

from __future__ import annotations

import sys
import traceback

from ..errors import InternalError, N2D2CError
from ..util.atomic import Terminated
from .parser import build_parser

__all__ = ["build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except N2D2CError as err:
        if debug:
            traceback.print_exc()
        print(f"n2d2c: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("n2d2c: interrupted; no partial output was left", file=sys.stderr)
        return 130
    except Terminated:
        print("n2d2c: terminated; no partial output was left", file=sys.stderr)
        return 143
    except Exception as exc:  # a bug: short message, traceback only on request
        if debug:
            traceback.print_exc()
        err = InternalError(f"{type(exc).__name__}: {exc}",
                            hint="this is a bug in n2d2c; re-run with --debug and report it")
        print(f"n2d2c: {err}", file=sys.stderr)
        return err.exit_code
