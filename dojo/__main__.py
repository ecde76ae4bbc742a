"""`python -m dojo` is the `dojo` command."""

from dojo.cli.main import main

raise SystemExit(main())
