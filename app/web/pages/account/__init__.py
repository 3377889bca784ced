"""Sessions: the signed-in user's dashboard sessions and API tokens, each one signed out on its
own or all at once ("sign out everywhere"). A whole page in one package, listed in ``app/web/pages``."""

from app.web.pages.account.controller import AccountPages
from app.web.pages.page import Page

PAGE = Page("account", (AccountPages,))
