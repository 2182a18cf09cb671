"""A Python client for container-image-proxy, standard library only: copy this one file.

    from container_image_proxy import ImageProxy, ImageProxyError

    with ImageProxy.spawn("docker://quay.io/org/image:tag", args=["--policy", "policy.json"]) as proxy:
        answer = proxy.manifest()
        for layer in answer.manifest["layers"]:
            with proxy.blob(layer["digest"]) as blob, open(layer["digest"][7:], "wb") as out:
                shutil.copyfileobj(blob, out)
        proxy.quit()

The proxy runs as a child process holding one half of each of ``connections`` socketpairs (one
``--sockfd`` each, default 4); each other half carries one keep-alive HTTP/1.1 connection. A call
takes a free connection until its answer has been read, so calls from several threads (several
blobs at once, say) run in parallel and further calls wait for a connection. A blob reader
closed before its end drains a short remainder, or else closes its connection; a call that is
cancelled or times out once it has a connection (waiting for its answer, or mid-body) closes
that connection too, one still waiting for a free connection closes none. A reader whose body
failed raises the same error at every later read. The session goes on with the others; when
none is left, calls raise ``connection-closed``.

``blob`` and ``decompressed_layer`` take ``progress=``, a callable given a Progress(digest, bytes,
total) while the body is read: at most every 0.1 s, then once more when the body arrived whole
(``bytes`` is then its length), never after a failure or a cancel. ``total`` is the body's
Content-Length (a blob's size; an uncompressed layer's size read decompressed), or None for a
gzip or zstd layer read decompressed. An exception it raises is raised by the read, and again by
every later read.

Errors are ImageProxyError(code, status, message), ``str(err)`` is ``"code: message"``. ``code``
is the proxy's own code (``image-not-found``, ``blob-not-found``, ``policy-rejected``, ...) with
the HTTP status, or, with status 0, one the client detected: ``incomplete-body`` (the proxy
refused to finish a body: a digest or size mismatch), ``connection-closed``, ``bad-response``,
``proxy-failed`` (the proxy could not start or exited on its own; the message gives its exit
status and last stderr line), ``cancelled`` (a Cancellation or a timeout ended the call).
"""
import http.client
import io
import json
import os
import socket
import subprocess
import threading
import time
import urllib.parse
from typing import NamedTuple, Optional

__all__ = ["ImageProxy", "ImageProxyError", "ManifestAnswer", "BlobReader", "Cancellation", "Progress"]

# Error answers are tiny JSON objects; anything longer is not the proxy talking.
_ERROR_BODY_LIMIT = 64 * 1024
# How long a failed call waits for the proxy's exit (and its last stderr line), to say how it ended.
_EXIT_GRACE_SECONDS = 1.0
# A reader closed early reads at most this much more to keep its connection (tar end padding).
_DRAIN_LIMIT = 1 << 20
_DRAIN_SECONDS = 5.0
_STDERR_TAIL = 4096
_NO_CONNECTION_LEFT = "no connection to the proxy is left (each cancelled transfer closes one)"
# At most one progress call per this many seconds while a body is read; the final call comes on top.
_PROGRESS_INTERVAL = 0.1


class ImageProxyError(Exception):
    def __init__(self, code, status, message):
        super().__init__(f"{code}: {message}")
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


class Progress(NamedTuple):
    """What a ``progress=`` callable is given while a blob or layer is read."""

    # The digest that was asked for.
    digest: str
    # Bytes read so far; never decreasing; in the final call, the whole body's length.
    bytes: int
    # The body's Content-Length, or None when the proxy announced none (a gzip or zstd layer read
    # decompressed: the tar's length is known only at its end).
    total: Optional[int]


class Cancellation:
    """Cancels the calls it is passed to (``cancel=``), from any thread: ``cancel()`` closes the
    connection a call is using and the call raises ImageProxyError('cancelled')."""

    def __init__(self):
        # Watchers run under the lock, so that _unwatch waits for a cancel in progress: a call
        # gives its connection back to the pool only after unwatching, and a drop that ran later
        # would close it under the next call that leased it.
        self._lock = threading.RLock()
        self._cancelled = False
        self._watchers = set()

    @property
    def cancelled(self):
        return self._cancelled

    def cancel(self):
        with self._lock:
            self._cancelled = True
            for watcher in list(self._watchers):
                watcher()

    def _watch(self, watcher):
        with self._lock:
            self._watchers.add(watcher)
            return self._cancelled

    def _unwatch(self, watcher):
        with self._lock:
            self._watchers.discard(watcher)


class _Call:
    """One call's limits: its Cancellation and its deadline (``timeout`` seconds, body included)."""

    def __init__(self, what, timeout, cancel):
        self.what = what
        self.timeout = timeout
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.cancel = cancel

    def remaining(self):
        return None if self.deadline is None else self.deadline - time.monotonic()

    def stopped(self):
        """Whether the call was cancelled or its deadline has passed."""
        if self.cancel is not None and self.cancel.cancelled:
            return True
        remaining = self.remaining()
        return remaining is not None and remaining <= 0

    def cancelled_error(self):
        if self.cancel is not None and self.cancel.cancelled:
            why = "aborted"
        else:
            why = f"timed out after {self.timeout:g} s"
        return ImageProxyError("cancelled", 0, f"{self.what}: cancelled, {why}")


class _Connection(http.client.HTTPConnection):
    """An HTTPConnection that never dials: its only socket is one socketpair half."""

    def __init__(self, sock):
        super().__init__("container-image-proxy")
        self.sock = sock
        # http.client forgets self.sock when it closes the connection; the pair is kept to
        # shut it down from another thread and to set per-call timeouts.
        self._pair = sock
        self._dropped = False

    @property
    def alive(self):
        return not self._dropped and self.sock is not None

    def connect(self):
        raise ConnectionError("the socketpair to the proxy is closed")

    def drop(self):
        """Closes it for good: the proxy ends its side. Safe from any thread."""
        self._dropped = True
        try:
            self._pair.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def limit(self, call):
        """Makes the next socket operations give up at the call's deadline."""
        remaining = call.remaining()
        self._pair.settimeout(None if remaining is None else max(remaining, 0.001))


class _NoConnection(Exception):
    pass


class _Pool:
    """The connections to one proxy, each lent to one call at a time, first come first served."""

    def __init__(self, connections):
        self._idle = list(connections)
        self._lent = 0
        self._closed = False
        self._ready = threading.Condition()

    def open_count(self):
        with self._ready:
            return self._lent + sum(1 for c in self._idle if c.alive)

    def acquire(self, call):
        """A connection for ``call``; _NoConnection when the pool is closed or has none left."""
        wake = self._wake
        if call.cancel is not None:
            call.cancel._watch(wake)
        try:
            with self._ready:
                while True:
                    if call.stopped():
                        raise call.cancelled_error()
                    if self._closed:
                        raise _NoConnection()
                    self._idle = [c for c in self._idle if c.alive]
                    if self._idle:
                        self._lent += 1
                        return self._idle.pop(0)
                    if self._lent == 0:
                        raise _NoConnection()
                    self._ready.wait(call.remaining())
        finally:
            if call.cancel is not None:
                call.cancel._unwatch(wake)

    def give_back(self, connection, keep):
        with self._ready:
            self._lent -= 1
            if keep and connection.alive and not self._closed:
                self._idle.append(connection)
            else:
                connection.drop()
                connection.close()
            self._ready.notify_all()

    def close(self):
        with self._ready:
            self._closed = True
            for connection in self._idle:
                connection.drop()
                connection.close()
            self._idle = []
            self._ready.notify_all()

    def _wake(self):
        with self._ready:
            self._ready.notify_all()


class _StderrTail(threading.Thread):
    """Reads the proxy's stderr for the whole session: copies it to ``target`` (None: this
    process's fd 2; DEVNULL: nowhere; an fd or a binary file object) and keeps its last line."""

    def __init__(self, pipe, target):
        super().__init__(daemon=True, name="container-image-proxy stderr")
        self._pipe = pipe
        # A text stream (sys.stderr, say) is written through its binary buffer.
        self._target = getattr(target, "buffer", target)
        self._tail = b""

    def run(self):
        with self._pipe:
            while chunk := self._pipe.read1(65536):
                self._tail = (self._tail + chunk)[-_STDERR_TAIL:]
                self._copy(chunk)

    def _copy(self, chunk):
        try:
            if self._target is None:
                os.write(2, chunk)
            elif isinstance(self._target, int) and self._target >= 0:
                os.write(self._target, chunk)
            elif hasattr(self._target, "write"):
                self._target.write(chunk)
                self._target.flush()
        except (OSError, ValueError, TypeError):
            self._target = subprocess.DEVNULL

    def last_line(self):
        lines = [line.strip() for line in self._tail.decode("utf-8", "replace").split("\n")]
        lines = [line for line in lines if line]
        return lines[-1] if lines else None


class BlobReader(io.RawIOBase):
    """A streamed body that raises ImageProxyError('incomplete-body') unless it arrived whole.

    A Content-Length body must deliver exactly that many bytes; a chunked body must end with its
    terminating chunk. Usable with shutil.copyfileobj, io.BufferedReader, tarfile (mode "r|").
    Closing it before its end drains a short remainder (up to 1 MiB) so its connection serves
    the next call, or else closes that connection; a body that arrived whole that way still gets
    its final progress call.
    """

    def __init__(self, proxy, connection, response, call, digest=None, progress=None):
        super().__init__()
        self._proxy = proxy
        self._connection = connection
        self._response = response
        self._call = call
        length = response.getheader("Content-Length")
        self._length = int(length) if length is not None else None
        self._received = 0
        self._digest = digest
        # None once the body failed or was abandoned: no progress call after that.
        self._progress = progress
        self._progress_at = time.monotonic()
        self._returned = False
        # Once the body failed, every later read raises the same error: never a clean EOF.
        self._error = None
        # The body outlives the call that opened it: its connection stays watched until given back.
        self._watching = _watching(call, connection)
        self._watching.__enter__()

    def readable(self):
        return True

    def readinto(self, buffer):
        if self._error is not None:
            raise self._error
        if self._returned or len(buffer) == 0:
            return 0
        # A socket timeout fires only when a read blocks: data that keeps arriving would outrun it.
        if self._call.stopped():
            raise self._failure(None)
        try:
            self._connection.limit(self._call)
            n = self._response.readinto(buffer)
        except (http.client.HTTPException, OSError, ValueError) as err:
            raise self._failure(err) from err
        self._received += n
        if n == 0:
            # http.client returns 0 rather than raising when a Content-Length body is cut short.
            if self._length is not None and self._received < self._length:
                raise self._failure(None)
            self._give_back(True)
            self._report(final=True)
        else:
            now = time.monotonic()
            if now - self._progress_at >= _PROGRESS_INTERVAL:
                self._progress_at = now
                self._report(final=False)
        return n

    def close(self):
        if not self.closed and not self._returned:
            whole = self._drain()
            self._give_back(whole)
            if whole:
                self._report(final=True)
        self._progress = None
        super().close()

    def _report(self, final):
        """Calls ``progress``; what it raises fails the reader (its connection is closed)."""
        progress = self._progress
        # A Cancellation from another thread or a passed deadline ends the calls at once.
        if progress is None or self._call.stopped():
            return
        if final:
            self._progress = None
        try:
            progress(Progress(self._digest, self._received, self._length))
        except BaseException as err:
            self._progress = None
            self._give_back(False)
            self._error = err
            raise

    def _drain(self):
        """Reads what is left of a short body, so the connection stays usable."""
        remaining = self._call.remaining()
        budget = _DRAIN_SECONDS if remaining is None else min(_DRAIN_SECONDS, remaining)
        if self._call.stopped() or budget <= 0:
            return False
        self._connection.limit(_Call(self._call.what, budget, None))
        left = _DRAIN_LIMIT
        try:
            while left > 0:
                chunk = self._response.read(min(left, 65536))
                if not chunk:
                    return self._length is None or self._received >= self._length
                self._received += len(chunk)
                left -= len(chunk)
        except (http.client.HTTPException, OSError, ValueError):
            return False
        return False

    def _give_back(self, keep):
        if self._returned:
            return
        self._returned = True
        self._watching.__exit__(None, None, None)
        keep = keep and self._response.isclosed()
        self._proxy._pool.give_back(self._connection, keep)
        if not keep:
            # The response's file object holds the socket open until it is closed too.
            self._response.close()

    def _failure(self, cause):
        self._progress = None
        self._give_back(False)
        if self._call.stopped():
            self._error = self._call.cancelled_error()
            return self._error
        expected = f" of {self._length}" if self._length is not None else ""
        detail = f": {cause}" if cause is not None else ""
        note = self._proxy._end_note()
        self._error = ImageProxyError(
            "incomplete-body", 0,
            f"{self._call.what}: the body ended after {self._received}{expected} bytes, "
            f"before it was complete{note}{detail}",
        )
        return self._error


class ImageProxy:
    """A container-image-proxy child process and a pool of connections to it over socketpairs.

    Every call takes ``timeout`` (seconds for the whole call, a blob's body included) and
    ``cancel`` (a Cancellation); either raises ImageProxyError('cancelled') and the session goes
    on. If the proxy exits on its own, every call raises ``proxy-failed`` with its reason.
    """

    def __init__(self, process, sockets, stderr_tail):
        self.process = process
        self._pool = _Pool([_Connection(sock) for sock in sockets])
        self._stderr = stderr_tail
        self._ended_by = None

    @classmethod
    def spawn(cls, image=None, args=(), command=("container-image-proxy",), env=None, cwd=None, stderr=None, connections=4):
        """Starts the proxy; ``image`` (transport:reference) is what it serves without ``image=``.

        ``args`` are proxy options put before IMAGE; ``command`` is the program and its leading
        arguments (default: container-image-proxy on PATH); ``env`` and ``cwd`` are the proxy's
        (``env`` defaults to this process's, and gets MALLOC_ARENA_MAX=1 unless it sets it).
        ``stderr`` is where the proxy's stderr goes: None (this process's stderr), DEVNULL, a file
        descriptor or a binary file object; the client keeps its last line in every case.
        ``connections`` is the size of the pool (one socketpair and ``--sockfd`` each).
        """
        if stderr is subprocess.PIPE or stderr == subprocess.PIPE:
            raise ValueError("stderr=PIPE is not supported: pass a binary file object to receive the proxy's stderr")
        if not isinstance(connections, int) or connections < 1:
            raise ValueError(f"connections must be a positive integer, got {connections!r}")
        # glibc gives each of the proxy's helper threads a malloc arena of its own unless told
        # otherwise (~13 MiB more at the peak); the npm bin sets this itself, the single
        # executable cannot. A value the caller's environment holds wins.
        env = {**(os.environ if env is None else env)}
        env.setdefault("MALLOC_ARENA_MAX", "1")
        pairs = [socket.socketpair() for _ in range(connections)]
        fds = [child.fileno() for _, child in pairs]
        argv = [*command, *(f"--sockfd={fd}" for fd in fds), *args, *([image] if image is not None else [])]
        try:
            process = subprocess.Popen(
                argv, pass_fds=fds, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, env=env, cwd=cwd,
            )
        except OSError as err:
            for parent, _ in pairs:
                parent.close()
            raise ImageProxyError("proxy-failed", 0, f"cannot start the proxy {argv[0]}: {err}") from err
        finally:
            for _, child in pairs:
                child.close()
        tail = _StderrTail(process.stderr, stderr)
        tail.start()
        return cls(process, [parent for parent, _ in pairs], tail)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.kill()

    @property
    def open_connections(self):
        """How many pooled connections are still open: each cancelled transfer closes one."""
        return self._pool.open_count() if self.process.poll() is None else 0

    def manifest(self, image=None, timeout=None, cancel=None):
        """The OCI manifest (converted if the image is not OCI) and its digests."""
        response, body = self._exchange("GET /manifest", "GET", "/manifest", timeout, cancel, image=image)
        digest = response.getheader("Manifest-Digest")
        instance = response.getheader("Instance-Digest")
        if digest is None or instance is None:
            raise ImageProxyError("bad-response", 0, "GET /manifest: no Manifest-Digest or Instance-Digest header")
        return ManifestAnswer(_parse_json("GET /manifest", body), digest, instance, body)

    def config(self, image=None, timeout=None, cancel=None):
        """The OCI image config the manifest references."""
        return self._json("/config", image, timeout, cancel)

    def layers(self, image=None, timeout=None, cancel=None):
        """Every layer with digest, size, mediaType, compression and diffID, in manifest order."""
        return self._json("/layers", image, timeout, cancel)

    def blob(self, digest, image=None, timeout=None, cancel=None, progress=None, decrypt=False):
        """A blob exactly as stored, as a BlobReader (use it in a with statement); ``progress``
        is called with a Progress as it is read. With ``decrypt=True`` an encrypted layer comes
        as its plaintext (still compressed), checked by the proxy against its HMAC."""
        _check_progress(progress)
        call = _Call(f"blob {digest}", timeout, cancel)
        connection, response = self._open(call, "GET", _target(_blob_path(digest), image, {"decrypt": "true"} if decrypt else {}))
        if response.getheader("Content-Length") is None:
            self._pool.give_back(connection, False)
            raise ImageProxyError("bad-response", 0, f"GET {_blob_path(digest)}: no Content-Length on a blob")
        return BlobReader(self, connection, response, call, digest, progress)

    def decompressed_layer(self, digest, image=None, timeout=None, cancel=None, progress=None):
        """A layer as its uncompressed tar, checked by the proxy against the digest and diffID;
        ``progress`` counts tar bytes (``total`` is None unless the layer is stored uncompressed)."""
        _check_progress(progress)
        call = _Call(f"decompressed layer {digest}", timeout, cancel)
        connection, response = self._open(call, "GET", _target(_blob_path(digest), image, {"decompress": "true"}))
        return BlobReader(self, connection, response, call, digest, progress)

    def open_image(self, image, timeout=None, cancel=None):
        """Resolves and policy-checks ``image`` now; later calls with it are served from the cache."""
        self._exchange("GET /manifest", "GET", "/manifest", timeout, cancel, image=image)

    def open_image_optional(self, image, timeout=None, cancel=None):
        """Like open_image, but a missing image answers False instead of raising."""
        try:
            self.open_image(image, timeout, cancel)
            return True
        except ImageProxyError as err:
            if err.code == "image-not-found":
                return False
            raise

    def close_image(self, image, timeout=None, cancel=None):
        """Drops ``image`` from the proxy's cache: the next call with it resolves it again."""
        self._exchange("POST /close", "POST", "/close", timeout, cancel, image=image)

    def version(self, timeout=None, cancel=None):
        """The proxy's package version and HTTP API version: {"version", "apiVersion"}."""
        return self._json("/version", None, timeout, cancel)

    def quit(self, timeout=30, cancel=None):
        """Asks the proxy to exit and waits; a non-zero exit raises ImageProxyError('proxy-failed')."""
        if self.process.poll() is None:
            self._ended_by = "quit()"
        try:
            self._exchange("POST /quit", "POST", "/quit", timeout, cancel)
        except ImageProxyError:
            end = self._end(_EXIT_GRACE_SECONDS)
            if end is not None and end[0] != 0:
                raise ImageProxyError("proxy-failed", 0, f"POST /quit: {_describe_end(end)}") from None
            if end is None:
                self._ended_by = None  # the proxy still runs: the call was cancelled, say
            raise
        self._pool.close()
        end = self._end(timeout)
        if end is None or end[0] != 0:
            how = _describe_end(end) if end is not None else f"the proxy did not exit within {timeout} s"
            raise ImageProxyError("proxy-failed", 0, f"POST /quit: {how}")

    def kill(self):
        """Ends the session without asking; returns the exit status (negative: the signal)."""
        self._ended_by = self._ended_by or "kill()"
        self._pool.close()
        if self.process.poll() is None:
            self.process.kill()
        return self.process.wait()

    def _json(self, path, image, timeout, cancel):
        what = f"GET {path}"
        return _parse_json(what, self._exchange(what, "GET", path, timeout, cancel, image=image)[1])

    def _exchange(self, what, method, path, timeout, cancel, image=None):
        """One call whose answer is read whole: (response, body)."""
        call = _Call(what, timeout, cancel)
        connection, response = self._open(call, method, _target(path, image, {}))
        read = False
        try:
            with _watching(call, connection):
                connection.limit(call)
                body = response.read()
            read = True
            return response, body
        except (http.client.HTTPException, OSError) as err:
            raise self._broken(call, err) from err
        finally:
            self._pool.give_back(connection, read)

    def _open(self, call, method, target):
        """Sends the request on a pooled connection: (connection, response) of a 2xx answer."""
        if self.process.poll() is not None:
            raise self._end_error(call.what, self._end(_EXIT_GRACE_SECONDS))
        try:
            connection = self._pool.acquire(call)
        except _NoConnection:
            raise self._refused(call) from None
        try:
            with _watching(call, connection):
                connection.limit(call)
                connection.request(method, target)
                response = connection.getresponse()
                if response.status < 300:
                    return connection, response
                error, whole = self._error_of(call.what, response)
        except (http.client.HTTPException, OSError) as err:
            self._pool.give_back(connection, False)
            raise self._broken(call, err) from err
        self._pool.give_back(connection, whole)
        raise error

    def _error_of(self, what, response):
        """The proxy's JSON error, and whether its body was read whole."""
        text = response.read(_ERROR_BODY_LIMIT + 1).decode("utf-8", "replace")
        whole = len(text) <= _ERROR_BODY_LIMIT and response.isclosed()
        try:
            parsed = json.loads(text)
            if isinstance(parsed.get("code"), str) and isinstance(parsed.get("message"), str):
                return ImageProxyError(parsed["code"], response.status, parsed["message"]), whole
        except (ValueError, AttributeError):
            pass
        return ImageProxyError("bad-response", response.status, f"{what}: HTTP {response.status} without a JSON error: {text[:200]}"), whole

    def _broken(self, call, err):
        if call.stopped() or (isinstance(err, TimeoutError) and call.deadline is not None):
            return call.cancelled_error()
        end = self._end(_EXIT_GRACE_SECONDS)
        if end is not None:
            return self._end_error(call.what, end)
        return ImageProxyError("connection-closed", 0, f"{call.what}: the connection to the proxy closed: {err}")

    def _refused(self, call):
        end = self._end(_EXIT_GRACE_SECONDS)
        if end is not None:
            return self._end_error(call.what, end)
        return ImageProxyError("connection-closed", 0, f"{call.what}: {_NO_CONNECTION_LEFT}")

    def _end(self, grace):
        """(exit code, last stderr line) once the proxy has exited, or None if it still runs."""
        try:
            code = self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            return None
        self._stderr.join(timeout=grace)
        return code, self._stderr.last_line()

    def _end_error(self, what, end):
        if self._ended_by is not None:
            return ImageProxyError("connection-closed", 0, f"{what}: the session was ended by {self._ended_by}")
        if end[0] != 0:
            return ImageProxyError("proxy-failed", 0, f"{what}: {_describe_end(end)}")
        # The proxy exits 0 by itself only once every peer has closed its connection.
        return ImageProxyError("connection-closed", 0, f"{what}: {_NO_CONNECTION_LEFT}; the proxy exited with code 0")

    def _end_note(self):
        end = self._end(_EXIT_GRACE_SECONDS)
        return f" ({_describe_end(end)})" if end is not None else ""


class _watching:
    """While a call uses a connection, its Cancellation closes that connection."""

    def __init__(self, call, connection):
        self._cancel = call.cancel
        self._drop = connection.drop

    def __enter__(self):
        if self._cancel is not None and self._cancel._watch(self._drop):
            self._drop()

    def __exit__(self, *exc_info):
        if self._cancel is not None:
            self._cancel._unwatch(self._drop)


def _check_progress(progress):
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable, got {type(progress).__name__}")


def _describe_end(end):
    code, line = end
    how = f"signal {-code}" if code < 0 else f"code {code}"
    return f"the proxy exited with {how}" + (f": {line}" if line else "")


def _target(path, image, query):
    if image is not None:
        query = {**query, "image": image}
    return path + ("?" + urllib.parse.urlencode(query) if query else "")


def _blob_path(digest):
    return "/blobs/" + urllib.parse.quote(digest, safe=":")


def _parse_json(what, body):
    try:
        return json.loads(body)
    except ValueError as err:
        raise ImageProxyError("bad-response", 0, f"{what}: the answer is not JSON") from err
