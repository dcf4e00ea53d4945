"""The rows of a plan: one Keras weight (:class:`PlanRow`), one layer (:class:`PlanLayer`).

:class:`PlanView` is the part of a :class:`~kerasinit.porting.plan.Plan` that pairing,
applying and reporting read, so those modules do not depend on the plan module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from kerasinit.mappings.resolve import Resolved
from kerasinit.mappings.specs import Spec, VarianceScalingSpec
from kerasinit.mappings.versions import KerasVersion
from kerasinit.porting.walk import KerasNode

__all__ = ["STATE_LAYERS", "PlanLayer", "PlanRow", "PlanView", "Skipped"]

Axes = tuple[tuple[int, ...], tuple[int, ...]]


@dataclass(frozen=True)
class PlanRow:
    """One Keras weight.

    Attributes:
        layer: Keras layer path (``"model/dense_1"``, ``"bidirectional/forward_lstm"``).
        class_name: Keras layer class.
        weight: weight name inside the layer (``"kernel"``, ``"query/kernel"``).
        role: kerasinit role (``"kernel"``, ``"bias"``, ``"recurrent_kernel"``, ...).
        keyword: the Keras initializer keyword (``"kernel_initializer"``).
        keras_shape: Keras-layout shape, or None when it cannot be derived ("?").
        initializer: the initializer spec as the file says it.
        resolved: the exact distribution (None when the shape is unknown).
        keras_version: the Keras semantics the plan applies.
        einsum_axes: EinsumDense/MultiHeadAttention kernel axes.
        blocks: >1 for Keras 1 per-gate RNN weights (blocks initialized separately).
        fans: a fan override (old Keras layouts).
        note: remarks (``unit_forget_bias``, Keras 1 quirks, why a shape is unknown).
        live_seed: read from a live model only: the seed the initializer object drew (an
            unseeded Keras 3 random initializer draws one when it is constructed and keeps it
            while its config says ``seed=None``); None for files and non-random initializers.
        variable_path: read from a live model only: the Keras ``Variable.path``.
        seed_source: where a replayed seed came from (``"draw #3"``, ``"seeds="``), or "".
    """

    layer: str
    class_name: str
    weight: str
    role: str
    keyword: str
    keras_shape: tuple[int, ...] | None
    initializer: Spec
    resolved: Resolved | None
    keras_version: KerasVersion
    einsum_axes: Axes | None = None
    blocks: int = 1
    fans: tuple[float, float] | None = None
    note: str = ""
    live_seed: int | None = None
    variable_path: str = ""
    seed_source: str = ""

    @property
    def shape_text(self) -> str:
        """``"(784, 256)"`` or ``"?"``."""
        if self.keras_shape is None:
            return "?"
        return "(" + ", ".join(str(d) for d in self.keras_shape) + ("," if len(self.keras_shape) == 1 else "") + ")"

    @property
    def initializer_text(self) -> str:
        """``"GlorotUniform()"``, ``"HeNormal(seed=3)"``: the Keras class and its arguments
        (``seed``, ``input_axes``, ``output_axes`` only when set)."""
        cfg = {k: v for k, v in self.initializer.get_config().items()
               if not (k in ("input_axes", "output_axes", "seed") and v is None)}
        args = ", ".join(f"{k}={v!r}" for k, v in cfg.items())
        return f"{self.initializer.class_name}({args})"

    @property
    def resolved_text(self) -> str:
        """The exact distribution with the fans, or why there is none."""
        if self.resolved is None:
            return "? (shape unknown)"
        r = self.resolved
        text = r.distribution.formula()
        if isinstance(self.initializer, VarianceScalingSpec):
            text += f"; fans {r.fan_in:g}/{r.fan_out:g}"
            if self.blocks > 1:
                text += f" per block of {self.blocks}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the row."""
        r = self.resolved
        return {
            "layer": self.layer, "class_name": self.class_name, "weight": self.weight,
            "role": self.role, "keyword": self.keyword,
            "keras_shape": None if self.keras_shape is None else list(self.keras_shape),
            "initializer": self.initializer.serialize(),
            "resolved": None if r is None else {
                "distribution": r.distribution.formula(), "fan_in": r.fan_in,
                "fan_out": r.fan_out, "fan_source": r.fan_source,
                "keras_shape": list(r.keras_shape),
            },
            "keras_version": str(self.keras_version), "blocks": self.blocks, "note": self.note,
            "live_seed": self.live_seed, "variable_path": self.variable_path,
            **({"seed_source": self.seed_source} if self.seed_source else {}),
        }


@dataclass(frozen=True)
class PlanLayer:
    """A weight-bearing Keras layer and its rows."""

    path: str
    class_name: str
    rows: tuple[PlanRow, ...]
    options: dict[str, Any] = field(default_factory=dict)
    wrapper: str = ""
    calls: int = 1


@dataclass(frozen=True)
class Skipped:
    """A layer the plan could not interpret (unknown class with initializer keys)."""

    path: str
    class_name: str
    reason: str


class PlanView(Protocol):
    """What pairing and applying read of a plan (:class:`~kerasinit.porting.plan.Plan` is one)."""

    @property
    def layers(self) -> tuple[PlanLayer, ...]: ...

    @property
    def keras_version(self) -> KerasVersion: ...

    @property
    def rows(self) -> tuple[PlanRow, ...]: ...

    @property
    def graph(self) -> tuple[KerasNode, ...]: ...

    @property
    def outputs(self) -> tuple[str, ...]: ...

    @property
    def excluded(self) -> tuple[str, ...]: ...

    def layer(self, path: str) -> PlanLayer: ...


#: layers whose weights are state set from data, not initialized.
STATE_LAYERS = {
    "Normalization": "mean and variance from adapt() or the config",
    "Discretization": "bin boundaries", "StringLookup": "a vocabulary",
    "IntegerLookup": "a vocabulary", "TextVectorization": "a vocabulary",
}
