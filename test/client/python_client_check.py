"""Drives clients/python/container_image_proxy.py for python-client.test.ts.

    python3 python_client_check.py MODULE_DIR SPEC_JSON

SPEC_JSON holds command, cwd, scenario and its inputs; the outcome is one JSON object on stdout,
which the mocha test compares with the fixtures.
"""
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

# The module is imported from the repository: no __pycache__ may land in what npm packs.
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
from container_image_proxy import Cancellation, ImageProxy, ImageProxyError  # noqa: E402

SPEC = json.loads(sys.argv[2])


class Sha256Sink:
    def __init__(self):
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.hash.update(data)
        self.size += len(data)
        return len(data)

    def result(self):
        return {"sha256": "sha256:" + self.hash.hexdigest(), "size": self.size}


def read_stream(stream):
    sink = Sha256Sink()
    with stream:
        shutil.copyfileobj(stream, sink)
    return sink.result()


def error_of(call):
    try:
        call()
    except ImageProxyError as err:
        return {"code": err.code, "status": err.status, "message": err.message, "str": str(err)}
    return None


def spawn(image=None, **options):
    options = {"stderr": subprocess.DEVNULL, "connections": SPEC.get("connections", 4), **options}
    return ImageProxy.spawn(image, args=SPEC["args"], command=SPEC["command"], cwd=SPEC["cwd"], **options)


def first_chunk(reader):
    return len(reader.read(65536))


def fetch():
    with spawn(SPEC["image"]) as proxy:
        answer = proxy.manifest()
        out = {
            "digest": answer.digest,
            "instance_digest": answer.instance_digest,
            "manifest_sha256": "sha256:" + hashlib.sha256(answer.bytes).hexdigest(),
            "config": proxy.config(),
            "blobs": [
                {"digest": d["digest"], **read_stream(proxy.blob(d["digest"]))}
                for d in [answer.manifest["config"], *answer.manifest["layers"]]
            ],
            "errors": [],
        }
        for digest in SPEC["bad_digests"]:
            out["errors"].append(error_of(lambda: proxy.blob(digest)))
            out["errors"][-1]["then"] = proxy.manifest().instance_digest
        proxy.quit()
        out["exit"] = proxy.process.returncode
        return out


def missing():
    with spawn(SPEC["image"]) as proxy:
        out = {
            "manifest": error_of(proxy.manifest),
            "optional_missing": proxy.open_image_optional(SPEC["other_missing"]),
            "optional_present": proxy.open_image_optional(SPEC["present"]),
        }
        proxy.quit()
        out["exit"] = proxy.process.returncode
        return out


def truncated():
    with spawn(SPEC["image"]) as proxy:
        read = proxy.decompressed_layer if SPEC["decompress"] else proxy.blob
        reader = read(SPEC["digest"])
        out = {"blob": error_of(lambda: shutil.copyfileobj(reader, Sha256Sink()))}
        # A consumer that catches the error and reads on must get it again, not a clean EOF.
        out["again"] = [error_of(lambda: reader.read(65536)), error_of(lambda: reader.readinto(bytearray(10)))]
        reader.close()
        out["after"] = error_of(proxy.manifest)
        out["exit"] = proxy.kill()
        return out


def many_images():
    with spawn() as proxy:
        image = SPEC["image"]
        proxy.open_image(image)
        layers = proxy.layers(image)
        out = {
            "version": proxy.version(),
            "layers": layers,
            "decompressed": [read_stream(proxy.decompressed_layer(layer["digest"], image=image)) for layer in layers],
            "blob": read_stream(proxy.blob(layers[0]["digest"], image=image)),
            "other": proxy.manifest(SPEC["other"]).digest,
        }
        proxy.close_image(image)
        out["after_close"] = proxy.config(image)["architecture"]
        proxy.quit()
        out["exit"] = proxy.process.returncode
        return out


def unstartable():
    return {"spawn": error_of(lambda: ImageProxy.spawn("oci:/a", command=SPEC["command"]))}


def start_failure():
    """Two calls at once (with one connection the second waits in the pool), then a later one."""
    captured = io.BytesIO()
    # A text stream (like sys.stderr) is written through its buffer.
    target = io.TextIOWrapper(captured, write_through=True) if SPEC.get("text_stderr") else captured
    proxy = spawn(SPEC["image"], stderr=target)
    errors = [None, None]

    def call(i):
        errors[i] = error_of(proxy.manifest)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    later = error_of(proxy.layers)
    return {"pending": errors, "later": later, "stderr": captured.getvalue().decode(), "exit": proxy.kill()}


def extract_layers():
    """tarfile in stream mode stops at the archive's end marker, before the end of the body."""
    with spawn(SPEC["image"]) as proxy, tempfile.TemporaryDirectory() as target:
        for layer in proxy.layers():
            with proxy.decompressed_layer(layer["digest"]) as tar:
                tarfile.open(fileobj=tar, mode="r|").extractall(target, filter="data")
        files = {}
        for root, _, names in os.walk(target):
            for name in names:
                with open(os.path.join(root, name), "rb") as file:
                    files[os.path.relpath(os.path.join(root, name), target)] = hashlib.sha256(file.read()).hexdigest()
        out = {"files": files, "open": proxy.open_connections, "then": proxy.manifest().instance_digest}
        proxy.quit()
        out["exit"] = proxy.process.returncode
        return out


def parallel():
    with spawn(SPEC["image"]) as proxy:
        layers = proxy.layers()
        readers = [proxy.blob(layer["digest"]) for layer in layers]
        results = [None] * len(readers)

        def read(i):
            results[i] = read_stream(readers[i])

        threads = [threading.Thread(target=read, args=(i,)) for i in range(len(readers))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return {"blobs": results, "open": proxy.open_connections}


def waiting():
    """With every connection lent, a call waits; a timeout or a Cancellation from another thread ends the wait."""
    with spawn(SPEC["image"]) as proxy:
        held = proxy.blob(SPEC["digest"])
        timed_out = error_of(lambda: proxy.config(timeout=0.3))
        cancel = Cancellation()
        threading.Timer(0.3, cancel.cancel).start()
        cancelled = error_of(lambda: proxy.config(cancel=cancel))
        out = {"timed_out": timed_out, "cancelled": cancelled, "held": read_stream(held), "open": proxy.open_connections}
        out["then"] = proxy.config()["architecture"]
        return out


def cancel_body():
    """A blob cancelled, one timed out and one closed early: each closes its connection only."""
    with spawn(SPEC["image"]) as proxy:
        out = {}
        cancel = Cancellation()
        with proxy.blob(SPEC["digest"], cancel=cancel) as reader:
            first_chunk(reader)
            cancel.cancel()
            out["cancelled"] = error_of(lambda: read_stream(reader))
        out["open_after_cancel"] = proxy.open_connections
        with proxy.blob(SPEC["digest"], timeout=1.0) as reader:
            first_chunk(reader)
            time.sleep(1.5)
            out["timed_out"] = error_of(lambda: read_stream(reader))
        out["open_after_timeout"] = proxy.open_connections
        with proxy.blob(SPEC["digest"]) as reader:
            first_chunk(reader)
        out["open_after_close"] = proxy.open_connections
        out["then"] = read_stream(proxy.blob(SPEC["digest"]))
        with proxy.blob(SPEC["digest"]) as reader:
            first_chunk(reader)
        out["exhausted"] = error_of(proxy.manifest)
        out["exit"] = proxy.process.wait(timeout=10)
        return out


def unwatch_during_cancel():
    """Cancellation's lease logic, without a proxy: a watcher that cancel() has started to run
    finishes before _unwatch returns (the call gives its connection back only after unwatching),
    and a watcher unwatched before cancel() is never run."""
    cancel = Cancellation()
    started, release = threading.Event(), threading.Event()
    events = []

    def slow_drop():
        started.set()
        release.wait(5)
        events.append("dropped")

    cancel._watch(slow_drop)
    canceller = threading.Thread(target=cancel.cancel)
    canceller.start()
    started.wait(5)

    def unwatch():
        cancel._unwatch(slow_drop)
        events.append("unwatched")

    owner = threading.Thread(target=unwatch)
    owner.start()
    owner.join(0.5)
    waited = owner.is_alive()
    release.set()
    canceller.join(5)
    owner.join(5)

    late = Cancellation()
    late_events = []
    late._watch(lambda: late_events.append("dropped"))
    late._unwatch(late._watchers.copy().pop())
    late.cancel()
    return {"owner_waited": waited, "events": events, "late": late_events, "cancelled": [cancel.cancelled, late.cancelled]}


def environ():
    with spawn(SPEC["image"], env=SPEC.get("env")) as proxy:
        with open(f"/proc/{proxy.process.pid}/environ", "rb") as file:
            entries = file.read().decode().split("\0")
        proxy.quit()
        return [entry for entry in entries if entry.startswith("MALLOC_ARENA_MAX=")]


# 2 MiB a second: the large layer takes ~1 s, whatever the machine (the proxy waits on backpressure).
SLOW_BYTES_PER_SECOND = 2 * 1024 * 1024


class ProgressLog:
    """A progress= callable that keeps every call with the time it came."""

    def __init__(self, fail_with=None):
        self.calls = []
        self._fail_with = fail_with

    def __call__(self, progress):
        self.calls.append({"at": time.monotonic(), "digest": progress.digest, "bytes": progress.bytes, "total": progress.total})
        if self._fail_with is not None:
            raise self._fail_with


def read_slowly(reader, after=lambda: None):
    sink = Sha256Sink()
    while chunk := reader.read(65536):
        sink.write(chunk)
        time.sleep(len(chunk) / SLOW_BYTES_PER_SECOND)
        after()
    return sink.result()


def progress_slow():
    with spawn(SPEC["image"]) as proxy:
        log = ProgressLog()
        begun = time.monotonic()
        with proxy.blob(SPEC["digest"], progress=log) as reader:
            read = read_slowly(reader)
        ended = time.monotonic()
        return {"read": read, "elapsed": ended - begun, "calls": log.calls, "ended": ended}


def progress_decompressed():
    """Each layer read whole, then with tarfile, whose reader is closed at the archive end (the
    rest drained): the final call comes either way, at the tar's length."""
    with spawn(SPEC["image"]) as proxy, tempfile.TemporaryDirectory() as target:
        out = []
        for layer in proxy.layers():
            whole, drained = ProgressLog(), ProgressLog()
            tar = read_stream(proxy.decompressed_layer(layer["digest"], progress=whole))
            with proxy.decompressed_layer(layer["digest"], progress=drained) as reader:
                tarfile.open(fileobj=reader, mode="r|").extractall(target, filter="data")
            out.append({"tar": tar, "last": whole.calls[-1], "drained_last": drained.calls[-1] if drained.calls else None})
        return out


def progress_cancel():
    with spawn(SPEC["image"]) as proxy:
        log = ProgressLog()
        cancel = Cancellation()
        at_cancel = []

        def cancel_after_first_call():
            if log.calls and not cancel.cancelled:
                at_cancel.append(len(log.calls))
                cancel.cancel()

        with proxy.blob(SPEC["digest"], cancel=cancel, progress=log) as reader:
            error = error_of(lambda: read_slowly(reader, cancel_after_first_call))
        time.sleep(0.3)
        return {"error": error, "calls": log.calls, "at_cancel": at_cancel, "open": proxy.open_connections}


def progress_corrupt():
    with spawn(SPEC["image"]) as proxy:
        log = ProgressLog()
        with proxy.blob(SPEC["digest"], progress=log) as reader:
            error = error_of(lambda: read_slowly(reader))
            at_error = len(log.calls)
            again = error_of(lambda: reader.read(10))
        time.sleep(0.3)
        return {"error": error, "again": again, "calls": log.calls, "at_error": at_error}


def progress_raises():
    with spawn(SPEC["image"]) as proxy:
        log = ProgressLog(fail_with=ValueError("the progress display broke"))
        errors = []
        with proxy.blob(SPEC["digest"], progress=log) as reader:
            for _ in range(2):
                try:
                    read_slowly(reader)
                except ValueError as err:
                    errors.append(str(err))
        refused = []
        for read in (proxy.blob, proxy.decompressed_layer):
            try:
                read(SPEC["digest"], progress="yes")
            except TypeError as err:
                refused.append(str(err))
        return {"errors": errors, "calls": len(log.calls), "refused": refused, "open": proxy.open_connections, "then": proxy.config()["architecture"]}


SCENARIOS = {
    "fetch": fetch, "missing": missing, "truncated": truncated, "many-images": many_images, "unstartable": unstartable,
    "start-failure": start_failure, "extract-layers": extract_layers, "parallel": parallel, "waiting": waiting,
    "cancel-body": cancel_body, "unwatch-during-cancel": unwatch_during_cancel, "environ": environ,
    "progress-slow": progress_slow, "progress-decompressed": progress_decompressed, "progress-cancel": progress_cancel,
    "progress-corrupt": progress_corrupt, "progress-raises": progress_raises,
}

if __name__ == "__main__":
    print(json.dumps(SCENARIOS[SPEC["scenario"]]()))
