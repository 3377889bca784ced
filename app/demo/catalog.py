"""The demo's workflows: realistic graphs per workspace, with how often and how long they run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NodeRow = tuple[str, str, str, dict[str, Any]]


@dataclass(frozen=True)
class WorkflowSpec:
    name: str
    description: str
    nodes: list[NodeRow]
    edges: str  # "a>b a>c:label ..."
    weight: float = 1.0  # share of the workspace's executions
    fail_rate: float = 0.07
    schedule_hours: tuple[int, ...] = ()  # scheduled: runs start around these hours (UTC)

    @property
    def mode(self) -> str:
        return "trigger" if self.schedule_hours else "webhook"

    def node_dicts(self) -> list[dict[str, Any]]:
        return [{"id": i, "name": n, "type": t, "parameters": p} for i, n, t, p in self.nodes]

    def edge_dicts(self) -> list[dict[str, Any]]:
        edges = []
        for item in self.edges.split():
            pair, _, label = item.partition(":")
            src, dst = pair.split(">")
            edges.append({"id": f"{src}-{dst}", "source": src, "target": dst, "label": label or None})
        return edges


def http(method: str, url: str) -> dict[str, Any]:
    return {"method": method, "url": url, "retries": 3, "timeout_s": 30}


def llm(prompt: str, model: str = "gpt-4o-mini") -> dict[str, Any]:
    return {"model": model, "prompt": prompt, "temperature": 0.2}


def cond(expr: str) -> dict[str, Any]:
    return {"condition": expr}


def review(kind: str) -> dict[str, Any]:
    return {"review": kind, "assignee_role": "approver", "sla_hours": 24}


def child(workflow: str) -> dict[str, Any]:
    return {"workflow": workflow, "wait_for_completion": True}


def cron(expr: str) -> dict[str, Any]:
    return {"cron": expr, "timezone": "UTC"}


CODE = {"language": "python"}

OPERATIONS: list[WorkflowSpec] = [
    WorkflowSpec(
        "Customer onboarding",
        "New signups: billing account, KYC or sales review, CRM contact, welcome email.",
        [
            ("trigger", "Signup received", "webhook", {"path": "/hooks/signup"}),
            ("normalize", "Normalize payload", "code", CODE),
            ("stripe", "Create Stripe customer", "http_request", http("POST", "https://api.stripe.com/v1/customers")),
            ("enterprise", "Enterprise plan?", "if", cond("{{ $json.plan == 'enterprise' }}")),
            ("sales_review", "Sales review", "approval", review("onboarding")),
            ("enrich", "Enrich lead", "sub_workflow", child("Lead enrichment")),
            ("kyc", "Run KYC check", "http_request", http("POST", "https://api.onfido.com/v3.6/checks")),
            ("welcome", "Send welcome email", "email", {"template": "welcome-v3"}),
            ("crm", "Create HubSpot contact", "http_request", http("POST", "https://api.hubapi.com/crm/v3/contacts")),
            ("notify", "Notify #customer-success", "slack", {"channel": "#customer-success"}),
            ("record", "Write onboarding record", "database", {"table": "onboardings"}),
        ],
        "trigger>normalize normalize>stripe stripe>enterprise enterprise>kyc:false enterprise>sales_review:true "
        "sales_review>enrich kyc>welcome enrich>welcome welcome>crm crm>notify crm>record",
        weight=1.4,
    ),
    WorkflowSpec(
        "Lead enrichment",
        "Enrich inbound leads from Clearbit and LinkedIn, score them, alert sales on hot ones.",
        [
            ("trigger", "New lead", "webhook", {"path": "/hooks/leads"}),
            ("clean", "Clean fields", "code", CODE),
            ("clearbit", "Clearbit lookup", "http_request", http("GET", "https://person.clearbit.com/v2/combined")),
            ("linkedin", "LinkedIn company lookup", "http_request", http("GET", "https://api.linkedin.com/v2/orgs")),
            ("score", "Score lead", "llm", llm("Score this lead 0-100 for ICP fit.")),
            ("hot", "Score > 70?", "if", cond("{{ $json.score > 70 }}")),
            ("alert", "Alert #sales", "slack", {"channel": "#sales"}),
            ("store", "Store lead", "database", {"table": "leads"}),
        ],
        "trigger>clean clean>clearbit clean>linkedin clearbit>score linkedin>score score>hot hot>store:false "
        "hot>alert:true",
        weight=1.6,
        fail_rate=0.09,
    ),
    WorkflowSpec(
        "Nightly CRM sync",
        "Copy changed Salesforce accounts into HubSpot every night.",
        [
            ("schedule", "Every night 02:00", "schedule", cron("0 2 * * *")),
            ("fetch", "Fetch Salesforce accounts", "http_request", http("GET", "https://login.salesforce.com/query")),
            ("map", "Map fields", "code", CODE),
            ("staging", "Load staging table", "database", {"table": "crm_staging"}),
            ("changes", "Changes found?", "if", cond("{{ $json.changed > 0 }}")),
            ("upsert", "Upsert HubSpot companies", "http_request", http("POST", "https://api.hubapi.com/batch")),
            ("reconcile", "Reconcile IDs", "code", CODE),
            ("report", "Post sync report", "slack", {"channel": "#revops"}),
            ("nochange", "No-change report", "email", {"to": "revops@demo.local"}),
        ],
        "schedule>fetch fetch>map map>staging staging>changes changes>upsert:true changes>nochange:false "
        "upsert>reconcile reconcile>report",
        weight=0.3,
        fail_rate=0.12,
        schedule_hours=(2,),
    ),
    WorkflowSpec(
        "Support ticket triage",
        "Classify new Zendesk tickets, page on urgent ones, draft replies for the rest.",
        [
            ("trigger", "Zendesk ticket created", "webhook", {"path": "/hooks/zendesk"}),
            ("classify", "Classify ticket", "llm", llm("Classify: billing, bug, how-to, outage.")),
            ("urgent", "Urgent?", "if", cond("{{ $json.priority == 'urgent' }}")),
            ("page", "Create PagerDuty incident", "http_request", http("POST", "https://events.pagerduty.com/v2")),
            ("oncall", "Page #support-oncall", "slack", {"channel": "#support-oncall"}),
            ("draft", "Draft reply", "llm", llm("Draft a friendly reply citing the docs.", "gpt-4o")),
            ("reply", "Post Zendesk reply", "http_request", http("PUT", "https://acme.zendesk.com/api/v2/tickets")),
            ("log", "Log triage", "database", {"table": "ticket_triage"}),
        ],
        "trigger>classify classify>urgent urgent>draft:false urgent>page:true page>oncall draft>reply "
        "oncall>log reply>log",
        weight=2.0,
    ),
    WorkflowSpec(
        "Contract renewal",
        "Prepare renewals due in 60 days; discounts need finance approval before DocuSign.",
        [
            ("schedule", "Daily 08:00", "schedule", cron("0 8 * * *")),
            ("due", "Find contracts due in 60 days", "database", {"table": "contracts"}),
            ("group", "Group by account", "code", CODE),
            ("summary", "Summarize usage & risks", "llm", llm("Summarize usage trends and renewal risks.")),
            ("discount", "Discount requested?", "if", cond("{{ $json.discount_pct > 0 }}")),
            ("finance", "Finance approval", "approval", review("contract")),
            ("docusign", "Generate DocuSign envelope", "http_request", http("POST", "https://demo.docusign.net/v2.1")),
            ("quote", "Send renewal quote", "email", {"template": "renewal-quote"}),
            (
                "opportunity",
                "Update Salesforce opportunity",
                "http_request",
                http("PATCH", "https://login.salesforce.com/opp"),
            ),
            ("owner", "Notify account owner", "slack", {"channel": "#account-management"}),
        ],
        "schedule>due due>group group>summary summary>discount discount>quote:false discount>finance:true "
        "finance>docusign docusign>opportunity quote>opportunity opportunity>owner",
        weight=0.5,
        schedule_hours=(8,),
    ),
    WorkflowSpec(
        "Incident escalation",
        "Turn Datadog alerts into PagerDuty incidents when severity is P2 or worse.",
        [
            ("trigger", "Datadog alert", "webhook", {"path": "/hooks/datadog"}),
            ("dedupe", "Dedupe alert", "code", CODE),
            ("severity", "Severity >= P2?", "if", cond("{{ $json.severity <= 2 }}")),
            ("incident", "Open PagerDuty incident", "http_request", http("POST", "https://events.pagerduty.com/v2")),
            ("post", "Post to #incidents", "slack", {"channel": "#incidents"}),
            ("record", "Record alert", "database", {"table": "alerts"}),
        ],
        "trigger>dedupe dedupe>severity severity>record:false severity>incident:true incident>post",
        weight=1.0,
    ),
    WorkflowSpec(
        "Churn risk alert",
        "Weekly look at usage drops; open a CSM task for the risky accounts.",
        [
            ("schedule", "Mondays 07:00", "schedule", cron("0 7 * * 1")),
            ("usage", "Query usage drop", "database", {"table": "usage_daily"}),
            ("explain", "Explain churn risk", "llm", llm("Explain why this account may churn.")),
            ("risk", "Risk high?", "if", cond("{{ $json.risk == 'high' }}")),
            ("task", "Create HubSpot task", "http_request", http("POST", "https://api.hubapi.com/crm/v3/tasks")),
            ("csm", "Email CSM", "email", {"template": "churn-risk"}),
            ("log", "Log score", "code", CODE),
        ],
        "schedule>usage usage>explain explain>risk risk>log:false risk>task:true task>csm",
        weight=0.4,
        schedule_hours=(7,),
    ),
    WorkflowSpec(
        "Weekly KPI report",
        "Aggregate product KPIs and MRR, have them summarized, mail leadership.",
        [
            ("schedule", "Fridays 16:00", "schedule", cron("0 16 * * 5")),
            ("kpis", "Aggregate KPIs", "database", {"table": "kpi_daily"}),
            ("mrr", "Fetch Stripe MRR", "http_request", http("GET", "https://api.stripe.com/v1/subscriptions")),
            ("write", "Write summary", "llm", llm("Write a 5-bullet executive summary.", "gpt-4o")),
            ("send", "Send to leadership", "email", {"to": "leadership@demo.local"}),
        ],
        "schedule>kpis schedule>mrr kpis>write mrr>write write>send",
        weight=0.2,
        schedule_hours=(16,),
    ),
]

FINANCE: list[WorkflowSpec] = [
    WorkflowSpec(
        "Invoice approval",
        "Parse incoming invoices, match the PO, route large amounts to the controller.",
        [
            ("trigger", "Invoice received", "webhook", {"path": "/hooks/ap-inbox"}),
            ("extract", "Extract invoice fields", "llm", llm("Extract vendor, lines, totals as JSON.")),
            ("validate", "Validate totals", "code", CODE),
            ("po", "Match purchase order", "http_request", http("GET", "https://erp.netsuite.com/rest/po")),
            ("amount", "Amount > EUR 5,000?", "if", cond("{{ $json.total > 5000 }}")),
            ("controller", "Controller approval", "approval", review("invoice")),
            ("auto", "Auto-approve", "code", CODE),
            ("bill", "Create bill in Xero", "http_request", http("POST", "https://api.xero.com/api.xro/2.0/Invoices")),
            ("vendor", "Notify vendor", "email", {"template": "invoice-received"}),
            ("archive", "Archive invoice", "database", {"table": "invoices"}),
        ],
        "trigger>extract extract>validate validate>po po>amount amount>auto:false amount>controller:true "
        "controller>bill auto>bill bill>vendor bill>archive",
        weight=2.0,
        fail_rate=0.08,
    ),
    WorkflowSpec(
        "Refund review",
        "Check refund requests for fraud signals; risky or large ones go to the risk team.",
        [
            ("trigger", "Refund requested", "webhook", {"path": "/hooks/refunds"}),
            ("charge", "Fetch Stripe charge", "http_request", http("GET", "https://api.stripe.com/v1/charges")),
            ("fraud", "Fraud signals", "llm", llm("List fraud signals in this refund request.")),
            ("risky", "Refund > $500 or risky?", "if", cond("{{ $json.amount > 500 || $json.risk }}")),
            ("risk_team", "Risk team review", "approval", review("refund")),
            ("refund", "Issue Stripe refund", "http_request", http("POST", "https://api.stripe.com/v1/refunds")),
            ("email", "Email customer", "email", {"template": "refund-issued"}),
            ("post", "Post to #refunds", "slack", {"channel": "#refunds"}),
        ],
        "trigger>charge charge>fraud fraud>risky risky>refund:false risky>risk_team:true risk_team>refund "
        "refund>email refund>post",
        weight=1.2,
    ),
    WorkflowSpec(
        "Payroll export",
        "Monthly payroll: hours from Personio, FX conversion, SEPA file to the bank.",
        [
            ("schedule", "Payroll run 06:00", "schedule", cron("0 6 * * *")),
            (
                "hours",
                "Fetch hours from Personio",
                "http_request",
                http("GET", "https://api.personio.de/v1/attendances"),
            ),
            ("gross", "Compute gross pay", "code", CODE),
            ("fx", "Convert currencies", "sub_workflow", child("FX rate update")),
            ("variance", "Variance > 3%?", "if", cond("{{ $json.variance_pct > 3 }}")),
            ("hr", "HR lead sign-off", "approval", review("payroll")),
            ("sepa", "Build SEPA XML", "code", CODE),
            ("upload", "Upload to bank gateway", "http_request", http("PUT", "https://sftp-gw.bank.example/upload")),
            ("payslips", "Send payslips", "email", {"template": "payslip"}),
        ],
        "schedule>hours hours>gross gross>fx fx>variance variance>sepa:false variance>hr:true hr>sepa "
        "sepa>upload upload>payslips",
        weight=0.25,
        fail_rate=0.1,
        schedule_hours=(6,),
    ),
    WorkflowSpec(
        "Expense report audit",
        "Categorize receipts, apply policy, reimburse via Wise.",
        [
            ("trigger", "Expense report submitted", "webhook", {"path": "/hooks/expensify"}),
            ("categorize", "Categorize receipts", "llm", llm("Categorize each receipt by GL account.")),
            ("policy", "Apply policy rules", "code", CODE),
            ("violation", "Policy violation?", "if", cond("{{ $json.violations.length > 0 }}")),
            ("manager", "Manager review", "approval", review("expense")),
            ("reimburse", "Reimburse via Wise", "http_request", http("POST", "https://api.wise.com/v1/transfers")),
            ("record", "Record expense", "database", {"table": "expenses"}),
        ],
        "trigger>categorize categorize>policy policy>violation violation>reimburse:false "
        "violation>manager:true manager>reimburse reimburse>record",
        weight=1.3,
    ),
    WorkflowSpec(
        "Vendor onboarding",
        "Validate bank details, screen sanctions lists, create the vendor in NetSuite.",
        [
            ("trigger", "Vendor form submitted", "webhook", {"path": "/hooks/vendors"}),
            ("iban", "Validate IBAN", "code", CODE),
            (
                "sanctions",
                "Sanctions screening",
                "http_request",
                http("POST", "https://api.complyadvantage.com/searches"),
            ),
            ("hit", "Hit found?", "if", cond("{{ $json.hits > 0 }}")),
            ("compliance", "Compliance review", "approval", review("vendor")),
            (
                "netsuite",
                "Create vendor in NetSuite",
                "http_request",
                http("POST", "https://erp.netsuite.com/rest/vendor"),
            ),
            ("welcome", "Welcome vendor", "email", {"template": "vendor-welcome"}),
            ("procurement", "Notify #procurement", "slack", {"channel": "#procurement"}),
        ],
        "trigger>iban iban>sanctions sanctions>hit hit>netsuite:false hit>compliance:true compliance>netsuite "
        "netsuite>welcome netsuite>procurement",
        weight=0.5,
    ),
    WorkflowSpec(
        "Payment reconciliation",
        "Match Stripe payouts with bank transactions every hour.",
        [
            ("schedule", "Hourly", "schedule", cron("0 * * * *")),
            ("payouts", "Fetch Stripe payouts", "http_request", http("GET", "https://api.stripe.com/v1/payouts")),
            ("bank", "Fetch bank transactions", "http_request", http("POST", "https://production.plaid.com/sync")),
            ("match", "Match transactions", "code", CODE),
            ("unmatched", "Unmatched items?", "if", cond("{{ $json.unmatched > 0 }}")),
            ("explain", "Explain mismatches", "llm", llm("Explain likely causes of these mismatches.")),
            ("alert", "Alert finance ops", "email", {"to": "finance-ops@demo.local"}),
            ("mark", "Mark reconciled", "database", {"table": "reconciliations"}),
        ],
        "schedule>payouts schedule>bank payouts>match bank>match match>unmatched unmatched>mark:false "
        "unmatched>explain:true explain>alert",
        weight=1.5,
        fail_rate=0.06,
        schedule_hours=tuple(range(24)),
    ),
    WorkflowSpec(
        "Dunning reminders",
        "Remind customers with overdue invoices; pause accounts after 30 days.",
        [
            ("schedule", "Daily 09:00", "schedule", cron("0 9 * * *")),
            ("overdue", "Find overdue invoices", "database", {"table": "invoices"}),
            ("late", "Overdue > 30 days?", "if", cond("{{ $json.days_overdue > 30 }}")),
            ("reminder", "Friendly reminder", "email", {"template": "dunning-1"}),
            ("final", "Final notice", "email", {"template": "dunning-final"}),
            ("pause", "Pause account in billing", "http_request", http("POST", "https://api.chargebee.com/pause")),
        ],
        "schedule>overdue overdue>late late>reminder:false late>final:true final>pause",
        weight=0.4,
        schedule_hours=(9,),
    ),
    WorkflowSpec(
        "FX rate update",
        "Fetch ECB reference rates, store them, post big moves.",
        [
            ("schedule", "Daily 05:00", "schedule", cron("0 5 * * *")),
            ("ecb", "Fetch ECB rates", "http_request", http("GET", "https://data-api.ecb.europa.eu/service/data/EXR")),
            ("convert", "Convert & validate", "code", CODE),
            ("store", "Store rates", "database", {"table": "fx_rates"}),
            ("post", "Post moves > 1%", "slack", {"channel": "#treasury"}),
        ],
        "schedule>ecb ecb>convert convert>store convert>post",
        weight=0.3,
        fail_rate=0.05,
        schedule_hours=(5,),
    ),
]

WORKSPACES: dict[str, list[WorkflowSpec]] = {"Operations": OPERATIONS, "Finance": FINANCE}

# Seconds a node of each type takes: (low, high) for the simulator (0.3-4 s) and in real history.
SIM_SECONDS: dict[str, tuple[float, float]] = {
    "webhook": (0.3, 0.5),
    "schedule": (0.3, 0.4),
    "code": (0.3, 1.2),
    "if": (0.3, 0.4),
    "http_request": (0.5, 3.0),
    "llm": (1.5, 4.0),
    "email": (0.4, 1.5),
    "slack": (0.3, 0.8),
    "database": (0.3, 1.5),
    "approval": (0.3, 0.6),
    "sub_workflow": (0.3, 0.5),
}
PAST_SECONDS: dict[str, tuple[float, float]] = SIM_SECONDS | {
    "http_request": (0.2, 6.0),
    "llm": (2.0, 25.0),
    "database": (0.1, 40.0),
    "approval": (300.0, 20 * 3600.0),  # a human decides: minutes to hours
}
FAILURE_WEIGHTS: dict[str, float] = {"http_request": 5, "code": 2, "llm": 2, "database": 1, "email": 1}
