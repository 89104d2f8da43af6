"""The data lake: a local folder by default, or ADLS gen2 / Blob storage through fsspec.

The lake root holds one folder per container (landing/, bronze/, silver/, gold/). On Azure the
root is `abfs://` (containers of the account) or `abfs://<container>`; adlfs takes the account
and credentials from AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT_NAME with a key,
SAS token or service principal.
"""

from __future__ import annotations

import builtins
import fcntl
import os
import stat
import sys
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import IO
from urllib.parse import urlparse

import fsspec
from fsspec.implementations.local import LocalFileSystem

from playground.errors import PlaygroundError

AZURE_PROTOCOLS = ("abfs", "abfss", "az")
# Each local folder's log of the names written into it, oldest first, under a first line naming the log:
# a reader finds what changed since it last looked without a stat of every file (see `written_since`).
WRITE_LOG = "_written.log"
AZURE_SETTINGS = ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_NAME")


def note_written(folder: str, name: str) -> None:
    """Append `name` to the folder's write log; a new log is put in place whole, with its id line."""
    log = os.path.join(folder, WRITE_LOG)
    if not os.path.exists(log):
        fresh = os.path.join(folder, f".{WRITE_LOG}.{uuid.uuid4().hex}")
        with open(fresh, "wb") as handle:
            handle.write(f"{uuid.uuid4().hex}\n".encode())
        try:
            os.link(fresh, log)  # fails if another writer made it first: then its log is the one
        except FileExistsError:
            pass
        finally:
            os.remove(fresh)
    descriptor = os.open(log, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(descriptor, f"{name}\n".encode())  # one appending write: writers in parallel do not mix lines
    finally:
        os.close(descriptor)


def reachable(endpoint: str, timeout_s: float = 5.0) -> None:
    """Fail in seconds, naming the endpoint, when nothing answers there: the storage SDK would retry a name
    that does not resolve, a refused connection, or a listener that accepts and never answers, for minutes.
    Any HTTP answer will do (a 400 or 403 too): its retries stay for a service that answers."""
    import http.client

    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    connection = kind(url.hostname or "", port, timeout=timeout_s)
    try:
        connection.request("HEAD", url.path or "/")
        connection.getresponse()
    except TimeoutError as exc:
        raise PlaygroundError(f"the lake's storage endpoint {url.scheme}://{url.netloc} did not answer within "
                              f"{timeout_s:g} s. Check the account name or connection string, and that this machine "
                              "may reach the account (network rules, private endpoint)") from exc
    except OSError as exc:
        raise PlaygroundError(f"cannot reach the lake's storage endpoint {url.scheme}://{url.netloc}: "
                              f"{exc.strerror or exc}. Check the account name or connection string, and that this "
                              "machine may reach the account (network rules, private endpoint)") from exc
    finally:
        connection.close()


class Lake:
    def __init__(self, root: str, storage_options: dict[str, object] | None = None):
        """`storage_options`: the filesystem's own arguments (an Azure account and credential), instead of
        the environment's."""
        self.url = root
        protocol = root.split("://", 1)[0] if "://" in root else "file"
        if (protocol in AZURE_PROTOCOLS and not storage_options
                and not any(os.environ.get(v) for v in AZURE_SETTINGS)):
            raise PlaygroundError(
                f"lake {root} is on Azure storage but no account is configured: set "
                "AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY "
                "(or a SAS token / service principal)")
        try:
            self.fs, root_path = fsspec.url_to_fs(root, **(storage_options or {}))
        except (ImportError, ValueError) as exc:
            raise PlaygroundError(f"cannot open lake {root}: {exc}. Use a folder path or abfs:// URL "
                                  "(abfs needs the `azure` extra)") from exc
        self.root = root_path.rstrip("/")
        self.local = isinstance(self.fs, LocalFileSystem)
        if protocol in AZURE_PROTOCOLS:
            reachable(self.fs.service_client.url)

    def path(self, relative: str) -> str:
        return f"{self.root}/{relative}" if self.root else relative

    def display(self, relative: str = "") -> str:
        if not relative:
            return self.url
        return self.url + relative if self.url.endswith("://") else f"{self.url.rstrip('/')}/{relative}"

    def check_writable(self) -> None:
        """Fail early, before any data is generated, when the lake cannot be written."""
        probe = f"landing/.write-probe-{uuid.uuid4().hex}"  # its own: two generators may probe at once
        try:
            self.write_bytes(probe, b"")
            self.fs.rm(self.path(probe))
        except PlaygroundError:
            raise
        except Exception as exc:
            raise PlaygroundError(f"cannot write to lake {self.url}: {exc}. "
                                  "Choose a writable --lake (or PLAYGROUND_LAKE)") from exc

    @contextmanager
    def writer(self, relative: str) -> Iterator[IO[bytes]]:
        """Readers see the old file or the whole new one, never a part of it."""
        target = self.path(relative)
        try:
            if self.local:
                folder, name = os.path.split(target)
                os.makedirs(folder, exist_ok=True)
                # Named per writer: two writers of one file never write into each other's temporary.
                temporary = os.path.join(folder, f".{name}.{uuid.uuid4().hex}.inprogress")
                try:
                    with open(temporary, "wb") as handle:
                        yield handle
                    os.replace(temporary, target)
                    if not name.startswith((".", "_")):
                        note_written(folder, name)
                finally:
                    if os.path.exists(temporary):
                        os.remove(temporary)
            else:  # a blob upload is committed whole when the file closes
                with self.fs.open(target, "wb") as handle:
                    yield handle
        except OSError as exc:
            raise PlaygroundError(f"cannot write {self.display(relative)}: {exc}. "
                                  "Choose a writable --lake (or PLAYGROUND_LAKE)") from exc

    @contextmanager
    def exclusive(self, name: str, holder: str = "generator") -> Iterator[None]:
        """One writer of `name` (a source's files and manifest, or the orders database) at a time in a local
        lake: a generator waits for another to finish, so the lake holds one whole run's files with the
        manifest that describes them. A trickle holds its sources while it runs, so a fresh generation of
        them, which would reset what it writes to, fails at once instead, saying so. (A remote lake has no
        lock: each file there is committed whole, but two generators at once may still mix sources.)"""
        if not self.local:
            yield
            return
        os.makedirs(self.root, exist_ok=True)
        with open(os.path.join(self.root, f".{name}.lock"), "a+") as lock:  # "w" would erase the holder's name
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.seek(0)
                held_by = lock.read().strip()
                if held_by.startswith("trickle") and holder != "trickle":
                    raise PlaygroundError(
                        f"{name} in {self.url} are being written by a running {held_by}: stop it (Ctrl-C, or stop "
                        f"`make up`) before generating {name} afresh, which would reset what it writes to") from None
                print(f"waiting for another {held_by or 'generator'} writing {name} into {self.url}", file=sys.stderr)
                fcntl.flock(lock, fcntl.LOCK_EX)
            lock.truncate(0)
            lock.write(f"{holder} (pid {os.getpid()})")
            lock.flush()
            yield

    def write_bytes(self, relative: str, data: bytes) -> None:
        with self.writer(relative) as handle:
            handle.write(data)

    def read_bytes(self, relative: str) -> bytes:
        with self.fs.open(self.path(relative), "rb") as handle:
            return handle.read()

    def read_chunks(self, relative: str, size: int) -> Iterator[bytes]:
        """The file in pieces of `size` bytes (the last shorter): memory stays flat however big it is."""
        # A local file is opened directly: fsspec's layers cost more than reading a small file.
        with (open if self.local else self.fs.open)(self.path(relative), "rb") as handle:
            # A read allocates all it asks for first, and a small chunk kept from a 32 MB request can keep its
            # 32 MB mapping (100k product files of 4 KB ran out of the kernel's 65k mappings): ask for the size.
            want = min(size, os.fstat(handle.fileno()).st_size + 1) if self.local else size
            while chunk := handle.read(want):
                yield chunk
                if len(chunk) < want:  # a short read is the file's end
                    return
                want = size

    def exists(self, relative: str) -> bool:
        return self.fs.exists(self.path(relative))

    def list(self, folder: str) -> list[str]:
        """Names in `folder`, hidden and `_` ones excluded as Spark does (`_manifests` is bookkeeping)."""
        if not self.fs.exists(self.path(folder)):
            return []
        names: Iterable[str]
        if self.local:  # the names alone, without fsspec's stat of each
            names = os.listdir(self.path(folder))
        else:
            names = (entry.rstrip("/").rsplit("/", 1)[-1] for entry in self.fs.ls(self.path(folder), detail=False))
        return sorted(n for n in names if not n.startswith((".", "_")))

    def stamps(self, folder: str, names: Iterable[str] | None = None) -> dict[str, str]:
        """Each data file's name (or each of `names` still there) and a stamp of its size and modification
        time: a file whose stamp is unchanged need not be read again."""
        if not self.fs.exists(self.path(folder)):
            return {}
        if self.local:  # a stat per file, by name in the open folder: fsspec's ls costs more
            folder_fd = os.open(self.path(folder), os.O_RDONLY)
            try:
                found = []
                for name in os.listdir(folder_fd) if names is None else names:
                    if not name.startswith((".", "_")):
                        with suppress(FileNotFoundError):  # written, then removed
                            found.append((name, os.stat(name, dir_fd=folder_fd)))
            finally:
                os.close(folder_fd)
            return {name: f"{st.st_size}@{st.st_mtime_ns}" for name, st in found if stat.S_ISREG(st.st_mode)}
        stamps = {}
        for entry in self.fs.ls(self.path(folder), detail=True):
            name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
            if entry.get("type") != "directory" and not name.startswith((".", "_")):
                stamps[name] = f"{entry.get('size')}@{entry.get('last_modified') or entry.get('mtime')}"
        return stamps if names is None else {n: stamps[n] for n in names if n in stamps}

    def written_since(self, folder: str, mark: str | None) -> tuple[builtins.list[str] | None, str | None]:
        """The names written into a local folder after `mark` (a mark this returned before), and the mark
        to pass next time. The names are None when the log cannot tell them: no mark yet, or the folder
        was made anew since; the mark is None when the folder keeps no log (a remote lake's does not)."""
        if not self.local:
            return None, None
        try:
            with open(os.path.join(self.path(folder), WRITE_LOG), "rb") as log:
                log_id = log.readline()
                marked_log, _, marked_at = (mark or "").rpartition(":")
                known = mark is not None and marked_log == log_id.decode().strip()
                start = int(marked_at) if known else len(log_id)
                log.seek(start)
                tail = log.read()
        except FileNotFoundError:
            return None, None
        whole = tail[:tail.rfind(b"\n") + 1]  # a line being written is read next time
        names = whole.decode().splitlines() if known else None
        return names, f"{log_id.decode().strip()}:{start + len(whole)}"

    def remove(self, relative: str) -> None:
        if self.fs.exists(self.path(relative)):
            self.fs.rm(self.path(relative), recursive=True)
