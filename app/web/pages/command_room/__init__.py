"""The command room (its controller is still app/web/command_room.py's ``CommandRoomPages``)."""
