"""The local HA lab: a real SeaweedFS cluster on loopback (``hastate lab ...``)."""

from pytest_hastate.errors import LabError
from pytest_hastate.lab.artifacts import start
from pytest_hastate.lab.cluster import LabCluster

__all__ = ["LabCluster", "LabError", "start"]
