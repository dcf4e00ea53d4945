"""The mapping table: the single source of truth for names, aliases and exact distributions.

Everything user-visible is generated from the data here: name lookup in :func:`get`, the
``kerasinit table`` output, ``docs/table.md`` and the table-driven tests.

* :data:`ROWS` -- one row per Keras initializer (keyed by the canonical snake_case name): the
  default spec, the exact distribution as a formula of the Keras fans, the same-named
  ("naive") torch call and whether it matches.
* :data:`ALIASES` -- every other accepted name, with the reason it exists.
* :data:`REFUSED` -- names Keras registers that have no distribution, with the reason.
* :data:`TORCH_SYNONYMS` -- torch / other-framework names, used only for did-you-mean.
"""

from __future__ import annotations

from dataclasses import dataclass

from kerasinit.mappings.specs import (
    CLASS_NAMES,
    PRESETS,
    ConstantSpec,
    IdentitySpec,
    OrthogonalSpec,
    RandomNormalSpec,
    RandomUniformSpec,
    Spec,
    STFTSpec,
    TruncatedNormalSpec,
    VarianceScalingSpec,
)

__all__ = ["ALIASES", "REFUSED", "ROWS", "TORCH_SYNONYMS", "Alias", "Row", "all_names"]


@dataclass(frozen=True, slots=True)
class Row:
    """One Keras initializer.

    Attributes:
        name: canonical Keras snake_case name.
        spec: the spec Keras builds for the bare name (default arguments).
        formula: the exact distribution, in Keras fans (fi, fo) of the Keras kernel layout.
        naive: the same-named torch call a port would write.
        naive_matches: ``"yes"``, ``"no"`` or ``"partly"``.
        why: what differs, in one line.
    """

    name: str
    spec: Spec
    formula: str
    naive: str
    naive_matches: str
    why: str

    @property
    def class_name(self) -> str:
        return CLASS_NAMES[self.name]


@dataclass(frozen=True, slots=True)
class Alias:
    """Another accepted name for a canonical row, and why it is accepted."""

    target: str
    reason: str


def _vs(name: str) -> VarianceScalingSpec:
    scale, mode, dist = PRESETS[name]
    return VarianceScalingSpec(name=name, scale=scale, mode=mode, distribution=dist)


_TN = "TN(σ, cut ±2σ), realised std"
_NAIVE_FANS = "wrong fans on depthwise, embedding, MHA and rank<2 tensors"

ROWS: dict[str, Row] = {r.name: r for r in (
    Row("glorot_uniform", _vs("glorot_uniform"), "U[-L, L), L = sqrt(6 / (fi + fo))",
        "xavier_uniform_(w)", "partly",
        "same for Linear/Conv/RNN/Embedding; wrong for depthwise m>1, packed MHA, rank<2"),
    Row("glorot_normal", _vs("glorot_normal"),
        f"{_TN} sqrt(2 / (fi + fo)), σ = that / 0.8796", "xavier_normal_(w)", "no",
        "torch is untruncated (same std, different tails)"),
    Row("he_uniform", _vs("he_uniform"), "U[-L, L), L = sqrt(6 / fi)",
        "kaiming_uniform_(w, nonlinearity='relu')", "partly", f"same for Linear/Conv/RNN; {_NAIVE_FANS}"),
    Row("he_normal", _vs("he_normal"), f"{_TN} sqrt(2 / fi), σ = that / 0.8796",
        "kaiming_normal_(w, nonlinearity='relu')", "no", f"torch is untruncated; {_NAIVE_FANS}"),
    Row("lecun_uniform", _vs("lecun_uniform"), "U[-L, L), L = sqrt(3 / fi)",
        "kaiming_uniform_(w, nonlinearity='linear')", "partly", f"same for Linear/Conv/RNN; {_NAIVE_FANS}"),
    Row("lecun_normal", _vs("lecun_normal"), f"{_TN} sqrt(1 / fi), σ = that / 0.8796",
        "kaiming_normal_(w, nonlinearity='linear')", "no", f"torch is untruncated; {_NAIVE_FANS}"),
    Row("variance_scaling", VarianceScalingSpec(),
        "s = scale / max(1, n), n = fi | fo | (fi+fo)/2; TN(sqrt(s)/0.8796, ±2σ) | N(0, s) | "
        "U(±sqrt(3s))", "(none)", "no", "torch has no fan_avg, scale or truncated variant"),
    Row("random_normal", RandomNormalSpec(), "N(mean=0, std=0.05)", "normal_(w)", "no",
        "torch's default std is 1.0 (matches only with std=0.05 passed)"),
    Row("random_uniform", RandomUniformSpec(), "U[-0.05, 0.05)", "uniform_(w)", "no",
        "torch's default range is [0, 1) (matches only with the bounds passed)"),
    Row("truncated_normal", TruncatedNormalSpec(),
        "TN(mean=0, σ=0.05, cut mean ± 2σ), realised std 0.04398", "trunc_normal_(w, std=0.05)",
        "no", "torch cuts at absolute ±2.0, so it is effectively untruncated"),
    Row("orthogonal", OrthogonalSpec(),
        "gain · Haar frame on (prod(shape[:-1]), shape[-1])", "orthogonal_(w)", "partly",
        "equal in distribution for Linear/Conv/whole RNN weights; wrong for depthwise and per-gate"),
    Row("identity", IdentitySpec(), "gain · eye(in, out), 2-D only", "eye_(w)", "yes",
        "eye_ has no gain; Keras refuses rank != 2 (dirac_ is not Keras)"),
    Row("zeros", ConstantSpec(name="zeros", value=0.0), "0", "zeros_(w)", "yes", "-"),
    Row("ones", ConstantSpec(name="ones", value=1.0), "1", "ones_(w)", "yes", "-"),
    Row("constant", ConstantSpec(name="constant", value=0.0),
        "value (Keras 3 broadcasts arrays; tf_keras reshapes equal-size arrays)",
        "constant_(w, value)", "partly", "arrays need Keras-layout placement"),
    Row("stft", STFTSpec(), "cos/sin(-2π t f / N) · window / scaling on (T, 1, F)", "(none)",
        "no", "closed form, permuted to the Conv1d (F, 1, T) layout"),
)}


def _class_aliases() -> dict[str, Alias]:
    return {cls: Alias(name, "Keras class name") for name, cls in CLASS_NAMES.items()}


_V2 = "tf_keras 2.x '*V2' compatibility key"

ALIASES: dict[str, Alias] = {
    **_class_aliases(),
    "normal": Alias("random_normal", "Keras 1 name, kept 'for compatibility' by Keras 2 and 3"),
    "uniform": Alias("random_uniform", "Keras 1 name, kept 'for compatibility' by Keras 2 and 3"),
    "zero": Alias("zeros", "Keras 1 name, kept by Keras 2 and 3"),
    "one": Alias("ones", "Keras 1 name, kept by Keras 2 and 3"),
    "IdentityInitializer": Alias("identity", "Keras 3 compatibility alias"),
    "STFTInitializer": Alias("stft", "Keras 3 compatibility alias"),
    "OrthogonalInitializer": Alias("orthogonal", "Keras 3.0-3.6 class name (still an alias)"),
    "orthogonal_initializer": Alias("orthogonal", "Keras 3.0-3.6 snake_case of the old class"),
}
#: the 21 '*V2' keys tf_keras 2.21 registers (classes minus STFT, plus snake-case presets).
_V2_CLASSES = ("Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
               "LecunNormal", "LecunUniform", "Ones", "Orthogonal", "RandomNormal",
               "RandomUniform", "TruncatedNormal", "VarianceScaling", "Zeros")
_CANONICAL_OF_CLASS = {cls: name for name, cls in CLASS_NAMES.items()}
ALIASES.update({f"{cls}V2": Alias(_CANONICAL_OF_CLASS[cls], _V2) for cls in _V2_CLASSES})
ALIASES.update({f"{name}V2": Alias(name, _V2) for name in PRESETS})

REFUSED: dict[str, str] = {
    "Initializer": "the abstract Keras base class: calling it raises NotImplementedError",
    "initializer": "the abstract Keras base class: calling it raises NotImplementedError",
}

#: names from torch and elsewhere -> the Keras name, for did-you-mean only (never accepted).
TORCH_SYNONYMS: dict[str, tuple[str, str]] = {
    "xavier_uniform": ("glorot_uniform", "Keras's name for torch's xavier_uniform_"),
    "xavier_normal": ("glorot_normal", "Keras's name for torch's xavier_normal_, but truncated"),
    "kaiming_uniform": ("he_uniform", "Keras's name for torch's kaiming_uniform_"),
    "kaiming_normal": ("he_normal", "Keras's name for torch's kaiming_normal_, but truncated"),
    "trunc_normal": ("truncated_normal", "Keras cuts at mean ± 2·stddev, torch at absolute a, b"),
    "eye": ("identity", "Keras's name for torch's eye_"),
    "dirac": ("identity", "Keras has no dirac; identity is 2-D only"),
    "selu": ("lecun_normal", "the SELU initializer in Keras"),
    "lecun": ("lecun_normal", "Keras's LeCun initializers"),
    "glorot": ("glorot_uniform", "Keras's default Glorot initializer"),
    "xavier": ("glorot_uniform", "Keras's name for Xavier/Glorot"),
    "kaiming": ("he_normal", "Keras's name for Kaiming/He"),
    "he": ("he_normal", "Keras's He initializers"),
    "zero_": ("zeros", "Keras's name for torch's zeros_"),
    "gaussian": ("random_normal", "Keras's name for a plain normal"),
}


def all_names() -> dict[str, str]:
    """Every accepted name -> canonical name (canonical names map to themselves)."""
    names = {name: name for name in ROWS}
    names.update({alias: a.target for alias, a in ALIASES.items()})
    return names
