"""Real-time pipeline: committed events → bus (Redis pub/sub or in-process) → hub → WebSockets.

See docs/architecture.md and docs/events.md.
"""
