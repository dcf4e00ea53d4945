"""Pure data and parsing: Keras identifiers -> frozen specs -> exact distributions.

Imports no torch. The bridge (:mod:`kerasinit.bridge`) turns the resolved distributions into
in-place torch initializers.
"""

from kerasinit.mappings.distributions import (
    STFT as STFT,
)
from kerasinit.mappings.distributions import (
    TRUNCNORM_STD as TRUNCNORM_STD,
)
from kerasinit.mappings.distributions import (
    Constant as Constant,
)
from kerasinit.mappings.distributions import (
    Distribution as Distribution,
)
from kerasinit.mappings.distributions import (
    Identity as Identity,
)
from kerasinit.mappings.distributions import (
    Normal as Normal,
)
from kerasinit.mappings.distributions import (
    Orthogonal as Orthogonal,
)
from kerasinit.mappings.distributions import (
    TruncatedNormal as TruncatedNormal,
)
from kerasinit.mappings.distributions import (
    Uniform as Uniform,
)
from kerasinit.mappings.errors import (
    InitializerArgumentError as InitializerArgumentError,
)
from kerasinit.mappings.errors import (
    KerasInitError as KerasInitError,
)
from kerasinit.mappings.errors import (
    LayoutError as LayoutError,
)
from kerasinit.mappings.errors import (
    UnknownInitializerError as UnknownInitializerError,
)
from kerasinit.mappings.errors import (
    UnsupportedInitializerError as UnsupportedInitializerError,
)
from kerasinit.mappings.errors import (
    UnsupportedVersionError as UnsupportedVersionError,
)
from kerasinit.mappings.fans import axes_fans as axes_fans
from kerasinit.mappings.fans import compute_fans as compute_fans
from kerasinit.mappings.parse import canonical_name as canonical_name
from kerasinit.mappings.parse import parse_identifier as parse_identifier
from kerasinit.mappings.resolve import Resolved as Resolved
from kerasinit.mappings.resolve import resolve as resolve
from kerasinit.mappings.versions import LATEST as LATEST
from kerasinit.mappings.versions import KerasVersion as KerasVersion
from kerasinit.mappings.versions import parse_version as parse_version
