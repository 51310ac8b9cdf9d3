"""The local HA lab: a real SeaweedFS cluster on loopback (``hastate lab ...``)."""

from pytest_hastate.lab.artifacts import start
from pytest_hastate.lab.cluster import LabCluster
from pytest_hastate.lab.processes import LabError

__all__ = ["LabCluster", "LabError", "start"]
