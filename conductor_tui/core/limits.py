"""Every limit and default of the store, named once: TTLs, graces, ages and size caps."""

from __future__ import annotations

# Leases
DEFAULT_TTL_S = 3600.0  # a claim's lease unless --ttl says otherwise
MAX_TTL_S = 7 * 86400.0  # a lease longer than a week is a mistake, not a plan
UPSTREAM_STALE_S = 3600.0  # upstream's rule: a lock older than an hour whose pid is gone

# Contention and crash recovery
CLAIM_ATTEMPTS = 8  # a claim re-reads and retries this often when others publish first
ENDING_GRACE_S = 30.0  # a release normally takes milliseconds; past this it was interrupted
SENTINEL_GRACE_S = 10.0  # upstream's mkdir-to-rename window is milliseconds; past this, orphan
DOCTOR_GRACE_S = 60.0  # doctor leaves younger leftovers alone: their writer may still be at work

# Housekeeping
ARCHIVE_AGE_S = 7 * 86400.0  # `clean` deletes archived sprints older than this

# Sizes (bytes) and shapes of what is read
MAX_RECORD_BYTES = 1 << 20  # 1 MiB: no record of the protocol comes near this
MAX_ARTIFACT = 8 << 20  # an artifact is a hand-off note, not a data set
MAX_DEPTH = 64  # JSON nesting
MAX_AUDIT_LINE = 64 * 1024
MAX_AUDIT_READ = 4 << 20  # the tail of audit.log that `log` and the app read
