"""keras_hub backbones saved to a file: their layers and seed draws from the constructor arguments.

A keras_hub backbone saved with ``model.save`` (``.keras``) or ``to_json`` stores only its
constructor arguments (``{"class_name": "BertBackbone", "config": {"num_layers": 2, ...}}``):
the layers live in keras_hub's Python code, which kerasinit never runs. For a whitelist of
backbones whose construction is known, :func:`backbone_config` rewrites the arguments into the
functional config the backbone builds (same layer names and weights as the live model), and
:func:`backbone_draws` lists the ``random.randint(1, 10**9)`` draws its construction makes
under ``keras.utils.set_random_seed`` (keras_hub 0.32, Keras 3.15.1; measured by matching the
seeds the live initializer objects hold to the stream).

The draws (``dropout > 0`` adds the SeedGenerators marked ``SG``):

* construction: the embeddings (DistilBERT first draws one initializer that its
  ``TokenAndPositionEmbedding`` only clones), the embeddings Dropout ``SG``, one kernel
  initializer per transformer layer (never used: the layer clones it), then BERT's
  ``pooled_dense``;
* the functional call, per transformer layer: the attention's own kernel initializer (never
  used), query, key, value, the attention Dropout ``SG``, output, the attention-output Dropout
  ``SG``, the two feed-forward kernels, the feed-forward Dropout ``SG``.

Other keras_hub backbones are refused with a message that says how to use the live model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kerasinit.mappings.errors import KerasInitError
from kerasinit.porting.readers import ModelFileError

__all__ = ["BACKBONES", "BackboneDraw", "backbone_config", "backbone_draws", "is_keras_hub",
           "refusal"]


@dataclass(frozen=True)
class _Backbone:
    embeddings: str  # "bert", "gpt2" or "distilbert"
    encoder: str  # "TransformerEncoder" or "TransformerDecoder"
    initializer: str  # the kernel initializer class, stddev 0.02
    epsilon: float
    max_sequence_length: int
    token_stddev: float = 0.02  # GPT-2's token embeddings: 0.01


#: the keras_hub backbones planned from their constructor arguments.
BACKBONES: dict[str, _Backbone] = {
    "BertBackbone": _Backbone("bert", "TransformerEncoder", "TruncatedNormal", 1e-12, 512),
    "GPT2Backbone": _Backbone("gpt2", "TransformerDecoder", "RandomNormal", 1e-5, 1024, 0.01),
    "DistilBertBackbone": _Backbone("distilbert", "TransformerEncoder", "TruncatedNormal",
                                    1e-12, 512),
}
_REQUIRED = ("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim")
_MAX_LAYERS = 1000


@dataclass(frozen=True)
class BackboneDraw:
    """One draw: the plan layer and draw label it seeds ("" for a draw that seeds nothing)."""

    target: str
    label: str
    why: str = ""


def is_keras_hub(config: Mapping[str, Any]) -> bool:
    """True for a top-level object saved by keras_hub (its ``module`` or ``registered_name``).

    Example:
        >>> is_keras_hub({"class_name": "BertBackbone", "registered_name": "keras_hub>BertBackbone"})
        True
    """
    module, registered = config.get("module"), config.get("registered_name")
    return (isinstance(module, str) and module.startswith(("keras_hub.", "keras_nlp."))) or (
        isinstance(registered, str) and registered.startswith(("keras_hub>", "keras_nlp>")))


def _args(class_name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    inner = config.get("config")
    if not isinstance(inner, Mapping):
        raise ModelFileError(f"{class_name}: the saved config has no constructor arguments.")
    out: dict[str, Any] = {}
    for key in _REQUIRED:
        value = inner.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 10**7:
            raise ModelFileError(f"{class_name}: constructor argument {key!r} must be a "
                                 f"positive int. Received: {str(value)[:60]!r}.")
        out[key] = value
    if out["num_layers"] > _MAX_LAYERS or out["hidden_dim"] % out["num_heads"]:
        raise ModelFileError(f"{class_name}: num_layers <= {_MAX_LAYERS} and hidden_dim "
                             f"divisible by num_heads are required. Received: {out}.")
    dropout = inner.get("dropout", 0.1)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not (
            0 <= dropout < 1):
        raise ModelFileError(f"{class_name}: dropout must be in [0, 1). Received: {dropout!r}.")
    out["dropout"] = float(dropout)
    for key, default in (("max_sequence_length", BACKBONES[class_name].max_sequence_length),
                         ("num_segments", 2)):
        value = inner.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 10**7:
            raise ModelFileError(f"{class_name}: {key} must be a positive int. Received: "
                                 f"{str(value)[:60]!r}.")
        out[key] = value
    return out


def _node(cls: str, name: str, parents: list[str], shape: list[int | None] | None,
          **config: Any) -> dict[str, Any]:
    args = [{"class_name": "__keras_tensor__", "config": {"keras_history": [p, 0, 0]}}
            for p in parents]
    entry: dict[str, Any] = {"class_name": cls, "name": name, "config": {"name": name, **config},
                             "inbound_nodes": [{"args": args, "kwargs": {}}] if parents else []}
    if shape is not None:
        entry["build_config"] = {"input_shape": shape}
    return entry


def backbone_config(config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The functional config a whitelisted keras_hub backbone builds, or None for others.

    Raises:
        ModelFileError: constructor arguments that are missing or out of range.

    Example:
        >>> cfg = backbone_config({"class_name": "GPT2Backbone", "config": {
        ...     "vocabulary_size": 50, "num_layers": 1, "num_heads": 2, "hidden_dim": 8,
        ...     "intermediate_dim": 16}})
        >>> [e["name"] for e in cfg["config"]["layers"]][1:4]
        ['token_embedding', 'position_embedding', 'embeddings_add']
    """
    cls = config.get("class_name")
    if not isinstance(cls, str) or cls not in BACKBONES:
        return None
    spec, a = BACKBONES[cls], _args(cls, config)
    d = a["hidden_dim"]
    init = {"class_name": spec.initializer, "config": {"mean": 0.0, "stddev": 0.02, "seed": None}}
    seq: list[int | None] = [None, None]
    hidden: list[int | None] = [None, None, d]
    layers = [_node("InputLayer", "token_ids", [], None, batch_shape=seq, dtype="int32")]
    if spec.embeddings == "distilbert":
        layers.append(_node("TokenAndPositionEmbedding", "token_and_position_embedding",
                            ["token_ids"], seq, vocabulary_size=a["vocabulary_size"],
                            sequence_length=a["max_sequence_length"], embedding_dim=d,
                            embeddings_initializer=init, tie_weights=True))
        x = "token_and_position_embedding"
    else:
        token_init = {"class_name": spec.initializer,
                      "config": {"mean": 0.0, "stddev": spec.token_stddev, "seed": None}}
        layers += [
            _node("ReversibleEmbedding", "token_embedding", ["token_ids"], seq,
                  input_dim=a["vocabulary_size"], output_dim=d,
                  embeddings_initializer=token_init, tie_weights=True),
            _node("PositionEmbedding", "position_embedding", ["token_embedding"], hidden,
                  sequence_length=a["max_sequence_length"], initializer=init)]
        summed = ["token_embedding", "position_embedding"]
        if spec.embeddings == "bert":
            layers += [_node("InputLayer", "segment_ids", [], None, batch_shape=seq,
                             dtype="int32"),
                       _node("Embedding", "segment_embedding", ["segment_ids"], seq,
                             input_dim=a["num_segments"], output_dim=d,
                             embeddings_initializer=init)]
            summed.append("segment_embedding")
        layers.append(_node("Add", "embeddings_add", summed, None))
        x = "embeddings_add"
    if spec.embeddings != "gpt2":
        layers.append(_node("LayerNormalization", "embeddings_layer_norm", [x], hidden,
                            epsilon=spec.epsilon, axis=-1))
        x = "embeddings_layer_norm"
    layers.append(_node("Dropout", "embeddings_dropout", [x], None, rate=a["dropout"]))
    x = "embeddings_dropout"
    for i in range(a["num_layers"]):
        layers.append(_node(spec.encoder, f"transformer_layer_{i}", [x], hidden,
                            num_heads=a["num_heads"], intermediate_dim=a["intermediate_dim"],
                            dropout=a["dropout"], layer_norm_epsilon=spec.epsilon,
                            kernel_initializer=init, bias_initializer="zeros"))
        x = f"transformer_layer_{i}"
    if spec.embeddings == "gpt2":
        layers.append(_node("LayerNormalization", "layer_norm", [x], hidden,
                            epsilon=spec.epsilon, axis=-1))
    if spec.embeddings == "bert":
        layers.append(_node("Dense", "pooled_dense", [x], [None, d], units=d,
                            kernel_initializer=init, bias_initializer="zeros",
                            activation="tanh"))
    name = (config.get("config") or {}).get("name", cls)
    return {"class_name": "Functional", "keras_version": config.get("keras_version"),
            "config": {"name": str(name), "layers": layers}}


def backbone_draws(config: Mapping[str, Any]) -> list[BackboneDraw]:
    """The draws a whitelisted backbone's construction makes, in order.

    Example:
        >>> draws = backbone_draws({"class_name": "BertBackbone", "config": {
        ...     "vocabulary_size": 50, "num_layers": 1, "num_heads": 2, "hidden_dim": 8,
        ...     "intermediate_dim": 16}})
        >>> len(draws), draws[0].target, draws[5].target
        (16, 'token_embedding', 'pooled_dense')
    """
    cls = str(config.get("class_name"))
    if cls not in BACKBONES:
        raise KerasInitError(f"{cls!r} is not a keras_hub backbone kerasinit plans from its "
                             f"arguments; supported: {', '.join(sorted(BACKBONES))}.")
    spec, a = BACKBONES[cls], _args(cls, config)
    sg = a["dropout"] > 0
    out: list[BackboneDraw] = []
    if spec.embeddings == "distilbert":
        out += [BackboneDraw("", "", "the embeddings initializer, cloned per embedding"),
                BackboneDraw("token_and_position_embedding/token_embedding",
                             "embeddings_initializer"),
                BackboneDraw("token_and_position_embedding/position_embedding", "initializer")]
    else:
        out += [BackboneDraw("token_embedding", "embeddings_initializer"),
                BackboneDraw("position_embedding", "initializer")]
        if spec.embeddings == "bert":
            out.append(BackboneDraw("segment_embedding", "embeddings_initializer"))
    if sg:
        out.append(BackboneDraw("", "", "embeddings_dropout SeedGenerator"))
    out += [BackboneDraw("", "", f"transformer_layer_{i}'s kernel initializer (cloned)")
            for i in range(a["num_layers"])]
    if spec.embeddings == "bert":
        out.append(BackboneDraw("pooled_dense", "kernel_initializer"))
    attention = "self_attention_layer" if spec.encoder == "TransformerEncoder" else \
        "self_attention"
    for i in range(a["num_layers"]):
        layer = f"transformer_layer_{i}"
        att = f"{layer}/{attention}"
        out += [BackboneDraw("", "", f"{att}: its own kernel initializer (cloned)"),
                *(BackboneDraw(att, f"{sub}/kernel_initializer") for sub in
                  ("query", "key", "value")),
                *([BackboneDraw("", "", f"{att}: Dropout SeedGenerator")] if sg else []),
                BackboneDraw(att, "attention_output/kernel_initializer"),
                *([BackboneDraw("", "", f"{layer}: attention Dropout SeedGenerator")]
                  if sg else []),
                BackboneDraw(f"{layer}/feedforward_intermediate_dense", "kernel_initializer"),
                BackboneDraw(f"{layer}/feedforward_output_dense", "kernel_initializer"),
                *([BackboneDraw("", "", f"{layer}: feed-forward Dropout SeedGenerator")]
                  if sg else [])]
    return out


def refusal(config: Mapping[str, Any], origin: str) -> ModelFileError:
    """The error for a keras_hub object saved to a file that is not in :data:`BACKBONES`."""
    cls = config.get("class_name")
    return ModelFileError(
        f"{origin}: a keras_hub {cls!r} saved to a file stores only its constructor arguments; "
        f"its layers live in keras_hub's code, which kerasinit never runs, and kerasinit plans "
        f"only {', '.join(sorted(BACKBONES))} from their arguments. Use the live model "
        f"instead: `model = keras.saving.load_model(path)` (or keras_hub's from_preset) and "
        f"`kerasinit.porting.read(model)`. To replay the initial weights of a model built after "
        f"keras.utils.set_random_seed(s), call set_random_seed(s) right before load_model: "
        f"it constructs the backbone again, drawing the same seeds, which the live initializer "
        f"objects keep (read(model).apply(twin, rng=...) uses them)."
    )
