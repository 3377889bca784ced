"""An execution's page (its page route is still app/web/controllers.py's ``ExecutionPages``; its own
actions are in ``actions``)."""

from app.web.pages.execution_detail.actions import ExecutionDetailActions

__all__ = ["ExecutionDetailActions"]
