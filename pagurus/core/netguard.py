"""The outgoing-address guard: may the forge fetch from this URL?

A remote pull request makes the worker fetch a URL a user typed. Without a
guard that is a way into the server's own network (``http://127.0.0.1:6379``,
the cloud metadata service at ``169.254.169.254``, a database on
``10.0.0.5``…). :func:`check_url` refuses:

* schemes other than ``http``, ``https`` and ``git`` (no ``file://``,
  ``ext::``, ``ssh://`` or scp-like ``host:path``), credentials in the URL
  (they would be stored and shown with the pull request), odd characters;
* hosts that do not resolve, and hosts with *any* address that is loopback,
  private, link-local, multicast, unspecified, reserved, shared (CGNAT) or
  otherwise not globally routable — IPv4 and IPv6, including IPv4 embedded in
  IPv6 (mapped, 6to4, Teredo, NAT64).

``Settings.allow_local_remotes`` lifts the address checks (a forge on a
private network, the tests); the scheme and syntax checks stay.

DNS rebinding: the guard resolves the name, then git resolves it again when
it connects, and a hostile DNS server may answer differently the second time.
:meth:`Remote.git_config` closes that gap cheaply by pinning git to the
addresses that were checked: ``http.curloptResolve`` for http(s) (the Host
header and TLS name stay those of the URL) and a ``url.<ip>.insteadOf``
rewrite for ``git://``. Redirects are not followed (a redirect to
``http://127.0.0.1`` would otherwise skip the guard). What is left: an HTTP
proxy configured for the worker resolves names itself.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pagurus.core.errors import InvalidInput

SCHEMES = {"http": 80, "https": 443, "git": 9418}
URL_MAX = 2048
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")

Resolver = Callable[..., list[Any]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RemoteRefused(InvalidInput):
    """The URL may not be fetched (400, nothing done)."""

    code = "EINVALIDREMOTE"


@dataclass(frozen=True)
class Remote:
    """A URL that passed the guard and the addresses it was checked against."""

    url: str
    scheme: str
    host: str  # as in the URL (IPv6 without brackets)
    port: int
    addresses: tuple[str, ...]  # empty: not resolved (local remotes allowed)
    netloc: str = ""  # the URL's ``host[:port]`` as written

    def git_config(self) -> list[str]:
        """``-c`` values for the ``git fetch`` of this URL: only its protocol,
        no redirects, and the connection pinned to the checked addresses."""
        config = ["protocol.allow=never", f"protocol.{self.scheme}.allow=always",
                  "http.followRedirects=false"]
        if not self.addresses or _is_literal(self.host):
            return config
        if self.scheme in ("http", "https"):
            pinned = ",".join(f"[{a}]" if ":" in a else a for a in self.addresses)
            config.append(f"http.curloptResolve={self.host}:{self.port}:{pinned}")
        else:  # git:// has no resolve option: rewrite the URL to the address
            first = self.addresses[0]
            ip_host = f"[{first}]" if ":" in first else first
            prefix = self.url[:len(self.scheme) + 3 + len(self.netloc)] + "/"
            config.append(f"url.git://{ip_host}:{self.port}/.insteadOf={prefix}")
        return config


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    """Globally routable unicast: what a remote repository may live on."""
    if (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
            or ip.is_unspecified or ip.is_reserved or not ip.is_global):
        return False
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return False
    inner = embedded_ipv4(ip)
    return inner is None or is_public(inner)


def _refuse(message: str) -> RemoteRefused:
    return RemoteRefused(message, errors={"git_repo": [message]})


def parse_url(url: Any) -> tuple[str, str, int, str]:
    """(scheme, host, port, netloc) of an acceptable URL, else RemoteRefused."""
    if not isinstance(url, str) or not url.strip():
        raise _refuse("A git repository URL is required")
    url = url.strip()
    if len(url) > URL_MAX or url.startswith("-") or any(
            ord(c) <= 32 or ord(c) == 127 for c in url):
        raise _refuse("This is not a valid git repository URL")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or "://" not in url:
        raise _refuse("Only http://, https:// and git:// repository URLs are accepted")
    if parts.username is not None or parts.password is not None:
        raise _refuse("Credentials in the repository URL are not accepted")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise _refuse("This is not a valid git repository URL") from None
    if not host:
        raise _refuse("The repository URL names no host")
    return scheme, host, port or SCHEMES[scheme], parts.netloc


def check_url(url: Any, *, allow_local: bool = False,
              resolver: Resolver = socket.getaddrinfo) -> Remote:
    """The :class:`Remote` for ``url``, or RemoteRefused (see the module doc)."""
    scheme, host, port, netloc = parse_url(url)
    url = url.strip()
    if allow_local:
        return Remote(url, scheme, host, port, (), netloc)
    try:
        addresses = public_addresses(host, port, resolver)
    except Unresolved:
        raise _refuse(f"The host {host} could not be resolved") from None
    except OddAddress:
        raise _refuse(f"The host {host} has an unexpected address") from None
    except PrivateAddress as exc:
        raise _refuse(f"The host {host} resolves to a local or private address "
                      f"({exc.ip}): remote repositories must be on the public internet"
                      ) from None
    return Remote(url, scheme, host, port, addresses, netloc)


class Unresolved(Exception):
    """The name did not resolve (now: DNS may answer later)."""


class OddAddress(Exception):
    """The resolver answered something that is not an IP address."""


class PrivateAddress(Exception):
    """The name resolves to an address outgoing requests may not reach."""

    def __init__(self, ip: IPAddress) -> None:
        super().__init__(str(ip))
        self.ip = ip


def public_addresses(host: str, port: int, resolver: Resolver = socket.getaddrinfo
                     ) -> tuple[str, ...]:
    """Every address ``host`` resolves to, once each, all public: the ones to
    connect to (never a second lookup, which DNS rebinding could answer
    differently). Raises Unresolved, OddAddress or PrivateAddress; each
    caller words the refusal for its users."""
    try:
        infos = resolver(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Unresolved(host) from exc
    addresses: list[str] = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            raise OddAddress(text) from None
        if not is_public(ip):
            raise PrivateAddress(ip)
        if str(ip) not in addresses:
            addresses.append(str(ip))
    if not addresses:
        raise Unresolved(host)
    return tuple(addresses)
