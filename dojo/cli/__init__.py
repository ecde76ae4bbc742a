"""The `dojo` command: `dojo.cli.main` builds it from one module per command group."""
