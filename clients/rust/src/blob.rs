//! A streamed body that is an error, never a short read, unless it arrived whole.

use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::{Bytes, HttpBody};
use hyper::Body;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::{Error, ProxyExit};
use crate::process::{ExitFuture, ExitWatch, EXIT_GRACE};
use crate::proxy::ImageProxy;

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
    expected: Option<u64>,
    what: String,
    state: State,
    exit: ExitWatch,
    _session: PhantomData<&'a mut ImageProxy>,
}

impl<'a> Blob<'a> {
    pub(crate) fn new(body: Body, expected: Option<u64>, what: String, exit: ExitWatch) -> Self {
        Blob { body, chunk: Bytes::new(), received: 0, expected, what, state: State::Reading, exit, _session: PhantomData }
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
        self.state = State::Failing { exit: self.exit.within(EXIT_GRACE), source };
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
                    Poll::Ready(None) => this.state = State::Done,
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

    /// Sends `raw` as the whole answer to one request, then closes, and reads the body as a Blob.
    async fn read_answer(raw: &'static [u8]) -> (Vec<u8>, io::Result<usize>) {
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
        let mut blob = Blob::new(response.into_body(), length, "blob x".into(), ExitWatch::new(exit));
        let mut body = Vec::new();
        let result = blob.read_to_end(&mut body).await;
        (body, result)
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
}
