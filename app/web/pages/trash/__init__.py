"""The trash: deleted executions, restored or purged."""
