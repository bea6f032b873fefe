"""What Alembic manages: the platform tables, never the record tables made at publish time."""


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Skip tables found in the database but absent from the models (record tables)."""
    return not (type_ == "table" and reflected and compare_to is None)
