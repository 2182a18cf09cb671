#!/usr/bin/env python3
"""A Python parent of the proxy through the standard-library client clients/python/container_image_proxy.py.

The client spawns the proxy with one half of a socketpair (pass_fds, announced with --sockfd) and
speaks HTTP/1.1 on the other half; this demo fetches the manifest, the config and every blob,
checks each digest, then quits.

    python3 examples/demo.py [IMAGE] [PROXY OPTIONS...]

IMAGE defaults to the bundled oci:examples/image:latest; the options go to the proxy as they are,
e.g. `python3 examples/demo.py docker://127.0.0.1:5000/repo:tag --tls-verify=false`.

Run from the repository root after `npm run build`; the proxy runs on node_modules/.bin/node
(Node 24) when present, else on `node`.
"""
import hashlib
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Imported from the repository: keep __pycache__ out of clients/, which npm packs.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
from container_image_proxy import ImageProxy, ImageProxyError  # noqa: E402

CLI = os.path.join(ROOT, "dist", "src", "bin", "container-image-proxy.cjs")
PINNED_NODE = os.path.join(ROOT, "node_modules", ".bin", "node")
NODE = PINNED_NODE if os.path.exists(PINNED_NODE) else "node"


def step(request, call):
    """Runs one call; a failure names the request, with the proxy's JSON error as answered."""
    try:
        return call()
    except ImageProxyError as err:
        if err.status == 0:
            answer = f"{err.code}: {err.message}"
        else:
            answer = f"HTTP {err.status}: {json.dumps({'code': err.code, 'message': err.message})}"
        raise SystemExit(f"demo failed: {request}: {answer}") from err


def fetch_checked(proxy, what, descriptor):
    def read():
        digest = hashlib.sha256()
        length = 0
        with proxy.blob(descriptor["digest"]) as blob:
            while chunk := blob.read(1 << 20):
                digest.update(chunk)
                length += len(chunk)
        return "sha256:" + digest.hexdigest(), length

    actual, length = step("GET /blobs/" + descriptor["digest"], read)
    ok = actual == descriptor["digest"] and length == descriptor["size"]
    print(f"  {what:<9} {descriptor['digest']}  {length:>8} bytes  {'digest OK' if ok else 'DIGEST MISMATCH'}")
    if not ok:
        raise SystemExit(f"demo failed: {what} {descriptor['digest']} does not verify")
    return length


def main():
    args = sys.argv[1:]
    given_image = bool(args) and not args[0].startswith("-")
    image = args[0] if given_image else "oci:examples/image:latest"
    proxy_options = args[1:] if given_image else args

    with ImageProxy.spawn(image, args=["--policy", "examples/policy.json", *proxy_options], command=[NODE, CLI], cwd=ROOT) as proxy:
        print(f"container-image-proxy demo (Python): {image}")
        answer = step("GET /manifest", proxy.manifest)
        manifest = answer.manifest
        print(f"  manifest  {answer.digest}")
        print(f"  instance  {answer.instance_digest}  {len(answer.bytes)} bytes, {len(manifest['layers'])} layer(s)")

        config = step("GET /config", proxy.config)
        platform = "/".join(p for p in (config.get("os"), config.get("architecture"), config.get("variant")) if p)
        print(f"  platform  {platform}")
        fetch_checked(proxy, "config", manifest["config"])
        total = sum(fetch_checked(proxy, f"layer {i}", layer) for i, layer in enumerate(manifest["layers"], 1))
        print(f"  layers    {total} bytes in all, every digest verified")

        step("POST /quit", proxy.quit)
        code = proxy.process.returncode
        print(f"  quit      the proxy exited with {code}")
    sys.exit(0 if code == 0 else 1)


if __name__ == "__main__":
    main()
