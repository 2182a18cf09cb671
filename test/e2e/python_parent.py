"""A Python parent of the proxy, standard library only, driven by python-parent.test.ts.

Usage: python_parent.py MODE NODE CLI IMAGE [DIGEST]

  sequence  socketpair + pass_fds + --sockfd=N: manifest, config, every blob (sha256 checked
            here), HEAD, errors on the same connection, POST /quit
  stdin     the same, with the proxy serving on its standard input (no --sockfd)
  corrupt   GET /blobs/DIGEST, which must end early

Prints one JSON object describing what happened; the Node test asserts on it.
"""
import hashlib
import http.client
import json
import socket
import subprocess
import sys


def spawn(mode, node, cli, image):
    parent, child = socket.socketpair()
    args = [node, cli, "--insecure-policy", image]
    if mode == "stdin":
        proc = subprocess.Popen(args, stdin=child, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    else:
        fd = child.fileno()
        proc = subprocess.Popen(args + [f"--sockfd={fd}"], pass_fds=[fd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    child.close()
    conn = http.client.HTTPConnection("localhost")
    conn.sock = parent
    return proc, conn


def request(conn, method, path):
    conn.request(method, path)
    response = conn.getresponse()
    return response, response.read()


def sequence(proc, conn):
    result = {"blobs": [], "errors": []}
    response, body = request(conn, "GET", "/manifest")
    result["manifest_status"] = response.status
    result["manifest_digest"] = response.getheader("Manifest-Digest")
    result["instance_digest"] = response.getheader("Instance-Digest")
    result["manifest_sha256"] = "sha256:" + hashlib.sha256(body).hexdigest()
    manifest = json.loads(body)

    response, body = request(conn, "GET", "/config")
    result["config_ok"] = "sha256:" + hashlib.sha256(body).hexdigest() == manifest["config"]["digest"]

    for descriptor in [manifest["config"]] + manifest["layers"]:
        response, body = request(conn, "GET", "/blobs/" + descriptor["digest"])
        actual = "sha256:" + hashlib.sha256(body).hexdigest()
        result["blobs"].append({"digest": descriptor["digest"], "status": response.status, "ok": actual == descriptor["digest"] and len(body) == descriptor["size"]})

    response, body = request(conn, "HEAD", "/manifest")
    result["head"] = {"status": response.status, "length": response.getheader("Content-Length"), "body": len(body)}

    for method, path in [("GET", "/blobs/sha256:" + "A" * 64), ("GET", "/blobs/sha256:" + "0" * 64), ("PUT", "/manifest"), ("GET", "/elsewhere")]:
        response, body = request(conn, method, path)
        result["errors"].append({"status": response.status, "reason": response.reason, "code": json.loads(body)["code"]})
        again, _ = request(conn, "GET", "/manifest")
        result["errors"][-1]["then"] = again.status

    response, body = request(conn, "POST", "/quit")
    result["quit_status"] = response.status
    conn.close()
    return result


def corrupt(proc, conn, digest):
    conn.request("GET", "/blobs/" + digest)
    response = conn.getresponse()
    result = {"status": response.status, "content_length": int(response.getheader("Content-Length"))}
    try:
        response.read()
        result["outcome"] = "complete"
    except http.client.IncompleteRead as err:
        result["outcome"] = "incomplete"
        result["received"] = len(err.partial)
    conn.close()
    return result


def main():
    mode, node, cli, image = sys.argv[1:5]
    proc, conn = spawn(mode, node, cli, image)
    result = corrupt(proc, conn, sys.argv[5]) if mode == "corrupt" else sequence(proc, conn)
    _, stderr = proc.communicate(timeout=20)
    result["exit"] = proc.returncode
    result["stderr"] = stderr.decode("utf-8")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
