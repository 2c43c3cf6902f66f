"""Turning the library's typed errors into ECS's modeled API errors."""

from __future__ import annotations

from contextlib import contextmanager

from quaymaster.errors import (
    AttributeLimitExceededError,
    ClientError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
    TaskDefinitionError,
)


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterException", message)


def client(message: str) -> ServiceError:
    return ServiceError("ClientException", message)


@contextmanager
def api_errors(not_found_code: str = "ClientException"):
    """Inside region operations: a library error becomes the ECS error a caller would get."""
    try:
        yield
    except ServiceError:
        raise
    except AttributeLimitExceededError as error:
        raise ServiceError("AttributeLimitExceededException", str(error)) from error
    except NotFoundError as error:
        raise ServiceError(not_found_code, str(error)) from error
    except (ClientError, TaskDefinitionError) as error:
        raise ServiceError("ClientException", str(error)) from error
    except InvalidInputError as error:
        raise ServiceError("InvalidParameterException", str(error)) from error
