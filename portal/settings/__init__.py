"""Business settings that ops change at run time (stored in the database)."""
