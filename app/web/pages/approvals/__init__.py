"""The approver inbox (its controller and view state are still app/web/approvals.py's)."""
