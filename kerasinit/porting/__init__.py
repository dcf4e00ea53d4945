"""Porting: read the initializers of a saved Keras model and apply them to a torch model.

>>> import kerasinit
>>> plan = kerasinit.porting.read('{"class_name": "Sequential", "keras_version": "2.2.4", '
...     '"config": [{"class_name": "Dense", "config": {"name": "fc", "units": 4, '
...     '"batch_input_shape": [null, 8]}}]}')
>>> plan.rows[0].keras_shape, plan.rows[0].resolved.distribution.formula()
((8, 4), 'U[-0.707107, 0.707107)')

``read`` also takes a live Keras model object (a keras_hub backbone, any Keras 3 model): see
:mod:`kerasinit.porting.live`.

Files are data: no module named in a config is imported and no ``Lambda`` code is run.
"""

from kerasinit.porting.apply import ApplyReport as ApplyReport
from kerasinit.porting.apply import PlanMismatchError as PlanMismatchError
from kerasinit.porting.build import CustomObjectError as CustomObjectError
from kerasinit.porting.build import UnknownLayerError as UnknownLayerError
from kerasinit.porting.layerdefs import RefusedConfigError as RefusedConfigError
from kerasinit.porting.live import read as read
from kerasinit.porting.load_report import LoadReport as LoadReport
from kerasinit.porting.load_report import WeightsMismatchError as WeightsMismatchError
from kerasinit.porting.plan import Plan as Plan
from kerasinit.porting.plan import PlanLayer as PlanLayer
from kerasinit.porting.plan import PlanRow as PlanRow
from kerasinit.porting.readers import MAX_CONFIG_BYTES as MAX_CONFIG_BYTES
from kerasinit.porting.readers import ModelFileError as ModelFileError
from kerasinit.porting.verify import verify as verify
from kerasinit.porting.verify_report import VerifyReport as VerifyReport

__all__ = [
    "MAX_CONFIG_BYTES",
    "ApplyReport",
    "CustomObjectError",
    "LoadReport",
    "ModelFileError",
    "Plan",
    "PlanLayer",
    "PlanMismatchError",
    "PlanRow",
    "RefusedConfigError",
    "UnknownLayerError",
    "VerifyReport",
    "WeightsMismatchError",
    "read",
    "verify",
]
