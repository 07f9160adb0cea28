"""Shop bridges. The core never imports these: create_app finds every package here and
loads it by name."""
