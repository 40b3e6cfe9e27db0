"""Errors raised at the engine boundary; none of them is an HTTP error."""

from __future__ import annotations


class EngineError(Exception):
    """Base class for errors the engine boundary reports."""


class DiagramError(EngineError):
    """A BPMN/DMN/form file is unsafe, malformed or inconsistent.

    ``file``, ``line`` and ``element_id`` say where, when known.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 element_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.element_id = element_id

    def as_dict(self) -> dict[str, object]:
        return {"message": self.message, "file": self.file, "line": self.line,
                "element_id": self.element_id}


class ScriptError(EngineError):
    """A script, condition or expression failed while the case ran."""

    def __init__(self, message: str, *, element_id: str | None = None) -> None:
        super().__init__(message)
        self.element_id = element_id


class ScriptLimitError(ScriptError):
    """A script or condition went over the sandbox's time budget or size cap."""


class TaskNotReadyError(EngineError):
    """The task does not exist in the case or is not waiting for a person."""


class StepNotSettledError(ScriptLimitError):
    """A step kept finding work of its own (e.g. a timer loop that fires at once) and was
    stopped. Like a script over its budget it fails the same way every time: the case gets
    an incident instead of retries (docs/engine.md, "A step that does not settle")."""
