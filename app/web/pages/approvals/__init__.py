"""The approver inbox: its view state, its controller and its live behaviour. A page package,
listed in ``app/web/pages``."""

from app.web.pages.approvals.controller import ApprovalPages
from app.web.pages.approvals.live import ApprovalsLive
from app.web.pages.page import Page

PAGE = Page("approvals", (ApprovalPages,), ApprovalsLive)
