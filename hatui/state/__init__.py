"""What hatui knows about a cluster right now: observations per node and kind, and events.

Sources put observations into the `Store`; views, rules and runbooks read immutable `Snapshot`s.
"""

from hatui.state.observations import AddressObs, KeepalivedProcObs, Kind, Observation, SshObs
from hatui.state.store import Snapshot, Store

__all__ = ["AddressObs", "Kind", "KeepalivedProcObs", "Observation", "Snapshot", "SshObs", "Store"]
