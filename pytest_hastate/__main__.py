"""``python -m pytest_hastate`` runs the ``hastate`` command."""

import sys

from pytest_hastate.tools.cli import main

sys.exit(main())
