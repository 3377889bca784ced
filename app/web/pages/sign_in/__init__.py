"""Sign in and sign out: the session cookie's lifecycle. A page package, listed in ``app/web/pages``."""

from app.web.pages.page import Page
from app.web.pages.sign_in.controller import AuthPages

PAGE = Page("sign-in", (AuthPages,))
