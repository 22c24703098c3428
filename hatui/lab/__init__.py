"""The lab: a real keepalived + MariaDB cluster in network namespaces on this machine."""

from .lab import FAULTS, Lab
from .preflight import LabError
from .spec import LabSpec, default_spec

__all__ = ["FAULTS", "Lab", "LabError", "LabSpec", "default_spec"]
