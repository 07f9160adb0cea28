"""Users, roles, sessions, sign-in throttling, passwords and the emailed account links."""
