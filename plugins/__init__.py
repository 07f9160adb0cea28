"""Shop bridges. The core never imports these: create_app loads them by name."""
