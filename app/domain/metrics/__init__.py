"""Execution metrics: counts, failure rates and percentiles per time bucket, workflow and node."""
