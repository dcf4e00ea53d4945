"""Keras-initialized ``RNN`` (SimpleRNN), ``LSTM`` and ``GRU``.

Keras defaults: kernel glorot_uniform, recurrent kernel orthogonal, bias zeros, and for LSTM
``unit_forget_bias=True``. Per layer and direction (``*_l{k}`` and ``*_l{k}_reverse``):

* ``weight_ih`` (G·H, X) is Keras's kernel (X, G·H); ``weight_hh`` (G·H, H) is Keras's
  recurrent kernel (H, G·H), initialized as **one** matrix (orthogonal: the whole (H, G·H)
  matrix has orthonormal rows; the H×H gate blocks are not orthogonal).
* Keras has one bias: it is written to ``bias_ih`` and ``bias_hh`` is zero (their sum is what
  the cell uses). The LSTM forget slice ``bias_ih[H:2H]`` is exactly 1. GRU (Keras 3
  ``reset_after=True``): Keras's (2, 3H) bias rows go to ``bias_ih`` / ``bias_hh``, with the
  gate blocks reordered (Keras z, r, h; torch r, z, n).
* LSTM ``proj_size > 0``: ``weight_hr`` has no Keras counterpart and keeps torch's default
  U(±1/√H) (drawn from ``generator``).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from kerasinit.bridge.initializer import RngName
from kerasinit.mappings.versions import VersionLike
from kerasinit.nn._args import check_args
from kerasinit.nn._base import (
    JIT_IGNORED,
    KerasLayerMixin,
    configure,
    private_generator,
    torch_uniform_,
)

__all__ = ["GRU", "LSTM", "RNN"]


class _Recurrent(KerasLayerMixin):
    _keras = "SimpleRNN"

    def _keras_init(
        self, torch_kwargs: dict[str, Any], kernel_initializer: object,
        recurrent_initializer: object, bias_initializer: object, unit_forget_bias: object,
        keras_version: VersionLike, seed: int | None, generator: torch.Generator | None,
        rng: RngName | None,
    ) -> None:
        device, dtype = torch_kwargs.pop("device"), torch_kwargs.pop("dtype")
        torch_kwargs = check_args(type(self).__name__, torch_kwargs, device, dtype, generator,
                                  positive=("input_size",))
        torch_kwargs.update(device=device, dtype=dtype)
        given = {"kernel_initializer": kernel_initializer,
                 "recurrent_initializer": recurrent_initializer,
                 "bias_initializer": bias_initializer}
        bias = bool(torch_kwargs.get("bias", True))
        present = {"bias_initializer": bias, "unit_forget_bias": bias}
        if self._keras == "LSTM":
            given["unit_forget_bias"] = unit_forget_bias
        config = configure(type(self).__name__, self._keras, given, present, keras_version,
                           seed, rng)
        super().__init__(**torch_kwargs)  # type: ignore[call-arg]
        self._keras_setup(config, generator)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialize every layer and direction with the layer's Keras initializers."""
        if not self._keras_reset():
            return
        assert isinstance(self, nn.RNNBase)
        bound = 1.0 / math.sqrt(self.hidden_size)
        for name, param in self.named_parameters(recurse=False):
            if name.startswith("weight_hr"):  # LSTM proj_size: no Keras counterpart
                torch_uniform_(param, bound,
                               private_generator(self.generator, self.seed, param.device))

    def __prepare_scriptable__(self) -> nn.Module:
        """What ``torch.jit.script`` compiles: the plain torch class sharing these parameters.

        torch registers ``forward`` overloads of ``nn.LSTM``/``GRU``/``RNN`` under the class
        name, which a same-named subclass cannot reuse; the Keras initialization has already
        run, so scripting the torch class loses nothing at run time. As with torch's own
        modules, the scripted layer is called from a scripted model (torch compiles its
        overloaded ``forward`` as ``forward__0``/``forward__1``).
        """
        base = next(c for c in type(self).__mro__ if c.__module__.startswith("torch.nn."))
        plain: nn.Module = object.__new__(base)
        plain.__dict__.update({k: v for k, v in self.__dict__.items() if k not in JIT_IGNORED})
        return plain


class RNN(_Recurrent, nn.RNN):
    """``torch.nn.RNN`` initialized as Keras ``SimpleRNN``; see the module doc.

    Example:
        >>> from kerasinit import nn as knn
        >>> rnn = knn.RNN(8, 16, seed=0)
        >>> w = rnn.weight_hh_l0.T                              # Keras recurrent kernel (H, H)
        >>> bool(((w @ w.T) - __import__("torch").eye(16)).abs().max() < 1e-5)
        True
    """

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1,
        nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
        dropout: float = 0.0, bidirectional: bool = False, device: Any = None,
        dtype: Any = None, *, kernel_initializer: object = None,
        recurrent_initializer: object = None, bias_initializer: object = None,
        keras_version: VersionLike = None, seed: int | None = None,
        generator: torch.Generator | None = None, rng: RngName | None = "torch",
    ) -> None:
        self._keras_init(
            {"input_size": input_size, "hidden_size": hidden_size, "num_layers": num_layers,
             "nonlinearity": nonlinearity, "bias": bias, "batch_first": batch_first,
             "dropout": dropout, "bidirectional": bidirectional, "device": device,
             "dtype": dtype},
            kernel_initializer, recurrent_initializer, bias_initializer, None, keras_version,
            seed, generator, rng)


class LSTM(_Recurrent, nn.LSTM):
    """``torch.nn.LSTM`` initialized as Keras ``LSTM`` (forget-gate bias exactly 1).

    Gate order is the same in both (Keras i, f, c, o = torch i, f, g, o).

    Example:
        >>> from kerasinit import nn as knn
        >>> lstm = knn.LSTM(128, 256, num_layers=2, bidirectional=True)
        >>> lstm.bias_ih_l1_reverse[256:512].unique().tolist(), lstm.bias_hh_l1_reverse.abs().max().item()
        ([1.0], 0.0)
    """

    _keras = "LSTM"

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
        batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
        proj_size: int = 0, device: Any = None, dtype: Any = None, *,
        kernel_initializer: object = None, recurrent_initializer: object = None,
        bias_initializer: object = None, unit_forget_bias: bool | None = None,
        keras_version: VersionLike = None, seed: int | None = None,
        generator: torch.Generator | None = None, rng: RngName | None = "torch",
    ) -> None:
        self._keras_init(
            {"input_size": input_size, "hidden_size": hidden_size, "num_layers": num_layers,
             "bias": bias, "batch_first": batch_first, "dropout": dropout,
             "bidirectional": bidirectional, "proj_size": proj_size, "device": device,
             "dtype": dtype},
            kernel_initializer, recurrent_initializer, bias_initializer, unit_forget_bias,
            keras_version, seed, generator, rng)


class GRU(_Recurrent, nn.GRU):
    """``torch.nn.GRU`` initialized as Keras ``GRU`` (``reset_after=True``, as torch computes).

    Example:
        >>> from kerasinit import nn as knn
        >>> gru = knn.GRU(32, 64, recurrent_initializer="orthogonal", seed=1)
        >>> gru.weight_hh_l0.shape, bool((gru.bias_ih_l0 == 0).all())
        (torch.Size([192, 64]), True)
    """

    _keras = "GRU"

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
        batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
        device: Any = None, dtype: Any = None, *, kernel_initializer: object = None,
        recurrent_initializer: object = None, bias_initializer: object = None,
        keras_version: VersionLike = None, seed: int | None = None,
        generator: torch.Generator | None = None, rng: RngName | None = "torch",
    ) -> None:
        self._keras_init(
            {"input_size": input_size, "hidden_size": hidden_size, "num_layers": num_layers,
             "bias": bias, "batch_first": batch_first, "dropout": dropout,
             "bidirectional": bidirectional, "device": device, "dtype": dtype},
            kernel_initializer, recurrent_initializer, bias_initializer, None, keras_version,
            seed, generator, rng)
