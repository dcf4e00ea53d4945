"""The plan: every weight of a saved Keras model with its shape and exact initializer.

``print(plan)`` shows a table (Keras layer, class, weight, Keras shape, initializer, resolved
distribution); ``plan.to_json()`` the same as JSON; ``plan.apply(module)`` initializes a
torch model with it (:mod:`kerasinit.porting.apply`).
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kerasinit.mappings.errors import KerasInitError, format_choices, suggest
from kerasinit.mappings.versions import KerasVersion
from kerasinit.porting.apply import apply_plan
from kerasinit.porting.hyper import CheckReport, check_hyperparameters, set_hyperparameters
from kerasinit.porting.load import load_weights
from kerasinit.porting.load_report import LoadReport
from kerasinit.porting.pairing import pair
from kerasinit.porting.replay import DrawOrder, Order, ReplayError, replay
from kerasinit.porting.report import WIDTH, ApplyReport, wrap_table
from kerasinit.porting.rows import PlanLayer, PlanRow, Skipped
from kerasinit.porting.walk import KerasNode

if TYPE_CHECKING:
    from collections.abc import Mapping

    import torch

    from kerasinit.bridge.initializer import RngName

__all__ = ["Plan", "PlanLayer", "PlanRow", "Skipped"]

@dataclass(frozen=True)
class Plan:
    """The initializer plan of a saved Keras model.

    Attributes:
        layers: the weight-bearing layers, in the file's order.
        keras_version: the Keras semantics applied (from the file unless overridden).
        version_source: where the version came from.
        source: a description of what was read.
        model_class: the top-level class (``"Sequential"``, ``"Functional"``, ...).
        notes: remarks (Lambda layers never executed, shared layers, guesses).
        skipped: layers that could not be interpreted (only with ``read(..., strict=False)``).
        graph: every layer with the layers it consumes (the data flow the pairing follows;
            empty when unknown: the layers then count as a chain in file order).
        outputs: the layers producing the model's outputs.
        excluded: ``"layer/weight"`` rows left out of ``apply`` (:meth:`drop`).
        draw_order: the seed draws of ``keras.utils.set_random_seed`` (see :meth:`replay`).
        replayed: the ``keras_seed`` replayed into the rows, or None.
    """

    layers: tuple[PlanLayer, ...]
    keras_version: KerasVersion
    version_source: str
    source: str
    model_class: str = ""
    notes: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    graph: tuple[KerasNode, ...] = ()
    outputs: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    draw_order: DrawOrder | None = field(default=None, repr=False, compare=False)
    replayed: int | None = None

    def drop(self, *weights: str) -> Plan:
        """A copy of the plan that leaves these Keras weights out of ``apply``: their torch
        tensors stay as they are (reported as untouched, the weights as dropped).

        Args:
            *weights: ``"layer/weight"`` (``"fc/bias"``) or a whole layer (``"fc"``).

        Raises:
            KerasInitError: a name that is no weight or layer of the plan (with the choices).

        Example:
            >>> from kerasinit.porting import read
            >>> plan = read({"class_name": "Sequential", "config": {"layers": [{"class_name":
            ...     "Dense", "config": {"name": "fc", "units": 2, "batch_input_shape": [None, 3]}}]}})
            >>> plan.drop("fc/bias").excluded
            ('fc/bias',)
        """
        rows = {f"{r.layer}/{r.weight}": r for r in self.rows}
        out = list(self.excluded)
        for name in weights:
            if not isinstance(name, str):
                raise KerasInitError(f"plan.drop takes 'layer/weight' strings. Received {name!r}.")
            if name in rows:
                out.append(name)
                continue
            layer = self.layer(name)  # a whole layer, or a KerasInitError with the choices
            out += [f"{r.layer}/{r.weight}" for r in layer.rows]
        return dataclasses.replace(self, excluded=tuple(dict.fromkeys(out)))

    @property
    def rows(self) -> tuple[PlanRow, ...]:
        """Every weight of every layer, in order."""
        return tuple(r for layer in self.layers for r in layer.rows)

    def layer(self, path: str) -> PlanLayer:
        """The layer with this Keras path (or unique layer name)."""
        if not isinstance(path, str):
            raise KerasInitError(f"plan.layer takes a Keras layer path or name (a str). "
                                 f"Received {path!r:.80} (type {type(path).__name__}).")
        for candidate in self.layers:
            if candidate.path == path:
                return candidate
        matches = [c for c in self.layers if c.path.rsplit("/", 1)[-1] == path]
        if len(matches) == 1:
            return matches[0]
        names = [c.path for c in self.layers]
        hint = suggest(path, names)
        extra = f" Did you mean {hint!r}?" if hint else ""
        raise KerasInitError(
            f"No weight-bearing Keras layer {path!r} in the plan.{extra} Layers: "
            f"{format_choices(names, limit=30)}."
        )

    def __len__(self) -> int:
        return len(self.rows)

    def __str__(self) -> str:
        head = (f"Keras initializer plan: {self.source}\n"
                f"{self.model_class} model, {len(self.layers)} weight-bearing layers, "
                f"{len(self.rows)} weights; {self.keras_version.label()} semantics "
                f"({self.version_source})")
        cols: tuple[str, ...] = ("layer", "class", "weight", "Keras shape", "initializer",
                                 "resolved")
        table: list[tuple[str, ...]] = [(r.layer, r.class_name, r.weight, r.shape_text,
                                         r.initializer_text, r.resolved_text) for r in self.rows]
        if any(r.seed_source for r in self.rows):
            cols = (*cols[:5], "seed", cols[5])
            table = [(*t[:5], _seed_text(r), t[5]) for t, r in zip(table, self.rows, strict=True)]
        lines = [*(w for part in head.split("\n") for w in textwrap.wrap(
                     part, WIDTH, subsequent_indent="  ")), "", *wrap_table(cols, table)]
        notes = [f"{r.layer}/{r.weight}: {r.note}" for r in self.rows if r.note]
        notes += list(self.notes)
        notes += [f"skipped {s.path} ({s.class_name}): {s.reason}" for s in self.skipped]
        if notes:
            lines += ["", "Notes:"]
            for n in notes:
                lines += textwrap.wrap(n, WIDTH, initial_indent="  - ", subsequent_indent="    ")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<kerasinit Plan of {self.source}: {len(self.layers)} layers, "
                f"{len(self.rows)} weights, {self.keras_version.label()}>")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: version, source, rows, notes, skipped layers."""
        return {
            "source": self.source, "model_class": self.model_class,
            "keras_version": str(self.keras_version), "version_source": self.version_source,
            "rows": [r.to_dict() for r in self.rows], "notes": list(self.notes),
            "skipped": [{"layer": s.path, "class_name": s.class_name, "reason": s.reason}
                        for s in self.skipped],
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The plan as JSON text (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(), indent=indent)

    def replay(self, keras_seed: int | None, *, order: Order = None,
               seeds: Mapping[str, int] | None = None) -> Plan:
        """This plan with the seeds ``keras.utils.set_random_seed(keras_seed)`` gave each unseeded
        random initializer (see :func:`kerasinit.porting.replay.replay`)."""
        return replay(self, keras_seed, order=order, seeds=seeds)

    def apply(
        self,
        module: torch.nn.Module,
        mapping: dict[str, str | tuple[str, ...]] | None = None,
        strict: bool = True,
        generator: torch.Generator | None = None,
        rng: RngName | None = "torch",
        keras_seed: int | None = None,
        keras_order: Order = None,
        keras_seeds: Mapping[str, int] | None = None,
        *,
        example_input: object = None,
        hyperparameters: bool = False,
        rollback: bool = False,
    ) -> ApplyReport:
        """Initialize ``module`` as the Keras model was initialized.

        Keras layers pair with torch modules by structure
        (:func:`~kerasinit.porting.pairing.pair`: equal names, the traced data flow against the
        Keras graph, kinds and shapes; ``mapping`` first). Every pair is checked (kind, shapes
        after the layout conversion) before anything is written.

        Args:
            module: the torch model (any ``torch.nn.Module``).
            mapping: explicit pairs, Keras layer path, name or nested-model prefix -> torch
                module path (``""`` for the root), container path, or a tuple of paths (q, k, v,
                o for a MultiHeadAttention; depthwise, pointwise for a SeparableConv).
            strict: raise :class:`~kerasinit.porting.report.PlanMismatchError` (nothing
                written) on any real conflict (kind, shape, a torch parameter no Keras weight
                explains); ``False`` writes every tensor that fits and reports the rest.
            generator: torch generator to sample from.
            rng: ``"torch"`` or a seed-faithful stream (see :func:`kerasinit.get`).
            keras_seed: the model was built after ``keras.utils.set_random_seed(keras_seed)``:
                replay its draws (:meth:`replay`) so that every random tensor equals Keras's;
                needs a seed-faithful ``rng`` (the Keras backend the model was built on).
            keras_order: None for the order inferred from the config (each seed's confidence
                shows in ``print(plan.replay(s))``), ``"rebuilt"`` for a model rebuilt from
                its config, ``"config"``, or the construction (Keras 3) / first-call
                (tf_keras) order of the layers (``order=`` of :meth:`replay`).
            keras_seeds: explicit per-weight seeds (``seeds=`` of :meth:`replay`).
            example_input: an input for ``module(example_input)`` to trace the data flow
                (default: built from the Keras input shapes).
            hyperparameters: also set the module attributes where torch differs from the Keras
                layer (normalization eps, BatchNorm momentum as ``1 - keras_momentum``); see
                :meth:`check`. The report's notes say what was set and what was not settable.
            rollback: also undo a failure *while writing* (after every check passed: an
                interrupt, a device error) by putting the old values back, at the cost of a
                copy of every tensor. By default no copy is made: bad input never writes
                anything (every check runs first), torch's RNG states are restored on any
                failure, and the exception's note names the tensors already written (calling
                ``apply`` again writes the same values).

        Returns:
            An :class:`~kerasinit.porting.report.ApplyReport` listing every torch parameter.
        """
        plan = self
        if keras_seed is None and rng not in ("torch", None) and any(
                r.live_seed is not None and getattr(r.initializer, "seed", 0) is None
                for r in self.rows):  # a live Keras 3 model: the seeds its initializers hold
            plan = replay(self, None, seeds=keras_seeds)
        elif keras_seed is not None or keras_seeds is not None or keras_order is not None:
            if rng in ("torch", None):
                raise ReplayError(
                    "keras_seed= reproduces the Keras model's own values, which needs a "
                    "seed-faithful rng: the Keras backend it was built on ('tensorflow', "
                    "'keras-torch', or 'jax' where available). Received rng='torch'.")
            if keras_seed is None:
                raise ReplayError("keras_order=/keras_seeds= need keras_seed= as well.")
            plan = replay(self, keras_seed, order=keras_order, seeds=keras_seeds)
        pairing = pair(plan, module, mapping=mapping, example_input=example_input)
        report = apply_plan(plan, module, mapping=mapping, strict=strict,
                            generator=generator, rng=rng, pairing=pairing, rollback=rollback)
        if hyperparameters:  # only after the weights went in (all or nothing)
            notes = set_hyperparameters(plan, pairing, module)
            report = dataclasses.replace(report, notes=report.notes + notes)
        return report

    def check(
        self,
        module: torch.nn.Module | None = None,
        mapping: dict[str, str | tuple[str, ...]] | None = None,
        *,
        example_input: object = None,
        torch_model: torch.nn.Module | None = None,
    ) -> CheckReport:
        """Every hyperparameter where ``module`` differs from the Keras model and that
        matters for training (normalization eps and momentum, 'same' padding with stride > 1,
        'same' pooling, GRU ``reset_after``, recurrent activations), read from each layer's own
        config. Nothing is changed; ``apply(..., hyperparameters=True)`` sets the module
        attributes among them.

        ``torch_model=`` is the old name of ``module`` (deprecated, still accepted).

        Returns:
            A :class:`~kerasinit.porting.hyper.CheckReport`.
        """
        module = _module_argument(module, torch_model, "check")
        pairing = pair(self, module, mapping=mapping, example_input=example_input)
        return check_hyperparameters(self, pairing, module)

    def load_weights(
        self,
        module: torch.nn.Module | None = None,
        source: object = None,
        mapping: dict[str, str] | None = None,
        *,
        allow_dropped: bool = False,
        torch_model: torch.nn.Module | None = None,
    ) -> LoadReport:
        """Copy a trained Keras model's values into ``module`` (pairing as :meth:`apply`).

        Each torch tensor receives the stored Keras array moved into torch's layout (bit for
        bit; the dtype changes only when the torch tensor's differs, and the report says so).
        A Keras bias with no torch tensor whose layer feeds only a BatchNormalization (the Keras
        graph) is folded into its running mean; any other stored weight without a torch tensor
        is an error when non-zero.

        Args:
            module: the torch model (``torch_model=``, its old name, is deprecated).
            source: a ``.keras`` archive, a legacy full-model ``.h5``, a ``.weights.h5`` (or
                ``save_weights`` ``.h5``) file of this plan's model, or a live Keras model. Read
                as data with h5py; nothing is extracted or executed.
            mapping: explicit pairs, as in :meth:`apply`.
            allow_dropped: drop non-zero Keras weights that have no torch tensor.

        Returns:
            A :class:`~kerasinit.porting.load_report.LoadReport`: every torch tensor loaded or
            untouched (why), every Keras weight used, folded or dropped.

        Raises:
            WeightsMismatchError: (a :class:`~kerasinit.porting.report.PlanMismatchError`)
                the weights do not fit the plan or the torch model; nothing was written.
            ModelFileError: the file cannot be read (truncated, no weights member).
        """
        module = _module_argument(module, torch_model, "load_weights")
        if source is None:
            raise KerasInitError("load_weights needs source=: a .keras / .h5 / .weights.h5 "
                                 "file or a live Keras model.")
        return load_weights(self, module, source, mapping=mapping, allow_dropped=allow_dropped)


def _module_argument(module: torch.nn.Module | None, torch_model: torch.nn.Module | None,
                     method: str) -> torch.nn.Module:
    """``module``, or the deprecated ``torch_model=`` keyword (with a DeprecationWarning)."""
    if torch_model is not None:
        if module is not None:
            raise KerasInitError(f"Plan.{method} got both module and torch_model (its old "
                                 f"name); pass module only.")
        warnings.warn(f"Plan.{method}(torch_model=...) is deprecated: the argument is now "
                      f"called module, as in apply() and initialize().", DeprecationWarning,
                      stacklevel=3)
        return torch_model
    if module is None:
        raise KerasInitError(f"Plan.{method} needs the torch module (module=).")
    return module


def _seed_text(row: PlanRow) -> str:
    seed = getattr(row.initializer, "seed", None)
    if seed is None:
        return ""
    return f"{seed} ({row.seed_source})" if row.seed_source else str(seed)
