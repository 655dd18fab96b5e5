"""conductor-tui: a race-free sprint conductor for teams of AI coding agents."""

__version__ = "0.1.0"
