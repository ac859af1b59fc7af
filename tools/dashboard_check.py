"""Check what the Ray dashboard shows during a 2-trial search: the job's name, the trial actors' names, screenshots.

    python tools/dashboard_check.py --shots shots/            # token auth (the default), through the login cookie
    RAY_AUTH_MODE=disabled python tools/dashboard_check.py --shots shots/

It starts ``nas-search --trials 2 --dashboard`` on a micro recipe, reads the dashboard's own API (the jobs
table and the actor list) until both trial actors are listed, prints what it found, and takes headless
Chromium screenshots of the Jobs and Actors pages (Debian's ``chromium`` package). With token auth the
browser talks to a small local proxy that adds the ``ray-authentication-token`` cookie, which is what the
dashboard's login page sets. Exit 0 when the job is named after ``--out`` and every trial actor after its trial.
"""
from __future__ import annotations

import argparse
import http.server
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

import yaml

MICRO = {"madds": "330M", "data": {"proxy_resolution": 8, "train_size": 64, "val_size": 32, "batch_size": 32},
         "supernet": {"width": 0.25, "epochs": 6}, "sgld": {"burn_in": 1, "snapshots": 2, "spacing": 1},
         "score": {"bn_batches": 1, "bn_batch_size": 16, "val_images": 32, "eval_batch_size": 32},
         "evolution": {"population": 2, "generations": 1, "parents": 1}}
COOKIE = "ray-authentication-token"


def _get(url: str, token: Optional[str]) -> object:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def _proxy(target: str, token: str) -> http.server.ThreadingHTTPServer:
    """Serve 127.0.0.1:<free port> forwarding GETs to ``target`` with the login cookie set."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            req = urllib.request.Request(target + self.path, headers={"Cookie": f"{COOKIE}={token}"})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    body, status, ctype = r.read(), r.status, r.headers.get("Content-Type", "text/html")
            except urllib.error.HTTPError as e:
                body, status, ctype = e.read(), e.code, "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def screenshot(url: str, path: Path) -> bool:
    """Take a headless Chromium screenshot of ``url``; return False when Chromium is not installed."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        return False
    with tempfile.TemporaryDirectory(prefix="nas-chromium-") as profile:
        subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                        "--window-size=1600,1000", "--virtual-time-budget=15000", f"--screenshot={path}", url],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    return path.is_file()


def wait_for_trials(url: str, token: Optional[str], names: List[str], timeout: float) -> Dict[str, object]:
    """Poll the dashboard until every trial actor is listed; return the job names and actor repr names seen."""
    end, seen = time.time() + timeout, {"jobs": [], "actors": []}
    while time.time() < end:
        try:
            jobs = _get(f"{url}/api/jobs/", token)
            actors = _get(f"{url}/api/v0/actors?detail=1&limit=1000", token)["data"]["result"]["result"]
        except (OSError, KeyError, ValueError):
            time.sleep(1)
            continue
        seen = {"jobs": [(j.get("metadata") or {}).get("job_name") for j in jobs],
                "actors": [a.get("repr_name") or a.get("class_name") for a in actors]}
        if all(n in seen["actors"] for n in names):
            return seen
        time.sleep(1)
    return seen


def main(argv: Optional[List[str]] = None) -> int:
    """Run the check; return 0 when the dashboard names the job and both trial actors."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shots", default="dashboard_shots", help="folder for the screenshots")
    p.add_argument("--timeout", type=float, default=300, help="seconds to wait for the trial actors")
    args = p.parse_args(argv)
    shots = Path(args.shots)
    shots.mkdir(parents=True, exist_ok=True)
    disabled = os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONUNBUFFERED": "1"}
    token = None if disabled else env.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
    with tempfile.TemporaryDirectory(prefix="nas-dash-") as d:
        recipe, out = Path(d) / "micro.yaml", Path(d) / "dash-experiment"
        recipe.write_text(yaml.safe_dump(MICRO))
        cmd = [sys.executable, "-m", "nas.cli.search", "--recipe", str(recipe), "--trials", "2", "--dashboard",
               "--cpus-per-trial", "1", "--out", str(out)]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            return _watch(proc, token, out.name, shots)
        finally:
            proc.terminate()
            proc.wait(timeout=60)


def _watch(proc: subprocess.Popen, token: Optional[str], job: str, shots: Path) -> int:
    url, head = None, []
    for line in proc.stdout:
        head.append(line)
        m = re.search(r"Ray dashboard: (http://\S+)", line)
        if m:
            url = m.group(1)
            break
    if url is None:
        print("dashboard_check: nas-search printed no dashboard URL; its output ended with:", file=sys.stderr)
        print("".join(head[-15:]), file=sys.stderr)
        return 1
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # keep the pipe drained
    names = ["trial-000-330M-s0", "trial-001-330M-s1"]
    seen = wait_for_trials(url, token, names, timeout=300)
    print(f"auth: {'token' if token else 'disabled'}; dashboard {url}")
    print(f"jobs (metadata.job_name): {seen['jobs']}")
    print(f"actors (repr name): {seen['actors']}")
    browse = url
    server = _proxy(url, token) if token else None
    if server is not None:
        browse = f"http://127.0.0.1:{server.server_address[1]}"
    tag = "token" if token else "noauth"
    for page in ("jobs", "actors"):
        path = shots / f"{tag}-{page}.png"
        ok = screenshot(f"{browse}/#/{page}", path)
        print(f"screenshot {page}: {path if ok else 'not taken (install Debian package chromium)'}")
    if server is not None:
        server.shutdown()
    named = job in seen["jobs"] and all(n in seen["actors"] for n in names)
    print("dashboard naming: OK" if named else "dashboard naming: MISSING")
    return 0 if named else 1


if __name__ == "__main__":
    sys.exit(main())
