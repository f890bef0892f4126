"""The outgoing-address guard (core.netguard): which remote repository URLs
the forge may fetch, and the git options that pin the fetch to the checked
addresses."""

from __future__ import annotations

import socket

import pytest

from pagurus.core import netguard
from pagurus.core.netguard import RemoteRefused, check_url


def resolver_of(*addresses: str):
    """A resolver answering with fixed addresses (what a DNS server would say)."""
    def resolve(host, port, type=0):  # noqa: A002 - getaddrinfo's name
        out = []
        for a in addresses:
            family = socket.AF_INET6 if ":" in a else socket.AF_INET
            sockaddr = (a, port, 0, 0) if ":" in a else (a, port)
            out.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
        return out
    return resolve


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/repo.git",
    "http://127.1.2.3:8080/repo.git",
    "https://10.0.0.5/repo.git",
    "http://172.16.3.4/r.git",
    "http://192.168.1.1/r.git",
    "http://[::1]/repo.git",
    "http://[::ffff:127.0.0.1]/repo.git",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/r.git",
    "http://[fc00::1]/r.git",
    "http://0.0.0.0/r.git",
    "http://[::]/r.git",
    "http://224.0.0.1/r.git",
    "http://240.0.0.1/r.git",
    "http://100.64.0.1/r.git",
    "http://[2002:a00:1::1]/r.git",  # 6to4 around 10.0.0.1
    "http://[64:ff9b::7f00:1]/r.git",  # NAT64 around 127.0.0.1
    "git://127.0.0.1/r.git",
    "http://2130706433/r.git",  # 127.0.0.1 as one number
    "http://localhost/r.git",
])
def test_local_and_private_addresses_are_refused_by_default(url):
    with pytest.raises(RemoteRefused) as err:
        check_url(url)
    assert err.value.code == "EINVALIDREMOTE" and err.value.status == 400
    assert "local or private" in err.value.message


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ext::sh -c touch% /tmp/x", "ssh://example.org/r.git",
    "example.org:repo.git", "ftp://example.org/r.git", "/srv/repos/x.git",
    "-uhttp://example.org", "http://exa mple.org/r.git", "http://example.org/r\n.git",
    "", "   ", None, 42, "http:///nohost.git", "http://example.org:99999/r.git",
    "http://" + "a" * 3000 + ".org/",
])
def test_odd_urls_and_schemes_are_refused_even_for_local_remotes(url):
    with pytest.raises(RemoteRefused):
        check_url(url, allow_local=True)


def test_credentials_in_the_url_are_refused():
    with pytest.raises(RemoteRefused) as err:
        check_url("https://user:secret@93.184.216.34/r.git")
    assert "Credentials" in err.value.message


def test_public_addresses_pass_and_literals_need_no_pin():
    remote = check_url("https://93.184.216.34/r.git")
    assert remote.addresses == ("93.184.216.34",) and remote.port == 443
    config = remote.git_config()
    assert "http.followRedirects=false" in config
    assert "protocol.allow=never" in config and "protocol.https.allow=always" in config
    assert not [c for c in config if "curloptResolve" in c]
    assert check_url("git://[2606:4700::1111]/r.git").port == 9418


def test_a_name_is_pinned_to_the_addresses_that_were_checked():
    remote = check_url("http://git.example.org:8080/r.git",
                       resolver=resolver_of("93.184.216.34", "2606:2800:220:1::1"))
    assert "http.curloptResolve=git.example.org:8080:93.184.216.34,[2606:2800:220:1::1]" \
        in remote.git_config()
    gitproto = check_url("git://git.example.org/r.git", resolver=resolver_of("93.184.216.34"))
    assert "url.git://93.184.216.34:9418/.insteadOf=git://git.example.org/" \
        in gitproto.git_config()


def test_one_private_address_among_public_ones_refuses_the_name():
    with pytest.raises(RemoteRefused):
        check_url("http://mixed.example.org/r.git",
                  resolver=resolver_of("93.184.216.34", "10.1.2.3"))


def test_a_name_that_does_not_resolve_is_refused():
    with pytest.raises(RemoteRefused) as err:
        check_url("http://nothing-here.invalid/r.git")
    assert "could not be resolved" in err.value.message


def test_allow_local_lifts_the_address_checks_only():
    remote = check_url("http://127.0.0.1:9/r.git", allow_local=True)
    assert remote.addresses == () and remote.host == "127.0.0.1"
    assert remote.git_config() == ["protocol.allow=never", "protocol.http.allow=always",
                                   "http.followRedirects=false"]


def test_is_public_classifies_addresses():
    import ipaddress

    assert netguard.is_public(ipaddress.ip_address("8.8.8.8"))
    assert netguard.is_public(ipaddress.ip_address("2001:4860:4860::8888"))
    assert not netguard.is_public(ipaddress.ip_address("::ffff:10.0.0.1"))
    assert not netguard.is_public(ipaddress.ip_address("2001:db8::1"))  # documentation
