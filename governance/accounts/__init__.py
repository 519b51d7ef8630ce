"""Who may do what: accounts and sessions, API clients, the audit trail, scoped administration, the console's settings mechanism."""
