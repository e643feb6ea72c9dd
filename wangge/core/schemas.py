"""The staff API's error body as an OpenAPI schema, and the error statuses operations document."""

from ninja import Schema
from pydantic import Field


class ErrorItem(Schema):
    field: str | None = Field(description="the input at fault, e.g. title, photos.0, version")
    code: str = Field(description="stable machine code, e.g. required, stale, not_found")
    message: str = Field(description="in Chinese, with an English translation in parentheses")


class ErrorOut(Schema):
    errors: list[ErrorItem]


# What any operation can answer: no valid token, a body over the size limit, too many calls
# (with Retry-After), an input that does not validate.
COMMON_ERRORS: dict[int, type[ErrorOut]] = {
    401: ErrorOut,
    413: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}
# Operations on cases add: a body that is not JSON, not allowed, not found or outside your
# scope, and changed since read / not possible in its state.
CASE_ERRORS: dict[int, type[ErrorOut]] = {
    400: ErrorOut,
    **COMMON_ERRORS,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
}
