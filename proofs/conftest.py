"""The proof suite's fixtures, for the proof modules beside this file; loading it tells the
plugin that this session proves something (it then registers the proof step markers). A pytest
session that collects no proof never loads it, and the plugin stays inert there."""

from pytest_hastate.fixtures import *  # noqa: F403

HASTATE_PROOF_SUITE = True
