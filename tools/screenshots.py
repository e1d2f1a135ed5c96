"""Screenshots of the four EO Lens dock workflows, taken in the real QGIS GUI under Xvfb.

One command does everything (from the repository root, after `make setup`):

    HF_HUB_OFFLINE=1 .venv/bin/python tools/screenshots.py

It writes a throw-away profile build/shots-profile (EO Lens enabled, the repository symlinked as
the `eolens` plugin, exactly as `make run` does) and a sample project build/shots-sample.qgs,
builds tiny random-weight models into build/shots-models, then starts QGIS with:

    HF_HUB_OFFLINE=1 PYTHONPATH=.venv/lib/python3.11/site-packages \
    xvfb-run -a -s "-screen 0 1400x900x24" qgis.bin --noversioncheck \
      --profiles-path build/shots-profile --project build/shots-sample.qgs \
      --code tools/screenshots.py

Inside QGIS (the same file, run by --code) the dock is opened and each workflow is driven through
the dock's own widgets with QTimer-scheduled steps (the event loop is never blocked); after each
one the main window is grabbed into docs/<name>.png, then QGIS quits. A log of every step, and of
every message-bar message, goes to build/shots.log.

Under Xvfb Qt loads Mesa's GLX (llvmpipe, libLLVM-15) into QGIS; triton's libtriton.so carries its
own LLVM and the two segfault together. inference/models/torch_guard.py keeps triton out of the process
when Mesa's LLVM is loaded, so this runs (like `make run`) with plain GL settings.

Honesty notes (also in docs/screenshots.md): every model is a tiny random-weight model, so
captions and chat answers are gibberish; for Find, the tiny Florence-2's ``generate`` is replaced
*in this script only* by a fixed, real-format ``<loc_>`` answer so that boxes and masks have
somewhere to land (the processor, parser, georeferencing, task and layers are the real ones);
Change uses the spectral method, which needs no model, on the real Landsat sample pair.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

SHOTS = ("chat", "find", "change", "search", "export-chat", "export-polygons")
MAX_BYTES = 300_000

# Find: fixed answers in Florence-2's own output format (pixel bins 0..999 of the capture).
BOX_ANSWER = ("</s><s>tree<loc_100><loc_90><loc_290><loc_290>tree<loc_380><loc_240><loc_600><loc_470>"
              "tree<loc_760><loc_10><loc_990><loc_220>tree<loc_20><loc_560><loc_240><loc_760>"
              "tree<loc_740><loc_790><loc_960><loc_990></s>")
POLY_ANSWER = ("</s><s><poly><loc_300><loc_700><loc_360><loc_640><loc_450><loc_620><loc_530><loc_660>"
               "<loc_560><loc_740><loc_530><loc_830><loc_440><loc_880><loc_350><loc_860>"
               "<loc_290><loc_790></poly></s>")


def _inside_qgis() -> bool:
    try:
        import qgis.utils
    except ImportError:
        return False
    return getattr(qgis.utils, "iface", None) is not None


# ----------------------------------------------------------------------------- launcher (plain python)
def launch() -> int:
    root = Path(__file__).resolve().parents[1]
    os.chdir(root)
    sys.path.insert(0, str(root))
    build = root / "build"
    profile = build / "shots-profile"
    plugins = profile / "profiles" / "default" / "python" / "plugins"
    shutil.rmtree(profile, ignore_errors=True)
    plugins.mkdir(parents=True)
    (plugins / "eolens").symlink_to(root)
    from tools.make_profile import write_profile

    write_profile(profile, "eolens")
    # the project is written in a child process: it needs its own (offscreen) QgsApplication
    subprocess.run([sys.executable, "-c", ("import sys; from pathlib import Path; "
                    "from tools.make_profile import write_project; write_project(Path(sys.argv[1]))"),
                    str(build / "shots-sample.qgs")], check=True, cwd=root)

    from tools.tiny_models import build as build_tiny

    models = build / "shots-models"
    paths = {
        "caption": build_tiny("florence2", models / "caption"),   # left as it is: gibberish
        "find": build_tiny("florence2", models / "find"),         # generate fixed in QGIS below
        "chat": build_tiny("qwen3_vl", models / "chat"),
        "search": build_tiny("openclip", models / "search"),
    }
    (models / "paths.json").write_text(json.dumps({k: str(Path(v).resolve()) for k, v in paths.items()}))

    (build / "shots-sample_eolens.gpkg").unlink(missing_ok=True)   # results of an earlier run
    shutil.rmtree(build / "shots-exports", ignore_errors=True)
    (build / "shots-exports").mkdir()
    docs = root / "docs"
    docs.mkdir(exist_ok=True)
    for name in SHOTS:
        (docs / f"{name}.png").unlink(missing_ok=True)
    env = dict(os.environ, HF_HUB_OFFLINE="1",
               PYTHONPATH=str(root / ".venv" / "lib" / "python3.11" / "site-packages"))
    cmd = ["xvfb-run", "-a", "-s", "-screen 0 1400x900x24", "qgis.bin", "--noversioncheck",
           "--profiles-path", str(profile.relative_to(root)), "--project", "build/shots-sample.qgs",
           "--code", "tools/screenshots.py"]
    print("running:", " ".join(cmd), flush=True)
    try:
        rc = subprocess.run(cmd, check=False, env=env, cwd=root, timeout=1800).returncode
    except subprocess.TimeoutExpired:
        print("QGIS did not finish within 30 minutes", flush=True)
        rc = 124
    missing = [n for n in SHOTS if not (docs / f"{n}.png").exists()]
    for name in SHOTS:
        png = docs / f"{name}.png"
        if png.exists() and png.stat().st_size > MAX_BYTES:   # keep the repository light
            original = png.with_suffix(".full.png")
            png.rename(original)
            for colours in (256, 192, 128, 96, 64, 48, 32):    # fewest colour cuts that fit
                subprocess.run(["convert", str(original), "-dither", "None", "-colors", str(colours),
                                f"PNG8:{png}"], check=True)
                if png.stat().st_size <= MAX_BYTES:
                    break
            print(f"{png.relative_to(root)}: quantised to {colours} colours", flush=True)
            original.unlink()
        if png.exists():
            print(f"{png.relative_to(root)}: {png.stat().st_size // 1024} KB", flush=True)
    if missing:
        print("missing:", ", ".join(missing), "(see build/shots.log)", flush=True)
    return rc or (1 if missing else 0)


# ----------------------------------------------------------------------------- inside QGIS (--code)
def drive() -> None:
    import qgis.utils
    from qgis.core import QgsApplication, QgsCoordinateTransform, QgsProject
    from qgis.PyQt.QtCore import Qt, QTimer
    from qgis.PyQt.QtGui import QTextDocument
    from qgis.PyQt.QtWidgets import QApplication, QDockWidget

    root = Path(os.environ.get("EOLENS_SHOTS_ROOT", os.getcwd()))
    log_file = open(root / "build" / "shots.log", "w", encoding="utf-8")  # noqa: SIM115 - closed in finish
    iface = qgis.utils.iface
    canvas = iface.mapCanvas()
    project = QgsProject.instance()
    t0 = time.time()

    def log(*parts) -> None:
        line = f"[{time.time() - t0:7.1f}s] " + " ".join(str(p) for p in parts)
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    def on_message(message, tag, level) -> None:   # message bar and log messages alike
        if "EO Lens" in tag or "eolens" in tag.lower() or tag == "Python error" or int(level) >= 2:
            log(f"message [{tag}]:", message)

    QgsApplication.messageLog().messageReceived.connect(on_message)

    def layer(name):
        found = project.mapLayersByName(name)
        return found[0] if found else None

    def show_only(keep) -> None:
        """Tick only ``keep`` (and their groups); every other layer, earlier results too, unticked."""
        ids = {lyr.id() for lyr in keep}
        tree = project.layerTreeRoot()
        for group in tree.findGroups(True):
            group.setExpanded(False)
        for node in tree.findLayers():
            node.setItemVisibilityChecked(node.layerId() in ids)
            node.setExpanded(False)                   # no band legends: a short, readable panel
        for node in tree.findLayers():
            parent = node.parent() if node.layerId() in ids else None
            while parent is not None and parent is not tree:   # the groups of what is shown: open
                parent.setItemVisibilityChecked(True)
                parent.setExpanded(True)
                parent = parent.parent()
        if keep:
            iface.setActiveLayer(keep[0])

    def scroll_to(view, text) -> None:
        """Scroll a QTextBrowser so that the last line containing ``text`` is at the top."""
        cursor = view.document().find(text, view.document().characterCount(), QTextDocument.FindFlag.FindBackward)
        if not cursor.isNull():
            bar = view.verticalScrollBar()
            bar.setValue(bar.value() + view.cursorRect(cursor).top() - 4)

    def frame(lyr, scale=1.05) -> None:
        project.setCrs(lyr.crs())
        xform = QgsCoordinateTransform(lyr.crs(), canvas.mapSettings().destinationCrs(), project)
        rect = xform.transformBoundingBox(lyr.extent())
        rect.scale(scale)
        canvas.setExtent(rect)
        canvas.refresh()

    def idle():
        return plugin.dock.task is None

    def drawn():
        return not canvas.isDrawing()

    def shot(name: str) -> None:
        out = root / "docs" / f"{name}.png"
        ok = iface.mainWindow().grab().save(str(out))
        log("saved" if ok else "FAILED to save", out, "| dock status:", repr(plugin.dock.status.text()))
        for node in project.layerTreeRoot().findLayers():
            lyr = node.layer()
            if node.isVisible() and lyr is not None:
                count = lyr.featureCount() if hasattr(lyr, "featureCount") else "-"
                log(f"  shown: {lyr.name()!r} features={count} extent={lyr.extent().toString(1)}")

    def answer_dialog(name: str, fill) -> None:
        """When the export dialog (modal: it blocks this scenario) is up, grab it, fill it, accept."""
        def go():
            dialog = QApplication.activeModalWidget()
            if dialog is None:
                QTimer.singleShot(300, go)
                return
            dialog.raise_()
            QTimer.singleShot(800, lambda: finish(dialog))

        def finish(dialog):
            try:
                fill(dialog)
                QApplication.processEvents()
                out = root / "docs" / f"{name}.png"
                ok = dialog.grab().save(str(out))
                log("saved" if ok else "FAILED to save", out, "| dialog:", dialog.windowTitle())
            except Exception:  # noqa: BLE001 - a failed step must not leave a modal dialog up
                log("ERROR in dialog\n" + traceback.format_exc())
            QTimer.singleShot(300, dialog.accept)
        QTimer.singleShot(500, go)

    def settle():
        canvas.refreshAllLayers()
        yield 1.0
        yield drawn
        yield 1.5

    def run(button, what):
        log("click:", what)
        button.click()
        yield 0.5
        yield idle
        log("done:", what, "| status:", repr(plugin.dock.status.text()))

    plugin = None

    def scenario():
        nonlocal plugin
        yield lambda: "eolens" in qgis.utils.plugins
        plugin = qgis.utils.plugins["eolens"]
        dialog = getattr(plugin, "installer", None)
        if dialog is not None and hasattr(dialog, "close"):
            log("dependency dialog shown:", dialog.windowTitle() if hasattr(dialog, "windowTitle") else dialog)
            dialog.close()
        from eolens.inference.models.runtime import load_model
        from eolens.plugin import settings
        from eolens.plugin.layers import find_role

        models = json.loads((root / "build" / "shots-models" / "paths.json").read_text())
        settings.update(model_caption=models["caption"], model_chat=models["chat"],
                        model_detect=models["find"], model_segment=models["find"],
                        model_search=models["search"], device="cpu", offline=True, max_side=512)
        # Find: the tiny Florence-2 answers with a fixed, real-format string (see the docstring)
        florence = load_model(models["find"], device="cpu")      # cached: the dock gets this backend
        answer = {"ids": None}

        def fixed(text):
            tok = florence.processor.tokenizer
            answer["ids"] = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"]

        florence.model.generate = lambda *a, **k: answer["ids"]

        mw = iface.mainWindow()
        mw.setGeometry(0, 0, 1400, 900)
        for dock_widget in mw.findChildren(QDockWidget):
            if dock_widget.objectName() in ("Browser", "Browser2"):
                dock_widget.hide()
        plugin.toggle_dock(True)
        dock = plugin.dock
        mw.resizeDocks([dock], [460], Qt.Orientation.Horizontal)
        yield 2.0

        osbs, rgb = layer("OSBS_029"), layer("rasterio_RGB.byte")
        before, after = layer("pucallpa_1985"), layer("pucallpa_2020")
        log("layers:", [lyr.name() if lyr else None for lyr in (osbs, rgb, before, after)])

        # 1. Chat: caption the current view, then one question (tiny Florence-2, tiny Qwen3-VL)
        show_only([osbs])
        frame(osbs)
        dock.tabs.setCurrentWidget(dock.chat)
        dock.layer_combo.setLayer(osbs)
        dock.area_combo.setCurrentIndex(0)
        yield from settle()
        yield from run(dock.chat.caption_button, "caption")
        dock.chat.question.setText("How many tree crowns are in this view?")
        yield from run(dock.chat.ask_button, "ask")
        # the caption / chat log layers (footprints with a default fill) are listed but unticked,
        # so that the image stays visible
        show_only([osbs])
        # 1b. Export the chat (caption first): no extension typed, the HTML filter decides the format
        exports = root / "build" / "shots-exports"

        def fill_chat(dialog):
            from qgis.PyQt.QtWidgets import QLineEdit

            dialog.setDirectory(str(exports))
            dialog.selectNameFilter("HTML (*.html)")
            dialog.findChild(QLineEdit, "fileNameEdit").setText("forest-chat")   # typed without an extension
        answer_dialog("export-chat", fill_chat)
        log("click: export chat")
        dock.chat.export_button.click()           # returns once the dialog was accepted
        log("exported:", sorted(p.name for p in exports.iterdir()))
        scroll_to(dock.chat.view, "You:")
        yield from settle()
        shot("chat")            # the message bar shows the real path of the export

        # 2. Find: boxes then masks for a text prompt (fixed Florence-2 answers)
        dock.tabs.setCurrentWidget(dock.find)
        dock.area_combo.setCurrentIndex(1)
        dock.find.prompt.setText("trees")
        fixed(BOX_ANSWER)
        yield from run(dock.find.boxes_button, "find boxes")
        fixed(POLY_ANSWER)
        dock.find.prompt.setText("the tree crown in the lower left")
        yield from run(dock.find.masks_button, "find masks")
        found = [find_role(r) for r in ("boxes", "mask-raster", "mask-polygons")]
        show_only([osbs] + [lyr for lyr in found if lyr is not None])
        frame(osbs)
        yield from settle()
        shot("find")

        # 2b. Export polygons: choose the layer, Shapefile, a name without extension
        def fill_polygons(dialog):
            dialog.layer_combo.setLayer(find_role("mask-polygons"))
            dialog.format.setCurrentIndex(1)
            dialog.file.setFilePath(str(exports / "tree-crown"))
        answer_dialog("export-polygons", fill_polygons)
        log("click: export polygons")
        dock.find.export_button.click()
        log("exported:", sorted(p.name for p in exports.iterdir()))
        yield from settle()

        # 3. Change: spectral method (no model) on the real 1985 / 2020 Landsat pair
        dock.tabs.setCurrentWidget(dock.change)
        dock.layer_combo.setLayer(after)
        dock.area_combo.setCurrentIndex(1)
        dock.change.layer_a.setLayer(before)
        dock.change.layer_b.setLayer(after)
        dock.change.method.setCurrentIndex(dock.change.method.findData("spectral"))
        show_only([after])
        frame(after)
        yield from settle()
        yield from run(dock.change.compare_button, "compare")
        found = [find_role(r) for r in ("change-heat", "change")]
        show_only([after] + [lyr for lyr in found if lyr is not None])
        yield from settle()
        shot("change")

        # 4. Search: text query over the whole layer -> similarity heat + top-K (tiny OpenCLIP)
        dock.tabs.setCurrentWidget(dock.search)
        dock.layer_combo.setLayer(rgb)
        dock.area_combo.setCurrentIndex(1)
        dock.search.query.setText("a river with farmland")
        dock.search.top_k.setValue(5)
        dock.search.tile.setValue(128)
        show_only([rgb])
        frame(rgb)
        yield from settle()
        yield from run(dock.search.search_button, "search")
        found = [find_role(r) for r in ("search-heat", "search-top")]
        show_only([rgb] + [lyr for lyr in found if lyr is not None])
        yield from settle()
        shot("search")

    class Runner:
        """Steps of a generator: a number = wait that many seconds, a callable = wait until true."""

        def __init__(self, gen, step_timeout=600.0):
            self.gen, self.wait, self.step_timeout = gen, None, step_timeout
            self.rc = 0

        def tick(self):
            try:
                if self.wait is not None:
                    cond, until = self.wait
                    if not cond():
                        if time.time() < until:
                            QTimer.singleShot(200, self.tick)
                            return
                        log("TIMEOUT waiting; giving up")
                        return self.finish(1)
                    self.wait = None
                item = next(self.gen)
                if isinstance(item, (int, float)):
                    end = time.time() + item
                    self.wait = (lambda: time.time() >= end, end + 1)
                else:
                    self.wait = (item, time.time() + self.step_timeout)
                QTimer.singleShot(50, self.tick)
            except StopIteration:
                self.finish(0)
            except Exception:  # noqa: BLE001 - log it and quit, never leave QGIS hanging
                log("ERROR\n" + traceback.format_exc())
                self.finish(1)

        def finish(self, rc):
            log("finished, rc", rc)
            log_file.close()
            if plugin is not None and plugin.dock is not None:
                plugin.dock.cancel()
            project.setDirty(False)
            QTimer.singleShot(500, lambda: QgsApplication.exit(rc))

    runner = Runner(scenario())
    qgis.utils._eolens_screenshots = runner       # keep it alive after this file's exec ends
    QTimer.singleShot(1000, runner.tick)


if _inside_qgis():
    drive()
elif __name__ == "__main__":
    sys.exit(launch())
