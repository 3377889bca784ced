"""The command room: its controller and its live behaviour. A page package, listed in ``app/web/pages``."""

from app.web.pages.command_room.controller import CommandRoomPages
from app.web.pages.command_room.live import CommandRoomLive
from app.web.pages.page import Page

PAGE = Page("command-room", (CommandRoomPages,), CommandRoomLive)
