"""Seed-faithful values written in place, chunk by chunk, equal the whole-tensor draw.

Every stream (TF Philox, JAX Threefry both layouts, Keras-on-torch's sequential generator)
writes uniform/normal/truncated-normal values straight into a layout's Keras view of the
target in chunks. Here the chunk sizes are shrunk to a few values so that odd sizes, chunk
boundaries inside rows and partial Philox blocks all occur, and the result is compared
bit for bit with the whole draw (itself checked against TF/JAX goldens elsewhere), for
strided views, other dtypes and every layout.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

import kerasinit
from kerasinit.bridge import faithful
from kerasinit.bridge.rng import keras_jax, keras_torch, native, philox, tensorflow
from kerasinit.bridge.rng.sink import Columns, write_flat
from kerasinit.mappings.distributions import Normal, TruncatedNormal, Uniform
from kerasinit.mappings.versions import parse_version

RNGS = ["tensorflow", "jax", "jax-0.4.38", "keras-torch"]
DISTS = [Uniform(-0.7, 1.3), Normal(0.25, 1.5), TruncatedNormal(-0.5, 0.75, -2.0, 1.0)]
V3 = parse_version("3")


@pytest.fixture(params=["native", "numpy"])
def tiny_chunks(request: pytest.FixtureRequest,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tiny chunks, for the C kernels (where built) and for the NumPy fallback."""
    monkeypatch.setattr(philox, "CHUNK_BLOCKS", 5)
    monkeypatch.setattr(tensorflow, "NATIVE_CHUNK", 5)
    monkeypatch.setattr(keras_jax, "CHUNK", 7)
    monkeypatch.setattr(keras_torch, "CHUNK", 48)
    if request.param == "numpy":
        with native.disabled():
            yield
    else:
        yield


def _whole(dist: object, shape: tuple[int, ...], rng: str) -> torch.Tensor:
    return faithful.sample_distribution(dist, shape, seed=11, rng=rng, keras_version=V3)


def _into(dist: object, out: torch.Tensor, rng: str) -> torch.Tensor:
    return faithful.sample_distribution(dist, tuple(out.shape), seed=11, rng=rng,
                                        keras_version=V3, out=out, dtype=out.dtype)


@pytest.mark.parametrize("rng", RNGS)
@pytest.mark.parametrize("dist", DISTS, ids=["uniform", "normal", "truncated"])
@pytest.mark.usefixtures("tiny_chunks")
def test_chunked_views_equal_whole(rng: str, dist: object) -> None:
    for n_rows, n_cols in [(1, 1), (1, 3), (3, 5), (4, 4), (17, 3), (7, 41)]:
        expected = _whole(dist, (n_rows, n_cols), rng)
        contiguous = _into(dist, torch.empty(n_rows, n_cols), rng)
        assert torch.equal(contiguous, expected), (n_rows, n_cols)
        transposed = torch.full((n_cols, n_rows), float("nan")).t()     # nn.Linear's view
        assert torch.equal(_into(dist, transposed, rng), expected)
        big = torch.full((n_rows, n_cols + 3), float("nan"))
        assert torch.equal(_into(dist, big[:, 1:n_cols + 1], rng), expected)  # row slices
        assert big[:, 0].isnan().all() and big[:, n_cols + 1:].isnan().all()
        for dtype in (torch.float64, torch.float16, torch.bfloat16):
            got = _into(dist, torch.empty(n_cols, n_rows, dtype=dtype).t(), rng)
            assert torch.equal(got, expected.to(dtype)), dtype


@pytest.mark.parametrize("rng", RNGS)
@pytest.mark.usefixtures("tiny_chunks")
def test_chunked_conv_view_and_scalar(rng: str) -> None:
    dist = TruncatedNormal(0.0, 1.0, -2.0, 2.0)
    w = torch.empty(5, 3, 2, 3)                        # Conv2d(3, 5, (2, 3)).weight
    view = w.permute(2, 3, 1, 0)                       # Keras (2, 3, 3, 5)
    assert torch.equal(_into(dist, view, rng), _whole(dist, (2, 3, 3, 5), rng))
    assert torch.equal(_into(dist, torch.empty(()), rng), _whole(dist, (), rng))


def test_keras_torch_chunks_of_16_reproduce_one_call() -> None:
    """torch's CPU normal_: blocks of 16, the tail redrawn; chunked calls keep the stream."""
    for n in (16, 17, 31, 33, 100, 4099):
        out = torch.empty(n)
        keras_torch._sample_chunked(Normal(0.0, 1.0), 3, 0, out)  # default chunk
        g = keras_torch.generator(3, 0, torch.device("cpu"))
        assert torch.equal(out, torch.normal(0.0, 1.0, size=(n,), generator=g))


LAYOUTS = [
    ("torch", (6, 5)), ("torch", (8, 3, 3, 2)), ("keras", (3, 3, 2, 8)), ("embedding", (9, 4)),
    (kerasinit.layouts.Depthwise(2), (6, 1, 3, 3)), ("gru", (9, 4)), ("gru", (9,)),
    ("gru", (30, 7)),
    (kerasinit.layouts.MHAProjection(2), (6, 5)), (kerasinit.layouts.MHAOutput(2), (5, 6)),
    (kerasinit.layouts.mha_in_proj(2), (12, 4)),
]


@pytest.mark.parametrize("rng", RNGS)
@pytest.mark.parametrize("name", ["glorot_uniform", "random_normal", "he_normal"])
@pytest.mark.usefixtures("tiny_chunks")
def test_every_layout_matches_whole_then_copied(rng: str, name: str) -> None:
    init = kerasinit.get(name, seed=5, rng=rng)
    for layout, shape in LAYOUTS:
        got = init(torch.empty(shape), layout=layout)
        expected = torch.empty(shape)
        for rows, block_layout, resolved in init.plan(expected, layout=layout):
            target = expected if rows is None else expected[rows]
            k = faithful.sample_keras(resolved, seed=5, call_index=0, rng=rng, keras_version=V3,
                                      dtype=torch.float32, device=torch.device("cpu"))
            target.copy_(block_layout.to_torch(k, tuple(target.shape)))
        assert torch.equal(got, expected), (layout, shape)


def test_write_flat_ranges() -> None:
    for shape, perm in [((4, 5), (1, 0)), ((2, 3, 4), (2, 0, 1)), ((6,), (0,))]:
        base = torch.zeros(shape)
        view = base.permute(*perm)
        n = view.numel()
        for start in range(n):
            for stop in range(start, n + 1):
                base.zero_()
                write_flat(view, start, torch.arange(start, stop, dtype=torch.float32) + 1)
                flat = view.reshape(-1)
                assert flat[start:stop].tolist() == list(range(start + 1, stop + 1))
                assert not flat[:start].any() and not flat[stop:].any()
        bf = torch.zeros(shape, dtype=torch.bfloat16).permute(*perm)   # the torch path
        write_flat(bf, 1, torch.arange(n - 1, dtype=torch.float32))
        assert bf.reshape(-1)[1:].tolist() == list(range(n - 1))


def _reference_orthogonal(rng: str, shape: tuple[int, ...], gain: float) -> torch.Tensor:
    """Keras's Orthogonal the straightforward way: whole normal, ``linalg.qr``, sign, gain."""
    rows, cols = int(torch.tensor(shape[:-1]).prod()), shape[-1]
    flat = (max(rows, cols), min(rows, cols))
    a = _whole(Normal(0.0, 1.0), flat, rng)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if rng == "tensorflow":
            q, r = torch.linalg.qr(a.double())
            q = (q * torch.where(r.diagonal() < 0, -1.0, 1.0).double()).float()
        elif rng == "keras-torch":
            q, r = torch.linalg.qr(a)
            q = q * torch.sign(r.diagonal())
        else:
            import scipy.linalg

            qn, rn = scipy.linalg.qr(a.numpy(), mode="economic", check_finite=False)
            q = torch.from_numpy(qn) * torch.from_numpy(rn.diagonal().copy()).sign()
    finally:
        torch.set_num_threads(threads)
    if rows < cols:
        q = q.t()
    return q.reshape(shape) * float(torch.tensor(gain, dtype=torch.float32))


@pytest.mark.parametrize("rng", RNGS)
def test_orthogonal_in_place_equals_reference(rng: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if rng.startswith("jax"):
        pytest.importorskip("scipy")
    from kerasinit.bridge.rng import orthogonal

    monkeypatch.setattr(orthogonal, "SLAB", 7)        # slabs end inside rows
    init = kerasinit.get({"class_name": "Orthogonal", "config": {"gain": 1.3}}, seed=11,
                         rng=rng)
    for layout, shape in [("keras", (7, 4)), ("keras", (4, 7)), ("torch", (9, 13)),
                          ("torch", (5, 3, 2, 3)), ("keras", (3, 3, 2, 5))]:
        got = init(torch.empty(shape), layout=layout)
        keras_shape = kerasinit.describe("orthogonal", shape, layout=layout).keras_shape
        expected = _reference_orthogonal(rng, tuple(keras_shape), 1.3)
        if layout == "torch":
            expected = kerasinit.layouts.TorchLayout().to_torch(expected, shape)
        assert torch.equal(got, expected), (rng, layout, shape)
    half = init(torch.empty(13, 9, dtype=torch.float16))
    assert torch.equal(half, init(torch.empty(13, 9)).half())


def test_write_flat_columns() -> None:
    """GRU's Keras view: torch gate blocks transposed side by side; every range lands right."""
    t = torch.zeros(6, 4)                               # (3H, X), H = 2
    gates = t.chunk(3, 0)
    view = Columns([gates[1].t(), gates[0].t(), gates[2].t()])
    assert tuple(view.shape) == (4, 6)
    expected = torch.cat([gates[1], gates[0], gates[2]]).t()   # what "gru".to_keras gives
    for start in range(24):
        for stop in range(start, 25):
            t.zero_()
            write_flat(view, start, torch.arange(start, stop, dtype=torch.float32) + 1)
            flat = torch.cat([gates[1], gates[0], gates[2]]).t().reshape(-1)
            assert flat[start:stop].tolist() == list(range(start + 1, stop + 1))
            assert not flat[:start].any() and not flat[stop:].any()
    assert expected.shape == (4, 6)


def test_truncated_retries_numpy_equal_torch() -> None:
    """The CPU (NumPy) completion of short truncated-normal groups equals the torch one
    (which CUDA runs), on the ~17 % short groups of 2^16 groups, several rounds deep."""
    from kerasinit.bridge.rng import libm
    from kerasinit.bridge.rng import tensorflow as tfr

    stream = tfr.key_counter((7, 0))
    key, c2, c3 = stream
    groups = 1 << 16
    cpu = torch.device("cpu")
    box = libm.BoxMuller(cpu, tabulated=False)
    w = philox.philox_words(key, c2, c3, 0, groups, cpu, stride=256)
    first = torch.empty(groups, 4)
    box.pair(w[0], w[1], first[:, 0], first[:, 1])
    box.pair(w[2], w[3], first[:, 2], first[:, 3])
    rows = torch.nonzero((first.abs() >= 2).any(1)).view(-1)
    assert rows.numel() > 10000
    ref = tfr._finish(stream, box, first.index_select(0, rows), rows, cpu)
    got = tfr._finish_numpy(stream, box, first.index_select(0, rows).numpy(), rows.numpy())
    assert torch.equal(ref, torch.from_numpy(got))
