"""Recent failures: the latest failed executions of the user's workspaces, live. A whole page in
one package (view state, controller, live behaviour, templates), listed in ``app/web/pages``."""

from app.web.pages.page import Page
from app.web.pages.recent_failures.controller import RecentFailuresPages
from app.web.pages.recent_failures.live import RecentFailuresLive

PAGE = Page("failures", (RecentFailuresPages,), RecentFailuresLive)
