"""nanostack compatibility: `conductor sprint-sh` (a drop-in for nanostack's conductor/bin/sprint.sh
over our store), the session.json mirror, and `conductor nanostack install|uninstall`.

Every module here imports the core lazily, inside the command that needs it: a sprint-sh
command costs what the native command costs.
"""
