"""The support floor is honest: pip dry runs against the real index (tools/support_matrix.py).

Every (platform, Python) pair plugin/support_floor.py accepts resolves requirements.txt with
constraints.txt to wheels only; every pair it refuses fails to resolve, so the floor is revisited
when wheels appear. The README's table is the one these dry runs print. Skipped only when the index
cannot be reached.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools import metadata_index, support_matrix as sm

FLOOR = sm.support_floor
PAIRS = sm.all_pairs()
README = Path(sm.REPO, "README.md")


def _ids(pairs) -> list:
    return [f"{p.key}-py{v}" for p, v in pairs]


SUPPORTED = [pair for pair in PAIRS if sm.expected_to_resolve(*pair)]
REFUSED = [pair for pair in PAIRS if not sm.expected_to_resolve(*pair)]


@pytest.fixture(scope="module")
def matrix() -> dict:
    if not sm.index_reachable():
        pytest.skip(f"{sm.INDEX} cannot be reached: the wheel matrix needs the real index")
    return {(r.platform, r.python): r for r in sm.resolve_all(PAIRS, workers=8)}


def _pinned(name: str) -> str:
    text = sm.REQUIREMENTS.read_text(encoding="utf-8")
    return re.search(rf"^{name}==(\S+)", text, re.M).group(1)


@pytest.mark.parametrize("platform,python", SUPPORTED, ids=_ids(SUPPORTED))
def test_each_supported_pair_resolves_to_wheels(matrix, platform, python):
    r = matrix[(platform.key, python)]
    assert r.ok, f"{platform.label}, Python {python}: {r.reason}"
    assert r.versions["torch"] == _pinned("torch") and r.versions["transformers"] == _pinned("transformers")
    assert r.wheels and all(w.endswith(".whl") for w in r.wheels)
    numpy_major = int(r.versions["numpy"].split(".")[0])
    assert (numpy_major < 2) == (sm._version(python) <= (3, 12))  # the QGIS-like numpy range held


@pytest.mark.parametrize("platform,python", REFUSED, ids=_ids(REFUSED))
def test_each_refused_pair_really_has_no_wheels(matrix, platform, python):
    r = matrix[(platform.key, python)]
    assert not r.ok, f"{platform.label}, Python {python} resolves now: lower the floor in support_floor.py"
    assert r.reason.endswith((": no wheel",)) or "needs Python" in r.reason, r.reason  # not a network error
    machine = {"x86_64": "x86_64", "arm64": "arm64"}[platform.machine]
    message = FLOOR.check_floor(sm._version(python), platform.sys_platform, machine)
    assert message and "QGIS versions that work" in message


def test_macos_needs_the_release_the_torch_wheel_names(matrix):
    mac = next(p for p in FLOOR.PLATFORMS if p.key == "macos-arm64")
    needs = {sm.oldest_os(mac, matrix[(mac.key, v)].wheels) for v in FLOOR.SUPPORTED_PYTHONS}
    assert needs == {"macOS %d.%d" % mac.min_os}


def test_readme_carries_the_matrix_these_dry_runs_print(matrix):
    table = sm.markdown(list(matrix.values()))
    assert table in README.read_text(encoding="utf-8"), \
        "README's support matrix is stale: paste `python -m tools.support_matrix` into 'Supported platforms'"


def test_the_floor_lists_only_checked_pythons():
    assert set(FLOOR.SUPPORTED_PYTHONS) <= set(sm.CHECKED_PYTHONS)
    assert all(sm._version(v) < FLOOR.MIN_PYTHON for v in FLOOR.PYTHON_LIMITS)
    assert all(sm._version(v) >= FLOOR.MIN_PYTHON for v in FLOOR.SUPPORTED_PYTHONS)


def test_markers_are_evaluated_for_the_target_not_this_machine():
    win = next(p for p in FLOOR.PLATFORMS if p.key == "windows-x86_64")
    env = sm.marker_environment(win, "3.12")
    assert env["sys_platform"] == "win32" and env["platform_machine"] == "AMD64"
    assert env["python_version"] == "3.12" and env["os_name"] == "nt"
    arm = next(p for p in FLOOR.PLATFORMS if p.key == "linux-arm64")
    assert sm.marker_environment(arm, "3.11")["platform_machine"] == "aarch64"


def test_wheel_filter_keeps_what_pip_could_accept():
    win, linux, mac = (next(p for p in FLOOR.PLATFORMS if p.key == k)
                       for k in ("windows-x86_64", "linux-x86_64", "macos-arm64"))
    keep_win, keep_linux, keep_mac = map(sm.wheel_filter, (win, linux, mac))
    assert keep_win("torch-2.14.1-cp312-cp312-win_amd64.whl") and keep_win("jinja2-3.1.6-py3-none-any.whl")
    assert not keep_win("torch-2.14.1-cp312-cp312-manylinux_2_28_x86_64.whl")
    assert keep_linux("hf_xet-1.8.0-cp38-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl")
    assert not keep_linux("torch-2.14.1-cp312-cp312-manylinux_2_28_aarch64.whl")
    assert keep_mac("pillow-13.0.0-cp312-cp312-macosx_11_0_universal2.whl")
    assert not keep_mac("tokenizers-0.23.3-cp310-abi3-macosx_10_12_x86_64.whl")


def test_failure_reason_names_the_package_and_its_python_range():
    stderr = ("ERROR: Ignored the following versions that require a different python version: "
              "5.23.0 Requires-Python >=3.11.0; 5.24.0 Requires-Python >=3.11.0\n"
              "ERROR: Could not find a version that satisfies the requirement transformers==5.24.0\n"
              "ERROR: No matching distribution found for transformers==5.24.0\n")
    assert sm.failure_reason(stderr) == "transformers==5.24.0: needs Python >=3.11.0"
    assert sm.failure_reason("ERROR: No matching distribution found for torch==2.14.1\n") == \
        "torch==2.14.1: no wheel"
    assert sm.failure_reason("ERROR: HTTP error 503\n") == "ERROR: HTTP error 503"


def test_markdown_marks_failures_with_their_reason():
    win = FLOOR.PLATFORMS[0]
    rows = [sm.Resolution(win.key, "3.11", True, {"torch": "9.9"}, ["torch-9.9-cp311-cp311-win_amd64.whl"]),
            sm.Resolution(win.key, "3.9", False, reason="torch==9.9: no wheel")]
    table = sm.markdown(rows, ("3.9", "3.11"))
    assert f"| {win.label} | no [1] | yes (torch 9.9) |" in table and "* [1] torch==9.9: no wheel" in table


def test_range_reads_pick_one_member_out_of_a_remote_zip(tmp_path):
    import zipfile

    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("demo/__init__.py", b"x" * 300_000)
        z.writestr("demo-1.0.dist-info/METADATA", b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
    served = _range_server(wheel)
    try:
        assert metadata_index.wheel_metadata(served.url, wheel.stat().st_size).startswith(b"Metadata-Version")
        assert served.bytes_sent < wheel.stat().st_size  # read by ranges, not downloaded
    finally:
        served.stop()


class _RangeServer:
    def __init__(self, path: Path) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        data, state = path.read_bytes(), self
        self.bytes_sent = 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                start, end = map(int, re.match(r"bytes=(\d+)-(\d+)", self.headers["Range"]).groups())
                body = data[start:end + 1]
                state.bytes_sent += len(body)
                self.send_response(206)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d/w.whl" % self.server.server_address[1]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _range_server(path: Path) -> _RangeServer:
    return _RangeServer(path)


def test_a_pip_crash_is_tried_again_not_taken_for_a_missing_wheel(monkeypatch):
    """pip's own traceback (a dropped connection) says nothing about the wheels: resolve retries."""
    import json
    import subprocess

    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        if len(calls) == 1:
            return subprocess.CompletedProcess(cmd, 2, "", "ERROR: Exception:\nTraceback (most recent call last):\n")
        report = Path(cmd[cmd.index("--report") + 1])
        report.write_text(json.dumps({"install": [{"metadata": {"name": "torch", "version": "2.14.1"},
                                                   "download_info": {"url": "https://x/torch-2.14.1-cp311-cp311-manylinux_2_28_x86_64.whl"}}]}))
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(sm.subprocess, "run", fake_run)
    linux = next(p for p in sm.support_floor.PLATFORMS if p.key == "linux-x86_64")
    r = sm.resolve(linux, "3.11", index="http://127.0.0.1:9/simple")
    assert r.ok and r.versions == {"torch": "2.14.1"} and len(calls) == 2
    calls.clear()
    monkeypatch.setattr(sm.subprocess, "run", lambda cmd, **kw: calls.append(cmd) or subprocess.CompletedProcess(
        cmd, 2, "", "ERROR: Exception:\nTraceback\n"))
    r = sm.resolve(linux, "3.11", index="http://127.0.0.1:9/simple")
    assert not r.ok and len(calls) == 3      # gives up after two retries, and says pip crashed
