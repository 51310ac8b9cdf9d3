"""The local HA labs: a real SeaweedFS or Ceph RGW cluster on loopback (``hastate lab ...``).

``engine`` is the engine-neutral lab, ``seaweedfs`` and ``ceph`` its engines, ``artifacts`` what
a lab writes for a proof (under a policy profile, ``policy``).
"""

from pytest_hastate.errors import LabError
from pytest_hastate.lab.artifacts import start
from pytest_hastate.lab.engine import LabCluster

__all__ = ["LabCluster", "LabError", "start"]
