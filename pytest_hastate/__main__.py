"""``python -m pytest_hastate`` runs the ``hastate`` command."""

import sys

from pytest_hastate.cli import main

sys.exit(main())
