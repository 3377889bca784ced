"""What the demo's executions say: node errors, node outputs and the payloads reviewers read."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any
from urllib.parse import urlparse

from app.demo.graph import Node

ERRORS: dict[str, list[str]] = {
    "http_request": [
        "HTTP 502 from {host} after 3 retries",
        "HTTP 429 Too Many Requests from {host} (Retry-After: 60)",
        "ReadTimeout: {host} did not answer within 30s",
        "HTTP 401 Unauthorized from {host}: access token expired",
        "HTTP 503 Service Unavailable from {host}",
        "ConnectError: [Errno -3] Temporary failure in name resolution ({host})",
    ],
    "code": [
        "KeyError: 'customer_id' in node {name}",
        "TypeError: unsupported operand type(s) for +: 'NoneType' and 'float' in node {name}",
        "ValueError: invalid IBAN checksum for 'DE89 3704 0044 0532 0130 01'",
        "ZeroDivisionError: division by zero (line 42 of {name})",
    ],
    "llm": [
        "OpenAI API error 429: Rate limit reached for gpt-4o-mini on tokens per min",
        "Model output did not match the JSON schema: missing required property 'category'",
        "context_length_exceeded: this model's maximum context length is 128000 tokens",
    ],
    "database": [
        "OperationalError: could not serialize access due to concurrent update",
        "IntegrityError: duplicate key value violates unique constraint on {table}",
        "QueryCanceled: canceling statement due to statement timeout",
    ],
    "email": [
        "SMTP 550 5.1.1 <ap@vendor-example.com>: Recipient address rejected",
        "SMTP 421 4.7.0 Try again later, closing connection",
    ],
}
VENDORS = ["Acme Supplies GmbH", "Northwind Traders", "Globex Logistics", "Initech Software", "Umbrella Office BV"]
CUSTOMERS = ["Hooli Inc.", "Pied Piper", "Vandelay Industries", "Soylent Corp", "Stark Retail", "Wayne Foods"]
PEOPLE = ["Ana Souza", "Liam Becker", "Mei Tanaka", "Omar Haddad", "Sofia Rossi", "Jonas Berg"]
NOTES = [
    "Third failure this hour on the same node - check the upstream API status page.",
    "Customer escalated by email; please rerun once the token is rotated.",
    "Looks like a data issue in the source record, assigning to RevOps.",
    "Watch this one: retried twice already.",
]


def node_error(node: Node, rng: random.Random) -> str:
    templates = ERRORS.get(node.type) or ERRORS["code"]
    host = urlparse(str(node.params.get("url") or "")).hostname or "upstream"
    table = node.params.get("table") or "records"
    return rng.choice(templates).format(host=host, name=node.name, table=table)


def node_input(node: Node, previous: dict[str, Any] | None, rng: random.Random) -> dict[str, Any]:
    """What a node receives: the output of the node before it (as an engine hands items on), or the
    trigger's payload for the first node, with what the node does to it (URL, table, model)."""
    items = previous if previous is not None else _trigger_payload(node, rng)
    match node.type:
        case "http_request":
            method, url = node.params.get("method") or "GET", node.params.get("url") or "https://upstream.example"
            return {"request": {"method": method, "url": url}, "items": items}
        case "database":
            return {"table": node.params.get("table") or "records", "items": items}
        case "llm":
            return {"model": node.params.get("model") or "gpt-4o-mini", "items": items}
        case _:
            return items


def _trigger_payload(node: Node, rng: random.Random) -> dict[str, Any]:
    if node.type == "schedule":
        return {"cron": node.params.get("cron"), "fired_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    event = rng.choice(["created", "updated", "submitted"])
    return {"event": event, "id": f"evt_{rng.getrandbits(40):010x}", "received_via": node.type or "webhook"}


def node_output(node: Node, rng: random.Random) -> dict[str, Any]:
    """A small, plausible output (kept short: it is stored on every run)."""
    match node.type:
        case "http_request":
            return {"status": rng.choice([200, 200, 201]), "items": rng.randint(1, 250)}
        case "llm":
            return {"tokens": rng.randint(300, 6000), "confidence": round(rng.uniform(0.6, 0.99), 2)}
        case "database":
            return {"rows": rng.randint(0, 5000)}
        case "email" | "slack":
            return {"delivered": True}
        case "webhook":
            return {"content_type": "application/json", "bytes": rng.randint(300, 9000)}
        case "schedule":
            return {"cron": node.params.get("cron"), "late_ms": rng.randint(2, 900)}
        case _:
            return {"items": rng.randint(1, 40)}


def money(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2)


def _invoice(rng: random.Random) -> tuple[str, dict[str, Any]]:
    lines: list[dict[str, Any]] = [
        {"description": d, "quantity": rng.randint(1, 20), "unit_price": money(rng, 40, 1800)}
        for d in rng.sample(["Laptops", "Licences", "Consulting days", "Freight", "Office chairs", "Support plan"], 3)
    ]
    total = round(sum(line["quantity"] * line["unit_price"] for line in lines), 2)
    vendor = rng.choice(VENDORS)
    number = f"INV-{rng.randint(2024, 2025)}-{rng.randint(1000, 9999)}"
    payload = {"invoice_number": number, "vendor": vendor, "currency": "EUR", "amount": total, "lines": lines}
    payload["purchase_order"] = f"PO-{rng.randint(40000, 49999)}"
    return f"Approve invoice {number} from {vendor} (EUR {total:,.2f})", payload


def _refund(rng: random.Random) -> tuple[str, dict[str, Any]]:
    amount = money(rng, 120, 4200)
    customer = rng.choice(CUSTOMERS)
    signals = rng.sample(["new card", "mismatched country", "3rd refund in 30 days", "high-value order"], 2)
    payload: dict[str, Any] = {"customer": customer, "charge": f"ch_{rng.getrandbits(48):012x}", "currency": "USD"}
    payload |= {"amount": amount, "reason": rng.choice(["damaged", "not as described", "duplicate charge"])}
    payload["fraud_signals"] = signals
    return f"Refund ${amount:,.2f} to {customer}?", payload


def _contract(rng: random.Random) -> tuple[str, dict[str, Any]]:
    customer = rng.choice(CUSTOMERS)
    arr = money(rng, 24000, 240000)
    discount = rng.choice([5, 10, 12, 15, 20])
    payload = {"account": customer, "current_arr": arr, "discount_pct": discount, "term_months": 12}
    payload["renewal_date"] = (dt.date.today() + dt.timedelta(days=rng.randint(20, 60))).isoformat()
    return f"Approve {discount}% renewal discount for {customer}", payload


def _payroll(rng: random.Random) -> tuple[str, dict[str, Any]]:
    month = dt.date.today().strftime("%B %Y")
    payload = {"period": month, "employees": rng.randint(80, 140), "gross_total": money(rng, 480000, 900000)}
    payload |= {"currency": "EUR", "variance_pct": round(rng.uniform(3.1, 9.5), 1)}
    return f"Sign off {month} payroll ({payload['variance_pct']}% above last month)", payload


def _expense(rng: random.Random) -> tuple[str, dict[str, Any]]:
    person = rng.choice(PEOPLE)
    total = money(rng, 180, 3800)
    payload = {"employee": person, "total": total, "currency": "EUR", "receipts": rng.randint(2, 14)}
    payload["violations"] = rng.sample(["hotel above cap", "missing receipt", "alcohol", "weekend travel"], 1)
    return f"Expense report of {person} (EUR {total:,.2f}) breaks policy", payload


def _vendor(rng: random.Random) -> tuple[str, dict[str, Any]]:
    vendor = rng.choice(VENDORS)
    payload = {"vendor": vendor, "country": rng.choice(["DE", "NL", "TR", "AE", "US"]), "hits": rng.randint(1, 3)}
    payload["lists"] = rng.sample(["OFAC SDN", "EU consolidated", "UK HMT", "PEP"], 1)
    return f"Sanctions hit for {vendor}: confirm or reject", payload


def _onboarding(rng: random.Random) -> tuple[str, dict[str, Any]]:
    customer = rng.choice(CUSTOMERS)
    payload = {"company": customer, "plan": "enterprise", "seats": rng.randint(50, 2000)}
    payload["requested_terms"] = rng.choice(["net 60", "custom DPA", "SSO + SCIM", "EU data residency"])
    return f"Enterprise signup from {customer}: review terms", payload


REVIEWS = {
    "invoice": _invoice,
    "refund": _refund,
    "contract": _contract,
    "payroll": _payroll,
    "expense": _expense,
    "vendor": _vendor,
    "onboarding": _onboarding,
}


def review_request(node: Node, workflow_name: str, rng: random.Random) -> dict[str, Any]:
    """Title, description, payload and risk of an approval a reviewer reads."""
    build = REVIEWS.get(str(node.params.get("review")), _invoice)
    title, payload = build(rng)
    amount = float(payload.get("amount") or payload.get("current_arr") or payload.get("gross_total") or 0)
    return {
        "node_id": node.id,
        "title": title,
        "description": f"{workflow_name} paused at '{node.name}'. Approve to continue, reject to stop.",
        "payload": payload,
        "high_risk": amount > 10_000 or bool(payload.get("hits")),
    }
