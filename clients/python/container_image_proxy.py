"""A Python client for container-image-proxy, standard library only: copy this one file.

    from container_image_proxy import ImageProxy, ImageProxyError

    with ImageProxy.spawn("docker://quay.io/org/image:tag", args=["--policy", "policy.json"]) as proxy:
        answer = proxy.manifest()
        for layer in answer.manifest["layers"]:
            with proxy.blob(layer["digest"]) as blob, open(layer["digest"][7:], "wb") as out:
                shutil.copyfileobj(blob, out)
        proxy.quit()

The proxy runs as a child process holding one half of a socketpair (``--sockfd``); the other
half carries one keep-alive HTTP/1.1 connection. Requests are answered one after the other:
read a blob to its end (or close it) before the next call. Closing a blob early closes the
connection, which ends the proxy, since a sidecar has exactly one connection.

Errors are ImageProxyError(code, status, message): ``code`` is the proxy's own code
(``image-not-found``, ``blob-not-found``, ``policy-rejected``, ...) with the HTTP status, or,
with status 0, one the client detected: ``incomplete-body`` (the proxy refused to finish a
body: a digest or size mismatch), ``connection-closed``, ``bad-response``, ``proxy-failed``.
"""
import http.client
import io
import json
import socket
import subprocess
import urllib.parse
from typing import NamedTuple

__all__ = ["ImageProxy", "ImageProxyError", "ManifestAnswer", "BlobReader"]

# Error answers are tiny JSON objects; anything longer is not the proxy talking.
_ERROR_BODY_LIMIT = 64 * 1024
# How long a failed request waits for the proxy's exit status, to say how it ended.
_EXIT_GRACE_SECONDS = 1.0


class ImageProxyError(Exception):
    def __init__(self, code, status, message):
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message

    def __repr__(self):
        return f"ImageProxyError({self.code!r}, {self.status!r}, {self.message!r})"


class ManifestAnswer(NamedTuple):
    manifest: dict
    # Manifest-Digest: the digest of what the reference names (the list's, for a list).
    digest: str
    # Instance-Digest: the per-platform manifest the body was made from, before conversion.
    instance_digest: str
    # The body exactly as served.
    bytes: bytes


class _SocketpairConnection(http.client.HTTPConnection):
    """An HTTPConnection that never dials: its only socket is the socketpair half."""

    def __init__(self, sock):
        super().__init__("container-image-proxy")
        self.sock = sock

    def connect(self):
        raise ConnectionError("the socketpair to the proxy is closed")


class BlobReader(io.RawIOBase):
    """A streamed body that raises ImageProxyError('incomplete-body') unless it arrived whole.

    A Content-Length body must deliver exactly that many bytes; a chunked body must end with its
    terminating chunk. Usable with shutil.copyfileobj, io.BufferedReader, tarfile (mode "r|").
    """

    def __init__(self, response, what, proxy):
        super().__init__()
        self._response = response
        self._what = what
        self._proxy = proxy
        length = response.getheader("Content-Length")
        self._length = int(length) if length is not None else None
        self._received = 0
        self._finished = False

    def readable(self):
        return True

    def readinto(self, buffer):
        if self._finished or len(buffer) == 0:
            return 0
        try:
            n = self._response.readinto(buffer)
        except (http.client.HTTPException, OSError, ValueError) as err:
            raise self._incomplete(err) from err
        self._received += n
        if n == 0:
            # http.client returns 0 rather than raising when a Content-Length body is cut short.
            if self._length is not None and self._received < self._length:
                raise self._incomplete(None)
            self._finished = True
        return n

    def close(self):
        if not self.closed and not self._finished:
            # The rest of the body is still on the wire: the connection cannot be reused.
            self._proxy._abandon_connection()
        super().close()

    def _incomplete(self, cause):
        expected = f" of {self._length}" if self._length is not None else ""
        detail = f": {cause}" if cause is not None else ""
        self._finished = True
        return ImageProxyError(
            "incomplete-body", 0,
            f"{self._what}: the body ended after {self._received}{expected} bytes, "
            f"before it was complete{self._proxy._exit_note()}{detail}",
        )


class ImageProxy:
    """A container-image-proxy child process and its one connection over a socketpair."""

    def __init__(self, process, sock):
        self.process = process
        self._connection = _SocketpairConnection(sock)

    @classmethod
    def spawn(cls, image=None, args=(), command=("container-image-proxy",), env=None, cwd=None, stderr=None):
        """Starts the proxy; ``image`` (transport:reference) is what it serves without ``image=``.

        ``args`` are proxy options put before IMAGE; ``command`` is the program and its leading
        arguments (default: container-image-proxy on PATH); ``stderr`` is passed to Popen.
        """
        parent, child = socket.socketpair()
        fd = child.fileno()
        argv = [*command, f"--sockfd={fd}", *args, *([image] if image is not None else [])]
        try:
            process = subprocess.Popen(
                argv, pass_fds=[fd], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=stderr, env=env, cwd=cwd,
            )
        except OSError as err:
            parent.close()
            raise ImageProxyError("proxy-failed", 0, f"cannot start the proxy {argv[0]}: {err}") from err
        finally:
            child.close()
        return cls(process, parent)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.kill()

    def manifest(self, image=None):
        """The OCI manifest (converted if the image is not OCI) and its digests."""
        response = self._request("GET", "/manifest", image=image)
        body = self._read_all("GET /manifest", response)
        digest = response.getheader("Manifest-Digest")
        instance = response.getheader("Instance-Digest")
        if digest is None or instance is None:
            raise ImageProxyError("bad-response", 0, "GET /manifest: no Manifest-Digest or Instance-Digest header")
        return ManifestAnswer(_parse_json("GET /manifest", body), digest, instance, body)

    def config(self, image=None):
        return self._json("GET", "/config", image=image)

    def layers(self, image=None):
        """Every layer with digest, size, mediaType, compression and diffID, in manifest order."""
        return self._json("GET", "/layers", image=image)

    def blob(self, digest, image=None):
        """A blob exactly as stored, as a BlobReader (use it in a with statement)."""
        response = self._request("GET", _blob_path(digest), image=image)
        if response.getheader("Content-Length") is None:
            self._abandon_connection()
            raise ImageProxyError("bad-response", 0, f"GET {_blob_path(digest)}: no Content-Length on a blob")
        return BlobReader(response, f"blob {digest}", self)

    def decompressed_layer(self, digest, image=None):
        """A layer as its uncompressed tar, checked by the proxy against the digest and diffID."""
        response = self._request("GET", _blob_path(digest), image=image, decompress="true")
        return BlobReader(response, f"decompressed layer {digest}", self)

    def open_image(self, image):
        """Resolves and policy-checks ``image`` now; later calls with it are served from the cache."""
        self._read_all("GET /manifest", self._request("GET", "/manifest", image=image))

    def open_image_optional(self, image):
        """Like open_image, but a missing image answers False instead of raising."""
        try:
            self.open_image(image)
            return True
        except ImageProxyError as err:
            if err.code == "image-not-found":
                return False
            raise

    def close_image(self, image):
        """Drops ``image`` from the proxy's cache."""
        self._read_all("POST /close", self._request("POST", "/close", image=image))

    def version(self):
        return self._json("GET", "/version")

    def quit(self, timeout=30):
        """Asks the proxy to exit and waits; a non-zero exit raises ImageProxyError('proxy-failed')."""
        self._read_all("POST /quit", self._request("POST", "/quit"))
        self._connection.close()
        code = self.process.wait(timeout=timeout)
        if code != 0:
            raise ImageProxyError("proxy-failed", 0, f"the proxy exited with {code} after POST /quit")

    def kill(self):
        """Ends the session without asking; returns the exit status."""
        self._connection.close()
        if self.process.poll() is None:
            self.process.kill()
        return self.process.wait()

    def _request(self, method, path, image=None, **query):
        if image is not None:
            query["image"] = image
        target = path + ("?" + urllib.parse.urlencode(query) if query else "")
        what = f"{method} {target}"
        try:
            self._connection.request(method, target)
            response = self._connection.getresponse()
        except (http.client.HTTPException, OSError) as err:
            raise self._closed(what, err) from err
        if response.status >= 300:
            raise self._error_of(what, response)
        return response

    def _json(self, method, path, image=None):
        return _parse_json(f"{method} {path}", self._read_all(f"{method} {path}", self._request(method, path, image=image)))

    def _read_all(self, what, response):
        try:
            return response.read()
        except (http.client.HTTPException, OSError) as err:
            raise self._closed(what, err) from err

    def _error_of(self, what, response):
        try:
            text = response.read(_ERROR_BODY_LIMIT + 1).decode("utf-8", "replace")
        except (http.client.HTTPException, OSError) as err:
            return self._closed(what, err)
        if len(text) > _ERROR_BODY_LIMIT:
            self._abandon_connection()
        try:
            parsed = json.loads(text)
            if isinstance(parsed.get("code"), str) and isinstance(parsed.get("message"), str):
                return ImageProxyError(parsed["code"], response.status, parsed["message"])
        except (ValueError, AttributeError):
            pass
        return ImageProxyError("bad-response", response.status, f"{what}: HTTP {response.status} without a JSON error: {text[:200]}")

    def _closed(self, what, err):
        return ImageProxyError("connection-closed", 0, f"{what}: the connection to the proxy closed{self._exit_note()}: {err}")

    def _exit_note(self):
        try:
            code = self.process.wait(timeout=_EXIT_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            return ""
        return f" (the proxy exited with {code})"

    def _abandon_connection(self):
        self._connection.close()


def _blob_path(digest):
    return "/blobs/" + urllib.parse.quote(digest, safe=":")


def _parse_json(what, body):
    try:
        return json.loads(body)
    except ValueError as err:
        raise ImageProxyError("bad-response", 0, f"{what}: the answer is not JSON") from err
