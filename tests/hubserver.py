"""A small Hugging Face Hub look-alike for the tests: stdlib only, in memory, on 127.0.0.1.

It speaks what huggingface_hub's download, snapshot, repo and commit calls need: ``/resolve`` (HEAD
and GET, with ``X-Repo-Commit``, ``ETag``/``X-Linked-Etag``, ``X-Error-Code`` and Range), the
``revision``, ``tree`` and ``refs`` APIs, ``repos/create``, branches and tags, ``validate-yaml``,
``preupload``, the LFS batch API plus ``PUT`` and the ndjson ``commit`` endpoint.

Auth: writes need ``Authorization: Bearer <token>``; so do reads of private repos. Faults: each
request first consults :attr:`HubServer.faults` (``fail`` N times with a status, ``stall`` an
answer until the test releases it, ``cut`` a body short, ``hold`` a download half-sent until
released, ``overlap`` a download until a second request for the same file arrives), optionally
only for paths containing a string. :attr:`HubServer.fired` records every fault at the moment the
Hub has injected it (the error sent, the answer held back, half a body sent; the second request
arrived while the first download was held), not when it was armed; :attr:`HubServer.scenarios` records
each armed fault once, when it first fires (what the reliability tally counts); :attr:`HubServer.stalled_now` how many answers are being held back right now, and
:meth:`HubServer.wait_idle` waits (on a condition, not a timer) until no request is being handled.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

LFS_THRESHOLD = 10 * 1024 * 1024


def git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324


class Repo:
    def __init__(self, repo_id: str, private: bool):
        self.repo_id, self.private = repo_id, private
        self.commits: dict[str, dict] = {}  # sha -> {"files": {path: (data, lfs: bool)}, "parent", "message"}
        self.branches: dict[str, str] = {}
        self.tags: dict[str, str] = {}
        sha = self.new_commit({}, None, "initial commit")
        self.branches["main"] = sha

    def new_commit(self, files: dict, parent, message: str) -> str:
        h = hashlib.sha1(f"{self.repo_id}|{parent}|{message}|{time.time_ns()}|{len(self.commits)}".encode())  # noqa: S324
        for path in sorted(files):
            h.update(path.encode() + hashlib.sha256(files[path][0]).digest())
        sha = h.hexdigest()
        self.commits[sha] = {"files": files, "parent": parent, "message": message}
        return sha

    def resolve(self, rev: str):
        rev = unquote(rev)
        if rev in self.branches:
            return self.branches[rev]
        if rev in self.tags:
            return self.tags[rev]
        if rev in self.commits:
            return rev
        if re.fullmatch(r"[0-9a-f]{7,40}", rev):
            found = [c for c in self.commits if c.startswith(rev)]
            if len(found) == 1:
                return found[0]
        return None


class HubServer:
    def __init__(self, token: str = "hf_test_write_token"):
        self.token = token
        self.repos: dict[str, Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.lock = threading.RLock()
        self.faults: list[dict] = []
        self.etags: dict[tuple, str] = {}  # (repo, path) -> ETag to announce instead of the real one
        self.sizes: dict[tuple, int] = {}  # (repo, path) -> size to announce (HEAD) instead of the real one
        self.requests: list[tuple[str, str]] = []
        self.fired: list[str] = []  # kinds of the faults injected, one per answer (not cleared by reset)
        self.scenarios: list[str] = []  # kinds of the faults armed that fired at least once: one per scenario
        self._armed, self._seen = 0, set()
        self.overlap_state: dict | None = None  # an ``overlap`` barrier: {"match", "state", "seconds"}
        self.overlap_cond = threading.Condition()
        self.holding = threading.Event()  # set while a ``hold`` fault keeps a download half-sent
        self.release = threading.Event()
        self.stalled_now = 0  # requests whose answer a ``stall`` fault holds back at this moment
        self.active = 0  # requests being handled
        self.idle = threading.Condition()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.hub = self
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    # -- control ----------------------------------------------------------------------------
    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self):
        with self.lock:
            self.faults.clear()
            self.requests.clear()
            self.sizes.clear()
        with self.overlap_cond:
            if self.overlap_state is not None:
                self.overlap_state["state"] = "released"
                self.overlap_cond.notify_all()
            self.overlap_state = None
        self.release.set()  # let any held download finish (its client is usually gone by now)
        self.holding.clear()
        self.release = threading.Event()

    def fail(self, n: int, status: int = 500, match: str = ""):
        self._arm({"kind": "fail", "n": n, "status": status, "match": match})

    def stall(self, n: int, seconds: float = 60.0, match: str = ""):
        """Hold back the answer to the next N matching requests until :meth:`reset` (or, as a safety
        net for a client that never gives up, ``seconds``)."""
        self._arm({"kind": "stall", "n": n, "seconds": seconds, "match": match})

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no request is being handled (e.g. a released stall has been answered)."""
        with self.idle:
            return self.idle.wait_for(lambda: self.active == 0, timeout)

    def hold(self, n: int, match: str = "", seconds: float = 60.0):
        """Send the headers and half the body of the next N matching GETs, then wait (until
        :meth:`reset` or ``seconds``) and drop the connection: a download caught mid-transfer."""
        self._arm({"kind": "hold", "n": n, "seconds": seconds, "match": match})

    def overlap(self, match: str, seconds: float = 60.0):
        """A barrier: hold the first GET whose path contains ``match`` (before any byte of it is sent)
        until a second request (any method, e.g. another client's HEAD) for a path containing ``match``
        arrives; then let both go on. Fires ``overlap`` when the second request arrives while the
        first is held, so two clients are shown to be fetching the same file at the same time."""
        with self.overlap_cond:
            self.overlap_state = {"match": match, "state": "armed", "seconds": seconds}

    def _overlap(self, method: str, path: str) -> None:
        with self.overlap_cond:
            st = self.overlap_state
            if st is None or st["match"] not in path:
                return
            if st["state"] == "armed" and method == "GET":
                st["state"] = "holding"
                self.overlap_cond.notify_all()
                self.overlap_cond.wait_for(lambda: st["state"] == "released", st["seconds"])
            elif st["state"] == "holding":
                st["state"] = "released"
                self.record({"kind": "overlap", "id": ("overlap", id(st))})
                self.overlap_cond.notify_all()

    def cut(self, n: int, match: str = ""):
        """Send the headers of the next N matching GETs, then only half of the body."""
        self._arm({"kind": "cut", "n": n, "match": match})

    def _arm(self, fault: dict) -> None:
        with self.lock:
            self._armed += 1
            self.faults.append(dict(fault, id=self._armed))

    def record(self, fault: dict) -> None:
        """A fault was injected (an answer failed, held, cut): one more in :attr:`fired`, and in
        :attr:`scenarios` the first time this armed fault fires (a fault armed for N answers and the
        retries it causes are one scenario)."""
        with self.lock:
            self.fired.append(fault["kind"])
            if fault.get("id") not in self._seen:
                self._seen.add(fault.get("id"))
                self.scenarios.append(fault["kind"])

    def placed_kill(self, kind: str) -> None:
        """The ``kind`` fault only held a transfer for a kill -9 the test counts itself: not a scenario."""
        with self.lock:
            self.scenarios.remove(kind)

    def take_fault(self, method: str, path: str):
        with self.lock:
            for f in self.faults:
                if f["n"] > 0 and f["match"] in path and (f["kind"] not in ("cut", "hold") or method == "GET"):
                    f["n"] -= 1
                    return dict(f)
        return None

    def announce(self, repo_id: str, path: str, size: int):
        """Announce ``size`` bytes for a file in answers to HEAD (what huggingface_hub reads as its size),
        while GET still sends the whole file: a Hub that says less than it sends."""
        self.sizes[(repo_id, path)] = size

    def corrupt(self, repo_id: str, path: str, data: bytes, revision: str = "main"):
        """Replace a file's bytes in place (same commit, same ETag): a tampered mirror."""
        with self.lock:
            repo = self.repos[repo_id]
            files = repo.commits[repo.resolve(revision)]["files"]
            old, lfs = files[path]
            self.etags[(repo_id, path)] = hashlib.sha256(old).hexdigest() if lfs else git_oid(old)
            files[path] = (data, lfs)

    def add_files(self, repo_id: str, files: dict, *, branch: str = "main", private: bool = False,
                  message: str = "add files") -> str:
        """Commit ``{path: bytes}`` directly (bypassing the API); returns the commit sha."""
        with self.lock:
            repo = self.repos.setdefault(repo_id, Repo(repo_id, private))
            parent = repo.branches.get(branch, repo.branches["main"])
            new = dict(repo.commits[parent]["files"])
            for p, data in files.items():
                new[p] = (data, len(data) > LFS_THRESHOLD or p.endswith(".safetensors"))
            sha = repo.new_commit(new, parent, message)
            repo.branches[branch] = sha
            return sha


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "TestHub/1.0"

    def log_message(self, fmt, *args):  # quiet
        pass

    @property
    def hub(self) -> HubServer:
        return self.server.hub

    # -- plumbing ---------------------------------------------------------------------------
    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, head: bool = False,
              ctype: str = "application/json", length: int | None = None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def _json(self, status: int, obj, headers: dict | None = None, head: bool = False):
        self._send(status, json.dumps(obj).encode(), headers, head=head)

    def _error(self, status: int, code: str | None, message: str, head: bool = False, headers: dict | None = None):
        h = dict(headers or {})
        if code:
            h["X-Error-Code"] = code
        h["X-Error-Message"] = message
        self._json(status, {"error": message}, h, head=head)

    def _auth(self):
        """None (anonymous), True (valid token) or False (a wrong token was sent)."""
        auth = self.headers.get("Authorization")
        if not auth:
            return None
        return auth == f"Bearer {self.hub.token}"

    def _dispatch(self, method: str):
        hub = self.hub
        with hub.idle:
            hub.active += 1
        try:
            self._handle(method)
        finally:
            with hub.idle:
                hub.active -= 1
                hub.idle.notify_all()

    def _handle(self, method: str):
        parsed = urlparse(self.path)
        path, query = parsed.path, parse_qs(parsed.query)
        self.hub.requests.append((method, unquote(path)))
        self.hub._overlap(method, unquote(path))
        fault = self.hub.take_fault(method, unquote(path))
        if fault and fault["kind"] == "fail":
            self._body()
            self._error(fault["status"], None, "injected failure", head=method == "HEAD")
            self.hub.record(fault)  # the error answer was sent
            return
        if fault and fault["kind"] == "stall":
            with self.hub.lock:
                self.hub.stalled_now += 1
                self.hub.record(fault)  # the answer is being held back now
                release = self.hub.release
            try:
                release.wait(fault["seconds"])  # until reset() releases it
            finally:
                with self.hub.lock:
                    self.hub.stalled_now -= 1
        self._cut = fault if fault and fault["kind"] == "cut" else None
        self._hold = fault if fault and fault["kind"] == "hold" else None
        try:
            self._route(method, path, query)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    # -- routes -----------------------------------------------------------------------------
    def _route(self, method, path, query):
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?", path)
        if m and method == "GET":
            return self._model_info(m.group(1), m.group(2) or "main")
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)(/.*)?", path)
        if m and method == "GET":
            return self._tree(m.group(1), m.group(2), (m.group(3) or "").strip("/"))
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/refs", path)
        if m and method == "GET":
            return self._refs(m.group(1))
        if path == "/api/repos/create" and method == "POST":
            return self._create_repo()
        if path == "/api/validate-yaml" and method == "POST":
            self._body()
            return self._json(200, {"errors": [], "warnings": []})
        if path == "/api/whoami-v2" and method == "GET":
            if not self._auth():
                return self._error(401, None, "Invalid credentials in Authorization header")
            return self._json(200, {"name": "tester", "type": "user", "orgs": []})
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/(preupload|commit|branch|tag)/(.+)", path)
        if m and method == "POST":
            return getattr(self, "_" + m.group(2))(m.group(1), unquote(m.group(3)))
        m = re.fullmatch(r"/([^/]+/[^/]+)\.git/info/lfs/objects/batch", path)
        if m and method == "POST":
            return self._lfs_batch(m.group(1))
        m = re.fullmatch(r"/_lfs/([0-9a-f]{64})", path)
        if m and method == "PUT":
            return self._lfs_put(m.group(1))
        m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if m and method in ("GET", "HEAD"):
            return self._resolve(m.group(1), m.group(2), unquote(m.group(3)), head=method == "HEAD")
        self._body()
        return self._error(404, None, f"no route for {method} {path}", head=method == "HEAD")

    def _repo_for_read(self, repo_id, head=False):
        repo = self.hub.repos.get(repo_id)
        auth = self._auth()
        if auth is False:
            self._error(401, None, "Invalid credentials in Authorization header", head=head)
            return None
        if repo is None or (repo.private and not auth):
            self._error(401 if repo is not None or not auth else 404, "RepoNotFound",
                        "Repository not found", head=head)
            return None
        return repo

    def _repo_for_write(self, repo_id):
        if self._auth() is not True:
            self._body()
            self._error(401, None, "Invalid credentials in Authorization header" if self._auth() is False
                        else "You must be authenticated to write")
            return None
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._body()
            self._error(404, "RepoNotFound", "Repository not found")
        return repo

    def _resolve(self, repo_id, rev, fpath, head):
        with self.hub.lock:
            repo = self._repo_for_read(repo_id, head=head)
            if repo is None:
                return
            sha = repo.resolve(rev)
            if sha is None:
                return self._error(404, "RevisionNotFound", "Invalid rev id", head=head)
            entry = repo.commits[sha]["files"].get(fpath)
            if entry is None:
                return self._error(404, "EntryNotFound", "Entry not found", head=head,
                                   headers={"X-Repo-Commit": sha})
            data, lfs = entry
        headers = {"X-Repo-Commit": sha, "Accept-Ranges": "bytes"}
        if (repo_id, fpath) in self.hub.etags:
            tag = self.hub.etags[(repo_id, fpath)]
            headers.update({"ETag": f'"{tag}"', "X-Linked-Etag": f'"{tag}"', "X-Linked-Size": len(data)})
        elif lfs:
            digest = hashlib.sha256(data).hexdigest()
            headers.update({"ETag": f'"{digest}"', "X-Linked-Etag": f'"{digest}"', "X-Linked-Size": len(data)})
        else:
            headers["ETag"] = f'"{git_oid(data)}"'
        status, body = 200, data
        rng = self.headers.get("Range")
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
        if m and not head:
            start = int(m.group(1))
            end = int(m.group(2)) if m.group(2) else len(data) - 1
            body = data[start:end + 1]
            status = 206
            headers["Content-Range"] = f"bytes {start}-{start + len(body) - 1}/{len(data)}"
        if head:
            size = self.hub.sizes.get((repo_id, fpath))
            if size is not None and "X-Linked-Size" in headers:
                headers["X-Linked-Size"] = size
            return self._send(status, data, headers, head=True, ctype="application/octet-stream", length=size)
        if self._cut or self._hold:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, str(v))
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.hub.record(self._hold or self._cut)  # half of the body is out
            if self._hold:
                release = self.hub.release
                self.hub.holding.set()
                release.wait(self._hold["seconds"])
            self.close_connection = True
            return
        return self._send(status, body, headers, ctype="application/octet-stream")

    def _model_info(self, repo_id, rev):
        with self.hub.lock:
            repo = self._repo_for_read(repo_id)
            if repo is None:
                return
            sha = repo.resolve(rev)
            if sha is None:
                return self._error(404, "RevisionNotFound", "Invalid rev id")
            files = repo.commits[sha]["files"]
            return self._json(200, {"id": repo_id, "modelId": repo_id, "sha": sha, "private": repo.private,
                                    "siblings": [{"rfilename": p} for p in sorted(files)], "tags": [],
                                    "downloads": 0, "likes": 0})

    def _tree(self, repo_id, rev, prefix):
        with self.hub.lock:
            repo = self._repo_for_read(repo_id)
            if repo is None:
                return
            sha = repo.resolve(rev)
            if sha is None:
                return self._error(404, "RevisionNotFound", "Invalid rev id")
            out = []
            for p, (data, lfs) in sorted(repo.commits[sha]["files"].items()):
                if prefix and not p.startswith(prefix + "/"):
                    continue
                item = {"type": "file", "oid": git_oid(data), "size": len(data), "path": p}
                if lfs:
                    item["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
                out.append(item)
            return self._json(200, out)

    def _refs(self, repo_id):
        with self.hub.lock:
            repo = self._repo_for_read(repo_id)
            if repo is None:
                return
            return self._json(200, {
                "branches": [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": s} for n, s in repo.branches.items()],
                "tags": [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": s} for n, s in repo.tags.items()],
                "converts": []})

    def _create_repo(self):
        payload = json.loads(self._body() or b"{}")
        if self._auth() is not True:
            return self._error(401, None, "Invalid credentials in Authorization header" if self._auth() is False
                               else "You must be authenticated to create a repo")
        repo_id = f"{payload.get('organization') or 'tester'}/{payload['name']}"
        url = f"{self.hub.url}/{repo_id}"
        with self.hub.lock:
            if repo_id in self.hub.repos:
                return self._json(409, {"error": "You already created this model repo", "url": url})
            private = payload.get("private") is True or payload.get("visibility") == "private"
            self.hub.repos[repo_id] = Repo(repo_id, private)
        return self._json(200, {"url": url, "name": repo_id})

    def _branch(self, repo_id, branch):
        payload = json.loads(self._body() or b"{}")
        with self.hub.lock:
            repo = self._repo_for_write(repo_id)
            if repo is None:
                return
            if branch in repo.branches:
                return self._error(409, None, "Reference already exists")
            start = repo.resolve(payload.get("startingPoint") or "main")
            if start is None:
                return self._error(404, "RevisionNotFound", "Invalid rev id")
            repo.branches[branch] = start
        return self._json(200, {})

    def _tag(self, repo_id, rev):
        payload = json.loads(self._body() or b"{}")
        with self.hub.lock:
            repo = self._repo_for_write(repo_id)
            if repo is None:
                return
            sha = repo.resolve(rev)
            if sha is None:
                return self._error(404, "RevisionNotFound", "Invalid rev id")
            if payload["tag"] in repo.tags:
                return self._error(409, None, "Tag already exists")
            repo.tags[payload["tag"]] = sha
        return self._json(200, {})

    def _preupload(self, repo_id, rev):
        payload = json.loads(self._body() or b"{}")
        with self.hub.lock:
            repo = self._repo_for_write(repo_id)
            if repo is None:
                return
            sha = repo.resolve(rev)
            current = repo.commits[sha]["files"] if sha else {}
            out = []
            for f in payload.get("files", []):
                sample = base64.b64decode(f.get("sample", ""))
                lfs = f["size"] > LFS_THRESHOLD or f["path"].endswith((".safetensors", ".png")) or b"\0" in sample
                item = {"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False}
                if f["path"] in current:
                    data, was_lfs = current[f["path"]]
                    item["oid"] = hashlib.sha256(data).hexdigest() if was_lfs else git_oid(data)
                out.append(item)
        return self._json(200, {"files": out, "commitOid": sha})

    def _lfs_batch(self, repo_id):
        payload = json.loads(self._body() or b"{}")
        with self.hub.lock:
            if self._auth() is not True:
                return self._error(401, None, "Invalid credentials in Authorization header")
            if repo_id not in self.hub.repos:
                return self._error(404, "RepoNotFound", "Repository not found")
            objects = []
            for obj in payload.get("objects", []):
                item = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
                if obj["oid"] not in self.hub.lfs:
                    item["actions"] = {"upload": {"href": f"{self.hub.url}/_lfs/{obj['oid']}", "header": {}}}
                objects.append(item)
        return self._json(200, {"transfer": "basic", "objects": objects})

    def _lfs_put(self, oid):
        data = self._body()
        if hashlib.sha256(data).hexdigest() != oid:
            return self._error(400, None, "sha256 mismatch")
        with self.hub.lock:
            self.hub.lfs[oid] = data
        return self._send(200)

    def _commit(self, repo_id, rev):
        body = self._body()
        with self.hub.lock:
            repo = self._repo_for_write(repo_id)
            if repo is None:
                return
            if rev not in repo.branches:
                return self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
            parent = repo.branches[rev]
            files = dict(repo.commits[parent]["files"])
            summary = "commit"
            for line in body.splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                key, value = item["key"], item["value"]
                if key == "header":
                    summary = value.get("summary") or summary
                elif key == "file":
                    files[value["path"]] = (base64.b64decode(value["content"]), False)
                elif key == "lfsFile":
                    data = self.hub.lfs.get(value["oid"])
                    if data is None:
                        return self._error(400, None, f"LFS object {value['oid']} was never uploaded")
                    files[value["path"]] = (data, True)
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                else:
                    return self._error(400, None, f"unsupported commit operation {key}")
            sha = repo.new_commit(files, parent, summary)
            repo.branches[rev] = sha
        return self._json(200, {"success": True, "commitOid": sha,
                                "commitUrl": f"{self.hub.url}/{repo_id}/commit/{sha}", "pullRequestUrl": None})
