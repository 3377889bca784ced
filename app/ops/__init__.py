"""Operations: health and readiness probes, Prometheus metrics, structured logs with request ids.

Kept free of imports from the rest of the app at package level: ``app.realtime`` calls into
``app.ops.metrics`` and must not pull the app back in.
"""
