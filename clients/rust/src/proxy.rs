//! The session: one keep-alive HTTP/1.1 connection (hyper) over the socketpair to the proxy.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Bytes, HttpBody};
use hyper::client::conn::SendRequest;
use hyper::header::{CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use hyper::{Body, Method, Request, Response};
use serde_json::Value;

use crate::answers::{parse_error_body, parse_json, parse_layers, parse_version, ManifestAnswer, Layer, ProxyVersion};
use crate::blob::Blob;
use crate::error::{Error, ErrorCode, ProxyExit};
use crate::process::{ProxyOptions, ProxyProcess, EXIT_GRACE};

/// A proxy that closed the connection before its first answer is given this long to exit.
const START_EXIT_WAIT: Duration = Duration::from_secs(10);
/// How long `quit` waits for the proxy to exit after it answered.
const QUIT_WAIT: Duration = Duration::from_secs(30);
/// Error answers are small JSON objects: more is not the proxy talking.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// A container-image-proxy child process and its one connection. Dropping it without
/// [`ImageProxy::quit`] kills the proxy.
pub struct ImageProxy {
    sender: SendRequest<Body>,
    process: ProxyProcess,
    version: ProxyVersion,
}

/// Which image a request is about: the command line's, or one named with `?image=`.
#[derive(Clone, Copy)]
pub(crate) struct Target<'r>(pub(crate) Option<&'r str>);

impl ImageProxy {
    /// Starts the proxy and checks it answers (`GET /version`). A proxy that cannot start (an
    /// unreadable `--policy`, a bad option) gives [`Error::ProxyFailed`] with its exit status
    /// and stderr line.
    pub async fn spawn(options: ProxyOptions) -> Result<ImageProxy, Error> {
        let (process, socket) = ProxyProcess::spawn(&options)?;
        let (sender, connection) = hyper::client::conn::handshake(socket)
            .await
            .map_err(|source| Error::ConnectionClosed { what: "the HTTP handshake".into(), exit: None, source })?;
        // The connection ends when the proxy or we close the socket; errors surface on requests.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let unknown = ProxyVersion { version: String::new(), api_version: String::new() };
        let mut proxy = ImageProxy { sender, process, version: unknown };
        match proxy.json(Method::GET, "/version", Target(None)).await {
            Ok(value) => {
                proxy.version = parse_version("GET /version", &value)?;
                Ok(proxy)
            }
            Err(err @ Error::ConnectionClosed { .. }) => match proxy.process.exit.within(START_EXIT_WAIT).await {
                Some(exit) => Err(Error::ProxyFailed { what: "starting the proxy".into(), exit: Some(exit) }),
                None => Err(err),
            },
            Err(err) => Err(err),
        }
    }

    /// What `GET /version` answered at start.
    pub fn version(&self) -> &ProxyVersion {
        &self.version
    }

    /// Requests about another image than the command line's (`?image=TRANSPORT:REFERENCE`);
    /// each image is resolved and policy-checked once per proxy process.
    pub fn image<'p>(&'p mut self, reference: &'p str) -> crate::Image<'p> {
        crate::Image::new(self, reference)
    }

    pub async fn manifest(&mut self) -> Result<ManifestAnswer, Error> {
        self.manifest_of(Target(None)).await
    }

    pub async fn config(&mut self) -> Result<Value, Error> {
        self.json(Method::GET, "/config", Target(None)).await
    }

    /// Every layer with digest, size, media type, compression and diff ID, in manifest order.
    pub async fn layers(&mut self) -> Result<Vec<Layer>, Error> {
        self.layers_of(Target(None)).await
    }

    /// A blob exactly as stored, verified by the proxy while it streams.
    pub async fn blob(&mut self, digest: &str) -> Result<Blob<'_>, Error> {
        self.blob_of(Target(None), digest, BlobForm::Stored).await
    }

    /// An encrypted layer as its plaintext (still compressed), opened with the proxy's
    /// `--decryption-key`s and checked against its HMAC; a layer that is not encrypted as stored.
    pub async fn decrypted_blob(&mut self, digest: &str) -> Result<Blob<'_>, Error> {
        self.blob_of(Target(None), digest, BlobForm::Decrypted).await
    }

    /// A layer as its uncompressed tar (decrypted first if encrypted), verified against its digest and diff ID.
    pub async fn decompressed_blob(&mut self, digest: &str) -> Result<Blob<'_>, Error> {
        self.blob_of(Target(None), digest, BlobForm::Decompressed).await
    }

    /// Asks the proxy to exit and waits for it; a non-zero exit is [`Error::ProxyFailed`].
    pub async fn quit(mut self) -> Result<ProxyExit, Error> {
        self.read_all(Method::POST, "/quit", Target(None)).await?;
        let exit = self.process.exit.within(QUIT_WAIT).await;
        match exit {
            Some(exit) if exit.status.success() => Ok(exit),
            exit => Err(Error::ProxyFailed { what: "after POST /quit".into(), exit }),
        }
    }

    /// Ends the proxy without asking; returns how it ended.
    pub async fn kill(mut self) -> Option<ProxyExit> {
        self.process.kill();
        self.process.exit.within(QUIT_WAIT).await
    }

    pub(crate) async fn manifest_of(&mut self, target: Target<'_>) -> Result<ManifestAnswer, Error> {
        let what = describe(&Method::GET, "/manifest", target);
        let response = self.send(Method::GET, "/manifest", target, None).await?;
        let header = |name: &str| response.headers().get(name).and_then(|value| value.to_str().ok()).map(str::to_owned);
        let (digest, instance_digest) = match (header("Manifest-Digest"), header("Instance-Digest")) {
            (Some(digest), Some(instance)) => (digest, instance),
            _ => return Err(Error::BadResponse { what, detail: "no Manifest-Digest or Instance-Digest header".into() }),
        };
        let bytes = self.body_of(&what, response).await?;
        Ok(ManifestAnswer { manifest: parse_json(&what, &bytes)?, bytes, digest, instance_digest })
    }

    pub(crate) async fn layers_of(&mut self, target: Target<'_>) -> Result<Vec<Layer>, Error> {
        let value = self.json(Method::GET, "/layers", target).await?;
        parse_layers(&describe(&Method::GET, "/layers", target), &value)
    }

    pub(crate) async fn blob_of(&mut self, target: Target<'_>, digest: &str, form: BlobForm) -> Result<Blob<'_>, Error> {
        let path = format!("/blobs/{}", encode(digest, b":"));
        let what = format!("{} {digest}", form.describe());
        let response = self.send(Method::GET, &path, target, form.query()).await?;
        let headers = response.headers();
        let length = headers.get(CONTENT_LENGTH).and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
        let chunked = headers.get(TRANSFER_ENCODING).and_then(|value| value.to_str().ok()).map_or(false, |value| value.contains("chunked"));
        let decompressed = form == BlobForm::Decompressed;
        // A body delimited by the connection's end could never tell complete from cut short.
        if length.is_none() && (!decompressed || !chunked) {
            let framing = if decompressed { "Content-Length or chunked encoding" } else { "Content-Length" };
            return Err(Error::BadResponse { what, detail: format!("no {framing} on the body") });
        }
        Ok(Blob::new(response.into_body(), length, digest, what, self.process.exit.clone()))
    }

    pub(crate) async fn json(&mut self, method: Method, path: &str, target: Target<'_>) -> Result<Value, Error> {
        let bytes = self.read_all(method.clone(), path, target).await?;
        parse_json(&describe(&method, path, target), &bytes)
    }

    pub(crate) async fn read_all(&mut self, method: Method, path: &str, target: Target<'_>) -> Result<Bytes, Error> {
        let what = describe(&method, path, target);
        let response = self.send(method, path, target, None).await?;
        self.body_of(&what, response).await
    }

    async fn body_of(&self, what: &str, response: Response<Body>) -> Result<Bytes, Error> {
        match hyper::body::to_bytes(response.into_body()).await {
            Ok(bytes) => Ok(bytes),
            Err(source) => Err(self.closed(what, source).await),
        }
    }

    async fn send(&mut self, method: Method, path: &str, target: Target<'_>, query: Option<&str>) -> Result<Response<Body>, Error> {
        let what = describe(&method, path, target);
        let uri = request_target(path, target, query);
        let request = Request::builder().method(method).uri(uri).header(HOST, "localhost").body(Body::empty()).expect("an encoded request target is a valid URI");
        if let Err(source) = (Ready { sender: &mut self.sender }).await {
            return Err(self.closed(&what, source).await);
        }
        let response = match self.sender.send_request(request).await {
            Ok(response) => response,
            Err(source) => return Err(self.closed(&what, source).await),
        };
        if response.status().as_u16() >= 300 {
            return Err(self.error_of(what, response).await);
        }
        Ok(response)
    }

    async fn closed(&self, what: &str, source: hyper::Error) -> Error {
        Error::ConnectionClosed { what: what.to_owned(), exit: self.process.exit.within(EXIT_GRACE).await, source }
    }

    async fn error_of(&self, what: String, response: Response<Body>) -> Error {
        let status = response.status().as_u16();
        let mut body = response.into_body();
        let mut text = Vec::new();
        while let Some(chunk) = body.data().await {
            match chunk {
                Ok(chunk) => text.extend_from_slice(&chunk),
                Err(source) => return self.closed(&what, source).await,
            }
            if text.len() > ERROR_BODY_LIMIT {
                break; // dropping the rest closes the connection: it cannot be reused anyway
            }
        }
        match parse_error_body(&text) {
            Some((code, message)) => Error::Proxy { status, code: ErrorCode::from(code.as_str()), message },
            None => {
                let shown = String::from_utf8_lossy(&text[..text.len().min(200)]).into_owned();
                Error::BadResponse { what, detail: format!("HTTP {status} without a JSON error: {shown}") }
            }
        }
    }
}

/// Waits until the connection can take the next request (rustc 1.63 has no `poll_fn`).
struct Ready<'s> {
    sender: &'s mut SendRequest<Body>,
}

impl Future for Ready<'_> {
    type Output = hyper::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.sender.poll_ready(cx)
    }
}

fn describe(method: &Method, path: &str, target: Target<'_>) -> String {
    match target.0 {
        Some(image) => format!("{method} {path}?image={image}"),
        None => format!("{method} {path}"),
    }
}

/// Which form of a blob to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BlobForm {
    Stored,
    Decrypted,
    Decompressed,
}

impl BlobForm {
    fn query(self) -> Option<&'static str> {
        match self {
            BlobForm::Stored => None,
            BlobForm::Decrypted => Some("decrypt=true"),
            BlobForm::Decompressed => Some("decompress=true"),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            BlobForm::Stored => "blob",
            BlobForm::Decrypted => "decrypted layer",
            BlobForm::Decompressed => "decompressed layer",
        }
    }
}

fn request_target(path: &str, target: Target<'_>, form_query: Option<&str>) -> String {
    let mut query = Vec::new();
    if let Some(form_query) = form_query {
        query.push(form_query.to_owned());
    }
    if let Some(image) = target.0 {
        query.push(format!("image={}", encode(image, b"")));
    }
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// Percent-encodes all but unreserved characters and `keep`.
fn encode(value: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    for &byte in value.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) || keep.contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_are_encoded_into_the_query() {
        let target = request_target("/blobs/sha256:ab", Target(Some("oci:/srv/my layout:1.0")), BlobForm::Decompressed.query());
        assert_eq!(target, "/blobs/sha256:ab?decompress=true&image=oci%3A%2Fsrv%2Fmy%20layout%3A1.0");
        assert_eq!(request_target("/blobs/sha256:ab", Target(None), BlobForm::Decrypted.query()), "/blobs/sha256:ab?decrypt=true");
        assert_eq!(request_target("/manifest", Target(None), None), "/manifest");
    }

    #[test]
    fn digests_keep_their_colon_and_lose_anything_odd() {
        assert_eq!(encode("sha256:ab/../x?y", b":"), "sha256:ab%2F..%2Fx%3Fy");
    }
}
