"""The executions list page (its controller is still app/web/controllers.py's ``ExecutionPages``)."""
