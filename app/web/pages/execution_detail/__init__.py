"""An execution's page: its controller, its actions (Retry) and its live behaviour. A page package,
listed in ``app/web/pages``."""

from app.web.pages.execution_detail.actions import ExecutionDetailActions
from app.web.pages.execution_detail.controller import ExecutionDetailPages
from app.web.pages.execution_detail.live import ExecutionDetailLive
from app.web.pages.page import Page

PAGE = Page("execution", (ExecutionDetailPages, ExecutionDetailActions), ExecutionDetailLive)
