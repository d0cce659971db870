"""The store's errors: the two exceptions every caller of the store may catch."""

from __future__ import annotations


class StoreError(Exception):
    """A store could not be opened or used; the message says what to do."""


class NotFound(StoreError):
    """The asked-for record does not exist."""
