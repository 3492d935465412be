"""A city's broker for tests: mosquitto with a password file, an ACL that lets each hall write
only under its own prefix, and a TLS listener that takes the client certificate's CN as the
username (a PKI made with openssl)."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from kioskd.sim.broker import Mosquitto

CENTRAL = ("central", "central-pw")  # the collector's login
HALLS = {"h1": "h1-pw", "demo-hall": "demo-hall-pw", "k-hall": "k-hall-pw"}

ACL = """\
user central
topic readwrite kioskd/v1/#

# each hall: its own prefix only (the username is the hall id, or the certificate's CN)
pattern write kioskd/v1/%u/event/#
pattern write kioskd/v1/%u/state
pattern write kioskd/v1/%u/device/#
pattern write kioskd/v1/%u/cmd-result/#
pattern read kioskd/v1/%u/ack
pattern read kioskd/v1/%u/cmd/#
pattern read kioskd/v1/%u/appointments
"""


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Path:
    """A CA, the broker's certificate for 127.0.0.1, and a client certificate per hall."""
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=city-ca",
            "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem")
    for name, ext in (("broker", "subjectAltName=IP:127.0.0.1"), ("h1", None), ("h2", None)):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr")
        sign = ["x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/ca.pem", "-CAkey",
                f"{d}/ca.key", "-CAcreateserial", "-days", "2", "-out", f"{d}/{name}.pem"]
        if ext:
            (d / f"{name}.ext").write_text(ext + "\n")
            sign += ["-extfile", f"{d}/{name}.ext"]
        openssl(*sign)
    for key in d.glob("*.key"):
        key.chmod(0o600)
    return d


@pytest.fixture
async def city(tmp_path, pki):
    """mosquitto with a password listener (central, halls with passwords) and a TLS listener
    that takes the client certificate's CN as the username; one ACL for both."""
    folder = tmp_path / "city"
    folder.mkdir()
    pw = folder / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(pw), *CENTRAL], check=True)
    for hall, password in HALLS.items():
        subprocess.run(["mosquitto_passwd", "-b", str(pw), hall, password], check=True)
    (folder / "acl").write_text(ACL)
    # `user root`: a broker started as root otherwise drops to user mosquitto, who cannot read
    # the test's 0600 files (as a non-root user the line does nothing)
    b = Mosquitto(folder, extra=textwrap.dedent(f"""\
        user root
        allow_anonymous false
        password_file {pw}
        acl_file {folder}/acl
        listener {{port2}} 127.0.0.1
        cafile {pki}/ca.pem
        certfile {pki}/broker.pem
        keyfile {pki}/broker.key
        require_certificate true
        use_identity_as_username true
        """))
    await b.start()
    b.tls_port = b.port2
    yield b
    await b.stop()
