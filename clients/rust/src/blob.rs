//! A streamed body that is an error, never a short read, unless it arrived whole.

use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Bytes, HttpBody};
use hyper::Body;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::{Error, ProxyExit};
use crate::process::{ExitFuture, ExitWatch, EXIT_GRACE};
use crate::proxy::ImageProxy;

/// At most one progress call per this interval while a body is read; the final call comes on top.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// How far a blob has been read, given to the callback of [`Blob::on_progress`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress<'d> {
    /// The digest that was asked for.
    pub digest: &'d str,
    /// Bytes handed to the reader so far; never decreasing; in the final call, the whole body.
    pub bytes: u64,
    /// The body's `Content-Length`: a blob's size, or an uncompressed layer's read decompressed;
    /// None for a gzip or zstd layer read decompressed (its tar's length is known only at its end).
    pub total: Option<u64>,
}

type ProgressCallback<'a> = Box<dyn FnMut(Progress<'_>) + Send + 'a>;

enum State {
    Reading,
    /// The body broke: waiting briefly for the proxy's exit status to put into the error.
    Failing { exit: ExitFuture, source: Option<hyper::Error> },
    Done,
    Failed { exit: Option<ProxyExit> },
}

/// A blob (or decompressed layer) body, read with `AsyncRead`. A `Content-Length` body must
/// deliver exactly that many bytes and a chunked one must end with its last chunk: otherwise
/// the read fails with an `io::Error` carrying [`Error::IncompleteBody`] (see
/// [`Error::from_io`]). The proxy answers one request at a time, so the blob borrows the
/// proxy: read it to its end before the next call. Dropping it early closes the connection,
/// which ends the proxy.
pub struct Blob<'a> {
    body: Body,
    chunk: Bytes,
    received: u64,
    delivered: u64,
    expected: Option<u64>,
    digest: String,
    what: String,
    state: State,
    exit: ExitWatch,
    /// None once the body failed, or after the final call.
    progress: Option<ProgressCallback<'a>>,
    progress_at: Instant,
    _session: PhantomData<&'a mut ImageProxy>,
}

impl<'a> Blob<'a> {
    pub(crate) fn new(body: Body, expected: Option<u64>, digest: &str, what: String, exit: ExitWatch) -> Self {
        Blob {
            body,
            chunk: Bytes::new(),
            received: 0,
            delivered: 0,
            expected,
            digest: digest.to_owned(),
            what,
            state: State::Reading,
            exit,
            progress: None,
            progress_at: Instant::now(),
            _session: PhantomData,
        }
    }

    /// Calls `callback` as the body is read: at most every 100 ms, then once more when it has
    /// been read whole (`bytes` is then its length), never after a failed read; a blob dropped
    /// early makes no more calls. The interval counts from this call, so a body read within it
    /// gets the final call only.
    ///
    /// ```no_run
    /// # async fn run(proxy: &mut container_image_proxy::ImageProxy) -> Result<(), container_image_proxy::Error> {
    /// let blob = proxy.blob("sha256:…").await?.on_progress(|p| eprintln!("{}: {} of {:?} bytes", p.digest, p.bytes, p.total));
    /// blob.copy_to(&mut tokio::io::sink()).await?;
    /// # Ok(()) }
    /// ```
    pub fn on_progress<F>(mut self, callback: F) -> Self
    where
        F: FnMut(Progress<'_>) + Send + 'a,
    {
        self.progress = Some(Box::new(callback));
        self.progress_at = Instant::now();
        self
    }

    /// Bytes handed to the reader so far: a counter to poll instead of a callback.
    pub fn bytes_read(&self) -> u64 {
        self.delivered
    }

    /// The size the proxy announced (`Content-Length`); None for a chunked body.
    pub fn expected_size(&self) -> Option<u64> {
        self.expected
    }

    /// Why the body failed, once a read has failed (for code whose reader, such as a tar
    /// parser, wrapped the `io::Error` and lost the typed one).
    pub fn failure(&self) -> Option<Error> {
        match &self.state {
            State::Failed { exit } => Some(self.incomplete(exit.clone(), None)),
            _ => None,
        }
    }

    /// Copies the whole body into `writer`; returns the byte count.
    pub async fn copy_to<W: AsyncWrite + Unpin + ?Sized>(mut self, writer: &mut W) -> Result<u64, Error> {
        let what = self.what.clone();
        tokio::io::copy(&mut self, writer).await.map_err(|err| Error::from_io_error(&what, err))
    }

    fn fail(&mut self, source: Option<hyper::Error>) {
        self.progress = None;
        self.state = State::Failing { exit: self.exit.within(EXIT_GRACE), source };
    }

    /// A progress call if the interval has passed since the last one; `last`: the final one.
    fn report(&mut self, last: bool) {
        if self.progress.is_none() {
            return;
        }
        let now = Instant::now();
        if !last && now.duration_since(self.progress_at) < PROGRESS_INTERVAL {
            return;
        }
        self.progress_at = now;
        let progress = Progress { digest: &self.digest, bytes: self.delivered, total: self.expected };
        if let Some(callback) = self.progress.as_mut() {
            callback(progress);
        }
        if last {
            self.progress = None;
        }
    }

    fn incomplete(&self, exit: Option<ProxyExit>, source: Option<hyper::Error>) -> Error {
        Error::IncompleteBody { what: self.what.clone(), received: self.received, expected: self.expected, exit, source }
    }
}

impl AsyncRead for Blob<'_> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Done => return Poll::Ready(Ok(())),
                State::Failed { .. } => {
                    let err = this.failure().expect("the state is Failed");
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::UnexpectedEof, err)));
                }
                State::Failing { exit, source } => {
                    let exit = match exit.as_mut().poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(exit) => exit,
                    };
                    let source = source.take();
                    let err = this.incomplete(exit.clone(), source);
                    this.state = State::Failed { exit };
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::UnexpectedEof, err)));
                }
                State::Reading if !this.chunk.is_empty() => {
                    let n = this.chunk.len().min(buf.remaining());
                    buf.put_slice(&this.chunk.split_to(n));
                    this.delivered += n as u64;
                    this.report(false);
                    return Poll::Ready(Ok(()));
                }
                State::Reading => match Pin::new(&mut this.body).poll_data(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(Ok(chunk))) => {
                        this.received += chunk.len() as u64;
                        if this.expected.map_or(false, |expected| this.received > expected) {
                            this.fail(None);
                        } else {
                            this.chunk = chunk;
                        }
                    }
                    Poll::Ready(Some(Err(err))) => this.fail(Some(err)),
                    Poll::Ready(None) if this.expected.map_or(false, |expected| this.received < expected) => this.fail(None),
                    Poll::Ready(None) => {
                        this.state = State::Done;
                        this.report(true);
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::UnixStream;
    use tokio::sync::watch;

    type Calls = std::sync::Arc<std::sync::Mutex<Vec<(String, u64, Option<u64>)>>>;

    /// Sends `raw` as the whole answer to one request, then closes, and reads the body as a Blob.
    async fn read_answer(raw: &'static [u8]) -> (Vec<u8>, io::Result<usize>) {
        let (body, result, _) = read_answer_with_progress(raw).await;
        (body, result)
    }

    /// The same, with every progress call as (digest, bytes, total).
    async fn read_answer_with_progress(raw: &'static [u8]) -> (Vec<u8>, io::Result<usize>, Vec<(String, u64, Option<u64>)>) {
        let (client, mut server) = UnixStream::pair().unwrap();
        let (mut sender, connection) = hyper::client::conn::handshake(client).await.unwrap();
        tokio::spawn(connection);
        tokio::spawn(async move {
            let mut request = [0u8; 1024];
            let _ = server.read(&mut request).await;
            server.write_all(raw).await.unwrap();
        });
        let response = sender.send_request(hyper::Request::get("/blobs/x").body(Body::empty()).unwrap()).await.unwrap();
        let length = response.headers().get("content-length").map(|value| value.to_str().unwrap().parse().unwrap());
        let (_exit_tx, exit) = watch::channel(None);
        let calls = Calls::default();
        let record = calls.clone();
        let blob = Blob::new(response.into_body(), length, "sha256:x", "blob x".into(), ExitWatch::new(exit));
        let mut blob = blob.on_progress(move |p| record.lock().unwrap().push((p.digest.to_owned(), p.bytes, p.total)));
        let mut body = Vec::new();
        let result = blob.read_to_end(&mut body).await;
        assert_eq!(blob.bytes_read(), body.len() as u64);
        // Reading on after the end or a failure makes no more calls.
        let _ = blob.read(&mut [0u8; 8]).await;
        let calls = calls.lock().unwrap().clone();
        (body, result, calls)
    }

    fn typed(result: io::Result<usize>) -> Error {
        let err = result.expect_err("a body cut short must fail");
        Error::from_io_error("reading", err)
    }

    #[tokio::test]
    async fn a_whole_content_length_body_reads_to_its_end() {
        let (body, result) = read_answer(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").await;
        assert_eq!((body.as_slice(), result.unwrap()), (&b"hello"[..], 5));
    }

    #[tokio::test]
    async fn a_content_length_body_cut_short_is_incomplete_body_not_eof() {
        let (body, result) = read_answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel").await;
        assert_eq!(body, b"hel");
        match typed(result) {
            Error::IncompleteBody { received: 3, expected: Some(10), .. } => {}
            other => panic!("expected IncompleteBody of 3 of 10 bytes, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_chunked_body_without_its_last_chunk_is_incomplete_body() {
        let (body, result) = read_answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n").await;
        assert_eq!(body, b"abc");
        let err = typed(result);
        assert_eq!(err.code(), "incomplete-body");
        assert!(err.to_string().contains("after 3 bytes"), "{err}");
    }

    #[tokio::test]
    async fn a_whole_chunked_body_reads_to_its_end() {
        let (body, result) = read_answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n").await;
        assert_eq!((body.as_slice(), result.unwrap()), (&b"abc"[..], 3));
    }

    #[tokio::test]
    async fn a_body_read_within_the_interval_gets_the_final_progress_call_only() {
        let (_, _, calls) = read_answer_with_progress(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").await;
        assert_eq!(calls, vec![("sha256:x".to_owned(), 5, Some(5))]);
        let (_, _, calls) = read_answer_with_progress(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n").await;
        assert_eq!(calls, vec![("sha256:x".to_owned(), 3, None)]);
    }

    #[tokio::test]
    async fn a_body_cut_short_gets_no_final_progress_call() {
        let (_, result, calls) = read_answer_with_progress(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel").await;
        assert!(result.is_err());
        assert_eq!(calls, vec![]);
    }
}
