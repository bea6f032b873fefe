"""The app definition format: the meta-schema and semantic validation."""
from formloom.runtime.schema.validate import compile_app, validate_definition

__all__ = ["compile_app", "validate_definition"]
