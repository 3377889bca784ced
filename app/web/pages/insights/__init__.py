"""The insights page: charts of volume, failures, durations and waits over a chosen range; its
view state and its controller. A page package, listed in ``app/web/pages``."""

from app.web.pages.insights.controller import InsightsPages
from app.web.pages.page import Page

PAGE = Page("insights", (InsightsPages,))
