""":func:`compare`: test any torch initializer against Keras's own samples on TensorFlow."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from kerasinit.bridge.layouts import LayoutLike
from kerasinit.mappings.errors import KerasInitError, LayoutError, format_choices
from kerasinit.mappings.versions import parse_version
from kerasinit.modules.params import find_tensor, module_params
from kerasinit.parity.engine import Case, run_case
from kerasinit.parity.reference import check_dependencies
from kerasinit.parity.result import ParityResult

__all__ = ["DEFAULT_SAMPLES", "compare"]

#: default sample size per side: 2^17. At alpha = 1e-3 over ~10 checks it detects a 1.2 %
#: (normal) / 0.77 % (uniform) std error with power 0.99.
DEFAULT_SAMPLES = 1 << 17


def compare(
    reference: object,
    candidate: Callable[[torch.Tensor], Any] | None = None,
    *,
    shape: tuple[int, ...] | None = None,
    module: torch.nn.Module | None = None,
    param: str | None = None,
    layout: LayoutLike = "torch",
    fans: tuple[float, float] | None = None,
    keras_version: str | None = None,
    samples: int | None = None,
    alpha: float = 1e-3,
    seed: int = 0,
) -> ParityResult:
    """Compare a torch initializer with the Keras initializer ``reference`` sampled by TF.

    The Keras samples are drawn by TensorFlow (Keras 3 on the TF backend; tf_keras for
    ``keras_version="2"``) on the Keras-layout shape that corresponds to the torch tensor.
    Small tensors are drawn repeatedly (fresh seeds) until ``samples`` values per side.

    Args:
        reference: anything :func:`kerasinit.get` accepts (name, config, Keras object).
        candidate: a callable that fills a torch tensor in place (its return value, if a
            tensor, is used instead). Default: kerasinit's own translation of ``reference``.
            It is called repeatedly under ``torch.manual_seed(seed)`` (the global RNG state is
            restored afterwards). If it raises or returns a wrong shape, the result says so
            (``passed`` is False); nothing is raised.
        shape: the torch tensor shape. Or give ``module`` and ``param`` instead.
        module, param: a torch module and the name of one of its parameters; the shape and
            layout come from :func:`kerasinit.modules.apply.module_params`.
        layout, fans, keras_version: as for :meth:`kerasinit.Initializer.__call__`.
        samples: values per side (default 2^17).
        alpha: family-wise level of the case (Holm over its checks).
        seed: seed of the candidate's RNG and of the TF draws (the run is deterministic).

    Returns:
        A :class:`ParityResult` (``.passed``, ``.checks``, ``.n``, ``.alpha``,
        ``.detectable_error``; ``print()`` it for the table).

    Raises:
        KerasInitError: an invalid reference, shape, layout, version, or missing TensorFlow
            (``ParityDependencyError``: install ``kerasinit[parity]``).

    Example:
        >>> from kerasinit import parity                                  # doctest: +SKIP
        >>> r = parity.compare("he_normal", lambda t: torch.nn.init.kaiming_normal_(t),
        ...                    shape=(256, 784))                          # doctest: +SKIP
        >>> r.passed                                                       # doctest: +SKIP
        False
    """
    if not (isinstance(alpha, float | int) and 0.0 < alpha < 1.0):
        raise KerasInitError(f"`alpha` must be in (0, 1). Received: alpha={alpha!r}.")
    n = DEFAULT_SAMPLES if samples is None else samples
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise KerasInitError(f"`samples` must be a positive int. Received: samples={samples!r}.")
    label = "kerasinit"
    if candidate is not None:
        if not callable(candidate):
            raise KerasInitError(
                f"`candidate` must be a callable that fills a torch tensor in place. "
                f"Received: {type(candidate).__name__}."
            )
        label = getattr(candidate, "__qualname__", None) or repr(candidate)
    if module is not None or param is not None:
        if shape is not None:
            raise LayoutError("Pass either `shape` or `module` and `param`, not both.")
        shape, layout, family = _from_module(module, param)
    else:
        family = ""
    if shape is None:
        raise LayoutError("compare() needs the torch tensor `shape` (or `module` and `param`).")
    shape = _check_shape(shape)
    case = Case(id=f"{reference if isinstance(reference, str) else 'initializer'}/"
                   f"{'x'.join(map(str, shape)) or 'scalar'}",
                reference=reference, shape=shape, layout=layout, fans=fans,
                keras_version=keras_version, candidate=candidate, candidate_label=label,
                family=family)
    check_dependencies("kerasinit.parity.compare", [parse_version(keras_version)])
    return run_case(case, n=n, alpha=float(alpha), seed=seed)


def _check_shape(shape: object) -> tuple[int, ...]:
    try:
        out = tuple(int(d) for d in shape)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise LayoutError(f"`shape` must be a sequence of ints. Received: {shape!r}.") from None
    if any(d < 1 for d in out):
        raise LayoutError(f"`shape` must have positive dimensions. Received: {shape!r}.")
    if math.prod(out) > 1 << 27:
        raise LayoutError(f"`shape` {out} is too large for a parity run (> 2^27 values).")
    return out


def _from_module(module: object, param: str | None) -> tuple[tuple[int, ...], Any, str]:
    """Shape and layout of ``module.<param>`` from kerasinit's module specs."""
    if module is None or param is None:
        raise LayoutError("`module` and `param` go together: pass both.")
    specs = list(module_params(module))  # type: ignore[arg-type]
    for spec in specs:
        if spec.name == param:
            tensor = _get_param(module, param)
            keras = getattr(spec, "keras_layer", "")
            return tuple(tensor.shape), spec.layout, f"{keras}.{getattr(spec, 'keyword', '')}"
    raise LayoutError(
        f"{type(module).__name__} has no parameter {param!r} that kerasinit maps. Valid: "
        f"{format_choices(s.name for s in specs)}."
    )


def _get_param(module: object, name: str) -> torch.Tensor:
    tensor = find_tensor(module, name)
    if tensor is None:
        raise LayoutError(f"{name!r} is not a tensor of {type(module).__name__}.")
    return tensor
