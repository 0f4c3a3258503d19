"""Pages for people in the field: inspectors\x27 scans and the suspected-alert queue."""
