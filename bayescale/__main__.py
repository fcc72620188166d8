"""``python -m bayescale``: the command-line tool."""

import sys

from bayescale.cli.commands import main

sys.exit(main())
