"""One POST of a delivery's body to its target, over a connection to the address that
``targets.resolve`` checked (TLS still verifies the certificate for the host name).
Redirects are not followed: only a 2xx answer, complete within the timeout, counts as
delivered."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from dataclasses import dataclass

from webhooks.targets import Target, UnsafeTargetError, resolve

# Enough of an answer to know its status; the rest is not read.
MAX_RESPONSE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Outcome:
    status: int | None
    error: str
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = str(target.address)

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = str(target.address)

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(url: str, body: str, headers: dict[str, str], timeout: float) -> Outcome:
    started = time.monotonic()

    def outcome(status: int | None, error: str = "") -> Outcome:
        return Outcome(status, error[:500], round((time.monotonic() - started) * 1000))

    try:
        target = resolve(url)
    except UnsafeTargetError as error:
        return outcome(None, str(error))
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, timeout)
    # The timeout bounds the whole exchange, not each read: a receiver that trickles its
    # answer a byte at a time is cut off when it is up.
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        if connection.sock is not None:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)

    deadline = threading.Timer(timeout, cut_off)
    deadline.start()
    try:
        connection.request("POST", target.path, body=body.encode(), headers=headers)
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        if expired.is_set():
            return outcome(None, f"No answer within {timeout:g} s.")
        if 200 <= response.status < 300:
            return outcome(response.status)
        return outcome(
            response.status, f"The receiver answered {response.status} {response.reason}."
        )
    except (OSError, http.client.HTTPException) as error:
        if expired.is_set() or isinstance(error, TimeoutError):
            return outcome(None, f"No answer within {timeout:g} s.")
        return outcome(None, f"{type(error).__name__}: {error}")
    finally:
        deadline.cancel()
        connection.close()
