"""Bridges: processes beside the server that mirror another workflow engine into a workspace."""
