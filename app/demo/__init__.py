"""The live demo: seeded history (``seed``), a workflow-engine simulator (``simulator``) driven through
the service layer (``local``) or the REST API (``remote``), and the ``athena demo``/``simulate`` commands."""
