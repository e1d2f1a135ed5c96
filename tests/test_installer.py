"""The consented dependency installer: plan, failure, cancel, proxy, and the headless command line."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO

from eolens.plugin import deps, installer, network, packages_path

SYSTEM_PY = "/usr/bin/python3"
PKGROOT = REPO / "build" / "pkgroot"


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode() + p.read_bytes())
    return h.hexdigest()


def _previous_install(tmp_path: Path) -> Path:
    target = tmp_path / "pk"
    (target / "oldpkg").mkdir(parents=True)
    (target / "oldpkg" / "__init__.py").write_text("VERSION = 1\n")
    return target


def test_plan_installs_into_the_private_folder_without_user_or_protected_packages(tmp_path):
    plan = installer.make_plan(tmp_path / "pk", "cuda", SYSTEM_PY, platform="linux")
    args = plan.pip_args
    assert args[:4] == [SYSTEM_PY, "-m", "pip", "install"]
    assert "--user" not in args and "--break-system-packages" not in args
    staging = Path(args[args.index("--target") + 1])
    assert staging.parent == tmp_path and staging != plan.target  # staged beside the target
    names = {installer._dist_name(r) for r in plan.requirements}
    assert {"torch", "transformers", "open-clip-torch"} <= names
    assert not names & set(installer.PROTECTED)  # never numpy, rasterio, shapely, GDAL
    cpu = installer.make_plan(tmp_path / "pk", "cpu", SYSTEM_PY, platform="linux")
    assert "torch==2.14.1+cpu" in cpu.requirements and installer.TORCH_INDEX["cpu"] in cpu.pip_args
    assert cpu.disk_mb < plan.disk_mb


def test_constraints_pin_numpy_to_qgis_own():
    import numpy

    text = installer.constraints_text(SYSTEM_PY)
    pins = [ln for ln in text.splitlines() if ln.startswith("numpy")]
    system = subprocess.run([SYSTEM_PY, "-c", "import numpy; print(numpy.__version__)"],
                            capture_output=True, text=True, env=installer._clean_env()).stdout.strip()
    assert pins == [f"numpy=={system}"] and system == numpy.__version__


def test_prune_removes_what_qgis_owns(tmp_path):
    folder = tmp_path / "f"
    for dist, top in (("numpy-1.26.4", "numpy"), ("shapely-2.2.0", "shapely"), ("jinja2-3.1.6", "jinja2")):
        (folder / top).mkdir(parents=True)
        (folder / top / "__init__.py").write_text("")
        info = folder / f"{dist}.dist-info"
        info.mkdir()
        (info / "RECORD").write_text(f"{top}/__init__.py,,\n{info.name}/RECORD,,\n")
    assert sorted(installer.prune_protected(folder)) == ["numpy", "shapely"]
    assert sorted(p.name for p in folder.iterdir()) == ["jinja2", "jinja2-3.1.6.dist-info"]


def test_failed_install_keeps_the_previous_folder_and_says_why(tmp_path):
    target = _previous_install(tmp_path)
    before = _digest(target)
    plan = installer.make_plan(target, "cuda", SYSTEM_PY, requirements=["eolens-no-such-package==9.9.9"])
    outcome = installer.run(plan, log=lambda s: None)
    assert not outcome.ok
    assert "could not find a package version" in outcome.message and "Nothing was changed" in outcome.message
    assert _digest(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pk"]  # no staging or constraints left


@pytest.mark.slow
def test_cancel_stops_pip_within_two_seconds_and_changes_nothing(tmp_path):
    target = _previous_install(tmp_path)
    before = _digest(target)
    plan = installer.make_plan(target, "cuda", SYSTEM_PY, requirements=["torch==2.14.1"])
    started: list[float] = []
    cancel_at: list[float] = []

    def log(line: str) -> None:
        if line.startswith("Collecting") and not started:
            started.append(time.monotonic())

    def cancelled() -> bool:
        if started and time.monotonic() - started[0] > 1.0 and not cancel_at:
            cancel_at.append(time.monotonic())
        return bool(cancel_at)

    outcome = installer.run(plan, log=log, is_cancelled=cancelled)
    assert cancel_at, "pip never started"
    assert time.monotonic() - cancel_at[0] < 2.0
    assert not outcome.ok and "cancelled" in outcome.message
    assert _digest(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pk"]
    out = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert out.stdout.strip() == ""  # no pip left running


def test_dry_run_prints_the_exact_pip_command(tmp_path):
    env = dict(installer._clean_env(), PYTHONPATH=str(PKGROOT))
    out = subprocess.run([SYSTEM_PY, "-m", "eolens.plugin.installer", "--target", str(tmp_path / "pk"),
                          "--torch", "cuda", "--dry-run"], capture_output=True, text=True, env=env,
                         cwd=str(tmp_path), timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"--target {tmp_path / '.pk.staging'}" in out.stdout
    assert "-m pip install" in out.stdout and "--user" not in out.stdout
    assert not (tmp_path / "pk").exists()  # a dry run installs nothing


def test_manual_command_is_the_headless_installer_and_pep668_safe(monkeypatch, tmp_path):
    monkeypatch.setenv("EOLENS_PACKAGES", str(tmp_path / "pk"))
    cmd = deps.install_command(deps.DependencyReport(["torch"], []), torch="cuda")
    assert "--user" not in cmd and "--no-binary" not in cmd
    assert cmd.startswith("PYTHONPATH=") and "-m eolens.plugin.installer" in cmd
    assert f'--target "{tmp_path / "pk"}"' in cmd
    out = subprocess.run(["bash", "-c", cmd + " --dry-run"], capture_output=True, text=True,
                         env=installer._clean_env(), timeout=120)
    assert out.returncode == 0, out.stderr
    assert "externally-managed-environment" not in out.stdout + out.stderr


def test_packages_folder_goes_after_qgis_paths_and_before_site_packages(tmp_path, monkeypatch):
    folder = tmp_path / "pk"
    folder.mkdir()
    path = ["/usr/share/qgis/python", "/home/a/.local/share/QGIS/QGIS3/profiles/default/python",
            "/usr/lib/python3.11", "/usr/lib/python3/dist-packages"]
    monkeypatch.setattr(sys, "path", list(path))
    assert packages_path.activate(folder) == folder
    assert sys.path.index(str(folder)) == 3
    packages_path.activate(folder)
    assert sys.path.count(str(folder)) == 1
    (folder / "numpy").mkdir()  # a hand-made install that holds its own numpy: never first
    monkeypatch.setattr(sys, "path", list(path))
    packages_path.activate(folder)
    assert sys.path[-1] == str(folder)


def test_environment_variable_overrides_the_profile_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("EOLENS_PACKAGES", str(tmp_path / "x"))
    assert packages_path.packages_dir() == tmp_path / "x"
    monkeypatch.delenv("EOLENS_PACKAGES")
    want = f"py{sys.version_info.major}.{sys.version_info.minor}"
    assert packages_path.packages_dir().parts[-3:] == ("python", "eolens-packages", want)


def test_qgis_proxy_reaches_pip_and_the_hub_download_client(monkeypatch):
    from qgis.core import QgsSettings

    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "")  # recorded, so whatever apply_qgis_proxy sets is undone
        monkeypatch.delenv(var)
    s = QgsSettings()
    keys = {"proxy/proxyEnabled": "true", "proxy/proxyType": "HttpProxy",
            "proxy/proxyHost": "proxy.agency.example", "proxy/proxyPort": "3128",
            "proxy/proxyUser": "ana", "proxy/proxyPassword": "p@ss word",
            "proxy/noProxyUrls": ["http://intranet.example/maps"]}
    old = {k: s.value(k) for k in keys}
    try:
        for k, v in keys.items():
            s.setValue(k, v)
        url = network.apply_qgis_proxy()
        assert url == "http://ana:p%40ss%20word@proxy.agency.example:3128"
        assert os.environ["HTTPS_PROXY"] == url and os.environ["NO_PROXY"] == "intranet.example"
        from huggingface_hub.utils import get_session

        transport = get_session()._mounts
        mounts = {str(k.pattern): v for k, v in transport.items()}
        proxy = mounts["https://"]._pool._proxy_url
        assert proxy.host == b"proxy.agency.example" and proxy.port == 3128
        assert any("intranet.example" in k and v is None for k, v in mounts.items())  # no proxy
        plan = installer.make_plan(Path("/tmp/x"), "cuda", SYSTEM_PY, proxy=url)
        assert plan.pip_args[plan.pip_args.index("--proxy") + 1] == url
        assert installer._clean_env(url)["HTTPS_PROXY"] == url
    finally:
        for k, v in old.items():
            s.remove(k) if v is None else s.setValue(k, v)
        import huggingface_hub

        huggingface_hub.close_session()


def test_pip_errors_are_plain_words():
    assert "proxy" in installer.pip_failure(["ERROR: ProxyError('Cannot connect to proxy.')"])
    assert "disk is full" in installer.pip_failure(["OSError: [Errno 28] No space left on device"])
    assert "could not reach" in installer.pip_failure(["NewConnectionError: Network is unreachable"])


def test_the_resolver_note_about_other_packages_is_not_the_error():
    tail = ["ERROR: pip's dependency resolver does not currently take into account all the packages "
            "that are installed.", "types-flask-cors 5.0 requires flask, which is not installed.",
            "ERROR: No matching distribution found for torch==9.9"]
    text = installer.pip_failure(tail)
    assert "torch==9.9" in text and "dependency resolver" not in text


# -- which device the verified torch will use (the GPU is proven, or the CPU is explained) ---------

def _fake_nvidia_smi(folder: Path, monkeypatch, driver: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / "nvidia-smi"
    exe.write_text(f"#!/bin/sh\necho '{driver}'\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")


CU128 = {"torch": "2.8.0+cu128", "cuda": "12.8", "available": False, "mps": False, "warning": ""}


@pytest.mark.parametrize("gpu,driver,windows,expected", [
    (CU128, "470.82.01", False,
     "Torch 2.8.0+cu128 is a CUDA 12.8 build, but the NVIDIA driver 470.82.01 is older than the "
     "525.60.13 that CUDA 12.8 needs: EO Lens will run on the CPU; update the driver."),
    (CU128, "527.41", True,
     "Torch 2.8.0+cu128 is a CUDA 12.8 build, but the NVIDIA driver 527.41 is older than the "
     "528.33 that CUDA 12.8 needs: EO Lens will run on the CPU; update the driver."),
    (CU128, None, False,
     "Torch 2.8.0+cu128 is a CUDA 12.8 build, but no NVIDIA GPU was found: EO Lens will run on the CPU."),
    (dict(CU128, available=True, device="NVIDIA GeForce RTX 4090"), "570.86.10", False,
     "Torch 2.8.0+cu128 is a CUDA 12.8 build: EO Lens will use the GPU, NVIDIA GeForce RTX 4090, "
     "with NVIDIA driver 570.86.10."),
    (dict(CU128, available=True, device="NVIDIA T4"), "535.104.05", False,
     "Torch 2.8.0+cu128 is a CUDA 12.8 build: EO Lens will use the GPU, NVIDIA T4 (the NVIDIA driver "
     "535.104.05 runs CUDA 12.8 in compatibility mode; 570.26 or newer is recommended)."),
    (dict(CU128, torch="2.8.0+cpu", cuda=None), "570.86.10", False,
     "Torch 2.8.0+cpu is a CPU-only build although an NVIDIA GPU (driver 570.86.10) is present: EO Lens "
     "will run on the CPU; reinstall with the CUDA build to use the GPU."),
    (dict(CU128, torch="2.8.0", cuda=None, mps=True), None, False,
     "Torch 2.8.0 is a CPU-only build: EO Lens will use the Apple GPU (MPS)."),
])
def test_device_verdict_says_which_device_and_why(gpu, driver, windows, expected):
    assert installer.device_verdict(gpu, driver, windows) == expected


def test_device_verdict_quotes_torch_when_a_good_driver_still_fails():
    gpu = dict(CU128, warning="CUDA initialization: CUDA unknown error")
    text = installer.device_verdict(gpu, "570.86.10", windows=False)
    assert text.endswith(': EO Lens will run on the CPU.') and '"CUDA initialization: CUDA unknown error"' in text
    assert "update the driver" not in text


def test_verify_reports_torch_its_cuda_and_the_driver_verdict(tmp_path, monkeypatch):
    """The real verification script in a fresh interpreter, beside a (fake) old NVIDIA driver."""
    torch = pytest.importorskip("torch")
    _fake_nvidia_smi(tmp_path / "bin", monkeypatch, "470.82.01")
    (tmp_path / "new").mkdir()
    report = installer.verify(sys.executable, tmp_path / "new")
    gpu = report["gpu"]
    assert (gpu["torch"], gpu["cuda"]) == (torch.__version__, torch.version.cuda)
    assert gpu["available"] == torch.cuda.is_available()
    device = report["device"]
    if gpu["available"]:
        assert f"EO Lens will use the GPU, {gpu['device']}" in device
    elif torch.version.cuda:
        assert device.startswith(f"Torch {torch.__version__} is a CUDA {torch.version.cuda} build, but the "
                                 f"NVIDIA driver 470.82.01 is older than the ")
        assert device.endswith("EO Lens will run on the CPU; update the driver.")
    else:
        assert "CPU-only build although an NVIDIA GPU (driver 470.82.01)" in device


def _fake_pip(folder: Path, output: bytes) -> list[str]:
    """A "pip" that prints ``output`` as raw bytes and fails, as pip does on a console code page."""
    folder.mkdir()
    script = folder / "fake_pip.py"
    script.write_text(f"import sys\nsys.stdout.buffer.write({output!r})\nsys.stdout.flush()\nsys.exit(1)\n")
    return [sys.executable, str(script)]


def test_a_byte_pip_prints_that_does_not_decode_cannot_hang_the_install(tmp_path):
    target = _previous_install(tmp_path)
    plan = installer.make_plan(target, "cpu", SYSTEM_PY, requirements=["eolens-x==1"], platform="linux")
    # 0xE9 is 'é' in cp1252 and no UTF-8; 0x81 decodes in neither
    plan.pip_args[:4] = _fake_pip(tmp_path / "fake", b"Collecting caf\xe9 \x81\n"
                                  b"ERROR: No matching distribution found for eolens-x==1\n")
    start = time.monotonic()
    outcome = installer.run(plan, log=lambda s: None, is_cancelled=lambda: time.monotonic() - start > 30)
    assert not outcome.ok and "could not find a package version" in outcome.message  # not "cancelled"
    assert "Collecting caf\ufffd \ufffd" in outcome.log


@pytest.mark.timeout(60)  # the reader used to die silently and the install waited forever
def test_a_failing_output_reader_ends_the_install_with_an_error(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                            stdout=subprocess.PIPE, start_new_session=True)
    pipe = proc.stdout

    class Broken:
        def __iter__(self):
            raise OSError("the pipe broke")

    proc.stdout = Broken()
    try:
        with pytest.raises(installer.InstallError, match="pip's output could not be read"):
            list(installer._lines(proc, lambda: False))
        assert proc.poll() is not None  # pip was stopped, not left running
    finally:
        pipe.close()
