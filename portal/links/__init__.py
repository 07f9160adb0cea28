"""Short links, clicks, QR codes and share cards."""
