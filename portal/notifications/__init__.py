"""In-app notifications for distributors, mirrored by email through a pluggable sender."""
