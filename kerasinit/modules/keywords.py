"""Keras initializer keywords on torch modules: validated and parsed once, then bound.

:func:`parse_keywords` checks each keyword (did-you-mean for torch-side names such as
``weight_initializer``) and parses each identifier once; :func:`bind` gives a parsed
initializer a seed and an ``rng`` without parsing again.

Example:
    >>> bases, forget = parse_keywords({"kernel_initializer": "he_normal"}, None)
    >>> bind(bases["kernel_initializer"], 7, "torch").spec.seed, forget
    (7, None)
"""

from __future__ import annotations

from collections.abc import Mapping

from kerasinit.bridge.initializer import Initializer, RngName, get
from kerasinit.mappings.errors import InitializerArgumentError, format_choices, shown, suggest
from kerasinit.mappings.versions import VersionLike
from kerasinit.modules.params import KEYWORDS

__all__ = ["KEYWORDS", "ModuleKeywordError", "bind", "parse_keywords", "resolve_keywords"]


#: torch-side names -> (Keras keyword, why); checked before the spelling-based suggestion.
_KEYWORD_SYNONYMS: dict[str, tuple[str, str]] = {
    name: ("kernel_initializer", " (Keras calls torch's weight the kernel; depthwise convs take "
                                 "'depthwise_initializer', Embedding 'embeddings_initializer')")
    for name in ("weight_initializer", "weight_init", "weights_initializer", "weight")
} | {
    "scale_initializer": ("gamma_initializer", " (Keras's name for a norm's scale/weight)"),
    "shift_initializer": ("beta_initializer", " (Keras's name for a norm's shift/bias)"),
}


class ModuleKeywordError(InitializerArgumentError):
    """An initializer keyword that is unknown, or that matches no weight of the module."""


def resolve_keywords(
    keywords: dict[str, object], version: VersionLike, seed: int | None, rng: RngName | None,
) -> tuple[dict[str, Initializer], bool | None]:
    """Validate Keras keywords and resolve their identifiers (None = not given).

    Returns:
        (keyword -> Initializer, unit_forget_bias or None).
    """
    bases, forget = parse_keywords(keywords, version)
    return {key: bind(base, seed, rng) for key, base in bases.items()}, forget


def bind(base: Initializer, seed: int | None, rng: RngName | None) -> Initializer:
    """A fresh Initializer of ``base``'s spec with ``seed`` (random ones only) and ``rng``.

    Nothing is parsed again; each call gets its own call counter (advancing seeds restart).
    """
    spec = base.spec
    if seed is not None and spec.is_random:
        spec = spec.replace(seed=seed, advancing_seed=False)
    return Initializer(spec, base.keras_version, rng)


def parse_keywords(
    keywords: Mapping[str, object], version: VersionLike,
) -> tuple[dict[str, Initializer], bool | None]:
    """Validate Keras keywords and parse each identifier once (None = not given).

    Returns:
        (keyword -> unseeded ``rng="torch"`` Initializer, unit_forget_bias or None).
    """
    forget: bool | None = None
    inits: dict[str, Initializer] = {}
    for key, value in keywords.items():
        if key not in KEYWORDS:
            synonym = _KEYWORD_SYNONYMS.get(key)
            hint = synonym[0] if synonym else suggest(key, KEYWORDS)
            extra = f" Did you mean {hint!r}{synonym[1] if synonym else ''}?" if hint else ""
            raise ModuleKeywordError(
                f"Unknown Keras initializer keyword {shown(key)}.{extra} Valid keywords: "
                f"{format_choices(KEYWORDS)}.")
        if value is None:
            continue
        if key == "unit_forget_bias":
            if not isinstance(value, bool):
                raise ModuleKeywordError(
                    f"`unit_forget_bias` must be True or False. Received: {shown(value)}.")
            forget = value
            continue
        inits[key] = get(value, keras_version=version)
    return inits, forget
