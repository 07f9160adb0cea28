"""Shop orders as the portal stores them (idempotent by shop order id)."""
