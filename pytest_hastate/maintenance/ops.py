"""The maintenance operations a proof uses, as one typed object (handed out by a fixture, so
proof modules import no boto3-backed module when they are collected)."""

from __future__ import annotations

from pytest_hastate.maintenance.cleanup import CleanupPlan, clean_up
from pytest_hastate.maintenance.sample import lock_cycle, write_sample
from pytest_hastate.tofu.workspace import parse_state


class MaintenanceOps:
    write_sample = staticmethod(write_sample)
    lock_cycle = staticmethod(lock_cycle)
    parse_state = staticmethod(parse_state)
    clean_up = staticmethod(clean_up)
    CleanupPlan = CleanupPlan
