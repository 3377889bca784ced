"""Bulk operations on the executions a view selects (preview, run, follow). A page package, listed
in ``app/web/pages``."""

from app.web.pages.operations.controller import OperationPages
from app.web.pages.page import Page

PAGE = Page("operations", (OperationPages,))
