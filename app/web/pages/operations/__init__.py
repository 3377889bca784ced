"""Bulk operations on the executions a view selects (preview, run, follow)."""
