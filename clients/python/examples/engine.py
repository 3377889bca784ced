"""An engine's run: three nodes, a human review, the decision made in the browser.
ATHENA_URL=http://127.0.0.1:8000 ATHENA_TOKEN=ath_... python engine.py WORKFLOW_UUID"""

import sys

from athena_client import AthenaClient

with AthenaClient() as client, client.execution(sys.argv[1], mode="manual") as run:
    with run.node("extract", "Extract invoice fields", input={"invoice": "INV-1042"}) as node:
        node.output = {"vendor": "ACME GmbH", "total": 1280.5}
    with run.node("controller", "Controller approval"):
        decision = run.review("Approve invoice INV-1042 (EUR 1,280.50)", payload=node.output)
    print(f"{decision.status} by {decision.decided_by}: {decision.comment}")
    with run.node("bill", "Create bill in Xero") as node:
        node.output = {"billed": decision.approved}
