"""The :class:`VerifyReport` of :func:`kerasinit.porting.verify`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from kerasinit._text import text_table

__all__ = ["LayerCheck", "VerifyReport"]


@dataclass(frozen=True)
class LayerCheck:
    """One compared output.

    Attributes:
        keras_layer: the Keras layer (``"(model output)"`` for the final output).
        torch_module: the torch module whose forward output was hooked.
        shape: the compared shape, in Keras layout.
        max_abs: max |torch - Keras|.
        rel: max |torch - Keras| / max |Keras| (element-wise relative errors blow up near 0).
        ok: ``rel <= tolerance``; None when not compared.
        note: how the outputs were matched (``"NCHW -> NHWC"``, ``"after Keras relu"``) or why
            the layer was not compared.
        alone: max|Δ| / max|Keras| when the torch module runs alone on Keras's input for this
            layer (None when it cannot be re-run): above the tolerance means this layer
            differs by itself, not only because an earlier one did.
    """

    keras_layer: str
    torch_module: str
    shape: tuple[int, ...]
    max_abs: float
    rel: float
    ok: bool | None
    note: str = ""
    alone: float | None = None


@dataclass(frozen=True)
class VerifyReport:
    """Layer-by-layer agreement of a Keras model and its torch port on the same inputs.

    The ``alone`` column re-runs each torch module on Keras's input for that layer.

    Attributes:
        layers: every paired layer in Keras order, then the final output.
        tolerance: the relative tolerance (max|Δ| / max|reference|).
        first_divergent: the first paired layer above the tolerance (or None).
        cause: the likely cause at that layer, from what the plan and a re-run of the torch
            module with one change at a time show.
        compared: what was compared (inputs, preprocessing, classifier activation).
        problems: pairing problems (layers that could not be compared).
        causes: (Keras layer, likely cause) for every layer that differs alone, on Keras's own
            input, or whose input differs because of the weightless operations before it (with
            every paired torch output forced to Keras's): each independent difference of the
            port, not only the first.
        settings: (Keras layer, setting) for strides, dilation and normalization eps that
            differ between a Keras layer and its torch module, whether or not the outputs show
            it (ResNet50's eps 1.001e-5 against torch's 1e-5 does not at float32 tolerance).
    """

    layers: tuple[LayerCheck, ...]
    tolerance: float
    first_divergent: str | None
    cause: str
    compared: tuple[str, ...]
    problems: tuple[str, ...] = ()
    causes: tuple[tuple[str, str], ...] = ()
    settings: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        """True when every compared layer and the final output agree within the tolerance."""
        return self.first_divergent is None and all(c.ok is not False for c in self.layers)

    @property
    def final(self) -> LayerCheck | None:
        """The final-output comparison."""
        return self.layers[-1] if self.layers and self.layers[-1].keras_layer == "(output)" \
            else None

    def __getitem__(self, keras_layer: str) -> LayerCheck:
        for c in self.layers:
            if c.keras_layer == keras_layer:
                return c
        raise KeyError(f"No Keras layer {keras_layer!r} in the report.")

    def __str__(self) -> str:
        n = sum(c.ok is not None for c in self.layers)
        bad = sum(c.ok is False for c in self.layers)
        head = (f"kerasinit verify: {n} outputs compared, {bad} above the tolerance "
                f"{self.tolerance:g} (max|diff| / max|Keras|)")
        rows = []
        for c in self.layers:
            status = "-" if c.ok is None else ("ok" if c.ok else "DIFFERS")
            shape = "(" + ", ".join(map(str, c.shape)) + ")" if c.shape else "-"
            nums = ("-", "-") if c.ok is None else (f"{c.max_abs:.3g}", f"{c.rel:.3g}")
            own = "-" if c.alone is None else f"{c.alone:.3g}"
            rows.append((c.keras_layer, c.torch_module or "-", shape, *nums, own, status,
                         c.note))
        lines = [head, *[f"  {line}" for line in self.compared], ""]
        lines += text_table(("Keras layer", "torch module", "shape", "max abs", "rel", "alone",
                             "status", "note"), rows)
        if self.first_divergent is not None:
            lines += ["", f"First divergent layer: {self.first_divergent}",
                      f"Likely cause: {self.cause}"]
        if self.causes:
            lines += ["", "Layers that differ on Keras's own input, or by what comes before them "
                      "(each independent difference):"]
            lines += [f"  - {name}: {why}" for name, why in self.causes]
        if self.settings:
            lines += ["", "Settings that differ (whether or not the outputs show it):"]
            grouped: dict[str, list[str]] = {}
            for name, why in self.settings:
                grouped.setdefault(why, []).append(name)
            for why, names in grouped.items():
                shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more"
                                                 if len(names) > 4 else "")
                lines.append(f"  - {why}: {shown}")
        if self.ok:
            lines += ["", "Every compared output agrees."]
        if self.problems:
            lines += ["", "Not compared:"] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"ok": self.ok, "tolerance": self.tolerance,
                "first_divergent": self.first_divergent, "cause": self.cause,
                "compared": list(self.compared), "problems": list(self.problems),
                "causes": [list(c) for c in self.causes],
                "settings": [list(c) for c in self.settings],
                "layers": [asdict(c) for c in self.layers]}
