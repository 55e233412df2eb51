"""Groups of `footfall` subcommands, one module per area, each registered in cli.py."""
