"""Every Python the tests start under CONDUCTOR_HIDE_PROC=1 hides /proc from our package
(conductor_hide_proc.py, beside this file; tests/conftest.py puts this folder on PYTHONPATH)."""

import conductor_hide_proc  # noqa: F401  (installs itself when the mode is on)
