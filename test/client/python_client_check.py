"""Drives clients/python/container_image_proxy.py for python-client.test.ts.

    python3 python_client_check.py MODULE_DIR SPEC_JSON

SPEC_JSON holds command, cwd, scenario and its inputs; the outcome is one JSON object on stdout,
which the mocha test compares with the fixtures.
"""
import hashlib
import json
import shutil
import subprocess
import sys

# The module is imported from the repository: no __pycache__ may land in what npm packs.
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
from container_image_proxy import ImageProxy, ImageProxyError  # noqa: E402

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
        return {"code": err.code, "status": err.status, "message": err.message}
    return None


def spawn(image=None):
    return ImageProxy.spawn(image, args=SPEC["args"], command=SPEC["command"], cwd=SPEC["cwd"], stderr=subprocess.DEVNULL)


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
        out = {"blob": error_of(lambda: read_stream(read(SPEC["digest"])))}
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


SCENARIOS = {"fetch": fetch, "missing": missing, "truncated": truncated, "many-images": many_images, "unstartable": unstartable}

if __name__ == "__main__":
    print(json.dumps(SCENARIOS[SPEC["scenario"]]()))
