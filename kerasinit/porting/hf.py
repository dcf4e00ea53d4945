"""keras_hub backbones onto their Hugging Face ``transformers`` twins (BERT, GPT-2).

``read(bert_backbone).apply(transformers.BertModel(config))`` pairs by name, with the table
:data:`TWINS` (torch parameter <- Keras weights and how the axes move):

* ``BertBackbone`` -> ``BertModel``: embeddings (token, position, segment -> token_type), the
  separate ``query``/``key``/``value`` ``nn.Linear`` (Keras kernel (D, h, d) -> (h·d, D)), the
  attention output (h, d, D) -> (D, h·d), LayerNorms, feed-forward and pooler ``nn.Linear``.
* ``GPT2Backbone`` -> ``GPT2Model``: ``wte``/``wpe``, LayerNorms, and transformers' ``Conv1D``,
  whose weight is stored (in, out): ``c_attn`` is the q, k, v kernels reshaped to (D, h·d) and
  concatenated along the columns (biases likewise), ``c_proj``/``c_fc`` are the Keras kernels
  as they are.

The twin is found anywhere in the torch model (``BertForMaskedLM.bert``, ...); parameters
outside it (task heads) are reported untouched, with the reason. Every value is drawn on the
Keras shape with the Keras weight's own initializer and fans, then moved to the torch layout.
With ``rng="tensorflow"`` (or ``"keras-torch"``), a plan read from a live model draws with the
seed each initializer object holds (:attr:`~kerasinit.porting.rows.PlanRow.live_seed`) when
its config has none, which reproduces that Keras model's own initial weights.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import torch
from torch import nn

from kerasinit.bridge.initializer import Initializer, RngName
from kerasinit.mappings.errors import KerasInitError
from kerasinit.mappings.specs import VarianceScalingSpec
from kerasinit.porting.report import (
    ApplyEntry,
    ApplyReport,
    Dropped,
    PlanMismatchError,
    mismatch_message,
)

if TYPE_CHECKING:
    from kerasinit.porting.rows import PlanRow, PlanView

__all__ = ["TWINS", "Rule", "TwinJob", "apply_twin", "find_twin", "plan_jobs", "to_torch"]

Move = Literal["same", "linear", "conv1d", "flat"]


@dataclass(frozen=True)
class Rule:
    """One torch parameter of a twin: the Keras weight(s) it is made of.

    Attributes:
        torch: parameter name under the twin module; ``{i}`` is the block index.
        keras: Keras layer path (``{i}`` likewise).
        weights: Keras weight names in that layer, concatenated along ``cat_dim`` on the torch
            side (GPT-2 ``c_attn`` is q, k, v).
        move: how the Keras axes become torch axes: ``"same"``; ``"linear"`` (``nn.Linear``:
            kernel input axes -> columns, output axes -> rows); ``"conv1d"`` (transformers'
            ``Conv1D``, (in, out)); ``"flat"`` (a bias of any rank -> a vector).
        cat_dim: the torch axis the Keras weights are concatenated along.
    """

    torch: str
    keras: str
    weights: tuple[str, ...]
    move: Move = "same"
    cat_dim: int = 0


def _ln(torch_name: str, keras: str) -> tuple[Rule, ...]:
    return (Rule(f"{torch_name}.weight", keras, ("gamma",)),
            Rule(f"{torch_name}.bias", keras, ("beta",)))


def _linear(torch_name: str, keras: str, sub: str = "", move: Move = "linear") -> tuple[Rule, ...]:
    return (Rule(f"{torch_name}.weight", keras, (f"{sub}kernel",), move),
            Rule(f"{torch_name}.bias", keras, (f"{sub}bias",), "flat"))


_BERT_ATT = "transformer_layer_{i}/self_attention_layer"
_GPT_ATT = "transformer_layer_{i}/self_attention"
_QKV = ("query", "key", "value")

#: twin class -> (top-level rules, per-block rules, Keras block prefix).
TWINS: dict[str, tuple[tuple[Rule, ...], tuple[Rule, ...], str]] = {
    "BertModel": (
        (Rule("embeddings.word_embeddings.weight", "token_embedding", ("embeddings",)),
         Rule("embeddings.position_embeddings.weight", "position_embedding", ("embeddings",)),
         Rule("embeddings.token_type_embeddings.weight", "segment_embedding", ("embeddings",)),
         *_ln("embeddings.LayerNorm", "embeddings_layer_norm"),
         *_linear("pooler.dense", "pooled_dense")),
        (*(r for q in _QKV for r in _linear(f"encoder.layer.{{i}}.attention.self.{q}", _BERT_ATT,
                                            f"{q}/")),
         *_linear("encoder.layer.{i}.attention.output.dense", _BERT_ATT, "attention_output/"),
         *_ln("encoder.layer.{i}.attention.output.LayerNorm",
              "transformer_layer_{i}/self_attention_layer_norm"),
         *_linear("encoder.layer.{i}.intermediate.dense",
                  "transformer_layer_{i}/feedforward_intermediate_dense"),
         *_linear("encoder.layer.{i}.output.dense",
                  "transformer_layer_{i}/feedforward_output_dense"),
         *_ln("encoder.layer.{i}.output.LayerNorm",
              "transformer_layer_{i}/feedforward_layer_norm")),
        "transformer_layer_{i}",
    ),
    "GPT2Model": (
        (Rule("wte.weight", "token_embedding", ("embeddings",)),
         Rule("wpe.weight", "position_embedding", ("embeddings",)),
         *_ln("ln_f", "layer_norm")),
        (*_ln("h.{i}.ln_1", "transformer_layer_{i}/self_attention_layer_norm"),
         Rule("h.{i}.attn.c_attn.weight", _GPT_ATT, tuple(f"{q}/kernel" for q in _QKV), "conv1d",
              1),
         Rule("h.{i}.attn.c_attn.bias", _GPT_ATT, tuple(f"{q}/bias" for q in _QKV), "flat"),
         *_linear("h.{i}.attn.c_proj", _GPT_ATT, "attention_output/", "conv1d"),
         *_ln("h.{i}.ln_2", "transformer_layer_{i}/feedforward_layer_norm"),
         *_linear("h.{i}.mlp.c_fc", "transformer_layer_{i}/feedforward_intermediate_dense",
                  move="conv1d"),
         *_linear("h.{i}.mlp.c_proj", "transformer_layer_{i}/feedforward_output_dense",
                  move="conv1d")),
        "transformer_layer_{i}",
    ),
}


def _rows(plan: PlanView) -> list[PlanRow]:
    return [r for layer in plan.layers for r in layer.rows]


def find_twin(plan: PlanView, model: nn.Module) -> tuple[str, str] | None:
    """(module path, twin class) of a ``transformers`` twin of the plan's model, or None.

    A twin is a submodule whose class is in :data:`TWINS` and comes from ``transformers``, and
    the plan must hold the Keras layers its top-level rules name (a keras_hub backbone).

    Example:
        >>> find_twin(None, torch.nn.Linear(2, 2)) is None
        True
    """
    for path, module in model.named_modules():
        cls = type(module)
        if cls.__name__ in TWINS and (cls.__module__ or "").startswith("transformers."):
            paths = {layer.path for layer in plan.layers}
            if all(r.keras in paths for r in TWINS[cls.__name__][0]):
                return path, cls.__name__
    return None


def to_torch(value: torch.Tensor, row: PlanRow, move: Move) -> torch.Tensor:
    """A Keras-shaped value of ``row`` moved into the twin parameter's layout by ``move``."""
    if move == "same":
        return value
    if move == "flat":
        return value.reshape(-1)
    axes_in, axes_out = row.einsum_axes or ((0,), tuple(range(1, value.dim())))
    n_in = math.prod(value.shape[a] for a in axes_in)
    n_out = math.prod(value.shape[a] for a in axes_out)
    if move == "linear":
        return value.permute(*axes_out, *axes_in).reshape(n_out, n_in)
    return value.permute(*axes_in, *axes_out).reshape(n_in, n_out)


def _torch_shape(row: PlanRow, move: Move) -> tuple[int, ...] | None:
    if row.keras_shape is None:
        return None
    return tuple(to_torch(torch.empty(row.keras_shape, device="meta"), row, move).shape)


@dataclass
class TwinJob:
    name: str
    param: torch.Tensor
    rule: Rule
    rows: tuple[PlanRow, ...]


def _blocks(plan: PlanView, prefix: str) -> int:
    paths = {layer.path for layer in plan.layers}
    n = 0
    while any(p == prefix.format(i=n) or p.startswith(prefix.format(i=n) + "/") for p in paths):
        n += 1
    return n


def plan_jobs(plan: PlanView, model: nn.Module, where: str, twin: str
               ) -> tuple[list[TwinJob], list[str], set[tuple[str, str]], dict[str, str]]:
    """The twin's parameters and their Keras rows (checked shapes), the problems, the Keras
    (layer, weight) pairs used, and the parameters left as they are (with why)."""
    top, block, prefix = TWINS[twin]
    block_rules = [dataclasses.replace(r, torch=r.torch.format(i=i), keras=r.keras.format(i=i))
                   for i in range(_blocks(plan, prefix)) for r in block]
    rules = list(top) + block_rules
    rows = {(r.layer, r.weight): r for r in _rows(plan)}
    params = dict(model.get_submodule(where).named_parameters()) if where else dict(
        model.named_parameters())
    jobs: list[TwinJob] = []
    problems: list[str] = []
    used: set[tuple[str, str]] = set()
    left: dict[str, str] = {}  # torch name -> why it is left as it is
    excluded = set(plan.excluded)
    full = (where + ".") if where else ""
    for rule in rules:
        param = params.get(rule.torch)
        if param is None:  # a part the torch model leaves out (BertForMaskedLM: no pooler)
            if rule in block_rules:  # ... but not a whole block: the depths differ
                problems.append(f"{twin} has no parameter {full}{rule.torch} for Keras "
                                f"{rule.keras}: the Keras model has more blocks")
            continue
        dropped = [f"{rule.keras}/{w}" for w in rule.weights if f"{rule.keras}/{w}" in excluded]
        if dropped:
            left[full + rule.torch] = f"left out with plan.drop({', '.join(map(repr, dropped))})"
            used |= {(rule.keras, w) for w in rule.weights}
            continue
        found = [rows.get((rule.keras, w)) for w in rule.weights]
        missing = [w for w, r in zip(rule.weights, found, strict=True) if r is None]
        if missing:
            problems.append(f"torch {full}{rule.torch}: the plan has no Keras "
                            f"{', '.join(rule.keras + '/' + w for w in missing)}")
            continue
        chosen = tuple(r for r in found if r is not None)
        shapes = [_torch_shape(r, rule.move) for r in chosen]
        if any(s is None for s in shapes):
            problems.append(f"torch {full}{rule.torch}: Keras shape unknown")
            continue
        widths = [s[rule.cat_dim] for s in shapes if s is not None]
        expect = list(shapes[0] or ())
        expect[rule.cat_dim] = sum(widths)
        if tuple(expect) != tuple(param.shape):
            want = ", ".join(f"{r.weight} {r.shape_text}" for r in chosen)
            problems.append(f"shape mismatch: Keras {rule.keras} {want} gives {tuple(expect)} "
                            f"({rule.move}) vs torch {full}{rule.torch} {tuple(param.shape)}")
            continue
        used |= {(r.layer, r.weight) for r in chosen}
        jobs.append(TwinJob(full + rule.torch, param, rule, chosen))
    covered = {rule.torch for rule in rules}
    problems += [f"torch {full}{name} has no rule in the {twin} twin table"
                 for name in params if name not in covered]
    return jobs, problems, used, left


def _initializer(row: PlanRow, rng: RngName | None) -> Initializer:
    spec = row.initializer
    if rng not in ("torch", None) and spec.is_random and getattr(spec, "seed", None) is None:
        if row.live_seed is None:
            raise KerasInitError(
                f"rng={rng!r} reproduces Keras's values from each initializer's seed, but "
                f"{row.layer}/{row.weight} ({spec.class_name}) has none (read the live model to "
                f"get the seed its initializer drew). Use rng='torch' (nothing was written).")
        spec = dataclasses.replace(spec, seed=row.live_seed)  # type: ignore[arg-type]
    return Initializer(spec, row.keras_version)


def _values(job: TwinJob, generator: torch.Generator | None, rng: RngName | None) -> torch.Tensor:
    parts = []
    for row in job.rows:
        keras = torch.empty(row.keras_shape or (), dtype=job.param.dtype)
        fans = None
        if isinstance(row.initializer, VarianceScalingSpec) and row.resolved is not None:
            fans = (row.resolved.fan_in, row.resolved.fan_out)
        _initializer(row, rng)(keras, layout="keras", fans=fans, generator=generator, rng=rng)
        parts.append(to_torch(keras, row, job.rule.move))
    return torch.cat(parts, dim=job.rule.cat_dim) if len(parts) > 1 else parts[0]


def apply_twin(
    plan: PlanView,
    model: nn.Module,
    where: str,
    twin: str,
    *,
    strict: bool = True,
    generator: torch.Generator | None = None,
    rng: RngName | None = "torch",
) -> ApplyReport:
    """Initialize the ``transformers`` twin at ``where`` in ``model`` from ``plan`` (by name).

    Every check runs and every value is drawn before the first parameter is written.

    Raises:
        PlanMismatchError: with ``strict=True``, when a twin parameter has no Keras weight, a
            Keras weight has no twin parameter, or a shape differs (nothing written).
    """
    jobs, problems, used, left = plan_jobs(plan, model, where, twin)
    unused = [f"{r.layer}/{r.weight}" for r in _rows(plan) if (r.layer, r.weight) not in used]
    known = {r.keras for r in TWINS[twin][0]}
    problems += [f"Keras {u} has no parameter in the {twin} twin" for u in unused
                 if u.rsplit("/", 1)[0] not in known and not u.startswith(TWINS[twin][2][:-3])]
    label = plan.keras_version.label()
    if problems and strict:
        report = _report(plan, model, twin, jobs, problems, unused, left, set(), label)
        raise PlanMismatchError(mismatch_message(tuple(problems)), report)
    values = [(job, None if job.param.is_meta else _values(job, generator, rng)) for job in jobs]
    written: set[str] = set()
    with torch.no_grad():
        for job, value in values:
            if value is not None:
                job.param.copy_(value)
                written.add(job.name)
    return _report(plan, model, twin, jobs, problems, unused, left, written, label)


def _report(plan: PlanView, model: nn.Module, twin: str, jobs: list[TwinJob], problems: list[str],
            unused: list[str], left: dict[str, str], written: set[str], label: str
            ) -> ApplyReport:
    entries: list[ApplyEntry] = []
    by_name = {j.name: j for j in jobs}
    for name, param in model.named_parameters():
        job = by_name.get(name)
        if job is None:
            reason = left.get(name) or (
                "no Keras weight (see problems)" if any(name in p for p in problems)
                else f"outside the {twin} twin: not part of the Keras backbone")
            entries.append(ApplyEntry(name, "", "", "", "", "untouched", reason))
            continue
        row = job.rows[0]
        status = "applied" if name in written else ("planned" if param.is_meta else "not written")
        note = {"linear": "(out, in)", "conv1d": "Conv1D (in, out)", "flat": "",
                "same": ""}[job.rule.move]
        if len(job.rows) > 1:
            note = f"{'+'.join(r.weight.split('/')[0] for r in job.rows)} side by side"
        entries.append(ApplyEntry(name, row.layer, ",".join(r.weight for r in job.rows),
                                  row.initializer.name, row.resolved_text, status, note))
    pairs = tuple(((j.rule.keras,), j.name.rsplit(".", 1)[0]) for j in jobs)
    rows = {f"{r.layer}/{r.weight}": r for r in _rows(plan)}
    dropped = tuple(Dropped(rows[u].layer, rows[u].weight, rows[u].initializer.name,
                            f"the torch model has no {twin} parameter for it") for u in unused)
    layers = tuple(dict.fromkeys(d.keras_layer for d in dropped))
    return ApplyReport(tuple(entries), pairs, tuple(problems), layers, label, dropped=dropped,
                       how=tuple("name" for _ in pairs))
