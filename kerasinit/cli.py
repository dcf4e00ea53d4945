"""The ``kerasinit`` command (also ``python -m kerasinit``).

Subcommands live in their own modules, imported only when used, so ``kerasinit table`` never
imports TensorFlow. Each module exposes ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from kerasinit._version import __version__

__all__ = ["main"]

#: subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "table": ("kerasinit.table_cli", "print the Keras -> torch mapping table"),
    "parity": ("kerasinit.parity.cli", "check initializers against TensorFlow's own samples"),
    "inspect": ("kerasinit.porting.cli", "show the initializer plan of a saved Keras model"),
    "port": ("kerasinit.porting.port_cli",
             "load a Keras model's weights into a torch model and check the port"),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    A closed pipe (``kerasinit table | head``) ends the command quietly with the shell's
    SIGPIPE exit status, 141, instead of a ``BrokenPipeError`` traceback.
    """
    try:
        code = _main(argv)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at /dev/null so that flush is silent.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _main(argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="kerasinit",
        description="Initialize PyTorch weights exactly as Keras does.",
    )
    parser.add_argument("--version", action="version", version=f"kerasinit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    args_list = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in args_list if not a.startswith("-")), None)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = importlib.import_module(module_name)
            module.add_arguments(p)
            p.set_defaults(_run=module.run)
    args = parser.parse_args(args_list)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    return int(args._run(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
