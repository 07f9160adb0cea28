"""Distributor levels earned by figures: the upgrade rule (:mod:`~portal.levels.criteria`:
qualifying sales, team size, recent activity) and the hourly job that promotes
(:mod:`~portal.levels.upgrades`). Above orders and risk, whose one definition of a
qualifying order the rule counts; the levels themselves are ``distributors.Level``."""
