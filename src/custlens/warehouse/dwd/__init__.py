"""DWD: one row per source record — typed, deduplicated by key, canonical names.

The only joins are lookups that keep that grain: the identity map (a source id → the
person's id, dim_identity) and, for orders, the total of their own lines when the source
gives no order amount. Nothing here aggregates across records or adds rows."""
