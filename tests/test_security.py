"""`make lab` serves on 127.0.0.1 only, with a random token; checkpoints can never run code."""
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def lab_command(**variables) -> str:
    args = [f"{k}={v}" for k, v in variables.items()]
    return subprocess.run(["make", "-s", "-n", "lab", *args], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout


def test_make_lab_binds_loopback_with_a_fresh_token_each_time():
    first, second = lab_command(), lab_command()
    for command in (first, second):
        assert "--ServerApp.ip=127.0.0.1" in command and "0.0.0.0" not in command
        assert re.search(r"--IdentityProvider\.token=\S{20,}", command), command
    token = lambda c: re.search(r"--IdentityProvider\.token=(\S+)", c).group(1)
    assert token(first) != token(second)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:  # not listening yet
        return 0


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on `port`, from /proc/net/tcp (hex, little-endian IPv4)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:
                found.add(address)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc to read listening sockets")
def test_running_lab_refuses_requests_without_the_token(tmp_path):
    port, token = free_port(), "test-token-" + os.urandom(8).hex()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path / "config")}
    server = subprocess.Popen(["make", "-s", "lab", f"LAB_TOKEN={token}",
                               f"LAB_ARGS=--no-browser --ServerApp.port={port} --ServerApp.port_retries=0"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}/api/status"
    try:
        deadline = time.time() + 60
        while status(f"{base}?token={token}") != 200:
            assert server.poll() is None and time.time() < deadline, "JupyterLab did not start"
            time.sleep(0.5)
        assert status(base) == 403  # no token, no access
        assert status(f"{base}?token=wrong") == 403
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only, no 0.0.0.0 nor ::
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
