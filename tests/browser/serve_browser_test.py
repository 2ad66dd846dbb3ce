#!/usr/bin/env python3
"""Headless-Chromium test of the page that `ernie serve` shows at /.

Starts `ernie serve` on a free loopback port with a fixture classifier, starts chromedriver,
opens the page through the WebDriver HTTP API (Python stdlib only), types a text, submits,
waits for the probability bars and checks the rendered labels and probabilities against
POST /predict for the same text, and the rendered tokens against POST /tokenize.

Exit codes: 0 pass, 1 fail, 77 skipped (chromium or chromedriver absent; ctest SKIP_RETURN_CODE).
usage: serve_browser_test.py --ernie BUILD/bin/ernie --fixtures tests/fixtures
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SKIP = 77
TEXT = "F5 g6 zz h7"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


class WebDriver:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.session = None

    def call(self, method, path, body=None):
        status, data = http(method, self.base + path, body, timeout=60)
        if status != 200:
            raise RuntimeError(f"WebDriver {method} {path}: HTTP {status}: {data}")
        return data["value"]

    def start(self, chromium):
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1000,800"]}}}}
        value = self.call("POST", "/session", caps)
        self.session = value["sessionId"]

    def s(self, path):
        return f"/session/{self.session}{path}"

    def find(self, css):
        value = self.call("POST", self.s("/element"), {"using": "css selector", "value": css})
        return next(iter(value.values()))   # the element reference

    def script(self, source):
        return self.call("POST", self.s("/execute/sync"), {"script": source, "args": []})

    def quit(self):
        if self.session:
            try:
                self.call("DELETE", self.s(""))
            except Exception:
                pass


def make_model(fixtures, dest):
    src = os.path.join(fixtures, "ernie_relu_seqcls")
    os.makedirs(dest)
    for f in ("config.json", "model.safetensors"):
        shutil.copy(os.path.join(src, f), dest)
    vocab = ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"]
    vocab += [chr(ord("a") + i % 26) + str(i) for i in range(5, 120)]
    with open(os.path.join(dest, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")


def wait_for(predicate, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ernie", required=True)
    ap.add_argument("--fixtures", required=True)
    args = ap.parse_args()

    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        print("SKIP: chromium and chromedriver are needed (scripts/install-deps.sh installs them)")
        return SKIP

    tmp = tempfile.mkdtemp(prefix="ernie-browser-")
    server = driver_proc = None
    wd = None
    try:
        model = os.path.join(tmp, "ernie_relu_seqcls")
        make_model(args.fixtures, model)
        log = open(os.path.join(tmp, "serve.log"), "w+")
        server = subprocess.Popen([args.ernie, "serve", "--model", model, "--port", "0"], stderr=log)

        def server_port():
            log.seek(0)
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", log.read())
            if server.poll() is not None:
                raise RuntimeError("ernie serve exited: " + open(log.name).read())
            return int(m.group(1)) if m else None

        port = wait_for(server_port, 30, "ernie serve to listen")
        base = f"http://127.0.0.1:{port}"

        dport = free_port()
        driver_proc = subprocess.Popen([chromedriver, f"--port={dport}"], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        def driver_ready():
            if driver_proc.poll() is not None:
                raise RuntimeError("chromedriver exited with status %d" % driver_proc.returncode)
            try:
                return http("GET", f"http://127.0.0.1:{dport}/status", timeout=2)[0] == 200
            except (urllib.error.URLError, OSError):
                return False

        wait_for(driver_ready, 30, "chromedriver")
        wd = WebDriver(dport)
        wd.start(chromium)
        wd.call("POST", wd.s("/url"), {"url": base + "/"})
        wait_for(lambda: "ernie_relu_seqcls" in wd.script("return document.getElementById('model').textContent"),
                 20, "the page to show the model from /info")

        text_box = wd.find("#text")
        wd.call("POST", wd.s(f"/element/{text_box}/value"), {"text": TEXT})
        wd.call("POST", wd.s(f"/element/{wd.find('#submit')}/click"), {})
        state = wait_for(lambda: wd.script("return document.getElementById('results').dataset.state || ''")
                         in ("done", "error") and wd.script("return document.getElementById('results').dataset.state"),
                         20, "the results")
        if state != "done":
            raise RuntimeError("the page shows an error: " + wd.script("return document.getElementById('status').textContent"))

        rows = wd.script("""return Array.from(document.querySelectorAll('#results .row')).map(r => ({
            label: r.dataset.label, score: parseFloat(r.dataset.score),
            shown: r.querySelector('.score').textContent, width: r.querySelector('.fill').style.width,
            name: r.querySelector('.label').textContent}));""")
        tokens = wd.script("return Array.from(document.querySelectorAll('#tokens .token')).map(t => t.textContent);")

        status, expected = http("POST", base + "/predict", {"inputs": TEXT})
        assert status == 200, expected
        assert len(rows) == len(expected) == 3, (rows, expected)
        for row, exp in zip(rows, expected):
            assert row["label"] == exp["label"] == row["name"], (row, exp)
            assert abs(row["score"] - exp["score"]) < 1e-6, (row, exp)
            assert row["shown"] == f"{exp['score'] * 100:.1f}%", (row, exp)
            assert row["width"] == f"{exp['score'] * 100:.1f}%", (row, exp)
        status, tok = http("POST", base + "/tokenize", {"inputs": TEXT})
        assert status == 200, tok
        assert tokens == [t["token"] for t in tok[0]] == ["[CLS]", "f5", "g6", "[UNK]", "h7", "[SEP]"], tokens

        # A second task of the same model: rerank passages (the choices come from /info's tasks).
        choices = wd.script("return Array.from(document.querySelectorAll('#task option')).map(o => o.value);")
        assert choices == ["text-classification", "rerank", "feature-extraction"], choices
        wd.script("const t = document.getElementById('task'); t.value = 'rerank'; t.dispatchEvent(new Event('change'));")
        for box, value in (("#text", "f5 g6"), ("#pair", "h7 i8\nj9\nf5 g6 k10")):
            ref = wd.find(box)
            wd.call("POST", wd.s(f"/element/{ref}/clear"), {})
            wd.call("POST", wd.s(f"/element/{ref}/value"), {"text": value})
        wd.call("POST", wd.s(f"/element/{wd.find('#submit')}/click"), {})
        wait_for(lambda: wd.script("return document.getElementById('results').dataset.state") == "done", 20, "the ranking")
        ranked = wd.script("""return Array.from(document.querySelectorAll('#results .row')).map(r => ({
            label: r.dataset.label, score: parseFloat(r.dataset.score)}));""")
        status, hits = http("POST", base + "/rerank", {"query": "f5 g6", "texts": ["h7 i8", "j9", "f5 g6 k10"],
                                                       "return_text": True})
        assert status == 200, hits
        assert [r["label"] for r in ranked] == [h["text"] for h in hits], (ranked, hits)
        for r, h in zip(ranked, hits):
            assert abs(r["score"] - h["score"]) < 1e-6, (r, h)
        print(f"PASS: the page at {base}/ shows {[(r['label'], r['shown']) for r in rows]}, tokens {tokens}, "
              f"and the rerank task {[(r['label'], round(r['score'], 4)) for r in ranked]}")
        return 0
    except (AssertionError, RuntimeError) as e:
        print(f"FAIL: {e!r}")
        if server is not None:
            try:
                print(open(os.path.join(tmp, "serve.log")).read())
            except OSError:
                pass
        return 1
    finally:
        if wd:
            wd.quit()
        if driver_proc:
            driver_proc.terminate()
            driver_proc.wait(timeout=10)
        if server:
            server.send_signal(signal.SIGTERM)
            try:
                rc = server.wait(timeout=20)
                if rc != 0:
                    print(f"ernie serve exited with {rc}")
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
