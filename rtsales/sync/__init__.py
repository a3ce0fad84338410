"""The sync domain: the ledger, the scheduler, the engine that moves windows through a report's
life, quota pacing for it, audits, operator runs and the run history."""
