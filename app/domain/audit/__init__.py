"""The operator audit log: who stopped, deleted, restored, flagged or bulk-acted on what, and why."""
