"""An execution's page (its controller is still app/web/controllers.py's ``ExecutionPages``)."""
