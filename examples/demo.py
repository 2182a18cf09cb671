#!/usr/bin/env python3
"""A Python parent of the proxy, standard library only.

Spawns the proxy with one half of a socketpair (passed with pass_fds, announced with --sockfd),
speaks HTTP/1.1 on the other half with http.client, fetches the manifest, the config and every
blob, checks each digest, then POST /quit.

    python3 examples/demo.py [IMAGE] [PROXY OPTIONS...]

IMAGE defaults to the bundled oci:examples/image:latest; the options go to the proxy as they are,
e.g. `python3 examples/demo.py docker://127.0.0.1:5000/repo:tag --tls-verify=false`.

Run from the repository root after `npm run build`; the proxy runs on node_modules/.bin/node
(Node 24) when present, else on `node`.
"""
import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "dist", "src", "app", "cli.js")
PINNED_NODE = os.path.join(ROOT, "node_modules", ".bin", "node")
NODE = PINNED_NODE if os.path.exists(PINNED_NODE) else "node"


def main():
    args = sys.argv[1:]
    given_image = bool(args) and not args[0].startswith("-")
    image = args[0] if given_image else "oci:examples/image:latest"
    proxy_options = args[1:] if given_image else args
    parent, child = socket.socketpair()
    fd = child.fileno()
    proxy = subprocess.Popen(
        [NODE, CLI, f"--sockfd={fd}", "--policy", "examples/policy.json", *proxy_options, image],
        pass_fds=[fd],
        cwd=ROOT,
    )
    child.close()

    conn = http.client.HTTPConnection("localhost")
    conn.sock = parent

    def get(method, path):
        conn.request(method, path)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"demo failed: {method} {path}: HTTP {response.status}: {body.decode()}")
        return response, body

    def fetch_checked(what, descriptor):
        _, body = get("GET", "/blobs/" + descriptor["digest"])
        ok = "sha256:" + hashlib.sha256(body).hexdigest() == descriptor["digest"] and len(body) == descriptor["size"]
        print(f"  {what:<9} {descriptor['digest']}  {len(body):>8} bytes  {'digest OK' if ok else 'DIGEST MISMATCH'}")
        if not ok:
            raise SystemExit(f"demo failed: {what} {descriptor['digest']} does not verify")
        return body

    print(f"container-image-proxy demo (Python): {image}")
    response, body = get("GET", "/manifest")
    manifest = json.loads(body)
    print(f"  manifest  {response.getheader('Manifest-Digest')}")
    print(f"  instance  {response.getheader('Instance-Digest')}  {len(body)} bytes, {len(manifest['layers'])} layer(s)")

    _, body = get("GET", "/config")
    config = json.loads(body)
    platform = "/".join(p for p in (config.get("os"), config.get("architecture"), config.get("variant")) if p)
    print(f"  platform  {platform}")
    fetch_checked("config", manifest["config"])
    total = sum(len(fetch_checked(f"layer {i}", layer)) for i, layer in enumerate(manifest["layers"], 1))
    print(f"  layers    {total} bytes in all, every digest verified")

    get("POST", "/quit")
    conn.close()
    code = proxy.wait(timeout=10)
    print(f"  quit      the proxy exited with {code}")
    sys.exit(0 if code == 0 else 1)


if __name__ == "__main__":
    main()
