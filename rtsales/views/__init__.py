"""Read-only answers from the database: status and its diagnosis, sales, doctor's checks."""
