"""``kerasinit.porting.verify(keras_model, torch_model, inputs)``: prove a port layer by layer.

Both models run on the same inputs (torch in ``eval()`` under ``no_grad``; Keras with
``training=False``). Every Keras layer paired with a torch module (the pairing of
:meth:`Plan.apply <kerasinit.porting.plan.Plan.apply>`) is compared: the Keras layer's output
(a Keras sub-model output) against the torch module's forward output (a forward hook), moved to
Keras's layout (channels-first -> channels-last; time-major -> batch-first; an RNN's last
state from ``h_n``; a Bidirectional's two halves concatenated as Keras does). A Keras layer with
a built-in activation (``Dense(activation="relu")``) is compared after applying that
activation to the torch output. The final outputs are compared too; a Keras classifier
activation (softmax) that the torch model does not apply is applied to the torch output and
said so. Preprocessing layers at the start of the Keras model (``Rescaling``,
``Normalization``: EfficientNet, ConvNeXt) are run by Keras and their output is the torch input.

Per output: max |Δ| and max |Δ| / max |Keras| against a float32 tolerance (default 1e-4). For
the first layer above it, :func:`~kerasinit.porting.verify_causes.diagnose` names the likely
cause. Independent of how the torch weights got there (``load_weights``, ``apply``, by hand).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from kerasinit.mappings.errors import KerasInitError, shown
from kerasinit.porting.build import read
from kerasinit.porting.matching import Pair
from kerasinit.porting.pairing import pair_lists
from kerasinit.porting.plan import Plan
from kerasinit.porting.verify_causes import relative
from kerasinit.porting.verify_gaps import between, forced_inputs, gap_cause, replacement, settings
from kerasinit.porting.verify_keras import keras_values, resolve
from kerasinit.porting.verify_layers import (
    ACTIVATIONS,
    activation,
    alone,
    compare,
    folded_bias,
    to_keras,
)
from kerasinit.porting.verify_report import LayerCheck, VerifyReport

__all__ = ["verify"]

_PREPROCESSING = ("Rescaling", "Normalization", "Resizing", "CenterCrop")


def _keras(model: object) -> Any:
    """The Keras that built ``model``: Keras 3, or tf_keras (Keras 2) for its models."""
    module = type(model).__module__ or ""
    name = "tf_keras" if module.startswith("tf_keras") else "keras"
    if module.startswith("keras.") and not module.startswith("keras.src"):
        raise KerasInitError(
            f"verify supports Keras 3 models and tf_keras (Keras 2) models; "
            f"{type(model).__name__} comes from {module} (Keras 2 inside TensorFlow's own keras "
            f"package): rebuild it with tf_keras or Keras 3.")
    try:
        return importlib.import_module(name)
    except ImportError:
        raise KerasInitError(f"verify runs the Keras model, so it needs {name} (pip install "
                             f"kerasinit[parity]{' tf_keras' if name == 'tf_keras' else ''}).") \
            from None


def _check_arguments(keras_model: Any, torch_model: object, inputs: object, plan: object,
                     tolerance: object) -> list[np.ndarray]:
    """Everything :func:`verify` is given, checked before either model runs."""
    if not (hasattr(keras_model, "layers") and hasattr(keras_model, "inputs")):
        raise KerasInitError(f"verify needs a built Keras model (functional or Sequential). "
                             f"Received {shown(keras_model, 60)} (type "
                             f"{type(keras_model).__name__}).")
    if not isinstance(torch_model, nn.Module):
        raise KerasInitError(f"verify needs a torch.nn.Module. Received "
                             f"{type(torch_model).__name__}.")
    if plan is not None and not isinstance(plan, Plan):
        raise KerasInitError(f"verify: `plan` must be a kerasinit.porting.Plan or None. Received "
                             f"{shown(plan, 60)} (type {type(plan).__name__}).")
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or \
            not 0 <= tolerance < float("inf"):
        raise KerasInitError(f"verify: `tolerance` must be a finite number >= 0. Received "
                             f"{shown(tolerance, 60)}.")
    items = [inputs] if isinstance(inputs, np.ndarray) or not isinstance(
        inputs, list | tuple) else inputs
    arrays = []
    for item in items:
        try:
            array = np.asarray(item)
        except (ValueError, TypeError):  # ragged
            array = np.asarray(None)
        if array.dtype.kind not in "biuf" or array.ndim == 0:
            raise KerasInitError(
                f"verify: `inputs` must be numeric numpy arrays (one per model input, batch "
                f"first, Keras layout). Received {shown(item, 60)}.")
        arrays.append(array)
    return arrays


def _plan_of(model: Any) -> Plan:
    try:
        return read(model)
    except KerasInitError:
        if not callable(getattr(model, "to_json", None)):
            raise
        return read(model.to_json())


def _called(pair: Pair, model: nn.Module) -> nn.Module:
    """The module whose forward gives the pair's output: for a separable conv (two sibling
    convs, or a container whose forward may never run) the pointwise conv."""
    if "+" in pair.unit.path:
        return model.get_submodule(pair.unit.path.rsplit("+", 1)[-1])
    pointwise = getattr(pair.unit.module, "pointwise", None)
    return pointwise if isinstance(pointwise, nn.Module) else pair.unit.module


def _taker(pair: Pair, model: nn.Module) -> nn.Module | None:
    """The module whose input is a separable pair's input (its depthwise conv, or the container
    whose pointwise conv gives the output); None for other pairs."""
    if "+" in pair.unit.path:
        return model.get_submodule(pair.unit.path.split("+", 1)[0])
    return pair.unit.module if hasattr(pair.unit.module, "pointwise") else None


def _copy(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    return value


def _torch_inputs(arrays: list[np.ndarray], pairs: list[Pair]) -> tuple[list[torch.Tensor], str]:
    first = pairs[0].unit.module if pairs else None
    channels_first = isinstance(first, nn.modules.conv._ConvNd)
    time_major = isinstance(first, nn.RNNBase) and not first.batch_first
    out, notes = [], []
    for a in arrays:
        t = torch.from_numpy(np.ascontiguousarray(a))
        if np.issubdtype(a.dtype, np.integer):
            t = t.long()
        elif channels_first and a.ndim >= 3:
            t = t.movedim(-1, 1).contiguous()
            notes.append("channels-last -> channels-first")
        elif time_major and a.ndim == 3:
            t = t.transpose(0, 1).contiguous()
            notes.append("batch-first -> time-major")
        out.append(t)
    return out, ", ".join(sorted(set(notes))) or "as given"


def verify(
    keras_model: Any,
    torch_model: nn.Module,
    inputs: np.ndarray | Sequence[np.ndarray],
    *,
    plan: Plan | None = None,
    mapping: dict[str, str] | None = None,
    tolerance: float = 1e-4,
) -> VerifyReport:
    """Run both models on ``inputs`` and compare every paired layer's output.

    Args:
        keras_model: a built Keras (functional or Sequential) model.
        torch_model: its torch port (set to ``eval()`` here).
        inputs: numpy array(s) in Keras layout (channels-last images, batch-first sequences,
            integer token ids).
        plan: the plan to pair with (default: read from ``keras_model``).
        mapping: explicit pairs, as in :meth:`Plan.apply`.
        tolerance: the largest max|Δ| / max|Keras| that counts as agreement.

    Returns:
        A :class:`~kerasinit.porting.verify_report.VerifyReport` (``print`` it).
    """
    keras = _keras(keras_model)
    arrays = _check_arguments(keras_model, torch_model, inputs, plan, tolerance)
    plan = plan or _plan_of(keras_model)
    pairs, _, _, problems = pair_lists(plan, torch_model, mapping)
    compared = [f"inputs: {', '.join(str(a.shape) for a in arrays)} (Keras layout)"]
    # preprocessing at the start of the Keras model: its output is the torch model's input
    pre = []
    for layer in keras_model.layers[1:] if keras_model.layers and \
            type(keras_model.layers[0]).__name__ == "InputLayer" else []:
        if type(layer).__name__ not in _PREPROCESSING:
            break
        pre.append(layer)
    targets: list[tuple[Pair, Any]] = []
    items: list[tuple[int, list[Any], Any]] = []
    names: list[str] = []  # a nested model's layer: its path (inner/conv)
    for pair in pairs:
        resolved = resolve(keras_model, pair.keras[-1].path)
        if isinstance(resolved, str):
            problems.append(resolved)
            continue
        chain, layer = resolved
        items.append((len(targets), chain, layer))
        targets.append((pair, layer))
        names.append("/".join([*(m.name for m in chain), layer.name]))
    values: dict[int, list[np.ndarray]] = {}
    extra = [pre[-1].output] if pre else []
    final_out = keras_values(keras, keras_model, arrays, items, [*extra, *keras_model.outputs],
                             values, problems)
    usable = [t for i, t in enumerate(targets) if i in values]
    labels = [n for i, n in enumerate(names) if i in values]
    results = [v for i in sorted(values) for v in values[i]] + final_out[len(extra):]
    if pre:
        arrays = [final_out[0]]
        compared.append("torch input = output of the Keras preprocessing layers "
                        + ", ".join(f"{p.name} ({type(p).__name__})" for p in pre))
    torch_in, how = _torch_inputs(arrays, [p for p, _ in usable])
    compared.append(f"torch input layout: {how}")
    captured: dict[int, tuple[tuple[Any, ...], Any]] = {}

    def hook(i: int) -> Callable[..., None]:
        def record(module: nn.Module, args: tuple[Any, ...], out: Any) -> None:
            if i not in captured:  # the first call, copied: a later in-place op (ReLU6(inplace))
                captured[i] = (_copy(args), _copy(out))  # must not change it; returns None
        return record

    hooks = [_called(pair, torch_model).register_forward_hook(hook(i))
             for i, (pair, _) in enumerate(usable)]
    torch_model.eval()
    try:
        with torch.no_grad():
            final = torch_model(*torch_in)
    finally:
        for h in hooks:
            h.remove()
    checks: list[LayerCheck] = []
    first, cause = None, ""
    causes: list[tuple[str, str]] = []
    fold: torch.Tensor | None = None
    for i, (pair, layer) in enumerate(usable):
        check, why = compare(pair, layer, captured.get(i), results[3 * i], results[3 * i + 1],
                              tolerance, diagnose_it=first is None)
        shift = fold if isinstance(pair.unit.module, nn.modules.batchnorm._BatchNorm) else None
        rel_alone, why_alone = alone(pair, layer, captured.get(i), results[3 * i],
                                     (results[3 * i + 1], results[3 * i + 2]), tolerance, shift)
        fold = folded_bias(layer, pair.unit.module)
        if rel_alone is not None:
            check = dataclasses.replace(check, alone=rel_alone)
        if why_alone:
            causes.append((labels[i], why_alone))
        checks.append(dataclasses.replace(check, keras_layer=labels[i]))
        if check.ok is False and first is None:
            first = (f"{labels[i]} ({type(layer).__name__}) vs torch "
                     f"{pair.unit.path or '(root)'} ({type(pair.unit.module).__name__})")
            cause = why
    found = _settings_and_gaps(torch_model, torch_in, usable, labels, results, captured,
                               tolerance)
    first_layer = first.split(" ", 1)[0] if first is not None else ""
    if cause.startswith("layout/shape mismatch"):
        cause = "; ".join([why for name, why in found[0] if name == first_layer] + [cause])
    elif cause.startswith("the layer's input already differs"):
        cause = next((why for name, why in found[1] if name == first_layer), cause)
    causes += found[1]
    checks.append(_final(results[-1], final, keras_model, tolerance, compared,
                         channels_first="channels-first" in how))
    if first is None and checks[-1].ok is False:
        first, cause = "(output)", ("the final output differs although every paired layer "
                                    "agrees: a weightless operation after the last paired layer "
                                    "(pooling, flatten, activation)")
    order = {name: i for i, name in enumerate(labels)}
    causes.sort(key=lambda c: order.get(c[0], len(order)))
    return VerifyReport(tuple(checks), tolerance, first, cause, tuple(compared), tuple(problems),
                        tuple(causes), found[0])


def _settings_and_gaps(torch_model: nn.Module, torch_in: list[torch.Tensor],
                       usable: list[tuple[Pair, Any]], labels: list[str],
                       results: list[np.ndarray],
                       captured: dict[int, tuple[tuple[Any, ...], Any]], tol: float
                       ) -> tuple[tuple[tuple[str, str], ...], list[tuple[str, str]]]:
    """(settings that differ, per layer), and the layers whose input differs because of the
    weightless operations before them (a torch run with every paired output forced to Keras's).
    """
    found = tuple((labels[i], why) for i, (pair, layer) in enumerate(usable)
                  for why in settings(layer, pair.unit.module))
    modules = [_called(pair, torch_model) for pair, _ in usable]
    values = [replacement(layer, modules[i], results[3 * i], captured[i][1])
              if i in captured else None for i, (_, layer) in enumerate(usable)]
    takers = [_taker(pair, torch_model) or modules[i] for i, (pair, _) in enumerate(usable)]
    forced = forced_inputs(torch_model, torch_in, modules, values, takers)
    index = {layer.name: i for i, (_, layer) in enumerate(usable)}  # Keras graph names
    gaps = []
    for i, (_, layer) in enumerate(usable):
        args = forced.get(i)
        if not args:
            continue
        chain, sources = between(layer, set(index))
        if not chain or any(values[index[s]] is None for s in sources):
            continue  # an upstream output could not be forced: the input difference is theirs
        why = gap_cause(args[0], (results[3 * i + 2], results[3 * i + 1]), takers[i], chain,
                        tol)
        if why:
            gaps.append((labels[i], why))
    return found, gaps


def _final(keras_out: np.ndarray, out: Any, keras_model: Any, tol: float,
           compared: list[str], channels_first: bool) -> LayerCheck:
    """The final outputs (a channels-first torch model's rank >= 3 output is moved first)."""
    value, note = to_keras(out, keras_out.shape, nn.Identity(), channels_first)
    if value is None:
        return LayerCheck("(output)", "(model)", keras_out.shape, float("inf"), float("inf"),
                          False, note)
    diff, rel = relative(value, keras_out)
    last = keras_model.layers[-1]
    act = activation(last)
    if rel > tol and act in ACTIVATIONS and act != "linear" and isinstance(out, torch.Tensor):
        fixed, _ = to_keras(ACTIVATIONS[act](out), keras_out.shape, nn.Identity(),
                            channels_first)
        if fixed is not None and relative(fixed, keras_out)[1] < rel:
            diff, rel = relative(fixed, keras_out)
            note = f"after Keras classifier activation {act}"
            compared.append(f"final output: the torch model returns pre-{act} values; "
                            f"compared after applying Keras's {act} ({last.name})")
    return LayerCheck("(output)", "(model)", keras_out.shape, diff, rel, rel <= tol, note)
