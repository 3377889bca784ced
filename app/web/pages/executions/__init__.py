"""The executions list: its view state (the URL), its controllers (the list, its saved views, its
rows' actions) and its live behaviour. A page package, listed in ``app/web/pages``."""

from app.web.pages.executions.controller import ExecutionPages
from app.web.pages.executions.live import ExecutionsLive
from app.web.pages.executions.saved_views import ListViewPages
from app.web.pages.page import Page

PAGE = Page("executions", (ExecutionPages, ListViewPages), ExecutionsLive, default=True)
