"""The library's exceptions: one base, specific subclasses.

Errors about what a caller handed in also subclass ``ValueError`` and name the
offending field and value, so ``except ValueError`` keeps working for users who
do not care which part of quaymaster complained.
"""

from __future__ import annotations

from typing import Any


class QuaymasterError(Exception):
    """Base of every exception quaymaster raises on purpose."""


class InvalidInputError(QuaymasterError, ValueError):
    """Bad input: the message names the field and the value; nothing changed."""

    def __init__(self, message: str, *, field: str | None = None, value: Any = None):
        super().__init__(message)
        self.field = field
        self.value = value


class SchemaError(InvalidInputError):
    """An Arrow table that breaks the instance or task schema."""

    def __init__(self, message: str, *, column: str | None = None, row: int | None = None,
                 value: Any = None):
        where = []
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row}")
        prefix = f"{', '.join(where)}: " if where else ""
        super().__init__(prefix + message, field=column, value=value)
        self.column = column
        self.row = row


class TaskDefinitionError(InvalidInputError):
    """An invalid task definition; ``field`` is the JSON path of the bad field."""

    def __init__(self, message: str, *, field: str | None = None, value: Any = None):
        text = f"{field}: {message}" if field else message
        super().__init__(text, field=field, value=value)


class CQLError(InvalidInputError):
    """A cluster query that does not parse; carries the 0-based position.

    ``str()`` prints the message, the expression, and a caret under the
    offending character.
    """

    def __init__(self, message: str, *, expression: str, position: int):
        self.message = message
        self.expression = expression
        self.position = position
        super().__init__(self._render(), field="expression", value=expression)

    def _render(self) -> str:
        # Show the expression on one line: control characters would break the caret.
        shown = "".join(c if c.isprintable() else " " for c in self.expression)
        return (f"CQL error at position {self.position}: {self.message}\n"
                f"{shown}\n{' ' * self.position}^")


class InvalidParameterError(InvalidInputError):
    """A request parameter ECS would reject (ECS: InvalidParameterException)."""


class ClientError(InvalidInputError):
    """A request ECS would refuse as a client error (ECS: ClientException)."""


class NotFoundError(InvalidInputError, KeyError):
    """A named thing (instance, task, task definition) that does not exist."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class AttributeLimitExceededError(InvalidInputError):
    """More custom attributes than ECS allows (ECS: AttributeLimitExceededException)."""


class NativeError(QuaymasterError):
    """The C core reported a status other than QM_OK: a bug, not bad input."""


class ServiceError(QuaymasterError):
    """An AWS API error as a service's model names it, raised by region operations.

    ``code`` is the modeled exception's name in botocore's service model
    (``ClusterNotFoundException``, ``InvalidParameterException``,
    ``RepositoryNotFoundException``, ...); the endpoint turns it into the
    wire error boto3 raises as ``client.exceptions.<code>``. ``status`` is the
    HTTP status the endpoint answers with (400 for client errors).
    """

    def __init__(self, code: str, message: str, *, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def __reduce__(self):  # picklable across processes (sweeps, the endpoint's workers)
        return (_rebuild_service_error, (type(self), self.code, self.message, self.status))


def _rebuild_service_error(cls, code, message, status):
    return cls(code, message, status=status)


class SnapshotError(InvalidInputError):
    """A region snapshot that cannot be written (state no snapshot can hold) or read back
    (another version, a missing or corrupted file, an unknown or foreign type): the
    message names what and where; the region it was being loaded into is unchanged."""
