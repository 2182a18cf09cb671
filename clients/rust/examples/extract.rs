//! Extracts an image's layers, in order, into a directory (OCI whiteouts applied):
//!
//!     cargo run --example extract -- IMAGE DIR [PROXY-OPTION...]
//!     cargo run --example extract -- docker://quay.io/org/image:tag rootfs --policy policy.json
//!
//! The proxy decompresses (`?decompress=true`) and verifies each layer against its digest and
//! diff ID; a layer that fails verification ends the stream with an error, so a corrupt layer
//! is never taken for a complete one. Progress goes to stderr, at most ten lines a second per layer.

use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use container_image_proxy::{Blob, Error, ImageProxy, Progress, ProxyOptions};
use tokio::io::AsyncReadExt;
use tokio::runtime::Handle;

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_WHITEOUT: &str = ".wh..wh..opq";

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (image, dir) = match (args.next(), args.next()) {
        (Some(image), Some(dir)) => (image, dir),
        _ => {
            eprintln!("usage: extract IMAGE DIR [PROXY-OPTION...]");
            return ExitCode::from(2);
        }
    };
    let image = image.to_string_lossy().into_owned();
    match extract(ProxyOptions::new().image(image.clone()).args(args), PathBuf::from(dir)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("extract {image}: [{}] {err}", err.code());
            ExitCode::FAILURE
        }
    }
}

async fn extract(options: ProxyOptions, dir: PathBuf) -> Result<(), Error> {
    let mut proxy = ImageProxy::spawn(options).await?;
    let manifest = proxy.manifest().await?;
    println!("manifest {} (instance {})", manifest.digest, manifest.instance_digest);
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io { what: format!("creating {}", dir.display()), source })?;
    for layer in proxy.layers().await? {
        let mut tar = proxy.decompressed_blob(&layer.digest).await?.on_progress(show_progress);
        let unpacked = tokio::task::block_in_place(|| unpack(&mut tar, &dir));
        // The tar parser wraps read errors: the blob still knows the typed one.
        let entries = unpacked.map_err(|err| tar.failure().unwrap_or_else(|| Error::from_io_error(&format!("unpacking {}", layer.digest), err)))?;
        // The tar's end-of-archive blocks come before the body's end: read on, so that the
        // proxy's verification (the body's last chunk) is what decides the layer is whole.
        let trailer = tar.read_to_end(&mut Vec::new()).await.map_err(|err| Error::from_io_error(&layer.digest, err))?;
        println!("layer {} ({}) diffID {}: {entries} entries, {trailer} trailing bytes", layer.digest, layer.compression, layer.diff_id.as_deref().unwrap_or("-"));
    }
    let exit = proxy.quit().await?;
    println!("extracted into {}; {exit}", dir.display());
    Ok(())
}

/// On stderr, at most ten a second and once at the layer's end: tar bytes so far, and the tar's
/// length when the layer is stored uncompressed (the proxy knows it only then).
fn show_progress(progress: Progress<'_>) {
    let total = progress.total.map_or_else(String::new, |total| format!(" of {total}"));
    eprintln!("{}: {}{total} bytes", progress.digest, progress.bytes);
}

/// Unpacks one layer tar into `dir` from a blocking thread, applying whiteouts.
fn unpack(tar: &mut Blob<'_>, dir: &Path) -> io::Result<usize> {
    let root = dir.canonicalize()?;
    let mut archive = tar::Archive::new(BlockingReader { tar, runtime: Handle::current() });
    archive.set_preserve_permissions(true);
    let mut count = 0;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        if path.is_absolute() || path.components().any(|part| matches!(part, Component::ParentDir)) {
            return Err(leaves(&path));
        }
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        if name == OPAQUE_WHITEOUT || name.starts_with(WHITEOUT_PREFIX) {
            if let Some(parent) = resolved_inside(&root, &path)? {
                match name.strip_prefix(WHITEOUT_PREFIX).filter(|_| name != OPAQUE_WHITEOUT) {
                    Some(hidden) => remove_path(&parent.join(hidden))?,
                    None => clear_directory(&parent)?,
                }
            }
        } else {
            entry.unpack_in(&root)?; // refuses, itself, to write through a symlink leading out
        }
        count += 1;
    }
    Ok(count)
}

/// The directory a whiteout entry is in, symlinks resolved: an earlier layer's symlink must not
/// lead a removal out of the target. None when it does not exist (nothing to remove).
fn resolved_inside(root: &Path, entry: &Path) -> io::Result<Option<PathBuf>> {
    match root.join(entry.parent().unwrap_or_else(|| Path::new(""))).canonicalize() {
        Ok(parent) if parent.starts_with(root) => Ok(Some(parent)),
        Ok(_) => Err(leaves(entry)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

fn leaves(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{} leaves the target directory", path.display()))
}

fn clear_directory(dir: &Path) -> io::Result<()> {
    match std::fs::read_dir(dir) {
        Ok(children) => children.map(|child| remove_path(&child?.path())).collect(),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    }
}

fn remove_path(path: &Path) -> io::Result<()> {
    let result = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(err) => Err(err),
    };
    match result {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// The tar crate reads synchronously: each read waits on the async body.
struct BlockingReader<'t, 'b> {
    tar: &'t mut Blob<'b>,
    runtime: Handle,
}

impl Read for BlockingReader<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.runtime.block_on(self.tar.read(buf))
    }
}
