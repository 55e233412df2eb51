"""footfall: privacy-first web analytics that speaks Plausible Analytics' protocol."""

__version__ = "0.1.0"
