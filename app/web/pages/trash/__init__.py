"""The trash: deleted executions, restored or purged. A page package, listed in ``app/web/pages``."""

from app.web.pages.page import Page
from app.web.pages.trash.controller import TrashPages

PAGE = Page("trash", (TrashPages,))
