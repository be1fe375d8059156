"""Which streaming rows still have a live writer.

A reply is written by the process whose pid is in ``messages.writer_pid``. If that
process is gone, nobody will ever finish the row. Within this process we also remember
which rows are being streamed right now (by any Store on the same file), so a second
Store opened here, e.g. by an export worker, does not mistake them for orphans, while a
row that merely carries our pid, left by an earlier process that had the same pid, is
still recovered.
"""

from __future__ import annotations

import os
import sys
import threading

_lock = threading.Lock()
_streaming: set[tuple[str, int]] = set()  # (database realpath, message id)


def claim(db_key: str, message_id: int) -> None:
    with _lock:
        _streaming.add((db_key, message_id))


def release(db_key: str, message_id: int) -> None:
    with _lock:
        _streaming.discard((db_key, message_id))


def streaming_here(db_key: str, message_id: int) -> bool:
    with _lock:
        return (db_key, message_id) in _streaming


def pid_alive(pid: int) -> bool:
    """Whether a process with this id is running on this machine."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _pid_alive_windows(pid)
    try:
        os.kill(pid, 0)  # signal 0: existence check only, nothing is delivered
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True


def _pid_alive_windows(pid: int) -> bool:
    # os.kill(pid, 0) on Windows would *terminate* the process, so ask the kernel.
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # ERROR_ACCESS_DENIED: exists, not ours
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)
