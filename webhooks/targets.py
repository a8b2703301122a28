"""Where a delivery may go: not to the tracker's own network.

A target's host is resolved and every address it resolves to must be public (not loopback,
private, link-local, multicast, reserved or unspecified), unless it lies in one of the
networks of ``WEBHOOK_ALLOWED_TARGET_NETWORKS``. The check is made when a subscription is
saved and again at every delivery, whose connection then goes to the address checked: a
name that resolves to a public address when saved and to a private one later (DNS
rebinding) is refused at delivery."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

type Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTargetError(ValueError):
    """The target may not be delivered to; the message says why, for the subscriber."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: Address


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(network, strict=False)
        for network in settings.WEBHOOK_ALLOWED_TARGET_NETWORKS
    ]


def is_allowed(address: Address) -> bool:
    if address.is_global and not address.is_multicast:
        return True
    return any(address in network for network in allowed_networks())


def resolve(url: str) -> Target:
    """The URL's parts and the first address it resolves to; ``UnsafeTargetError`` when it
    cannot be resolved or any of its addresses is not allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTargetError("The target must be an http:// or https:// URL with a host.")
    if parts.username or parts.password:
        raise UnsafeTargetError("The target URL cannot carry a user name or password.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise UnsafeTargetError("The target URL's port is not a number from 1 to 65535.") from error
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeTargetError(
            f"The target's host {parts.hostname!r} could not be resolved."
        ) from error
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    refused = sorted({str(address) for address in addresses if not is_allowed(address)})
    if refused or not addresses:
        raise UnsafeTargetError(
            f"The target's host {parts.hostname!r} resolves to an address that is not public "
            f"({', '.join(refused)}): loopback, private, link-local and reserved addresses "
            "are refused unless the server allows them (WEBHOOK_ALLOWED_TARGET_NETWORKS)."
        )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])
