"""The course's error types: each message says what went wrong and how to fix it."""


class CourseError(Exception):
    """Base class for errors that the course raises on bad input."""


class ConfigError(CourseError, ValueError):
    """A config field is invalid. The message names the field and a valid choice."""


class ShapeError(CourseError, ValueError):
    """A tensor has the wrong shape. The message gives the expected and actual shapes."""


class MissingDataError(CourseError, FileNotFoundError):
    """A corpus, tokenizer or checkpoint is missing. The message gives the command that makes it."""


class CheckpointError(CourseError, ValueError):
    """A checkpoint does not match its card (or has none). The message says how to remake it."""
