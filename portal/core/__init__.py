"""Site-wide pages: landing, health check, admin home, error pages."""
