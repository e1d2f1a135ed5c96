"""The support floor: which QGIS Pythons and CPUs the installer accepts, checked before pip runs."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from eolens.plugin import installer, installer_cli, support_floor

SYSTEM_PY = "/usr/bin/python3"


def test_python_39_on_windows_is_refused_naming_the_qgis_versions_that_work():
    msg = support_floor.check_floor((3, 9), "win32", "AMD64")
    assert msg and "Python 3.9" in msg and "3.11 or newer" in msg
    assert "QGIS 3.34.6 or newer" in msg and "3.44" in msg  # Windows and macOS releases that work
    assert "transformers" in msg or "PyTorch" in msg  # and which package stops it


def test_python_310_is_refused_because_of_transformers():
    msg = support_floor.check_floor((3, 10), "linux", "x86_64")
    assert msg and "Python 3.10" in msg and "transformers" in msg and "Ubuntu 22.04" in msg


@pytest.mark.parametrize("version", [(3, 11), (3, 12), (3, 13), (3, 14)])
@pytest.mark.parametrize("platform,machine", [("win32", "AMD64"), ("linux", "x86_64"),
                                              ("darwin", "arm64"), ("linux", "aarch64")])
def test_supported_pythons_and_cpus_are_accepted(version, platform, machine):
    assert support_floor.check_floor(version, platform, machine, False, (14, 5)) is None


def test_an_intel_mac_is_refused():
    msg = support_floor.check_floor((3, 12), "darwin", "x86_64")
    assert msg and "Intel Macs" in msg and "PyTorch" in msg
    assert msg != support_floor.ROSETTA


def test_rosetta_gets_its_own_message_even_with_a_good_python():
    msg = support_floor.check_floor((3, 12), "darwin", "x86_64", translated=True)
    assert msg == support_floor.ROSETTA and "Rosetta" in msg and "arm64" in msg


def test_macos_older_than_the_torch_wheel_is_refused():
    msg = support_floor.check_floor((3, 12), "darwin", "arm64", False, (13, 6))
    assert msg and "macOS 13.6" in msg and "macOS 14.0" in msg


def test_unknown_cpus_are_refused_with_the_supported_list():
    msg = support_floor.check_floor((3, 12), "win32", "x86")  # 32-bit Windows
    assert msg and "win32 x86" in msg and "Windows x86-64" in msg and "Linux x86-64" in msg


def test_rosetta_probe_reads_sysctl_proc_translated(monkeypatch):
    monkeypatch.setattr(support_floor.sys, "platform", "darwin")
    monkeypatch.setattr(support_floor, "_proc_translated", lambda: 1)
    assert support_floor.rosetta_translated()
    monkeypatch.setattr(support_floor, "_proc_translated", lambda: 0)
    assert not support_floor.rosetta_translated()
    monkeypatch.setattr(support_floor, "_proc_translated", lambda: -1)  # Intel Mac: no such key
    assert not support_floor.rosetta_translated()


def test_rosetta_probe_falls_back_to_the_sysctl_command(monkeypatch):
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, "1\n", "")

    monkeypatch.setattr(support_floor.subprocess, "run", fake_run)
    assert support_floor._sysctl_command() == 1  # libSystem is absent off macOS: the command is used
    assert support_floor._proc_translated() == 1
    assert calls[-1][-2:] == ["-n", "sysctl.proc_translated"]


def test_not_translated_off_macos():
    assert sys.platform != "darwin" and support_floor.rosetta_translated() is False


def test_the_probe_reports_the_target_interpreter_not_this_one():
    facts = support_floor.probe(SYSTEM_PY)
    out = subprocess.run([SYSTEM_PY, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True).stdout.strip()
    assert facts is not None and "%d.%d" % facts.version == out
    assert facts.platform == sys.platform and facts.translated is False
    assert support_floor.probe(str(Path("/nonexistent/python"))) is None
    assert support_floor.refusal("/nonexistent/python") is None  # pip reports a missing interpreter


def _old_qgis_python(tmp_path: Path) -> str:
    """An executable that answers the probe like QGIS 3.28's Python 3.9 on Windows."""
    fake = tmp_path / "python3.9"
    fake.write_text("#!/bin/sh\necho '{\"version\": [3, 9], \"platform\": \"win32\", "
                    "\"machine\": \"AMD64\", \"translated\": false, \"os_release\": []}'\n")
    fake.chmod(0o755)
    return str(fake)


def test_installer_refuses_before_pip_runs(tmp_path, monkeypatch):
    python = _old_qgis_python(tmp_path)
    plan = installer.make_plan(tmp_path / "pk", "cpu", python, platform="linux")
    ran = []
    monkeypatch.setattr(installer, "_run_pip", lambda *a, **k: ran.append("pip"))
    real_popen = subprocess.Popen

    def popen(cmd, *args, **kwargs):  # the probe may run; pip may not
        if "pip" in cmd:
            ran.append(cmd)
        return real_popen(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", popen)
    outcome = installer.run(plan, log=lambda s: None)
    assert not outcome.ok and ran == []
    assert "Python 3.9" in outcome.message and "QGIS 3.34.6 or newer" in outcome.message
    assert not (tmp_path / "pk").exists() and list(tmp_path.iterdir()) == [Path(python)]


def test_installer_command_line_refuses_an_old_qgis_python(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(installer, "_run_pip", lambda *a, **k: pytest.fail("pip ran"))
    code = installer_cli.main(["--target", str(tmp_path / "pk"), "--torch", "cpu",
                           "--python", _old_qgis_python(tmp_path)])
    assert code == 1 and "EO Lens needs Python 3.11 or newer" in capsys.readouterr().out


def test_installer_dialog_shows_the_floor_and_keeps_install_greyed(tmp_path, monkeypatch, qtbot):
    from eolens.plugin import deps
    from eolens.plugin.installer_dialog import InstallerDialog

    monkeypatch.setenv("EOLENS_PACKAGES", str(tmp_path / "pk"))
    monkeypatch.setattr(support_floor, "probe", lambda python, env=None: support_floor.Interpreter(
        (3, 12), "darwin", "x86_64", True))
    monkeypatch.setattr(installer, "run", lambda *a, **k: pytest.fail("ran although refused"))
    dialog = InstallerDialog(deps.DependencyReport(["torch"], []))
    qtbot.addWidget(dialog)
    assert not dialog.install_button.isEnabled()
    assert any(support_floor.ROSETTA in w.text() for w in _labels(dialog))
    dialog.start()  # even if called, nothing runs
    assert dialog.task is None


def test_installer_dialog_enables_install_on_a_supported_python(tmp_path, monkeypatch, qtbot):
    from eolens.plugin import deps
    from eolens.plugin.installer_dialog import InstallerDialog

    monkeypatch.setenv("EOLENS_PACKAGES", str(tmp_path / "pk"))
    monkeypatch.setattr(support_floor, "probe", lambda python, env=None: support_floor.Interpreter(
        (3, 11), "linux", "x86_64"))
    dialog = InstallerDialog(deps.DependencyReport(["torch"], []))
    qtbot.addWidget(dialog)
    assert dialog.install_button.isEnabled()
    assert not any("EO Lens needs Python" in w.text() for w in _labels(dialog))


def _labels(dialog) -> list:
    from qgis.PyQt.QtWidgets import QLabel

    return dialog.findChildren(QLabel)
