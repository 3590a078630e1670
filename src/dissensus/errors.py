"""The one exception tree of dissensus.

Every error raised on purpose by the library derives from :class:`DissensusError`, so a front
(CLI, web app) can catch one class and print a message that names the thing and the fix::

    DissensusError
    ├── ConfigError            bad settings, unknown model string, missing optional extra
    │   ├── MissingExtraError  an optional dependency is not installed (names the extra)
    │   └── ModelFileError     a model file has the wrong size or hash (it is refused)
    ├── InputError             a catalog, schema or verified-catalog file cannot be used
    │   ├── RecordError        one input record is invalid (the run continues without it)
    │   └── SchemaError        the schema file is malformed, or a category has no entry
    ├── ModelError             a model call failed for good (transport, refusal, bad output)
    ├── KnowledgeError         a knowledge-base operation is invalid (unknown id, bad state)
    ├── ReviewError            a review-queue operation is invalid (unknown item, claimed by
    │                          someone else, a value the schema does not allow)
    ├── StorageError           the database cannot be opened or migrated
    ├── RunError               a run cannot start or resume (e.g. run id reused with other input)
    └── NotFoundError          the run, learning or review item named does not exist (the API
                               answers 404); raised as one of these, which are also the room's:
        UnknownRunError(RunError), UnknownLearningError(KnowledgeError),
        UnknownReviewItemError(ReviewError)
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DissensusError",
    "InputError",
    "KnowledgeError",
    "MissingExtraError",
    "ModelError",
    "ModelFileError",
    "NotFoundError",
    "RecordError",
    "ReviewError",
    "RunError",
    "SchemaError",
    "StorageError",
    "UnknownLearningError",
    "UnknownReviewItemError",
    "UnknownRunError",
]


class DissensusError(Exception):
    """Base class: everything dissensus raises on purpose."""


class ConfigError(DissensusError):
    """Settings or a model string cannot be used as given."""


class MissingExtraError(ConfigError):
    """An optional dependency is needed; the message names the extra to install."""

    def __init__(self, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the optional extra {extra!r}: pip install 'dissensus[{extra}]'"
        )
        self.extra = extra


class ModelFileError(ConfigError):
    """A model file is not the published one (size or sha256 differ); it is never loaded."""


class InputError(DissensusError):
    """An input file cannot be used."""


class RecordError(InputError):
    """One input record is invalid; the run reports it and goes on with the others."""


class SchemaError(InputError):
    """The schema is malformed, or a product's category has no schema entry."""


class ModelError(DissensusError):
    """A model call failed for good, after the allowed retries."""


class KnowledgeError(DissensusError):
    """A knowledge-base operation cannot be carried out."""


class ReviewError(DissensusError):
    """A review-queue operation cannot be carried out."""


class StorageError(DissensusError):
    """The database cannot be opened, migrated or written."""


class RunError(DissensusError):
    """A run cannot start or resume."""


class NotFoundError(DissensusError):
    """The thing named does not exist: a run id, a learning id, a review item."""


class UnknownRunError(RunError, NotFoundError):
    """No run has that id."""


class UnknownLearningError(KnowledgeError, NotFoundError):
    """No learning has that id."""


class UnknownReviewItemError(ReviewError, NotFoundError):
    """No review item has that id."""
