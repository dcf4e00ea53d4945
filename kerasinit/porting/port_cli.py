"""``kerasinit port FILE --torch pkg.module:factory``: load a Keras model's weights into a torch
model built by the user's factory, optionally ``--check`` it layer by layer.

The torch model comes from the factory the user names (the user's own code, imported and
called with no arguments); the Keras file is read as data. ``--check`` loads the Keras model
with Keras (``safe_mode=True``: no Lambda code is deserialized) and runs
:func:`kerasinit.porting.verify` on seeded random inputs of the model's input shape.

Exit codes: 0 loaded (and agrees, with ``--check``); 1 unreadable file or bad input; 2 wrong
command line; 3 the torch factory cannot be imported or called, or does not return a module;
4 the weights do not fit the torch model (nothing written); 5 ``--check`` found a divergent
layer.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

from torch import nn

from kerasinit.mappings.errors import KerasInitError
from kerasinit.porting.build import read
from kerasinit.porting.load_report import WeightsMismatchError
from kerasinit.porting.report import PlanMismatchError
from kerasinit.porting.verify import verify

__all__ = ["EXIT_CODES", "add_arguments", "run"]

#: exit code -> meaning.
EXIT_CODES = {0: "ok", 1: "unreadable file or bad input", 2: "wrong command line",
              3: "torch factory failed", 4: "weights do not fit (nothing written)",
              5: "--check found a divergent layer"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``port`` arguments to ``parser``."""
    parser.add_argument("file", help="a .keras archive or a legacy full-model .h5 file")
    parser.add_argument("--torch", required=True, metavar="MODULE:FACTORY",
                        help="the torch model factory, e.g. mypkg.models:build (called with no "
                             "arguments)")
    parser.add_argument("--weights", default=None,
                        help="read the weights from this file instead (.weights.h5 / .h5)")
    parser.add_argument("--init", action="store_true",
                        help="initialize as Keras would (plan.apply) instead of loading weights")
    parser.add_argument("--check", action="store_true",
                        help="run both models on seeded random inputs and compare every layer "
                             "(needs Keras)")
    parser.add_argument("--batch", type=_batch, default=2, help="batch size for --check (>= 1)")
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    parser.epilog = "exit codes: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items())


def _batch(text: str) -> int:
    """argparse type of --batch: an int >= 1 (anything else is a usage error, exit 2)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {value}")
    return value


def _factory(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"--torch expects MODULE:FACTORY (e.g. mypkg.models:build), got {spec!r}")
    obj = getattr(importlib.import_module(module_name), attr)
    model = obj() if callable(obj) and not isinstance(obj, nn.Module) else obj
    if not isinstance(model, nn.Module):
        raise TypeError(f"{spec} returned {type(model).__name__}, not a torch.nn.Module")
    return model


def _inputs(model: Any, batch: int) -> list[Any]:
    import numpy as np

    rng = np.random.default_rng(0)
    out = []
    for t in model.inputs:
        shape = tuple(batch if d is None else int(d) for d in t.shape)
        if "int" in str(t.dtype):
            high = _vocab(model)
            out.append(rng.integers(0, high, size=shape).astype(np.int64))
        else:
            out.append(rng.standard_normal(shape).astype(np.float32))
    return out


def _vocab(model: Any) -> int:
    sizes = [int(layer.input_dim) for layer in model.layers if hasattr(layer, "input_dim")]
    return min(sizes) if sizes else 2


def _emit(args: argparse.Namespace, payload: dict[str, Any], text: str, code: int) -> int:
    if args.json:
        payload["exit_code"] = code
        print(json.dumps(payload, indent=2, default=str))
    elif code in (0, 4, 5):
        print(text)
    else:
        print(f"kerasinit port: error: {text}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    """Load (or initialize), optionally check; returns the exit code (see :data:`EXIT_CODES`)."""
    try:
        plan = read(args.file)
    except KerasInitError as exc:
        return _emit(args, {"error": str(exc)}, str(exc), 1)
    try:
        model = _factory(args.torch)
    except Exception as exc:  # the user's code: report any failure, then exit 3
        return _emit(args, {"error": f"{type(exc).__name__}: {exc}"},
                     f"--torch {args.torch}: {type(exc).__name__}: {exc}", 3)
    try:
        if args.init:
            report: Any = plan.apply(model)
        else:
            report = plan.load_weights(model, args.weights or args.file)
    except WeightsMismatchError as exc:
        return _emit(args, {"error": str(exc), "load": exc.report.to_dict()},  # type: ignore[attr-defined]
                     str(exc.report), 4)
    except PlanMismatchError as exc:
        return _emit(args, {"error": str(exc), "apply": exc.report.to_dict()}, str(exc), 4)
    except KerasInitError as exc:
        return _emit(args, {"error": str(exc)}, str(exc), 1)
    payload: dict[str, Any] = {"init" if args.init else "load": report.to_dict()}
    text = str(report)
    if not args.check:
        return _emit(args, payload, text, 0)
    try:
        import keras

        try:
            keras_model = keras.saving.load_model(args.file, compile=False, safe_mode=True)
        except (ValueError, TypeError, OSError, KeyError, AttributeError) as exc:
            message = f"--check: Keras could not load {args.file}: {type(exc).__name__}: {exc}"
            return _emit(args, {"error": message}, message, 1)
        check = verify(keras_model, model, _inputs(keras_model, args.batch), plan=plan)
    except ImportError:
        return _emit(args, {"error": "--check needs Keras"}, "--check needs Keras", 1)
    except KerasInitError as exc:
        return _emit(args, {"error": str(exc)}, str(exc), 1)
    payload["check"] = check.to_dict()
    return _emit(args, payload, text + "\n\n" + str(check), 0 if check.ok else 5)
