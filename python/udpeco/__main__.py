"""``python -m udpeco``: the same command line as the ``udpeco`` script."""

import sys

from udpeco.cli import main

if __name__ == "__main__":
    sys.exit(main())
