"""The proof suite's fixtures: the proof modules beside this file use them; a pytest session
that collects no proof never loads them (the plugin stays inert there)."""

from pytest_hastate.fixtures import *  # noqa: F403
