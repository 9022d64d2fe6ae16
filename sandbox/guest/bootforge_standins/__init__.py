"""Importable stand-ins for standard modules that CPython's WASI build lacks.

Bootcamps written for a normal CPython sometimes import ``threading``,
``subprocess`` or ``signal`` without needing them (a lock around a cache, a
timeout helper that is never armed). These modules import, offer harmless
single-threaded pieces (locks, thread-local storage), and fail with a clear
error only when something that needs a thread, a process or a signal is used.
"""

SANDBOX = "the bootforge sandbox"


def unavailable(what):
    """The error raised when a bootcamp really needs a missing facility."""
    return OSError(38, f"{what} is not available in {SANDBOX} (no threads, processes or signals)")
