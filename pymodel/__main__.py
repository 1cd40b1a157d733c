"""``python -m pymodel``: see pymodel/cli.py."""

from .cli import main

raise SystemExit(main())
