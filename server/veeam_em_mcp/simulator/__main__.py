"""`python -m veeam_em_mcp.simulator`: serve the EM simulator in the foreground (see runner.main)."""

import sys

from .runner import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
