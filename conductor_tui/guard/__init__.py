"""`conductor guard`: the agent hook that keeps an agent holding only read phases from writing.

A best-effort first line, for agents not started under `conductor sandbox` / `conductor run`
(the kernel sandbox is the guarantee, docs/SANDBOX.md); it fails closed (docs/GUARD.md).
"""
