"""``python -m veeam_em_mcp`` runs the same CLI as the ``veeam-em-mcp`` console script."""

from .cli import main

raise SystemExit(main())
