"""The insights page: charts of volume, failures, durations and waits over a chosen range."""
