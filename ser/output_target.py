"""Where an output's bytes go: a regular file is replaced atomically, a symlink's target gets
the content, and a device, FIFO or socket is written through, never replaced."""

import os
import socket
import stat
from pathlib import Path
from typing import IO, NoReturn

from ser.errors import SerError


class OutputTarget:
    """One output path, checked before anything is written. A file (new or existing) is
    written beside itself under a hidden temporary name and moved over it on `commit`; any
    other kind of node is opened in place."""

    def __init__(self, target: str | Path, what: str = "output") -> None:
        self.target = Path(target)
        self.what = what
        self.path = Path(os.path.realpath(self.target))  # a symlink's final target
        if not self.path.parent.is_dir():
            self.fail(f"folder {self.path.parent} does not exist")
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            mode = None
        except OSError as exc:
            self.fail(exc.strerror or str(exc))
        if mode is not None and stat.S_ISDIR(mode):
            self.fail("is a directory")
        self.through = mode is not None and not stat.S_ISREG(mode)
        self.socket = mode is not None and stat.S_ISSOCK(mode)
        self.seekable = not self.through or stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        hidden = f".{self.path.stem}.{os.getpid()}.partial{self.path.suffix}"
        self.write_path = self.path if self.through else self.path.with_name(hidden)

    def fail(self, reason: str) -> NoReturn:
        """Raise the one-line error for this output."""
        raise SerError(f"cannot write {self.what} {self.target}: {reason}")

    def open(self, mode: str = "w") -> IO:
        """The stream to write to ("w" text or "wb" bytes); a socket is connected to."""
        try:
            if self.socket:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(str(self.path))
                return sock.makefile(mode, encoding=None if "b" in mode else "utf-8", newline="")
            if "b" in mode:
                return open(self.write_path, mode)
            return open(self.write_path, mode, newline="", encoding="utf-8")
        except OSError as exc:
            self.fail(exc.strerror or str(exc))

    def commit(self, keep: bool) -> None:
        """Move the finished temporary file over the target, or drop it when it holds nothing;
        a written-through target needs neither."""
        if self.through:
            return
        if keep:
            os.replace(self.write_path, self.path)
        else:
            self.write_path.unlink(missing_ok=True)
