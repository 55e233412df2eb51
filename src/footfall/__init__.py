"""footfall: privacy-first web analytics that speaks Plausible Analytics' protocol."""

from footfall.compiled import use_source_if_stale

__version__ = "0.3.0.dev0"

# Before anything imports the write path: its compiled modules only if they match the source.
HOT_PATH = use_source_if_stale()
