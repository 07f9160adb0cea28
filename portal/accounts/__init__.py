"""Users, roles, login and throttling."""
