"""``python -m digitlab ...`` runs the command-line interface."""

import sys

from digitlab.cli import main

sys.exit(main())
