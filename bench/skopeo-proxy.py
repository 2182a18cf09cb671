#!/usr/bin/env python3
"""A small client of skopeo's experimental-image-proxy, for side-by-side benchmarks.

Standard library only. It spawns `skopeo experimental-image-proxy --sockfd N` on one half of
a SOCK_SEQPACKET socketpair and speaks its protocol (0.2.x): JSON requests
{"method", "args"}, JSON replies {"success", "value", "pipeid", "error"}, payloads on pipes
whose read ends arrive as SCM_RIGHTS ancillary data, each pipe settled by FinishPipe (which
is where a blob's digest verification result is reported).

    skopeo-proxy.py [--tls-verify=false] [--creds U:P] manifest docker://HOST/REPO:TAG
    skopeo-proxy.py [--tls-verify=false] blob docker://HOST/REPO:TAG sha256:... [--size N]

Each command prints one JSON object on stdout.
"""

import argparse
import array
import json
import os
import socket
import subprocess
import sys
import threading
import time

MAX_MESSAGE = 32 * 1024  # skopeo's packet limit
READ_CHUNK = 1 << 20


class ProxyError(Exception):
    pass


class SkopeoProxy:
    def __init__(self, skopeo, proxy_args):
        self.sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fd = child_sock.fileno()
        self.process = subprocess.Popen(
            [skopeo, "experimental-image-proxy", f"--sockfd={fd}", *proxy_args],
            pass_fds=[fd],
            stdin=subprocess.DEVNULL,
        )
        child_sock.close()

    def call(self, method, *args):
        """Sends one request; returns (value, pipe read fd or None, pipeid)."""
        self.sock.send(json.dumps({"method": method, "args": list(args)}).encode())
        data, ancillary, _flags, _addr = self.sock.recvmsg(MAX_MESSAGE, socket.CMSG_SPACE(array.array("i", [0]).itemsize))
        if not data:
            raise ProxyError(f"{method}: skopeo closed the socket (exit status {self.process.poll()})")
        fds = array.array("i")
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
        reply = json.loads(data)
        if not reply.get("success"):
            for fd in fds:
                os.close(fd)
            raise ProxyError(f"{method}: {reply.get('error')}")
        return reply.get("value"), (fds[0] if fds else None), reply.get("pipeid", 0)

    def read_pipe(self, fd, pipeid, sink):
        """Drains a payload pipe while FinishPipe runs (skopeo closes the pipe only then)."""
        failure = []

        def drain():
            try:
                while True:
                    chunk = os.read(fd, READ_CHUNK)
                    if not chunk:
                        return
                    sink(chunk)
            except OSError as error:  # reported after FinishPipe, which says more
                failure.append(error)

        reader = threading.Thread(target=drain)
        reader.start()
        try:
            self.call("FinishPipe", pipeid)
        finally:
            reader.join()
            os.close(fd)
        if failure:
            raise ProxyError(f"reading pipe {pipeid}: {failure[0]}")

    def shutdown(self):
        try:
            self.sock.send(json.dumps({"method": "Shutdown", "args": []}).encode())
        except OSError:
            pass
        self.sock.close()
        return self.process.wait(timeout=30)


def read_manifest(proxy, image_id):
    digest, fd, pipeid = proxy.call("GetManifest", image_id)
    chunks = []
    proxy.read_pipe(fd, pipeid, chunks.append)
    return digest, b"".join(chunks)


def peak_rss(pid):
    """skopeo's peak resident set so far (VmHWM), in bytes, as the proxy's is measured."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise ProxyError(f"no VmHWM in /proc/{pid}/status")


def cpu_ms(pid):
    """CPU time of every thread of the process so far (/proc/PID/task/*/schedstat), in ms."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/schedstat") as schedstat:
            total += int(schedstat.read().split()[0])
    return round(total / 1e6, 1)


def blob_size(manifest, digest):
    """GetBlob in this protocol version wants the size up front: look it up in the manifest."""
    for descriptor in [manifest.get("config", {}), *manifest.get("layers", [])]:
        if descriptor.get("digest") == digest:
            return descriptor["size"]
    raise ProxyError(f"{digest} is neither the config nor a layer of the image; pass --size")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skopeo", default="skopeo", help="skopeo binary (default: from PATH)")
    parser.add_argument("--tls-verify", choices=["true", "false"], help="passed to skopeo")
    parser.add_argument("--creds", help="USER[:PASS], passed to skopeo")
    parser.add_argument("--cert-dir", help="passed to skopeo")
    parser.add_argument("--authfile", help="passed to skopeo")
    commands = parser.add_subparsers(dest="command", required=True)
    manifest_cmd = commands.add_parser("manifest", help="time spawn → Initialize → OpenImage → GetManifest")
    manifest_cmd.add_argument("image")
    blob_cmd = commands.add_parser("blob", help="GetBlob a digest and read it to the end")
    blob_cmd.add_argument("image")
    blob_cmd.add_argument("digest")
    blob_cmd.add_argument("--size", type=int, help="blob size (default: looked up in the manifest)")
    options = parser.parse_args()

    proxy_args = [f"--{name.replace('_', '-')}={value}" for name, value in
                  (("tls_verify", options.tls_verify), ("creds", options.creds),
                   ("cert_dir", options.cert_dir), ("authfile", options.authfile)) if value is not None]

    started = time.monotonic()
    proxy = SkopeoProxy(options.skopeo, proxy_args)
    try:
        protocol, _, _ = proxy.call("Initialize")
        image_id, _, _ = proxy.call("OpenImage", options.image)
        digest, manifest_bytes = read_manifest(proxy, image_id)
        manifest_ms = (time.monotonic() - started) * 1000
        rss_after_manifest = peak_rss(proxy.process.pid)
        cpu_to_manifest = cpu_ms(proxy.process.pid)
        if options.command == "manifest":
            result = {"protocol": protocol, "manifest_digest": digest, "manifest_bytes": len(manifest_bytes),
                      "spawn_to_manifest_ms": round(manifest_ms, 1), "rss_after_manifest_bytes": rss_after_manifest, "cpu_ms_to_manifest": cpu_to_manifest}
        else:
            size = options.size if options.size is not None else blob_size(json.loads(manifest_bytes), options.digest)
            blob_started = time.monotonic()
            value, fd, pipeid = proxy.call("GetBlob", image_id, options.digest, size)
            received = [0]

            def count(chunk):
                received[0] += len(chunk)

            proxy.read_pipe(fd, pipeid, count)
            seconds = time.monotonic() - blob_started
            result = {"protocol": protocol, "digest": options.digest, "reported_size": value, "bytes": received[0],
                      "seconds": round(seconds, 3), "mib_per_s": round(received[0] / (1 << 20) / seconds, 1) if seconds > 0 else None,
                      "spawn_to_manifest_ms": round(manifest_ms, 1), "rss_after_manifest_bytes": rss_after_manifest,
                      "peak_rss_bytes": peak_rss(proxy.process.pid)}
        proxy.call("CloseImage", image_id)
    except ProxyError as error:
        proxy.shutdown()
        print(f"skopeo-proxy: {error}", file=sys.stderr)
        return 1
    status = proxy.shutdown()
    print(json.dumps(result))
    return 0 if status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
