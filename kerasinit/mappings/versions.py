"""Keras versions and the semantics that changed between them.

A :class:`KerasVersion` is parsed from what users and saved files say (``"3"``, ``"3.14"``,
``"2"``, ``"2.0.8"``, ``"2.2.4-tf"``, ``"1.2.2"``) and answers the questions the rest of the
library asks: which fan rule, whether truncated normals carry the 1/0.8796 variance fix,
whether EinsumDense/MultiHeadAttention kernels use einsum axes, how ``Constant`` treats arrays.

``1.x``                   Keras 1: ``glorot_normal``/``he_normal`` untruncated;
                          ``orthogonal`` default scale 1.1; fans of ranks other than
                          2, 4, 5 are sqrt(prod(shape)).
``2.0.0``–``2.0.5``       multi-backend: ranks 3–5 use rf = prod(shape[:2]) (bug).
``2.0.6``–``2.3.x``       multi-backend: ranks 3–5 as today; ranks 0, 1, >=6 sqrt(prod).
``< 2.2`` (multi-backend) ``VarianceScaling(distribution='normal')`` has no 1/C fix.
``2.x-tf``, ``>= 2.4``    tf.keras / tf_keras: today's rank rule; Constant reshapes.
``3.0``–``3.14``          Keras 3: today's rank rule; Constant broadcasts.
``< 3.14`` (torch)        int seeds outside int32 raise on the torch backend (no bit-cast).
``>= 3.15``               EinsumDense/MHA VarianceScaling kernels get einsum axes.
========================  ==========================================================
=======
The eras and what changes between them are the declarative table :data:`ERAS` (checked against
the Keras 1, 2 and 3 sources and, for 3.16, the nightly ``3.16.0.dev2026102704``); the docs'
version table (``docs/versions.md``) is generated from it and from the properties below.
``"3"`` means the latest release, Keras 3.15; ``"3.16"`` (the nightly) is opt-in, and 3.17+
strings are read with the 3.16 semantics, the newest measured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Literal

from kerasinit.mappings.errors import UnsupportedVersionError, shown

__all__ = ["ERAS", "LATEST", "AxesRule", "Era", "FanRule", "KerasVersion", "VersionLike",
           "parse_version"]


class FanRule(str, Enum):
    """How a Keras version turns a kernel shape into (fan_in, fan_out)."""

    KERAS1 = "keras1"  # 1.x: rank 2, 4, 5 conv-style; others sqrt(prod)
    KERAS2_0 = "keras2.0"  # 2.0.0-2.0.5: rf = prod(shape[:2]) for ranks 3-5
    KERAS2_MULTI = "keras2"  # 2.0.6-2.3.x multi-backend: ranks 0, 1, >=6 sqrt(prod)
    MODERN = "modern"  # tf.keras, tf_keras, Keras 3: rank 0 -> 1, rank 1 -> n


#: How LayerNormalization turns its ``axis`` list into the gamma/beta shape at build time:
#: ``"given"`` (tf_keras: negative axes made non-negative, config order, duplicates refused),
#: ``"sorted"`` (Keras 3.0-3.15: ``sorted()`` of the raw values, so ``[1, -1]`` becomes
#: ``[-1, 1]``; duplicates kept), ``"canonical"`` (Keras 3.16: made non-negative, then sorted;
#: duplicates refused).
AxesRule = Literal["given", "sorted", "canonical"]

#: the newest Keras 3 release ("3" means it) and the newest minor measured (a nightly)
LATEST_RELEASE_MINOR = 15
NEWEST_MEASURED_MINOR = 16

_PATTERN = re.compile(r"^\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?([-+.]?[A-Za-z][\w.+-]*)?\s*$")
_KNOWN_MAJORS = (1, 2, 3)


@dataclass(frozen=True, slots=True)
class KerasVersion:
    """A Keras version; missing minor/patch parts mean "the latest of that series".

    Attributes:
        major: 1, 2 or 3.
        minor: minor version, or None for the latest release (``"3"`` is 3.15, ``"2"`` is
            tf_keras 2.21).
        patch: patch version, or None.
        tf: True for tf.keras / tf_keras flavours (``"2.2.4-tf"``, every 2.x >= 2.4).
    """

    major: int
    minor: int | None = None
    patch: int | None = None
    tf: bool = False

    # -- comparisons on the effective (filled-in) number ------------------------------
    @property
    def key(self) -> tuple[int, int, int]:
        """(major, minor, patch) with "latest" parts filled in (``"3"`` is 3.15.x)."""
        latest_minor = LATEST_RELEASE_MINOR if self.major == 3 else 10**6
        return (self.major, latest_minor if self.minor is None else self.minor,
                10**6 if self.patch is None else self.patch)

    def at_least(self, major: int, minor: int = 0, patch: int = 0) -> bool:
        """True if this version is >= major.minor.patch."""
        return self.key >= (major, minor, patch)

    @property
    def multi_backend(self) -> bool:
        """True for the multi-backend Keras 2.0-2.3 (not tf.keras)."""
        return self.major == 2 and not self.tf and not self.at_least(2, 4)

    # -- semantics ----------------------------------------------------------------------
    @property
    def fan_rule(self) -> FanRule:
        """The rank rule this version applies in ``compute_fans``."""
        if self.major == 1:
            return FanRule.KERAS1
        if self.multi_backend:
            return FanRule.KERAS2_0 if not self.at_least(2, 0, 6) else FanRule.KERAS2_MULTI
        return FanRule.MODERN

    @property
    def truncation_correction(self) -> bool:
        """Whether VarianceScaling truncated normals divide the stddev by C = 0.8796."""
        return not (self.major == 1 or (self.multi_backend and not self.at_least(2, 2)))

    @property
    def untruncated_named_normals(self) -> bool:
        """Keras 1: ``glorot_normal``/``he_normal`` were plain (untruncated) normals."""
        return self.major == 1

    @property
    def einsum_fans(self) -> bool:
        """Keras >= 3.15: EinsumDense/MHA VarianceScaling kernels use einsum input/output axes."""
        return self.at_least(3, 15)

    @property
    def torch_seed_bitcast(self) -> bool:
        """Keras >= 3.14 bit-casts int seeds to int32 on the torch backend (``draw_seed``):
        seeds >= 2**31 wrap. Before, they raised (checked on 3.13.2 and 3.14.1)."""
        return self.at_least(3, 14)

    @property
    def constant_arrays(self) -> str:
        """How ``Constant(array)`` fills a shape: ``"broadcast"`` (Keras 3) or ``"reshape"``."""
        return "broadcast" if self.major >= 3 else "reshape"

    @property
    def has_stft(self) -> bool:
        """STFT exists from Keras 3.7."""
        return self.at_least(3, 7)

    @property
    def identity_config_has_gain(self) -> bool:
        """Whether ``Identity.get_config()`` stores ``gain``: all but Keras 3.0-3.15 (``{}``)."""
        return not (self.major == 3 and not self.at_least(3, 16))

    @property
    def layer_norm_axes(self) -> AxesRule:
        """How LayerNormalization orders its axes at build (see :data:`AxesRule`)."""
        if self.major != 3:
            return "given"
        return "canonical" if self.at_least(3, 16) else "sorted"

    @property
    def validates_ranges(self) -> bool:
        """Keras 3.16 refuses some layer arguments out of range (BatchNormalization ``momentum``
        outside [0, 1]: the layer table's ``ranges``); older versions accept any value."""
        return self.at_least(3, 16)

    @property
    def custom_names_by_string(self) -> bool:
        """Whether ``initializers.get("MyInit")`` finds a custom (scoped/registered) initializer.

        Keras 3.16 looks a string up only among the built-ins; a config dict
        ``{"class_name": "MyInit", ...}`` still finds it.
        """
        return not self.at_least(3, 16)

    @property
    def orthogonal_default_gain(self) -> float:
        """Default gain of the ``orthogonal`` name: Keras 1 used ``scale=1.1``."""
        return 1.1 if self.major == 1 else 1.0

    def __str__(self) -> str:
        parts = [str(self.major)]
        if self.minor is not None:
            parts.append(str(self.minor))
            if self.patch is not None:
                parts.append(str(self.patch))
        text = ".".join(parts)
        return text + ("-tf" if self.tf and not self.at_least(2, 4) and self.major == 2 else "")

    def label(self) -> str:
        """A human label: ``'Keras 3.15'``, ``'tf_keras 2.21'``, ``'Keras 2.0.8'``."""
        if self.major == 3:
            if self.minor is None:
                return f"Keras 3.{LATEST_RELEASE_MINOR} (latest)"
            return f"Keras {self}" + (" (nightly)" if self.minor > LATEST_RELEASE_MINOR else "")
        if self.major == 2 and self.minor is None:
            return "tf_keras 2.21 (latest Keras 2)"
        return f"Keras {self}"


VersionLike = str | int | float | tuple[int, ...] | KerasVersion | None


@dataclass(frozen=True, slots=True)
class Era:
    """One row of the version table: a span of Keras versions and what it changed.

    Attributes:
        versions: the span, in words (``"3.0-3.14"``).
        example: a ``keras_version=`` value inside the span (``"3.14"``).
        changes: what differs from the previous row, in words.
    """

    versions: str
    example: str
    changes: str


#: The Keras eras kerasinit distinguishes, oldest first. The semantics themselves are the
#: :class:`KerasVersion` properties; ``docs/versions.md`` is generated from both.
ERAS: tuple[Era, ...] = (
    Era("1.x", "1", "glorot_normal / he_normal untruncated; orthogonal default scale 1.1; fans "
        "of ranks other than 2, 4, 5 are sqrt(prod(shape)); recurrent kernels per gate"),
    Era("2.0.0-2.0.5", "2.0.2", "multi-backend Keras 2: ranks 3-5 use rf = prod(shape[:2]) (a "
        "bug); VarianceScaling(distribution='normal') has no 1/0.8796 truncation fix"),
    Era("2.0.6-2.1.x", "2.0.8", "ranks 3-5 as today; ranks 0, 1, >= 6 sqrt(prod(shape))"),
    Era("2.2-2.3.x", "2.2.4", "truncated normals get the 1/0.8796 fix"),
    Era("2.x-tf, 2.4+ (tf.keras, tf_keras)", "2", "today's rank rule; Constant reshapes arrays; "
        "LayerNormalization keeps the config's axis order (duplicates refused)"),
    Era("3.0-3.14", "3.14", "Keras 3: Constant broadcasts arrays; Identity.get_config() is {} (the "
        "gain is lost on save); LayerNormalization sorts the raw axis values; on the torch "
        "backend, int seeds outside int32 raise before 3.14 (3.14 bit-casts them)"),
    Era("3.15 (latest release; \"3\")", "3", "EinsumDense / MultiHeadAttention VarianceScaling "
        "kernels take their fans from the einsum axes"),
    Era("3.16 (nightly; opt-in \"3.16\")", "3.16", "Identity.get_config() stores gain; "
        "LayerNormalization axes made non-negative, then sorted (duplicates refused); "
        "BatchNormalization refuses momentum outside [0, 1]; initializers.get('MyInit') no longer "
        "finds a custom initializer by string (a config dict still does); new layer TernaryDense "
        "(Dense weights)"),
)

LATEST = KerasVersion(3)
VALID_EXAMPLES = ("3", "3.16", "3.15", "3.14", "3.0", "2", "2.21", "2.2.4-tf", "2.2.0", "2.0.8", "1")


def parse_version(value: VersionLike) -> KerasVersion:
    """Parse a Keras version; ``None`` means the latest Keras 3.

    Args:
        value: ``None``, a string (``"3"``, ``"3.14"``, ``"2"``, ``"2.0.8"``, ``"2.2.4-tf"``),
            an int major, a tuple ``(major, minor[, patch])`` or a :class:`KerasVersion`.

    Returns:
        The parsed version.

    Raises:
        UnsupportedVersionError: for anything that is not Keras 1, 2 or 3.

    Example:
        >>> parse_version("3.14").einsum_fans, parse_version("3").einsum_fans
        (False, True)
        >>> parse_version("3.16.0.dev2026102704").label(), parse_version("3").label()
        ('Keras 3.16.0 (nightly)', 'Keras 3.15 (latest)')
    """
    if value is None:
        return LATEST
    if isinstance(value, KerasVersion):
        return value
    if isinstance(value, float):
        value = repr(value)
    hashable = (isinstance(value, (str, int)) or (isinstance(value, tuple)
                and all(isinstance(p, int) and not isinstance(p, bool) and 0 <= p < 1 << 31
                        for p in value)))
    if not hashable or (isinstance(value, str) and len(value) > 64) or (
            isinstance(value, int) and not -(1 << 31) <= value < 1 << 31):
        raise _bad(value)
    return _parse_cached(value)


@lru_cache(maxsize=256)
def _parse_cached(value: str | int | tuple[int, ...]) -> KerasVersion:
    if isinstance(value, bool):
        raise _bad(value)
    if isinstance(value, int):
        parts: tuple[int | None, ...] = (value, None, None)
        tf = False
    elif isinstance(value, tuple):
        if not 1 <= len(value) <= 3 or not all(isinstance(p, int) for p in value):
            raise _bad(value)
        parts = tuple(value) + (None,) * (3 - len(value))
        tf = False
    elif isinstance(value, str):
        match = _PATTERN.match(value)
        if not match:
            raise _bad(value)
        major, minor, patch, suffix = match.groups()
        parts = (int(major), None if minor is None else int(minor),
                 None if patch is None else int(patch))
        tf = bool(suffix) and "tf" in suffix.lower()
    else:
        raise _bad(value)
    major_ = parts[0]
    assert major_ is not None
    if major_ not in _KNOWN_MAJORS:
        raise _bad(value)
    minor_, patch_ = parts[1], parts[2]
    if major_ == 3 and minor_ is not None and minor_ > NEWEST_MEASURED_MINOR:
        # Newer 3.x than we have measured: keep the newest measured semantics (3.16).
        minor_, patch_ = NEWEST_MEASURED_MINOR, None
    if major_ == 2 and (minor_ is None or minor_ >= 4):
        tf = True
    return KerasVersion(major_, minor_, patch_, tf)


def _bad(value: object) -> UnsupportedVersionError:
    examples = ", ".join(repr(v) for v in VALID_EXAMPLES)
    return UnsupportedVersionError(
        f"Unsupported keras_version {shown(value)}. Expected Keras 1, 2 or 3 as a string, int or "
        f"tuple, for example {examples} (None = latest Keras 3)."
    )
