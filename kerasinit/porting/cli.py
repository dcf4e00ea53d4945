"""``kerasinit inspect FILE [--keras-seed S]``: print the initializer plan of a saved Keras model
(with ``--keras-seed``, the seed every weight drew after ``keras.utils.set_random_seed(S)``)."""

from __future__ import annotations

import argparse
import json
import sys

from kerasinit.mappings.errors import KerasInitError
from kerasinit.porting.build import read

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``inspect`` arguments to ``parser``."""
    parser.add_argument("file", help="a .keras archive, a legacy .h5 file or a to_json() .json file")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.add_argument("--keras-version", default=None,
                        help="override the Keras version the file records (e.g. 3.16, 3.14, 2, 2.0.8)")
    parser.add_argument("--lenient", action="store_true",
                        help="list unknown weight-bearing layers as skipped instead of failing")
    parser.add_argument("--keras-seed", type=int, default=None, metavar="S",
                        help="the model was built after keras.utils.set_random_seed(S): show the "
                             "seed every weight drew (and the draws that seed none)")
    parser.add_argument("--rebuilt", action="store_true",
                        help="with --keras-seed: the model was rebuilt from its config "
                             "(from_config / model_from_json / clone_model)")


def run(args: argparse.Namespace) -> int:
    """Print the plan; returns 0, or 1 with the error on stderr (and, with ``--json``, as
    ``{"error": {"type", "message"}}`` on stdout) for unreadable input."""
    if getattr(args, "rebuilt", False) and getattr(args, "keras_seed", None) is None:
        print("kerasinit inspect: error: --rebuilt describes a --keras-seed replay; pass "
              "--keras-seed S as well.", file=sys.stderr)
        return 2
    try:
        plan = read(args.file, keras_version=args.keras_version,
                    strict=not getattr(args, "lenient", False))
        seed = getattr(args, "keras_seed", None)
        if seed is not None:
            plan = plan.replay(seed, order="rebuilt" if getattr(args, "rebuilt", False) else None)
    except KerasInitError as exc:
        print(f"kerasinit inspect: error: {exc}", file=sys.stderr)
        if args.json:  # a JSON consumer reads stdout: the error is JSON there too
            print(json.dumps({"error": {"type": type(exc).__name__, "message": str(exc)}},
                             indent=2))
        return 1
    print(plan.to_json() if args.json else str(plan))
    return 0
