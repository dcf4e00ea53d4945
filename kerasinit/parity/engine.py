"""Run one parity case: draw the candidate and TensorFlow, run the battery, decide with Holm.

A case is (Keras initializer, torch shape, layout, fans, Keras version, candidate). The
candidate fills a torch tensor in place; its values are mapped to the Keras layout with the
layout (``layout.to_keras``) before any statistic, so orthogonality is checked on Keras's axis
and the pooled values are the same population as TF's Keras-layout draws.

Battery per elementwise block (uniform, normal, truncated normal):
candidate vs closed form (support, mean z, variance z, KS 1-sample), TF vs the same closed form
(so kerasinit's own resolution of the fans is verified by Keras, not assumed), and candidate
vs TF (KS 2-sample, Anderson–Darling 2-sample). Orthogonal: the invariant on both sides plus
the entries' marginal vs TF. Identity / constants / STFT: exact values vs TF and vs the
closed form.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from kerasinit.bridge.initializer import Initializer, get
from kerasinit.bridge.layouts import Layout, LayoutLike, parse_layout
from kerasinit.mappings.distributions import Constant, Identity, Orthogonal
from kerasinit.mappings.errors import KerasInitError
from kerasinit.mappings.resolve import Resolved
from kerasinit.mappings.versions import parse_version
from kerasinit.parity import stats
from kerasinit.parity.reference import ReferenceDraws, draw_reference, reference_label
from kerasinit.parity.result import ParityResult, Quantiles

__all__ = ["MAX_CALLS", "Case", "check_run", "run_case"]

#: most repeated draws per side for tiny tensors (n and the power are reported as reached)
MAX_CALLS = 2048
Fill = Callable[[torch.Tensor], Any]


@dataclass(frozen=True)
class Case:
    """One parity case.

    Attributes:
        id: case id; reference: anything ``get`` accepts; shape: torch shape.
        layout, fans, keras_version: as for :meth:`Initializer.__call__`.
        candidate: callable filling a torch tensor in place (None: kerasinit's translation).
        candidate_label: how the candidate is named in reports.
        expect_fail: a planted wrong mapping (mutant) that must be detected.
        family: layer family (for grouping in reports).
    """

    id: str
    reference: object
    shape: tuple[int, ...]
    layout: LayoutLike = "torch"
    fans: tuple[float, float] | None = None
    keras_version: str | None = None
    candidate: Fill | None = None
    candidate_label: str = "kerasinit"
    expect_fail: bool = False
    family: str = ""


class _CandidateError(Exception):
    pass


def _blocks(layout: Layout, shape: tuple[int, ...], resolved: Resolved | tuple[Resolved, ...],
            ) -> list[tuple[slice | None, Layout, tuple[int, ...], Resolved]]:
    if isinstance(resolved, tuple):
        parts = layout.blocks(shape) or ()
        return [(rows, lay, (rows.stop - rows.start, *shape[1:]), r)
                for (rows, lay), r in zip(parts, resolved, strict=True)]
    return [(None, layout, shape, resolved)]


def _draw_candidate(fill: Fill, shape: tuple[int, ...], blocks: list[Any], calls: int,
                    ) -> list[list[np.ndarray]]:
    out: list[list[np.ndarray]] = [[] for _ in blocks]
    for _ in range(calls):
        t = torch.full(shape, float("nan"), dtype=torch.float32)
        try:
            ret = fill(t)
        except Exception as exc:
            raise _CandidateError(f"candidate raised {type(exc).__name__}: {exc}") from None
        if isinstance(ret, torch.Tensor):
            if tuple(ret.shape) != shape:
                raise _CandidateError(f"candidate returned shape {tuple(ret.shape)}, expected "
                                      f"{shape}")
            t = ret
        elif tuple(t.shape) != shape:
            raise _CandidateError(f"candidate resized the tensor to {tuple(t.shape)}")
        for i, (rows, lay, _, _) in enumerate(blocks):
            part = t if rows is None else t[rows]
            out[i].append(lay.to_keras(part.detach().to("cpu", torch.float64)).numpy().copy())
    return out


def _axes(lay: Layout, bshape: tuple[int, ...], r: Resolved) -> Any:
    return lay.einsum_axes(bshape) if r.fan_source.startswith("einsum") else None


def _reference_shape(r: Resolved, fans: tuple[float, float] | None) -> tuple[int, ...] | None:
    if fans is None:
        return r.keras_shape
    fi, fo = fans
    if float(fi).is_integer() and float(fo).is_integer() and fi >= 1 and fo >= 1:
        return (int(fi), int(fo))  # a Keras Dense kernel with exactly these fans
    return None


def _battery(r: Resolved, cand: list[np.ndarray], ref: list[np.ndarray] | None,
             tag: str) -> tuple[list[stats.Check], stats.Target | None]:
    dist = r.distribution
    checks: list[stats.Check] = []
    target = stats.target_for(dist)
    x = np.concatenate([c.ravel() for c in cand])
    y = None if ref is None else np.concatenate([c.ravel() for c in ref])
    if target is not None:
        for who, s in (("candidate", x), ("TF", y)):
            if s is None:
                continue
            if math.isfinite(target.low) or math.isfinite(target.high):
                checks.append(stats.support_check(s, target, who))
            if target.var > 0 and np.isfinite(s).all():
                checks += [stats.mean_ztest(s, target, who), stats.variance_ztest(s, target, who),
                           stats.ks_closed_form(s, target, who)]
        if y is not None and np.isfinite(x).all() and target.var > 0:
            checks += [stats.ks_two_sample(x, y), stats.ad_two_sample(x, y)]
    elif isinstance(dist, Orthogonal):
        checks.append(stats.orthogonality_check([_flat(c) for c in cand], dist.gain, "candidate"))
        if y is not None and ref is not None:
            checks.append(stats.orthogonality_check([_flat(c) for c in ref], dist.gain, "TF"))
            if np.isfinite(x).all():
                checks += [stats.ks_two_sample(x, y), stats.ad_two_sample(x, y)]
    else:
        if y is not None and ref is not None:
            checks.append(stats.exact_check(cand[0], ref[0], "exact values vs TF"))
        closed = _closed_form(dist, r.keras_shape)
        if closed is not None:
            checks.append(stats.exact_check(cand[0], closed, "exact values vs closed form"))
    if tag:
        checks = [stats.Check(f"{tag}: {c.name}", c.statistic, c.p_value, c.passed, c.threshold,
                              c.note) for c in checks]
    return checks, target


def _flat(k: np.ndarray) -> np.ndarray:
    if k.ndim < 2:
        return k.reshape(-1, 1) if k.ndim == 1 else k.reshape(1, 1)
    return k.reshape(-1, k.shape[-1])


def _closed_form(dist: object, keras_shape: tuple[int, ...]) -> np.ndarray | None:
    if isinstance(dist, Identity) and len(keras_shape) == 2:
        return dist.gain * np.eye(*keras_shape)
    if isinstance(dist, Constant) and dist.is_scalar:
        return np.full(keras_shape, float(dist.value))  # type: ignore[arg-type]
    return None


def check_run(cases: object, n: object, alpha: object, seed: object) -> None:
    """Refuse what a parity run cannot use, before anything runs: non-:class:`Case` cases, a
    sample size below 1, a level outside (0, 1), a seed outside [0, 2**32 - 1]."""
    items = cases if isinstance(cases, list | tuple) else [cases]
    bad = next((c for c in items if not isinstance(c, Case)), None)
    problems = [
        f"cases must be parity Case objects (from matrix(), quick() or mutants()); received "
        f"{type(bad).__name__} {bad!r:.60}" if bad is not None or not isinstance(
            cases, Case | list | tuple) else "",
        "" if isinstance(n, int) and not isinstance(n, bool) and n >= 1 else
        f"n must be an int >= 1; received {n!r:.40}",
        "" if isinstance(alpha, int | float) and not isinstance(alpha, bool) and 0 < alpha < 1
        else f"alpha must be a level in (0, 1); received {alpha!r:.40}",
        "" if isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 1 << 32 else
        f"seed must be an int in [0, 2**32 - 1]; received {seed!r:.40}",
    ]
    message = "; ".join(p for p in problems if p)
    if message:
        raise KerasInitError(f"parity: {message}.")


def run_case(case: Case, *, n: int, alpha: float, seed: int = 0, calibrate: bool = False,
             keep_quantiles: bool = True) -> ParityResult:
    """Run one case at family-wise level ``alpha`` (Holm over the case's checks).

    Args:
        case: the case.
        n: target sample size per side (small tensors are redrawn, up to :data:`MAX_CALLS`).
        alpha: family-wise level of the case.
        seed: seeds the candidate's generator and the TF seeds (deterministic runs).
        calibrate: replace the candidate by a second, independent TF draw (H0 is true).
        keep_quantiles: keep compact quantiles for plots.

    Raises:
        KerasInitError: the reference identifier, shape, layout or version is invalid.
    """
    check_run(case, n, alpha, seed)
    start = time.perf_counter()
    version = parse_version(case.keras_version)
    init = get(case.reference, keras_version=case.keras_version)
    layout = parse_layout(case.layout)
    shape = tuple(int(d) for d in case.shape)
    label = "TF (calibration)" if calibrate else case.candidate_label
    common = dict(case=case.id, reference=f"{init.name} {init.get_config()}", candidate=label,
                  keras_version=version.label(), reference_library=reference_label(version),
                  shape=shape, layout=layout.name, alpha=alpha, expect_fail=case.expect_fail,
                  family=case.family)
    try:
        resolved = init.describe(shape, layout=layout, fans=case.fans)
    except KerasInitError as exc:
        if case.candidate is not None:
            raise
        return _refusal(case, init, layout, shape, version, str(exc), common, start)
    blocks = _blocks(layout, shape, resolved)
    numel = max(1, min(math.prod(b[2]) for b in blocks))
    random = init.spec.is_random
    calls = max(1, min(MAX_CALLS, -(-n // numel))) if random else 1
    draws = []
    for _rows, lay, bshape, r in blocks:
        kshape = _reference_shape(r, case.fans)
        draws.append(None if kshape is None else ReferenceDraws(
            init.serialize(), kshape, version, _axes(lay, bshape, r)))
    first = blocks[0][3]
    base = dict(common, keras_shape=first.keras_shape, distribution=first.distribution.formula())
    try:
        if calibrate:
            cand = [draw_reference(d, n, seed + 1000 + 7 * i, MAX_CALLS) if d is not None
                    else [] for i, d in enumerate(draws)]
        else:
            fill = case.candidate or _default_fill(init, layout, case.fans, seed)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                cand = _draw_candidate(fill, shape, blocks, calls)
    except _CandidateError as exc:
        return ParityResult(**base, checks=(), n=0, n_reference=0,  # type: ignore[arg-type]
                            detectable_error=None, error=str(exc), p_value=0.0,
                            seconds=time.perf_counter() - start)
    checks: list[stats.Check] = []
    n_cand, n_ref = 10**18, 10**18
    quant = None
    target0 = None
    for i, ((_, _, _, r), d) in enumerate(zip(blocks, draws, strict=True)):
        ref = None if d is None else draw_reference(d, n, seed + 7 * i, MAX_CALLS)
        tag = f"block {i}" if len(blocks) > 1 else ""
        block_checks, target = _battery(r, cand[i], ref, tag)
        checks += block_checks
        n_cand = min(n_cand, sum(c.size for c in cand[i]))
        n_ref = min(n_ref, 0 if ref is None else sum(c.size for c in ref))
        if i == 0:
            target0 = target
            if keep_quantiles and random:
                quant = Quantiles.of(np.concatenate([c.ravel() for c in cand[0]]),
                                     None if ref is None else np.concatenate(
                                         [c.ravel() for c in ref]),
                                     None if target is None else target.ppf,
                                     cdf=None if target is None else target.cdf)
    decided, p_case = stats.holm(checks, alpha)
    m = sum(c.p_value is not None for c in decided)
    detectable = (stats.detectable_std_error(target0.kurtosis, n_cand, alpha / max(m, 1))
                  if target0 is not None and target0.var > 0 else None)
    note = ("structure: orthogonality exact; marginal vs TF by KS/AD" if random
            and target0 is None else "exact values")
    return ParityResult(**base, checks=tuple(decided), n=n_cand,  # type: ignore[arg-type]
                        n_reference=n_ref, detectable_error=detectable, p_value=p_case,
                        seconds=time.perf_counter() - start, power_note=note, quantiles=quant)


def _default_fill(init: Initializer, layout: Layout,
                  fans: tuple[float, float] | None, seed: int) -> Fill:
    g = torch.Generator().manual_seed(seed)
    return lambda t: init(t, layout=layout, fans=fans, generator=g)


def _refusal(case: Case, init: Initializer, layout: Layout, shape: tuple[int, ...],
             version: Any, message: str, common: dict[str, Any], start: float) -> ParityResult:
    """kerasinit refuses the case: parity means Keras refuses it too."""
    try:
        kshape = layout.keras_shape(shape)
    except KerasInitError:
        kshape = shape
    keras_raised, detail = False, "Keras accepted it"
    try:
        got = ReferenceDraws(init.serialize(), kshape, version).draw(1)
        if tuple(got.shape) != tuple(kshape):  # e.g. Keras STFT ignores shape[1]
            keras_raised = True
            detail = f"Keras returned shape {tuple(got.shape)} for {tuple(kshape)} (unusable)"
    except Exception as exc:  # Keras raises ValueError / TypeError / TF errors
        keras_raised, detail = True, f"Keras raised {type(exc).__name__}"
    check = stats.Check("refusal parity", 0.0, None, keras_raised,
                        note=f"kerasinit: {message[:90]}; {detail}")
    return ParityResult(**common, keras_shape=kshape,  # type: ignore[arg-type]
                        distribution="(refused)", checks=(check,), n=0, n_reference=0,
                        detectable_error=None, p_value=1.0 if keras_raised else 0.0,
                        seconds=time.perf_counter() - start, power_note="refusal")
