"""Pages for people in the field: inspectors' scans and the suspected-alert queue."""
