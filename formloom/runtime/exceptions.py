"""The runtime raises the platform's domain exceptions (one hierarchy, mapped at the edge)."""
from formloom.platform.exceptions import (
                                          Conflict,
                                          DefinitionError,
                                          FormloomError,
                                          MigrationRefused,
                                          NotFound,
                                          PermissionDenied,
                                          PreconditionRequired,
                                          ValidationFailed,
)

__all__ = ["Conflict", "DefinitionError", "FormloomError", "MigrationRefused", "NotFound",
           "PermissionDenied", "PreconditionRequired", "ValidationFailed"]
