"""Starting, seeding and supervising the system on one machine (make run, integration tests)."""
