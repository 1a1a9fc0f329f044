"""Quoting for SQL assembled as text (the models and the importer build their SQL)."""


def literal(text: str) -> str:
    """A string literal: 'it''s'."""
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted identifier, for source columns named anything ("实付金额", "a b")."""
    return '"' + name.replace('"', '""') + '"'
