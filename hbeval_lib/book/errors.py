"""The error of a build step that the user must act on (the message says what to do).
"""

from __future__ import annotations


class RunError(RuntimeError):
    """A notebook failed: the message names it, its parameters and the failing cell's traceback."""
