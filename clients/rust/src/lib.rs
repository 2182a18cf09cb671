//! An async client for container-image-proxy: container images fetched the way
//! containers/image does, over HTTP/1.1 on a socketpair to a sidecar process.
//!
//! ```no_run
//! use container_image_proxy::{Error, ErrorCode, ImageProxy, ProxyOptions};
//!
//! # async fn run() -> Result<(), Error> {
//! let options = ProxyOptions::new().image("docker://quay.io/org/image:tag").args(["--policy", "policy.json"]);
//! let mut proxy = ImageProxy::spawn(options).await?;         // checks the proxy answers
//! let answer = proxy.manifest().await?;                       // .manifest (serde_json), .digest, .instance_digest, .bytes
//! let config = proxy.config().await?;
//! for layer in proxy.layers().await? {                         // digest, size, media_type, compression, diff_id
//!     let tar = proxy.decompressed_blob(&layer.digest).await? // AsyncRead, verified; .blob(digest) as stored
//!         .on_progress(|p| eprintln!("{}: {} of {:?} bytes", p.digest, p.bytes, p.total));
//!     tar.copy_to(&mut tokio::io::sink()).await?;
//! }
//! match proxy.image("oci:/srv/layouts/app:1.0").manifest().await { // any other image, same process
//!     Err(Error::Proxy { code: ErrorCode::ImageNotFound, .. }) => println!("not there"),
//!     other => println!("{}", other?.digest),
//! }
//! proxy.quit().await?;
//! # let _ = (answer, config); Ok(()) }
//! ```
//!
//! The proxy is `ProxyOptions::program`, else `$CONTAINER_IMAGE_PROXY`, else
//! `container-image-proxy` on PATH; it gets its end of the socketpair as fd 3 (`--sockfd 3`).
//! Its stderr is passed through to this process's stderr, and its last line is kept for the
//! errors that say how it ended.

mod answers;
mod blob;
mod error;
mod image;
mod process;
mod proxy;

pub use answers::{Layer, ManifestAnswer, ProxyVersion};
pub use blob::{Blob, Progress};
pub use error::{Error, ErrorCode, ProxyExit};
pub use image::Image;
pub use process::ProxyOptions;
pub use proxy::ImageProxy;
