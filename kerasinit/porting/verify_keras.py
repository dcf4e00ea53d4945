"""The Keras side of :func:`kerasinit.porting.verify`: each paired layer's output and input.

A layer of the model itself is read through a sub-model of the model (``keras.Model(inputs,
[layer.output, layer.input, ...])``). A layer inside a nested Keras model (a functional or
``Sequential`` model used as a layer, ``inner/conv``) is read in two steps: the outer sub-model
gives the nested model's input as the outer model computes it, and a sub-model of the nested
model run on that value gives its layer's output and input; deeper nesting repeats this. A
nested model called more than once is compared as a whole (its first call would be ambiguous).

Example:
    >>> class Layer:  # resolve() only calls get_layer() and looks for ``layers``/``inputs``
    ...     def __init__(self, name, children=()):
    ...         self.name = name
    ...         if children:
    ...             self.layers, self.inputs = list(children), []
    ...     def get_layer(self, name):
    ...         return next(c for c in self.layers if c.name == name)
    >>> outer = Layer("model", [Layer("inner", [Layer("conv")])])
    >>> chain, layer = resolve(outer, "inner/conv")
    >>> [m.name for m in chain], layer.name
    (['inner'], 'conv')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["keras_values", "resolve", "unpadded"]


def resolve(model: Any, path: str) -> tuple[list[Any], Any] | str:
    """(the nested models from the top, the Keras layer to compare) for a plan layer path, or
    why it cannot be compared. A path that continues below a layer which is not a model (a
    wrapper's or a subclassed layer's sublayer) resolves to that layer, compared whole."""
    parts = path.split("/")
    chain: list[Any] = []
    current = model
    for i, part in enumerate(parts):
        try:
            layer = current.get_layer(part)
        except (ValueError, KeyError, StopIteration, AttributeError):
            return f"{path}: no layer {part!r} in the Keras model {current.name!r}"
        if i == len(parts) - 1 or not (hasattr(layer, "layers") and hasattr(layer, "inputs")):
            return chain, layer
        chain.append(layer)
        current = layer
    return chain, current


def unpadded(tensor: Any) -> Any:
    """The input of a ZeroPadding layer that produced ``tensor`` (torch convs pad inside)."""
    history = getattr(tensor, "_keras_history", None)
    producer = getattr(history, "operation", getattr(history, "layer", None))
    if type(producer).__name__.startswith("ZeroPadding"):
        return getattr(producer, "input", tensor)
    return tensor


def _numpy(keras: Any, value: Any) -> np.ndarray:
    ops = getattr(keras, "ops", None)  # Keras 3; tf_keras returns TensorFlow tensors
    return np.asarray(ops.convert_to_numpy(value)) if ops is not None else np.array(value)


def _feed(values: Sequence[np.ndarray]) -> Any:
    return values[0] if len(values) == 1 else list(values)


def keras_values(keras: Any, model: Any, feed: Sequence[np.ndarray],
                 items: list[tuple[int, list[Any], Any]], extra: list[Any],
                 results: dict[int, list[np.ndarray]], problems: list[str]) -> list[np.ndarray]:
    """Fill ``results[i]`` with (output, input, input before a ZeroPadding) of each item
    ``(i, nested models, layer)`` and return the values of ``extra`` (tensors of ``model``).

    ``feed``: the input value(s) of ``model``. Items that cannot be read go to ``problems``.
    """
    tensors: list[Any] = []
    slots: list[tuple[int, int]] = []
    nested: dict[int, tuple[Any, list[tuple[int, list[Any], Any]]]] = {}
    for index, chain, layer in items:
        if chain:
            nested.setdefault(id(chain[0]), (chain[0], []))[1].append(
                (index, chain[1:], layer))
            continue
        try:
            found = [layer.output, layer.input, unpadded(layer.input)]
        except (ValueError, AttributeError) as exc:
            problems.append(f"{layer.name}: no single output to compare ({exc})")
            continue
        slots.append((index, len(tensors)))
        tensors += found
    feeds: list[tuple[Any, list[tuple[int, list[Any], Any]], int, int]] = []
    for inner, group in nested.values():
        nodes = getattr(inner, "_inbound_nodes", None) or []
        if len(nodes) != 1:
            problems.append(f"nested model {inner.name!r} is called {len(nodes)} times: its "
                            f"layers are not compared one by one")
            continue
        found = nodes[0].input_tensors
        ins = list(found) if isinstance(found, (list, tuple)) else [found]  # tf_keras: one
        feeds.append((inner, group, len(tensors), len(ins)))
        tensors += ins
    ins = model.inputs
    sub = keras.Model(ins[0] if len(ins) == 1 else ins, [*tensors, *extra])
    out = sub(_feed(feed), training=False)
    values = [_numpy(keras, v) for v in (out if isinstance(out, (list, tuple)) else [out])]
    for index, at in slots:
        results[index] = values[at:at + 3]
    for inner, group, at, n in feeds:
        keras_values(keras, inner, values[at:at + n], group, [], results, problems)
    return values[len(tensors):]
