"""The sprint store and everything about it. Imports neither textual nor watchdog."""
