"""The whole-model seed rule's warning: where a seed gives several tensors identical values.

A seeded Keras initializer returns the same values on every call (Keras 3 and tf_keras alike),
so within one module same-shape weights that share it (both directions of a bidirectional RNN,
the q/k/v blocks of a packed ``in_proj_weight``) come out identical, exactly as in Keras.
:func:`warn_identical` names them in one ``UserWarning``.

>>> import warnings, kerasinit
>>> from kerasinit.bridge.layouts import TorchLayout
>>> init = kerasinit.get("he_normal", seed=1)
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     warn_identical([("a.weight", init, (4, 3), TorchLayout()),
...                     ("b.weight", init, (4, 3), TorchLayout())])
>>> "a.weight, b.weight" in str(caught[0].message)
True
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from kerasinit.bridge.initializer import Initializer
from kerasinit.bridge.layouts import Layout

__all__ = ["warn_identical"]


def warn_identical(fills: Sequence[tuple[str, Initializer, tuple[int, ...], Layout]]) -> None:
    """Warn (once) naming the tensors, or blocks of one tensor, that will be identical.

    Args:
        fills: (tensor name, initializer, torch shape, layout) of every planned write that
            samples without an explicit ``generator=``.
    """
    groups: dict[tuple[object, ...], list[str]] = {}
    blocks: list[str] = []
    for name, init, shape, layout in fills:
        spec = init.spec
        if not spec.is_random or getattr(spec, "seed", None) is None:
            continue
        if getattr(spec, "advancing_seed", False):  # a SeedGenerator seed advances per call
            continue
        groups.setdefault((init, shape, layout), []).append(name)
        parts = getattr(layout, "parts", ())
        if len(parts) > 1 and len(set(parts)) == 1:
            blocks.append(f"the {len(parts)} blocks of {name}")
    same = [", ".join(names) for names in groups.values() if len(names) > 1] + blocks
    if same:
        warnings.warn(
            "A seeded Keras initializer returns the same values on every call (as in Keras), so "
            f"these get identical values: {'; '.join(same)}. Pass generator= (or different "
            "seeds) for distinct values.", UserWarning, stacklevel=4)
