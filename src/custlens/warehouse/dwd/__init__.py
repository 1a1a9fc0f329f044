"""DWD: typed, deduplicated by key, canonical names. No joins."""
