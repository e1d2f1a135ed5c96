"""A local read-through view of a package index that always offers PEP 658 wheel metadata.

pip's dry runs need every candidate wheel's METADATA. PyPI serves it as a small ``.metadata`` file
(PEP 658), but mirrors often do not; pip then downloads the wheel (torch: 0.2-0.8 GB a platform) or,
with ``fast-deps``, reads it with ~20 tiny HTTP range requests per wheel, for every dry run again.
This server sits between pip and the real index for tools/support_matrix.py:

- ``/simple/<project>/`` is the index's own page (read as PEP 691 JSON, fetched once per server)
  as PEP 503 HTML, wheels only, each marked as having metadata and its URL pointing here;
- ``/files/<n>/<wheel>.metadata`` is the index's ``.metadata`` file when it has one, else the
  METADATA read out of the remote wheel with a few range requests (zip central directory, one member);
  cached on disk by the wheel's sha256, since a published file never changes;
- ``/files/<n>/<wheel>`` redirects to the real file (a dry run never fetches it).

Nothing is invented: project lists, files, hashes and metadata all come from the index.
"""
from __future__ import annotations

import hashlib
from html import escape
import io
import json
import threading
import urllib.error
import urllib.request
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional
from urllib.parse import quote, unquote

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
CHUNK = 256 * 1024  # read-ahead of a range request: one request covers most central directories


class RangeFile(io.RawIOBase):
    """A seekable, read-only view of a remote file through HTTP range requests (read-ahead cached)."""

    def __init__(self, url: str, size: int, timeout: float = 60) -> None:
        super().__init__()
        self.url, self.size, self.timeout, self.pos = url, size, timeout, 0
        self.blocks: dict[int, bytes] = {}

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def read(self, n: int = -1) -> bytes:
        end = self.size if n is None or n < 0 else min(self.size, self.pos + n)
        out = b"".join(self._block(b)[max(self.pos - b, 0):end - b] for b in self._blocks(self.pos, end))
        self.pos = end
        return out

    def _blocks(self, start: int, end: int) -> range:
        return range(start - start % CHUNK, end, CHUNK)

    def _block(self, start: int) -> bytes:
        if start not in self.blocks:
            last = min(self.size, start + CHUNK) - 1
            req = urllib.request.Request(self.url, headers={"Range": f"bytes={start}-{last}",
                                                            "Accept-Encoding": "identity"})
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # nosec B310: index URL
                if resp.status != 206:  # never download a whole wheel to read its METADATA
                    raise OSError(f"{self.url} ignored the range request")
                self.blocks[start] = resp.read()
        return self.blocks[start]


def wheel_metadata(url: str, size: int, timeout: float = 60) -> bytes:
    """The ``*.dist-info/METADATA`` of the remote wheel at ``url`` (``size`` bytes), read by range."""
    with zipfile.ZipFile(RangeFile(url, size, timeout)) as wheel:
        names = [n for n in wheel.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        if len(names) != 1:
            raise OSError(f"{url} has {len(names)} .dist-info/METADATA files")
        return wheel.read(names[0])


class MetadataIndex:
    """The server's state: the upstream index, the pages it served, the files it knows."""

    def __init__(self, upstream: str, cache: Path, views: Optional[dict] = None, timeout: float = 60) -> None:
        """``views`` names filters of wheel file names: ``url(name)`` serves only the wheels they keep
        (a dry run for Windows never needs to parse numpy's 2,000 Linux and macOS wheels)."""
        self.upstream, self.cache, self.timeout = upstream.rstrip("/"), Path(cache), timeout
        self.views: dict = dict(views or {})
        self.cache.mkdir(parents=True, exist_ok=True)
        self.upstream_pages: dict[str, dict] = {}
        self.pages: dict[tuple, bytes] = {}
        self.files: list[dict] = []
        self.lock = threading.Lock()
        self.fetch_locks: dict[str, threading.Lock] = {}
        self.server: Optional[ThreadingHTTPServer] = None

    def url(self, view: str = "") -> str:
        """The index URL for pip: every wheel, or those ``views[view]`` keeps."""
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}" + (f"/{view}" if view else "") + "/simple"

    def start(self) -> "MetadataIndex":
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> "MetadataIndex":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def page(self, project: str, view: str = "") -> bytes:
        """The project's page, every wheel offering metadata from this server."""
        with self._lock_for("page:" + project):
            if project not in self.upstream_pages:
                self.upstream_pages[project] = self._get_json(f"{self.upstream}/{project}/")
        with self._lock_for(f"page:{view}:{project}"):
            if (view, project) not in self.pages:
                keep = self.views[view] if view else (lambda name: True)
                self.pages[(view, project)] = self._rewrite(self.upstream_pages[project], keep)
        return self.pages[(view, project)]

    def metadata(self, index: int) -> bytes:
        entry = self.files[index]
        digest = entry.get("hashes", {}).get("sha256") or hashlib.sha256(entry["url"].encode()).hexdigest()
        path = self.cache / f"{digest}.metadata"
        with self._lock_for(digest):
            if not path.exists():
                data = self._upstream_metadata(entry)
                tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
                tmp.write_bytes(data)
                tmp.replace(path)
        return path.read_bytes()

    def _upstream_metadata(self, entry: dict) -> bytes:
        if entry.get("core-metadata") or entry.get("dist-info-metadata"):
            with urllib.request.urlopen(entry["url"] + ".metadata", timeout=self.timeout) as resp:  # nosec B310
                return resp.read()
        size = entry.get("size") or _content_length(entry["url"], self.timeout)
        return wheel_metadata(entry["url"], size, self.timeout)

    def _rewrite(self, page: dict, keep) -> bytes:
        """PEP 503 HTML (every pip since 22.3 reads its metadata attributes; pip 23.0's JSON parser
        cannot take a bare ``true``), wheels only: the dry runs are binary-only."""
        links = []
        for entry in page.get("files", []):
            if not entry["filename"].endswith(".whl") or not keep(entry["filename"]):
                continue
            with self.lock:
                self.files.append(entry)
                index = len(self.files) - 1
            links.append(_anchor(index, entry))
        return ("<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n").encode()

    def _get_json(self, url: str) -> dict:
        req = urllib.request.Request(url, headers={"Accept": JSON_TYPE})
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # nosec B310: index URL
            return json.loads(resp.read())

    def _lock_for(self, key: str) -> threading.Lock:
        with self.lock:
            return self.fetch_locks.setdefault(key, threading.Lock())


def _anchor(index: int, entry: dict) -> str:
    sha = entry.get("hashes", {}).get("sha256")
    href = f"/files/{index}/{quote(entry['filename'])}" + (f"#sha256={sha}" if sha else "")
    attrs = [f'href="{escape(href)}"', 'data-dist-info-metadata="true"', 'data-core-metadata="true"']
    if entry.get("requires-python"):
        attrs.append(f'data-requires-python="{escape(entry["requires-python"])}"')
    if entry.get("yanked"):
        reason = entry["yanked"] if isinstance(entry["yanked"], str) else ""
        attrs.append(f'data-yanked="{escape(reason)}"')
    return f"<a {' '.join(attrs)}>{escape(entry['filename'])}</a><br/>"


def _content_length(url: str, timeout: float) -> int:
    req = urllib.request.Request(url, method="HEAD")
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # nosec B310: index URL
        return int(resp.headers["Content-Length"])


def _handler(index: MetadataIndex):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            parts = [unquote(p) for p in self.path.split("?", 1)[0].strip("/").split("/")]
            try:
                if len(parts) == 2 and parts[0] == "simple":
                    self._send(200, index.page(parts[1]), "text/html")
                elif len(parts) == 3 and parts[1] == "simple" and parts[0] in index.views:
                    self._send(200, index.page(parts[2], parts[0]), "text/html")
                elif len(parts) == 3 and parts[0] == "files" and parts[2].endswith(".metadata"):
                    self._send(200, index.metadata(int(parts[1])), "text/plain")
                elif len(parts) == 3 and parts[0] == "files":
                    self.send_response(302)
                    self.send_header("Location", index.files[int(parts[1])]["url"])
                    self.end_headers()
                else:
                    self._send(404, b"not found", "text/plain")
            except urllib.error.HTTPError as exc:
                self._send(exc.code, str(exc).encode(), "text/plain")
            except (OSError, ValueError, IndexError, zipfile.BadZipFile) as exc:
                self._send(502, f"{type(exc).__name__}: {exc}".encode(), "text/plain")

        def _send(self, code: int, body: bytes, kind: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # quiet: pip prints what matters
            pass

    return Handler
