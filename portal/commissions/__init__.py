"""Commission plans, the engine, and commissions through their states."""
