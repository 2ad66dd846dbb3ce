#!/usr/bin/env python3
"""OpenAI's official Node client (npm `openai`) against `ernie serve`'s POST /v1/embeddings.

Starts `ernie serve --api-key` with a fixture encoder, installs openai@4 with npm once (into
--node-dir), and calls client.embeddings.create twice: with the client's default encoding (it asks
for base64 and decodes) and with encoding_format "float". Both must equal POST /embed's normalized
vectors; the usage counts must be the tokens of the inputs.

Exit codes: 0 pass, 1 fail, 77 skipped (node/npm absent or the npm registry unreachable).
usage: openai_client_test.py --ernie BUILD/bin/ernie --fixtures tests/fixtures --node-dir BUILD/node-openai
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77
CLIENT = r"""
const OpenAI = require(process.env.OPENAI_MODULE);
(async () => {
  const client = new OpenAI({ apiKey: 'secret', baseURL: process.env.BASE + '/v1' });
  const dflt = await client.embeddings.create({ model: 'fixture', input: ['f5 g6 h7', 'i8'] });
  const flt = await client.embeddings.create({ model: 'fixture', input: 'f5 g6 h7', encoding_format: 'float' });
  let refused = null, message = null;
  try { await new OpenAI({ apiKey: 'wrong', baseURL: process.env.BASE + '/v1' }).embeddings.create({ model: 'm', input: 'x' }); }
  catch (e) { refused = e.status; message = e.message; }
  console.log(JSON.stringify({ dflt, flt, refused, message }));
})().catch((e) => { console.error(String(e)); process.exit(1); });
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ernie", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--node-dir", required=True)
    args = ap.parse_args()
    if not shutil.which("node") or not shutil.which("npm"):
        print("SKIP: node and npm are needed")
        return SKIP
    module = os.path.join(args.node_dir, "node_modules", "openai")
    if not os.path.exists(os.path.join(module, "package.json")):
        os.makedirs(args.node_dir, exist_ok=True)
        r = subprocess.run(["npm", "i", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix", args.node_dir, "openai@4"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
        if r.returncode != 0:
            print("SKIP: npm could not install openai@4 (registry unreachable?)")
            return SKIP

    tmp = tempfile.mkdtemp(prefix="ernie-openai-")
    model = os.path.join(tmp, "encoder")
    os.makedirs(model)
    for f in ("config.json", "model.safetensors"):
        shutil.copy(os.path.join(args.fixtures, "bert_gelu_fast_model", f), model)
    vocab = ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"] + [chr(ord("a") + i % 26) + str(i) for i in range(5, 120)]
    with open(os.path.join(model, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")
    log = open(os.path.join(tmp, "serve.log"), "w+")
    server = subprocess.Popen([args.ernie, "serve", "--model", model, "--port", "0", "--api-key", "secret"], stderr=log)
    try:
        port = None
        for _ in range(300):
            log.seek(0)
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", log.read())
            if m:
                port = int(m.group(1))
                break
            if server.poll() is not None:
                break
            time.sleep(0.1)
        if port is None:
            print("FAIL: ernie serve did not start:\n" + open(log.name).read())
            return 1
        base = f"http://127.0.0.1:{port}"
        env = dict(os.environ, OPENAI_MODULE=module, BASE=base)
        r = subprocess.run(["node", "-e", CLIENT], env=env, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            print("FAIL: the OpenAI client failed: " + r.stderr)
            return 1
        got = json.loads(r.stdout)
        req = urllib.request.Request(base + "/embed", data=json.dumps({"inputs": ["f5 g6 h7", "i8"]}).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": "Bearer secret"})
        want = json.loads(urllib.request.urlopen(req, timeout=30).read())
        d = got["dflt"]
        assert d["object"] == "list" and len(d["data"]) == 2, d
        assert d["usage"] == {"prompt_tokens": 8, "total_tokens": 8}, d["usage"]
        for i in range(2):
            v = d["data"][i]["embedding"]
            assert d["data"][i]["index"] == i and len(v) == len(want[i]), d["data"][i]
            assert max(abs(a - b) for a, b in zip(v, want[i])) < 1e-6, "base64 vectors differ from /embed"
        f = got["flt"]["data"][0]["embedding"]
        assert max(abs(a - b) for a, b in zip(f, want[0])) < 1e-6, "float vectors differ from /embed"
        assert got["refused"] == 401, got["refused"]
        assert "wrong API key" in got["message"], got["message"]   # the client read OpenAI's error shape
        print(f"PASS: openai@4 embeddings.create against {base}/v1: 2 vectors of {len(want[0])} (base64 and float) "
              f"equal /embed; a wrong key gets 401")
        return 0
    except AssertionError as e:
        print(f"FAIL: {e!r}")
        return 1
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
