//! Fetches an image into a directory and prints a JSON summary on stdout:
//!
//!     cargo run --example fetch -- IMAGE DIR [PROXY-OPTION...]
//!
//! DIR gets `manifest.json` (as served), `blobs/sha256/HEX` (the config and each layer as
//! stored), `layers/HEX.tar` (each layer uncompressed, named by its diff ID) and, for an
//! encrypted layer a `--decryption-key` opens, `decrypted/sha256/HEX` (its plaintext, named by
//! the stored layer's digest), so every file can be checked against its digest. The proxy starts without an image and IMAGE is asked for
//! with `?image=` (and closed at the end). A failure prints `{"error": {...}}` with the typed error, then the proxy is
//! asked to quit, and how that went is printed too.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use container_image_proxy::{Blob, Error, ImageProxy, ProxyOptions};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (image, dir) = match (args.next(), args.next()) {
        (Some(image), Some(dir)) => (image.to_string_lossy().into_owned(), PathBuf::from(dir)),
        _ => {
            eprintln!("usage: fetch IMAGE DIR [PROXY-OPTION...]");
            return ExitCode::from(2);
        }
    };
    let mut proxy = match ImageProxy::spawn(ProxyOptions::new().args(args)).await {
        Ok(proxy) => proxy,
        Err(err) => return report(json!({ "error": describe(&err) })),
    };
    let fetched = fetch(&mut proxy, &image, &dir).await;
    let quit = match proxy.quit().await {
        Ok(exit) => exit.to_string(),
        Err(err) => format!("[{}] {err}", err.code()),
    };
    match fetched {
        Ok(summary) => report(json!({ "fetched": summary, "quit": quit })),
        Err(err) => report(json!({ "error": describe(&err), "quit": quit })),
    }
}

async fn fetch(proxy: &mut ImageProxy, reference: &str, dir: &Path) -> Result<Value, Error> {
    let version = proxy.version().clone();
    let mut image = proxy.image(reference);
    let manifest = image.manifest().await?;
    write(&dir.join("manifest.json"), &manifest.bytes).await?;
    let config = image.config().await?;
    let layers = image.layers().await?;
    let config_digest = manifest.manifest["config"]["digest"].as_str().unwrap_or_default().to_owned();
    let mut blobs = Vec::new();
    for digest in std::iter::once(&config_digest).chain(layers.iter().map(|layer| &layer.digest)) {
        let blob = image.blob(digest).await?;
        let size = save(blob, &dir.join("blobs").join(digest.replacen(':', "/", 1))).await?;
        blobs.push(json!({ "digest": digest, "size": size }));
    }
    let mut decrypted = Vec::new();
    for layer in layers.iter().filter(|layer| layer.decryptable == Some(true)) {
        let plain = image.decrypted_blob(&layer.digest).await?;
        let size = save(plain, &dir.join("decrypted").join(layer.digest.replacen(':', "/", 1))).await?;
        decrypted.push(json!({ "digest": layer.digest, "size": size }));
    }
    let mut uncompressed = Vec::new();
    for layer in &layers {
        // A layer without a usable diff ID cannot be verified uncompressed: the proxy refuses it;
        // nor can an encrypted layer that none of the proxy's keys opens.
        let diff_id = match &layer.diff_id {
            Some(diff_id) if !layer.encrypted || layer.decryptable == Some(true) => diff_id,
            _ => continue,
        };
        let tar = image.decompressed_blob(&layer.digest).await?;
        let name = format!("{}.tar", diff_id.split(':').last().unwrap_or_default());
        let size = save(tar, &dir.join("layers").join(name)).await?;
        uncompressed.push(json!({ "diffID": diff_id, "size": size }));
    }
    image.close().await?;
    let layers: Vec<Value> = layers
        .iter()
        .map(|layer| {
            // Shaped like the proxy's own /layers entry: each diff ID field only when present.
            let mut entry = json!({ "digest": layer.digest, "size": layer.size, "mediaType": layer.media_type, "compression": layer.compression });
            if let Some(diff_id) = &layer.diff_id {
                entry["diffID"] = json!(diff_id);
            }
            if let Some(problem) = &layer.diff_id_error {
                entry["diffIDError"] = json!(problem);
            }
            if layer.encrypted {
                entry["encrypted"] = json!(true);
            }
            if let Some(decryptable) = layer.decryptable {
                entry["decryptable"] = json!(decryptable);
            }
            if layer.zstd_chunked {
                entry["zstdChunked"] = json!(true);
            }
            entry
        })
        .collect();
    Ok(json!({
        "version": { "version": version.version, "apiVersion": version.api_version },
        "digest": manifest.digest,
        "instanceDigest": manifest.instance_digest,
        "architecture": config["architecture"],
        "layers": layers,
        "blobs": blobs,
        "uncompressed": uncompressed,
        "decrypted": decrypted,
    }))
}

async fn save(blob: Blob<'_>, path: &Path) -> Result<u64, Error> {
    let io_error = |source| Error::Io { what: format!("writing {}", path.display()), source };
    tokio::fs::create_dir_all(path.parent().expect("a file under DIR")).await.map_err(io_error)?;
    let mut file = tokio::fs::File::create(path).await.map_err(io_error)?;
    blob.copy_to(&mut file).await
}

async fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let io_error = |source| Error::Io { what: format!("writing {}", path.display()), source };
    tokio::fs::create_dir_all(path.parent().expect("a file under DIR")).await.map_err(io_error)?;
    tokio::fs::write(path, bytes).await.map_err(io_error)
}

/// The error as matched in Rust: its variant (with the proxy's code, typed) and its details.
fn describe(err: &Error) -> Value {
    let (variant, status, received, expected) = match err {
        Error::Proxy { code, status, .. } => (format!("Proxy({code:?})"), Some(*status), None, None),
        Error::IncompleteBody { received, expected, .. } => ("IncompleteBody".to_owned(), None, Some(*received), *expected),
        Error::ConnectionClosed { .. } => ("ConnectionClosed".to_owned(), None, None, None),
        Error::Spawn { .. } => ("Spawn".to_owned(), None, None, None),
        Error::ProxyFailed { .. } => ("ProxyFailed".to_owned(), None, None, None),
        Error::BadResponse { .. } => ("BadResponse".to_owned(), None, None, None),
        Error::Io { .. } => ("Io".to_owned(), None, None, None),
        other => (format!("{other:?}"), None, None, None),
    };
    json!({
        "variant": variant,
        "code": err.code(),
        "status": status,
        "message": err.to_string(),
        "received": received,
        "expected": expected,
        "exitCode": err.exit().and_then(|exit| exit.status.code()),
        "stderr": err.exit().and_then(|exit| exit.stderr.clone()),
    })
}

fn report(value: Value) -> ExitCode {
    println!("{value}");
    if value.get("error").is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
