"""``python -m bayescale``: the command-line tool."""

import sys

from bayescale.cli import main

sys.exit(main())
