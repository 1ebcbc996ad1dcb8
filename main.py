"""The one entry point: the GUI by default, headless subcommands otherwise (``python main.py --help``)."""

import sys

from frl_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
