"""The operator audit log and its CSV export. A page package, listed in ``app/web/pages``."""

from app.web.pages.audit.controller import AuditPages
from app.web.pages.page import Page

PAGE = Page("audit", (AuditPages,))
