"""A visitor reads who runs the forge (/about) and checks the SSH host key
fingerprints before trusting them (/ssh_info) — the same fingerprints
ssh-keygen computes from the built-in server's keys."""

from __future__ import annotations

import subprocess

from pagurus.services.ssh.hostkeys import ensure_host_keys


def test_the_about_page_names_the_admin_and_links_the_keys(client, settings):
    resp = client.get("/about")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert f'href="mailto:{settings.admin_email}"' in html
    assert 'href="/ssh_info"' in html and 'href="/api/0/openapi.json"' in html
    assert 'href="/about"' in client.get("/").get_data(as_text=True)  # from the footer


def test_ssh_info_shows_the_fingerprints_ssh_keygen_shows(client, settings):
    pubs = [path.with_name(path.name + ".pub") for path in ensure_host_keys(settings.data_dir)]
    html = client.get("/ssh_info").get_data(as_text=True)
    for pub in pubs:
        line = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(pub)],
                              capture_output=True, text=True, check=True).stdout
        fingerprint = line.split()[1]
        assert fingerprint.startswith("SHA256:") and fingerprint in html
        key_type, blob = pub.read_text().split()[:2]
        # a known_hosts line for the built-in server's port
        assert f"[localhost]:{settings.ssh_port} {key_type} {blob}" in html


def test_missing_or_broken_key_files_are_left_out_of_ssh_info(tmp_path):
    from pagurus.web.ui import about

    assert about.host_keys(tmp_path) == []
    (tmp_path / "ssh").mkdir()
    (tmp_path / "ssh" / "ssh_host_ed25519_key.pub").write_text("<script>not a key\n")
    assert about.host_keys(tmp_path) == []  # unreadable files are left out, never shown
