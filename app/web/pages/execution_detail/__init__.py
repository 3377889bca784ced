"""An execution's page (its page route is still app/web/controllers.py's ``ExecutionPages``; its own
actions are in ``controller``)."""

from app.web.pages.execution_detail.controller import ExecutionDetailActions

__all__ = ["ExecutionDetailActions"]
