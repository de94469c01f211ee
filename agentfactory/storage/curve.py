"""ZeroMQ CURVE keys for a bridge that listens beyond loopback.

Why: on 127.0.0.1 only processes of this host reach the bridge, and the
bridge stays plain (the default). Bound to any other address it would hand
every blob to whoever can reach the port, so it then speaks CURVE: traffic is
encrypted, and a ZAP handler admits only the client key kept next to the
server key. A client without that key (or with any other key) never gets a
reply; to it the bridge looks unreachable.

Keys live under `<home>/curve/` (directory 0700, files 0600, created with
those modes, never chmod-ed afterwards): `server.key_secret` and
`client.key_secret`, in ZeroMQ's certificate format, so `zmq.auth` tools read
them. A kernel on another host needs a copy of `client.key_secret` and
`server.key` (the server's public half) in its own home's `curve/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq
import zmq.auth

from ..core.errors import ServiceError
from ..core.files import write_private_once

SERVER, CLIENT = "server", "client"


@dataclass(frozen=True, slots=True)
class CurveKeys:
    """What a client needs: the server's public key and its own key pair (z85 bytes)."""

    server_public: bytes
    public: bytes
    secret: bytes

    def apply(self, sock: zmq.Socket) -> None:
        require_curve()
        sock.curve_serverkey = self.server_public
        sock.curve_publickey = self.public
        sock.curve_secretkey = self.secret


def require_curve() -> None:
    """Fail with the reason, not with ENOTSUP, when this process's libzmq has no CURVE."""
    if not zmq.has("curve"):
        raise ServiceError(
            "this process's ZeroMQ has no CURVE support, so it cannot reach a bridge bound beyond loopback",
            hint="iowarp-core's .pth preloads its own libzmq (no CURVE) into every Python process; import "
                 "agentfactory before zmq (scripts, the CLI), or run the kernel where the bridge is, on loopback",
        )


def key_dir(home: Path) -> Path:
    return Path(home) / "curve"


def _cert(public: bytes, secret: bytes | None) -> str:
    lines = ["#   ZeroMQ CURVE certificate (agentfactory bridge)", "metadata", "curve",
             f'    public-key = "{public.decode()}"']
    if secret is not None:
        lines.append(f'    secret-key = "{secret.decode()}"')
    return "\n".join(lines) + "\n"


def ensure_keys(home: Path) -> Path:
    """Create the server and client key pairs once; returns the key directory."""
    folder = key_dir(home)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name in (SERVER, CLIENT):
        if not (folder / f"{name}.key_secret").exists():
            require_curve()
            public, secret = zmq.curve_keypair()
            write_private_once(folder / f"{name}.key_secret", _cert(public, secret))
        if not (folder / f"{name}.key").exists():  # the public half of whichever pair won the link
            public, _ = _load(folder / f"{name}.key_secret")
            write_private_once(folder / f"{name}.key", _cert(public, None))
    return folder


def _load(path: Path) -> tuple[bytes, bytes | None]:
    try:
        return zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise ServiceError(f"cannot read the bridge's CURVE key {path}: {exc}",
                           hint="copy curve/server.key and curve/client.key_secret from the bridge's home") from None


def client_keys(home: Path) -> CurveKeys:
    folder = key_dir(home)
    server_public, _ = _load(folder / f"{SERVER}.key")
    public, secret = _load(folder / f"{CLIENT}.key_secret")
    if secret is None:
        raise ServiceError(f"{folder / 'client.key_secret'} has no secret key")
    return CurveKeys(server_public, public, secret)


class _OnlyOurClient:
    """ZAP credentials provider: admits the one client key of the home, nothing else."""

    def __init__(self, allowed: bytes) -> None:
        self.allowed = allowed

    def callback(self, domain: str, key: bytes) -> bool:
        return key == self.allowed


def secure_server(sock: zmq.Socket, folder: Path) -> Any:
    """Make `sock` (not yet bound) a CURVE server admitting only the home's client; returns the authenticator.

    The authenticator is a thread of this process; keep it referenced and stop
    it when the socket closes.
    """
    from zmq.auth.thread import ThreadAuthenticator

    require_curve()
    public, secret = _load(folder / f"{SERVER}.key_secret")
    client_public, _ = _load(folder / f"{CLIENT}.key")
    auth = ThreadAuthenticator(sock.context)
    auth.start()
    auth.configure_curve_callback("*", credentials_provider=_OnlyOurClient(client_public))
    sock.curve_server = True
    sock.curve_publickey = public
    sock.curve_secretkey = secret
    return auth
