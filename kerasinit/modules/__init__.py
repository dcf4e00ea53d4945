"""The module level: Keras initializers on whole torch modules.

* :mod:`~kerasinit.modules.params`: the Keras view of a torch module's parameters
  (:class:`ParamSpec`: role, initializer keyword, layout, Keras layer).
* :mod:`~kerasinit.modules.rnn`: RNN biases (one Keras bias over torch's ``bias_ih`` +
  ``bias_hh``), GRU ``reset_after``.
* :mod:`~kerasinit.modules.report`: :class:`InitReport`, what was written where.
* :mod:`~kerasinit.modules.apply`: :func:`initialize` and :func:`keras_defaults_`.

>>> import torch
>>> from kerasinit.modules import keras_defaults_
>>> fc = torch.nn.Linear(4, 3)
>>> report = keras_defaults_(fc, seed=0)     # Dense: glorot_uniform kernel, zeros bias
>>> fc.bias.abs().max().item(), bool(fc.weight.abs().max() <= (6 / 7) ** 0.5)
(0.0, True)
"""

from kerasinit.modules.apply import ModuleKeywordError as ModuleKeywordError
from kerasinit.modules.apply import initialize as initialize
from kerasinit.modules.apply import keras_defaults_ as keras_defaults_
from kerasinit.modules.params import ParamSpec as ParamSpec
from kerasinit.modules.params import keras_defaults as keras_defaults
from kerasinit.modules.params import module_params as module_params
from kerasinit.modules.report import InitReport as InitReport
from kerasinit.modules.report import ReportRow as ReportRow
from kerasinit.modules.report import SkippedParam as SkippedParam

__all__ = [
    "InitReport",
    "ModuleKeywordError",
    "ParamSpec",
    "ReportRow",
    "SkippedParam",
    "initialize",
    "keras_defaults",
    "keras_defaults_",
    "module_params",
]
