//! Writes one blob of an image, as stored, to stdout, with progress lines on stderr:
//!
//!     cargo run --example blob -- IMAGE DIGEST [PROXY-OPTION...] > blob
//!     cargo run --example blob -- docker://quay.io/org/image:tag sha256:… --policy policy.json > layer.tar.gz
//!
//! Each line is `DIGEST: BYTES of TOTAL bytes after MS ms`, at most ten a second and a last one
//! once the blob arrived whole and verified; a blob that fails verification gets no last line
//! and the program exits 1.

use std::process::ExitCode;
use std::time::Instant;

use container_image_proxy::{Error, ImageProxy, ProxyOptions};

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (image, digest) = match (args.next(), args.next()) {
        (Some(image), Some(digest)) => (image.to_string_lossy().into_owned(), digest.to_string_lossy().into_owned()),
        _ => {
            eprintln!("usage: blob IMAGE DIGEST [PROXY-OPTION...]");
            return ExitCode::from(2);
        }
    };
    match write_blob(ProxyOptions::new().image(image.clone()).args(args), &digest).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("blob {digest} of {image}: [{}] {err}", err.code());
            ExitCode::FAILURE
        }
    }
}

async fn write_blob(options: ProxyOptions, digest: &str) -> Result<(), Error> {
    let mut proxy = ImageProxy::spawn(options).await?;
    let started = Instant::now();
    let blob = proxy.blob(digest).await?.on_progress(move |progress| {
        let total = progress.total.map_or_else(|| "?".to_owned(), |total| total.to_string());
        eprintln!("{}: {} of {total} bytes after {} ms", progress.digest, progress.bytes, started.elapsed().as_millis());
    });
    blob.copy_to(&mut tokio::io::stdout()).await?;
    proxy.quit().await?;
    Ok(())
}
