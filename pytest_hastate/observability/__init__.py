"""The backend's own metrics: read (read-only, the named URLs only) and judged against what the
proof provoked (the observability.<signal> criteria)."""
