"""Walk a Keras model config: Sequential, Functional, nested models, shared layers, wrappers.

Produces one :class:`LayerRecord` per layer *instance* (a shared layer once), in the order the
config lists them, with the input shape(s) each was built on when the config says so
(``build_config`` in Keras 3 / tf_keras, the inbound tensors' shapes in Keras 3, or shapes
propagated from the model input for Keras 1/2 files). Nothing in a config is executed or
imported: ``Lambda`` layers are recorded by name only (their marshalled code is never read).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kerasinit.porting import hub
from kerasinit.porting.config_shapes import (
    as_shape,
    declared_input,
    history,
    safe_expand,
    safe_output_shape,
    shapes_list,
    tensor_shapes,
)
from kerasinit.porting.readers import ModelFileError
from kerasinit.porting.shapes import Shape

__all__ = ["MODEL_CLASSES", "KerasNode", "LayerRecord", "Walk", "walk"]

MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model"})
_MAX_DEPTH = 64


@dataclass
class LayerRecord:
    """A layer instance found in the config.

    Attributes:
        path: Keras layer name, with ``outer/`` prefixes for nested models and wrappers.
        name: the layer's own name (what ``model.get_layer`` takes inside its model).
        class_name: the Keras class name as written in the file.
        config: the layer config (data only).
        input_shape: the input shape it was built on (with batch axis), or None.
        extra_shapes: other named inputs (``query``/``value``/``key`` of MultiHeadAttention).
        wrapper: ``"Bidirectional (forward)"``, ``"TimeDistributed"``, ... or ``""``.
        calls: how many times the config calls it (shared layers: > 1; weights are made once).
    """

    path: str
    name: str
    class_name: str
    config: Mapping[str, Any]
    input_shape: Shape | None = None
    extra_shapes: dict[str, Shape] = field(default_factory=dict)
    wrapper: str = ""
    calls: int = 1


@dataclass(frozen=True)
class KerasNode:
    """One layer of the model graph, weight-bearing or not (the data flow the pairing uses).

    Attributes:
        path: the layer path (as in :class:`LayerRecord`; ``"input_1"`` for an input layer).
        class_name: the Keras class (``"InputLayer"``, ``"Add"``, ``"Conv2D"``, ...).
        inbound: paths of the layers whose outputs this layer consumes (all its calls).
        options: the hyperparameters :meth:`Plan.check <kerasinit.porting.plan.Plan.check>`
            compares (``padding``, ``strides``, ``epsilon``, ``momentum``, ...; input layers:
            ``batch_shape`` and ``dtype``).
    """

    path: str
    class_name: str
    inbound: tuple[str, ...] = ()
    options: tuple[tuple[str, Any], ...] = ()

    def option(self, key: str, default: Any = None) -> Any:
        """One of :attr:`options`, or ``default``."""
        return dict(self.options).get(key, default)


_OPTION_KEYS = ("padding", "strides", "kernel_size", "pool_size", "dilation_rate", "epsilon",
                "momentum", "center", "scale", "axis", "groups", "reset_after", "activation",
                "recurrent_activation", "use_bias", "batch_shape", "batch_input_shape", "dtype",
                "data_format", "count_include_pad")


def _options_of(cfg: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    out = []
    for key in _OPTION_KEYS:
        value = cfg.get(key)
        if isinstance(value, (str, int, float, bool)) or (
                isinstance(value, (list, tuple)) and len(value) <= 8
                and all(v is None or isinstance(v, (int, float, str, list)) for v in value)):
            out.append((key, tuple(value) if isinstance(value, list) else value))
    return tuple(out)


@dataclass
class Walk:
    """Everything the walker found.

    ``nodes`` is the data-flow graph (every layer, weight-bearing or not) and ``outputs`` the
    layers producing the model's outputs.
    """

    records: list[LayerRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    model_class: str = ""
    nodes: list[KerasNode] = field(default_factory=list)
    outputs: tuple[str, ...] = ()


def walk(config: Mapping[str, Any]) -> Walk:
    """Walk a model (or single layer) config ``{"class_name", "config"}``.

    Raises:
        ModelFileError: for a config whose structure is not a Keras model.

    Example:
        >>> w = walk({"class_name": "Sequential", "config": {"layers": [
        ...     {"class_name": "Dense", "config": {"name": "d", "units": 3,
        ...      "batch_input_shape": [None, 5]}}]}})
        >>> [(r.path, r.input_shape) for r in w.records]
        [('d', (None, 5))]
    """
    cls = str(config.get("class_name"))
    result = Walk(model_class="Functional" if cls == "Model" else cls)
    walker = _Walker(result)
    walker.layer(config, "", [], depth=0, top=True)
    result.outputs = walker.last
    return result


class _Walker:
    def __init__(self, result: Walk) -> None:
        self.result = result
        self.seen: set[int] = set()
        self.produce: dict[str, tuple[str, ...]] = {}  # layer path -> graph nodes giving its output
        self.last: tuple[str, ...] = ()  # what the last layer() call produced

    def node(self, path: str, cls: str, cfg: Mapping[str, Any], feeds: tuple[str, ...]) -> None:
        for i, old in enumerate(self.result.nodes):
            if old.path == path:  # a shared layer: one node, the inbound of every call
                inbound = old.inbound + tuple(f for f in feeds if f not in old.inbound)
                self.result.nodes[i] = KerasNode(path, cls, inbound, old.options)
                break
        else:
            self.result.nodes.append(KerasNode(path, cls, feeds, _options_of(cfg)))
        self.produce[path] = (path,)
        self.last = (path,)

    def layer(self, d: object, prefix: str, inputs: list[Shape | None], *, depth: int,
              top: bool = False, wrapper: str = "", name_override: str | None = None,
              feeds: tuple[str, ...] = ()) -> Shape | None:
        if depth > _MAX_DEPTH:
            raise ModelFileError(f"Model config nested more than {_MAX_DEPTH} levels deep.")
        if not isinstance(d, Mapping) or not isinstance(d.get("class_name"), str):
            raise ModelFileError(
                f"Malformed layer entry under {prefix or 'the model'!r}: expected an object with "
                f"'class_name' and 'config'. Received: {str(d)[:120]!r}."
            )
        cls = d["class_name"]
        raw_cfg = d.get("config")
        cfg: Mapping[str, Any] = raw_cfg if isinstance(raw_cfg, Mapping) else {}
        name = name_override or str(cfg.get("name") or d.get("name") or cls.lower())
        path = prefix + name
        built = self._built_inputs(d, cfg, weak=not inputs or inputs[0] is None)
        if built is not None:
            inputs = built
        if cls in MODEL_CLASSES:
            if not isinstance(raw_cfg, (Mapping, list)):
                raise ModelFileError(f"{cls} {name!r} has no layer list in its config.")
            sub = "" if top else path + "/"
            if cls == "Sequential":
                shape = self.sequential(raw_cfg, sub, inputs, depth + 1, feeds)
            else:
                shape = self.functional(raw_cfg, sub, depth + 1, feeds)
            self.produce[path] = self.last
            return shape
        if cls == "Bidirectional":
            return self.bidirectional(cfg, path, inputs, depth, feeds)
        if cls == "TimeDistributed":
            inner = cfg.get("layer")
            s = inputs[0] if inputs else None
            inner_in = None if s is None or len(s) < 2 else (s[0], *s[2:])
            out = self.layer(inner, path + "/", [inner_in], depth=depth + 1,
                             wrapper="TimeDistributed", feeds=feeds)
            self.produce[path] = self.last
            return None if out is None or s is None else (s[0], s[1], *out[1:])
        if cls in hub.COMPOSITES:
            expanded = safe_expand(cls, cfg, inputs)
            if expanded is not None:
                subs, out = expanded
                for sub_name, sub_cls, sub_cfg, shape, extra in subs:
                    self.result.records.append(LayerRecord(
                        f"{path}/{sub_name}", sub_name, sub_cls, sub_cfg, shape, extra, cls))
                return out
        if cls == "SpectralNormalization" and isinstance(cfg.get("layer"), Mapping):
            out = self.layer(cfg["layer"], path + "/", inputs, depth=depth + 1,
                             wrapper="SpectralNormalization")
            self.result.records.append(LayerRecord(path, name, cls, cfg, inputs[0] if inputs
                                                   else None, {}, wrapper))
            return out
        if cls == "RNN" and isinstance(cfg.get("cell"), (Mapping, list)):
            cells = cfg["cell"] if isinstance(cfg["cell"], list) else [cfg["cell"]]
            if isinstance(cfg["cell"], Mapping) and cfg["cell"].get("class_name") == "StackedRNNCells":
                cells = list((cfg["cell"].get("config") or {}).get("cells") or [])
            s = inputs[0] if inputs else None
            chain = feeds
            for cell in cells:
                units = (cell.get("config") or {}).get("units") if isinstance(cell, Mapping) else None
                self.layer(cell, path + "/", [s], depth=depth + 1, wrapper="RNN cell", feeds=chain)
                chain = self.last
                s = None if s is None else (*s[:-1], units)
            self.produce[path] = self.last
            return None
        if cls == "Lambda":
            self.result.notes.append(
                f"Lambda layer {path!r}: its code is never executed or unmarshalled (no weights)."
            )
        self.result.records.append(LayerRecord(
            path, name, cls, cfg, inputs[0] if inputs else None, self._extra(d, cfg, inputs),
            wrapper))
        self.node(path, cls, cfg, feeds)
        return safe_output_shape(cls, cfg, inputs)

    def _built_inputs(self, d: Mapping[str, Any], cfg: Mapping[str, Any],
                      weak: bool) -> list[Shape | None] | None:
        bc = d.get("build_config")
        if isinstance(bc, Mapping):
            for key in ("input_shape", "shapes_dict"):
                if key in bc:
                    shapes = shapes_list(bc[key])
                    if shapes:
                        return shapes
        declared = declared_input(str(d.get("class_name")), cfg, weak)
        return None if declared is None else [declared]

    def _extra(self, d: Mapping[str, Any], cfg: Mapping[str, Any],
               inputs: list[Shape | None]) -> dict[str, Shape]:
        if d.get("class_name") not in ("MultiHeadAttention", "GroupedQueryAttention",
                                       "GroupQueryAttention"):
            return {}
        out: dict[str, Shape] = {}
        bc = d.get("build_config")
        shapes_dict = bc.get("shapes_dict") if isinstance(bc, Mapping) else None
        for key in ("query", "value", "key"):
            for source in (shapes_dict, cfg):
                s = as_shape(source.get(f"{key}_shape")) if isinstance(source, Mapping) else None
                if s is not None:
                    out[key] = s
                    break
        for key, s in zip(("query", "value", "key"), inputs, strict=False):
            if key not in out and s is not None:
                out[key] = s
        return out

    def sequential(self, cfg: object, prefix: str, inputs: list[Shape | None],
                   depth: int, feeds: tuple[str, ...] = ()) -> Shape | None:
        layers = cfg if isinstance(cfg, list) else (
            cfg.get("layers") if isinstance(cfg, Mapping) else None)
        if not isinstance(layers, list):
            raise ModelFileError(f"Sequential {prefix or 'model'!r}: 'layers' must be a list.")
        current = inputs[0] if inputs else None
        chain = feeds
        for entry in layers:
            current = self.layer(entry, prefix, [current], depth=depth, feeds=chain)
            chain = self.last
        self.last = chain
        return current

    def functional(self, cfg: object, prefix: str, depth: int,
                   feeds: tuple[str, ...] = ()) -> Shape | None:
        if not isinstance(cfg, Mapping) or not isinstance(cfg.get("layers"), list):
            raise ModelFileError(f"Functional model {prefix or 'model'!r}: 'layers' must be a list.")
        outputs: dict[str, Shape | None] = {}
        for entry in cfg["layers"]:
            if not isinstance(entry, Mapping):
                raise ModelFileError(f"Malformed layer entry in {prefix or 'the model'!r}.")
            nodes = entry.get("inbound_nodes") or []
            inputs = self._node_inputs(nodes[0] if nodes else None, outputs)
            names: list[str] = []
            for node in nodes:
                history(node, names)
            sources = tuple(dict.fromkeys(
                p for n in names for p in self.produce.get(prefix + n, ())))
            if not nodes and entry.get("class_name") == "InputLayer":
                sources = feeds
            start = len(self.result.records)
            out = self.layer(entry, prefix, inputs, depth=depth, feeds=sources)
            name = str((entry.get("config") or {}).get("name") or entry.get("name"))
            outputs[name] = out
            if entry.get("class_name") == "InputLayer" and not any(
                    n.path == prefix + name for n in self.result.nodes):
                self.node(prefix + name, "InputLayer", entry.get("config") or {}, sources)
            if len(nodes) > 1:
                for rec in self.result.records[start:]:
                    rec.calls = len(nodes)
        out_layers = cfg.get("output_layers")
        out_names: list[str] = []
        history(out_layers, out_names, refs=True)
        self.last = tuple(dict.fromkeys(p for n in out_names for p in self.produce.get(prefix + n, ())))
        if isinstance(out_layers, list) and out_layers:
            first = out_layers[0] if isinstance(out_layers[0], list) else out_layers
            if first and isinstance(first[0], str):
                return outputs.get(first[0])
        return None

    def _node_inputs(self, node: object, outputs: dict[str, Shape | None]) -> list[Shape | None]:
        if node is None:
            return []
        if isinstance(node, Mapping):  # Keras 3: {"args": [...], "kwargs": {...}}
            found: list[Shape | None] = []
            tensor_shapes(node.get("args"), found)
            tensor_shapes(node.get("kwargs"), found)
            return found
        shapes: list[Shape | None] = []
        if isinstance(node, list):  # legacy: [[name, node_index, tensor_index, kwargs], ...]
            for ref in node:
                if isinstance(ref, list) and ref and isinstance(ref[0], str):
                    shapes.append(outputs.get(ref[0]))
                    kwargs = ref[3] if len(ref) > 3 and isinstance(ref[3], Mapping) else {}
                    for v in kwargs.values():
                        if isinstance(v, list) and v and isinstance(v[0], str):
                            shapes.append(outputs.get(v[0]))
        return shapes

    def bidirectional(self, cfg: Mapping[str, Any], path: str, inputs: list[Shape | None],
                      depth: int, feeds: tuple[str, ...] = ()) -> Shape | None:
        fwd = cfg.get("layer")
        if not isinstance(fwd, Mapping):
            raise ModelFileError(f"Bidirectional {path!r} has no wrapped 'layer' config.")
        inner_cfg = fwd.get("config") or {}
        base = str(inner_cfg.get("name") or fwd["class_name"].lower())
        base = base.removeprefix("forward_")
        back = cfg.get("backward_layer")
        back_name = str(((back or {}).get("config") or {}).get("name") or f"backward_{base}") \
            if isinstance(back, Mapping) or back is None else f"backward_{base}"
        out = self.layer(fwd, path + "/", inputs, depth=depth + 1, wrapper="Bidirectional (forward)",
                         name_override=f"forward_{base}", feeds=feeds)
        first = self.last
        self.layer(back if isinstance(back, Mapping) else fwd, path + "/", inputs, depth=depth + 1,
                   wrapper="Bidirectional (backward)", name_override=back_name, feeds=feeds)
        self.last = first + self.last
        self.produce[path] = self.last
        if out is None:
            return None
        mode = cfg.get("merge_mode", "concat")
        last = out[-1]
        return (*out[:-1], None if last is None else (2 * last if mode == "concat" else last))


