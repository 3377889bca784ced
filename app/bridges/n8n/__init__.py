"""``athena bridge n8n``: an n8n instance's workflows and executions, mirrored live into a workspace
through n8n's public REST API, with Athena approvals that resume n8n's Wait nodes (docs/bridges.md).

- ``client``: n8n's public API (and the resume webhook);
- ``mapping``: pure translation of n8n's objects (statuses, run data, graphs, Wait nodes);
- ``tables`` / ``store``: the bridge's rows (migration 0021): cursor, health, id links;
- ``mirror``: writes through the service layer (executions, approvals), keyed by n8n's ids;
- ``actions``: Athena -> n8n (decided approvals resume the execution; stops are reported);
- ``runner``: the poll loop with backoff and heartbeat; ``status``: what /ready and /metrics read.
"""
