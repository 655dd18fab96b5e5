"""The conductor-tui Textual app."""
