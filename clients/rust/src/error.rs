//! Typed errors: the proxy's own `{code, message}` answers, and what the client detects itself.

use std::fmt;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;

/// The proxy's stable error codes (the catalogue of `src/domain/errors.ts`). A code this
/// version does not know yet is kept as [`ErrorCode::Other`], so newer proxies still work.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    BadRequest,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    HeadersTooLarge,
    ClientUnauthorized,
    ClientForbidden,
    InvalidReference,
    UnsupportedTransport,
    ImageNotFound,
    BlobNotFound,
    ManifestInvalid,
    ManifestUnsupported,
    NoMatchingPlatform,
    DigestMismatch,
    SizeMismatch,
    NoDecryptionKey,
    DecryptionFailed,
    PolicyRejected,
    PolicyInvalid,
    ConfigInvalid,
    Unauthorized,
    Denied,
    Blocked,
    TooManyRequests,
    RegistryError,
    Network,
    Timeout,
    CredentialHelper,
    EngineError,
    Io,
    Internal,
    Other(String),
}

const KNOWN_CODES: &[(&str, ErrorCode)] = &[
    ("bad-request", ErrorCode::BadRequest),
    ("not-found", ErrorCode::NotFound),
    ("method-not-allowed", ErrorCode::MethodNotAllowed),
    ("request-timeout", ErrorCode::RequestTimeout),
    ("headers-too-large", ErrorCode::HeadersTooLarge),
    ("client-unauthorized", ErrorCode::ClientUnauthorized),
    ("client-forbidden", ErrorCode::ClientForbidden),
    ("invalid-reference", ErrorCode::InvalidReference),
    ("unsupported-transport", ErrorCode::UnsupportedTransport),
    ("image-not-found", ErrorCode::ImageNotFound),
    ("blob-not-found", ErrorCode::BlobNotFound),
    ("manifest-invalid", ErrorCode::ManifestInvalid),
    ("manifest-unsupported", ErrorCode::ManifestUnsupported),
    ("no-matching-platform", ErrorCode::NoMatchingPlatform),
    ("digest-mismatch", ErrorCode::DigestMismatch),
    ("size-mismatch", ErrorCode::SizeMismatch),
    ("no-decryption-key", ErrorCode::NoDecryptionKey),
    ("decryption-failed", ErrorCode::DecryptionFailed),
    ("policy-rejected", ErrorCode::PolicyRejected),
    ("policy-invalid", ErrorCode::PolicyInvalid),
    ("config-invalid", ErrorCode::ConfigInvalid),
    ("unauthorized", ErrorCode::Unauthorized),
    ("denied", ErrorCode::Denied),
    ("blocked", ErrorCode::Blocked),
    ("too-many-requests", ErrorCode::TooManyRequests),
    ("registry-error", ErrorCode::RegistryError),
    ("network", ErrorCode::Network),
    ("timeout", ErrorCode::Timeout),
    ("credential-helper", ErrorCode::CredentialHelper),
    ("engine-error", ErrorCode::EngineError),
    ("io", ErrorCode::Io),
    ("internal", ErrorCode::Internal),
];

impl ErrorCode {
    /// The code as the proxy spells it, e.g. `image-not-found`.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::Other(code) => code,
            known => KNOWN_CODES.iter().find(|(_, code)| code == known).map(|(name, _)| *name).unwrap_or("internal"),
        }
    }
}

impl From<&str> for ErrorCode {
    fn from(name: &str) -> Self {
        KNOWN_CODES
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, code)| code.clone())
            .unwrap_or_else(|| ErrorCode::Other(name.to_owned()))
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the proxy process ended: its exit status and the last line it wrote on stderr (the
/// proxy reports every failure as one line there).
#[derive(Clone, Debug)]
pub struct ProxyExit {
    pub status: ExitStatus,
    pub stderr: Option<String>,
}

impl fmt::Display for ProxyExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.status.code(), self.status.signal()) {
            (Some(code), _) => write!(f, "the proxy exited with {code}")?,
            (None, Some(signal)) => write!(f, "the proxy was killed by signal {signal}")?,
            (None, None) => write!(f, "the proxy ended with {}", self.status)?,
        }
        match &self.stderr {
            Some(line) => write!(f, ": {line}"),
            None => Ok(()),
        }
    }
}

#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The proxy answered with an error: its HTTP status, stable code and message.
    Proxy { status: u16, code: ErrorCode, message: String },
    /// A body ended before it was complete: the proxy found the blob corrupt (a digest or size
    /// mismatch) and cut it off, or it died. Never delivered as a short but successful read.
    IncompleteBody { what: String, received: u64, expected: Option<u64>, exit: Option<ProxyExit>, source: Option<hyper::Error> },
    /// The connection to the proxy failed or closed; `exit` says how the proxy ended, when known.
    ConnectionClosed { what: String, exit: Option<ProxyExit>, source: hyper::Error },
    /// The proxy program could not be started at all.
    Spawn { program: PathBuf, source: io::Error },
    /// The proxy ended instead of serving (at start, or non-zero after `POST /quit`).
    ProxyFailed { what: String, exit: Option<ProxyExit> },
    /// An answer that is not what the proxy's API promises.
    BadResponse { what: String, detail: String },
    /// A local I/O failure (writing a blob somewhere, the socketpair).
    Io { what: String, source: io::Error },
}

impl Error {
    /// One code for every error: the proxy's for [`Error::Proxy`], else the client's own
    /// (`incomplete-body`, `connection-closed`, `proxy-failed`, `bad-response`, `io`), the
    /// same names the TypeScript and Python clients use.
    pub fn code(&self) -> &str {
        match self {
            Error::Proxy { code, .. } => code.as_str(),
            Error::IncompleteBody { .. } => "incomplete-body",
            Error::ConnectionClosed { .. } => "connection-closed",
            Error::Spawn { .. } | Error::ProxyFailed { .. } => "proxy-failed",
            Error::BadResponse { .. } => "bad-response",
            Error::Io { .. } => "io",
        }
    }

    /// The proxy's code, for errors the proxy answered.
    pub fn proxy_code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Proxy { code, .. } => Some(code),
            _ => None,
        }
    }

    /// How the proxy ended, when the error is about its end.
    pub fn exit(&self) -> Option<&ProxyExit> {
        match self {
            Error::IncompleteBody { exit, .. } | Error::ConnectionClosed { exit, .. } | Error::ProxyFailed { exit, .. } => exit.as_ref(),
            _ => None,
        }
    }

    /// The typed error inside an `io::Error` returned by a [`crate::Blob`]'s `AsyncRead`.
    pub fn from_io(err: &io::Error) -> Option<&Error> {
        err.get_ref().and_then(|inner| inner.downcast_ref::<Error>())
    }

    /// An `io::Error` from a blob read back into the typed error (others become [`Error::Io`]).
    pub fn from_io_error(what: &str, err: io::Error) -> Error {
        match err.get_ref().map(|inner| inner.is::<Error>()) {
            Some(true) => *err.into_inner().and_then(|inner| inner.downcast::<Error>().ok()).expect("checked just above"),
            _ => Error::Io { what: what.to_owned(), source: err },
        }
    }
}

fn exit_note(exit: &Option<ProxyExit>) -> String {
    exit.as_ref().map(|exit| format!(" ({exit})")).unwrap_or_default()
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Proxy { status, code, message } => write!(f, "{code} (HTTP {status}): {message}"),
            Error::IncompleteBody { what, received, expected, exit, source } => {
                let of = expected.map(|n| format!(" of {n}")).unwrap_or_default();
                let cause = source.as_ref().map(|err| format!(": {err}")).unwrap_or_default();
                write!(f, "{what}: the body ended after {received}{of} bytes, before it was complete{}{cause}", exit_note(exit))
            }
            Error::ConnectionClosed { what, exit, source } => write!(f, "{what}: the connection to the proxy closed{}: {source}", exit_note(exit)),
            Error::Spawn { program, source } => write!(f, "cannot start the proxy {}: {source}", program.display()),
            Error::ProxyFailed { what, exit: Some(exit) } => write!(f, "{what}: {exit}"),
            Error::ProxyFailed { what, exit: None } => write!(f, "{what}: the proxy ended"),
            Error::BadResponse { what, detail } => write!(f, "{what}: {detail}"),
            Error::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::IncompleteBody { source: Some(source), .. } | Error::ConnectionClosed { source, .. } => Some(source),
            Error::Spawn { source, .. } | Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_code_parses_to_its_variant_and_back() {
        for (name, code) in KNOWN_CODES {
            assert_eq!(&ErrorCode::from(*name), code);
            assert_eq!(code.as_str(), *name);
        }
        assert_eq!(ErrorCode::from("image-not-found"), ErrorCode::ImageNotFound);
    }

    #[test]
    fn an_unknown_code_is_kept_as_other() {
        let code = ErrorCode::from("brand-new-code");
        assert_eq!(code, ErrorCode::Other("brand-new-code".into()));
        assert_eq!(code.to_string(), "brand-new-code");
    }

    #[test]
    fn a_typed_error_survives_the_trip_through_io_error() {
        let err = Error::BadResponse { what: "GET /x".into(), detail: "odd".into() };
        let io = io::Error::new(io::ErrorKind::Other, err);
        assert_eq!(Error::from_io(&io).map(Error::code), Some("bad-response"));
        assert!(matches!(Error::from_io_error("copy", io), Error::BadResponse { .. }));
        let plain = Error::from_io_error("writing out", io::Error::new(io::ErrorKind::Other, "disk full"));
        assert_eq!(plain.to_string(), "writing out: disk full");
    }
}
