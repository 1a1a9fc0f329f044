"""DIM: reference tables."""
