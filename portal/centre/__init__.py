"""The distributor's personal centre: dashboard, team and statement."""
