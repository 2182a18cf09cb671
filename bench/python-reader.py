#!/usr/bin/env python3
"""The reader a plain Python client is: standard-library http.client, 1 MiB reads, hashlib.sha256.

It reads one blob straight from the registry, through the proxy over a socketpair, or both in
turn, so the figures differ only by the proxy hop:

    python-reader.py direct URL DIGEST SIZE [--runs N]
    python-reader.py proxy CLI DIGEST SIZE [--runs N] -- PROXY_ARGS...
    python-reader.py compare URL CLI DIGEST SIZE [--runs N] -- PROXY_ARGS...

`compare` keeps one proxy process and alternates a direct read and a read through the proxy,
run by run, so both see the same load. At the end one JSON object goes to stdout:
{"directMibPerS": [...], "proxyMibPerS": [...], "proxyRunCpuS": [...], "proxyCpuS": ...}
(MiB/s per run; the proxy's user+sys CPU during each of its reads, all threads, from /proc; the
proxy's user+sys over its whole life, start-up included, from wait4). Linux only.
"""

import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse

READ = 1 << 20
MIB = 1 << 20


class SocketConnection(http.client.HTTPConnection):
    """http.client over an already connected socket (the parent's half of the socketpair)."""

    def __init__(self, sock):
        super().__init__("localhost")
        self.sock = sock

    def connect(self):
        raise ConnectionError("the proxy connection is closed")


def read_verified(conn, path, digest, size):
    conn.request("GET", path)
    response = conn.getresponse()
    if response.status != 200:
        raise SystemExit(f"GET {path}: {response.status} {response.read()[:200]!r}")
    hasher = hashlib.sha256()
    total = 0
    while True:
        chunk = response.read(READ)
        if not chunk:
            break
        hasher.update(chunk)
        total += len(chunk)
    if total != size or f"sha256:{hasher.hexdigest()}" != digest:
        raise SystemExit(f"GET {path}: {total} bytes hashing to sha256:{hasher.hexdigest()}, expected {size} bytes of {digest}")


def cpu_seconds(pid):
    """user + sys of every thread of `pid` so far (clock ticks, so 10 ms resolution)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_read(conn, path, digest, size):
    started = time.perf_counter()
    read_verified(conn, path, digest, size)
    return size / MIB / (time.perf_counter() - started)


class Proxy:
    """The proxy on a socketpair, after its first GET /manifest."""

    def __init__(self, cli, proxy_args):
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fd = child.fileno()
        self.process = subprocess.Popen([cli, "--sockfd", str(fd), *proxy_args], pass_fds=[fd])
        child.close()
        self.conn = SocketConnection(parent)
        self.conn.request("GET", "/manifest")
        manifest = self.conn.getresponse()
        manifest.read()
        if manifest.status != 200:
            raise SystemExit(f"GET /manifest: {manifest.status}")

    def read(self, digest, size):
        """MiB/s and the proxy's CPU seconds for one verified read of the blob."""
        before = cpu_seconds(self.process.pid)
        rate = timed_read(self.conn, f"/blobs/{digest}", digest, size)
        return rate, cpu_seconds(self.process.pid) - before

    def quit(self):
        """POST /quit; the proxy's user+sys over its whole life."""
        self.conn.request("POST", "/quit")
        self.conn.getresponse().read()
        _, status, usage = os.wait4(self.process.pid, 0)
        if status != 0:
            raise SystemExit(f"the proxy exited with status {status}")
        return {"proxyCpuS": usage.ru_utime + usage.ru_stime, "proxyPeakRssKiB": usage.ru_maxrss}


def direct_connection(url):
    parsed = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parsed.hostname, parsed.port), parsed.path


def direct(url, digest, size, runs):
    conn, path = direct_connection(url)
    return {"directMibPerS": [timed_read(conn, path, digest, size) for _ in range(runs)]}


def through_proxy(cli, digest, size, runs, proxy_args):
    proxy = Proxy(cli, proxy_args)
    reads = [proxy.read(digest, size) for _ in range(runs)]
    return {"proxyMibPerS": [r for r, _ in reads], "proxyRunCpuS": [c for _, c in reads], **proxy.quit()}


def compare(url, cli, digest, size, runs, proxy_args):
    conn, path = direct_connection(url)
    proxy = Proxy(cli, proxy_args)
    direct_rates, proxy_rates, proxy_cpu = [], [], []
    for _ in range(runs):
        direct_rates.append(timed_read(conn, path, digest, size))
        rate, cpu = proxy.read(digest, size)
        proxy_rates.append(rate)
        proxy_cpu.append(cpu)
    return {"directMibPerS": direct_rates, "proxyMibPerS": proxy_rates, "proxyRunCpuS": proxy_cpu, **proxy.quit()}


def main(argv):
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1 :]
        argv = argv[: argv.index("--")]
    runs = 1
    if "--runs" in argv:
        runs = int(argv[argv.index("--runs") + 1])
        del argv[argv.index("--runs") : argv.index("--runs") + 2]
    mode = argv[0]
    if mode == "direct":
        result = direct(argv[1], argv[2], int(argv[3]), runs)
    elif mode == "proxy":
        result = through_proxy(argv[1], argv[2], int(argv[3]), runs, extra)
    elif mode == "compare":
        result = compare(argv[1], argv[2], argv[3], int(argv[4]), runs, extra)
    else:
        raise SystemExit(f"unknown mode {mode!r}: direct, proxy or compare")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
