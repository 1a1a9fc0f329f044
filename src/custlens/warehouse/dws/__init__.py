"""DWS: summaries that join and aggregate DWD."""
