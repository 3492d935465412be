"""A PostgreSQL server of our own on 127.0.0.1 (trust auth, a fresh cluster, removed after) for
the collector's PostgreSQL store in the tests and the city bench."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from kioskd.sim.broker import free_port


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    return found[-1].parent if found else None


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """Its DSN (postgresql://kioskd@127.0.0.1:PORT). Run as user postgres when we are root
    (postgres refuses root)."""
    bin_ = postgres_bin()
    if bin_ is None:
        raise FileNotFoundError("PostgreSQL is not installed: apt-get install postgresql")
    folder = Path(tempfile.mkdtemp(prefix="kioskd-pg-"))  # not under a 0700 folder of root's
    as_user = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    try:
        subprocess.run([*as_user, str(bin_ / "initdb"), "-D", str(folder / "data"), "-A",
                        "trust", "-U", "kioskd", "-E", "UTF8", "--no-locale"], check=True,
                       capture_output=True)
        for _attempt in range(5):  # a port picked free may be taken before postgres binds it
            port = free_port()
            proc = subprocess.Popen([*as_user, str(bin_ / "postgres"), "-D", str(folder / "data"),
                                     "-k", str(folder), "-h", "127.0.0.1", "-p", str(port)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            seen = []
            for line in proc.stderr:  # ends when postgres exits: no wait without a bound
                seen.append(line)
                if "ready to accept connections" in line:
                    break
            else:
                proc.wait()
                if "Address already in use" in "".join(seen):
                    continue
                raise RuntimeError("postgres did not start:\n" + "".join(seen))
            break
        else:
            raise RuntimeError("postgres found no free port in 5 tries:\n" + "".join(seen))
        try:
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # its pipe drained
            yield f"postgresql://kioskd@127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(10)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def new_database(server: str, name: str) -> str:
    """A new, empty database on `server`; its DSN."""
    import psycopg

    with psycopg.connect(server + "/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{server}/{name}"
