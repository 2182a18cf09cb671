//! The proxy's answers as Rust values, parsed from its JSON.

use hyper::body::Bytes;
use serde_json::Value;

use crate::error::Error;

/// `GET /manifest`: the OCI manifest and the digests the proxy sends with it.
#[derive(Clone, Debug)]
pub struct ManifestAnswer {
    /// The manifest (converted to OCI when the image is not OCI).
    pub manifest: Value,
    /// The body exactly as served.
    pub bytes: Bytes,
    /// `Manifest-Digest`: the digest of what the reference names (the list's, for a list).
    pub digest: String,
    /// `Instance-Digest`: the per-platform manifest the body was made from, before conversion.
    pub instance_digest: String,
}

/// One entry of `GET /layers`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    pub digest: String,
    pub size: u64,
    pub media_type: String,
    /// `gzip`, `zstd` or `none`.
    pub compression: String,
    /// The digest of the uncompressed tar, from the config's `rootfs.diff_ids` (paired by position).
    pub diff_id: Option<String>,
    /// Why the config gives this layer no usable diff ID; such a layer cannot be read decompressed.
    pub diff_id_error: Option<String>,
    /// An encrypted layer (`…+encrypted`); `compression` is then its plaintext's.
    pub encrypted: bool,
    /// For an encrypted layer: whether one of the proxy's `--decryption-key`s opens it.
    pub decryptable: Option<bool>,
    /// A zstd:chunked layer (annotated with the checksum of its table of contents).
    pub zstd_chunked: bool,
}

/// `GET /version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyVersion {
    pub version: String,
    pub api_version: String,
}

pub(crate) fn parse_json(what: &str, body: &[u8]) -> Result<Value, Error> {
    serde_json::from_slice(body).map_err(|err| Error::BadResponse { what: what.to_owned(), detail: format!("the answer is not JSON: {err}") })
}

fn field<'v>(what: &str, value: &'v Value, name: &str) -> Result<&'v Value, Error> {
    value.get(name).ok_or_else(|| Error::BadResponse { what: what.to_owned(), detail: format!("no \"{name}\" in the answer") })
}

fn optional_string_field(what: &str, value: &Value, name: &str) -> Result<Option<String>, Error> {
    match value.get(name) {
        None => Ok(None),
        Some(_) => string_field(what, value, name).map(Some),
    }
}

fn optional_bool_field(what: &str, value: &Value, name: &str) -> Result<Option<bool>, Error> {
    match value.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(_) => Err(Error::BadResponse { what: what.to_owned(), detail: format!("\"{name}\" is not a boolean") }),
    }
}

fn string_field(what: &str, value: &Value, name: &str) -> Result<String, Error> {
    field(what, value, name)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::BadResponse { what: what.to_owned(), detail: format!("\"{name}\" is not a string") })
}

pub(crate) fn parse_layers(what: &str, value: &Value) -> Result<Vec<Layer>, Error> {
    let entries = value.as_array().ok_or_else(|| Error::BadResponse { what: what.to_owned(), detail: "the answer is not an array".into() })?;
    entries
        .iter()
        .map(|entry| {
            let size = field(what, entry, "size")?
                .as_u64()
                .ok_or_else(|| Error::BadResponse { what: what.to_owned(), detail: "\"size\" is not a non-negative integer".into() })?;
            Ok(Layer {
                digest: string_field(what, entry, "digest")?,
                size,
                media_type: string_field(what, entry, "mediaType")?,
                compression: string_field(what, entry, "compression")?,
                diff_id: optional_string_field(what, entry, "diffID")?,
                diff_id_error: optional_string_field(what, entry, "diffIDError")?,
                encrypted: optional_bool_field(what, entry, "encrypted")?.unwrap_or(false),
                decryptable: optional_bool_field(what, entry, "decryptable")?,
                zstd_chunked: optional_bool_field(what, entry, "zstdChunked")?.unwrap_or(false),
            })
        })
        .collect()
}

pub(crate) fn parse_version(what: &str, value: &Value) -> Result<ProxyVersion, Error> {
    Ok(ProxyVersion { version: string_field(what, value, "version")?, api_version: string_field(what, value, "apiVersion")? })
}

/// The proxy's error answer `{code, message}`, if the body is one.
pub(crate) fn parse_error_body(body: &[u8]) -> Option<(String, String)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    Some((value.get("code")?.as_str()?.to_owned(), value.get("message")?.as_str()?.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_parse_with_every_field() {
        let value: Value = serde_json::from_str(r#"[{"digest":"sha256:aa","size":12,"mediaType":"m","compression":"zstd","diffID":"sha256:bb"}]"#).unwrap();
        let layers = parse_layers("GET /layers", &value).unwrap();
        assert_eq!(layers, vec![Layer { digest: "sha256:aa".into(), size: 12, media_type: "m".into(), compression: "zstd".into(), diff_id: Some("sha256:bb".into()), diff_id_error: None, encrypted: false, decryptable: None, zstd_chunked: false }]);
    }

    #[test]
    fn an_encrypted_layer_says_whether_a_key_opens_it() {
        let value: Value = serde_json::from_str(r#"[{"digest":"sha256:aa","size":12,"mediaType":"m+encrypted","compression":"gzip","diffID":"sha256:bb","encrypted":true,"decryptable":false}]"#).unwrap();
        let layers = parse_layers("GET /layers", &value).unwrap();
        assert_eq!((layers[0].encrypted, layers[0].decryptable), (true, Some(false)));
    }

    #[test]
    fn a_zstd_chunked_layer_says_so() {
        let value: Value = serde_json::from_str(r#"[{"digest":"sha256:aa","size":12,"mediaType":"m","compression":"zstd","diffID":"sha256:bb","zstdChunked":true}]"#).unwrap();
        let layers = parse_layers("GET /layers", &value).unwrap();
        assert!(layers[0].zstd_chunked);
    }

    #[test]
    fn a_layer_without_usable_diff_id_carries_the_proxy_reason() {
        let value: Value = serde_json::from_str(r#"[{"digest":"sha256:aa","size":12,"mediaType":"m","compression":"gzip","diffIDError":"the config's rootfs.diff_ids[0] is null"}]"#).unwrap();
        let layers = parse_layers("GET /layers", &value).unwrap();
        assert_eq!(layers[0].diff_id, None);
        assert_eq!(layers[0].diff_id_error.as_deref(), Some("the config's rootfs.diff_ids[0] is null"));
    }

    #[test]
    fn a_diff_id_that_is_not_a_string_is_a_bad_response_naming_the_field() {
        let value: Value = serde_json::from_str(r#"[{"digest":"sha256:aa","size":12,"mediaType":"m","compression":"gzip","diffID":7}]"#).unwrap();
        let err = parse_layers("GET /layers", &value).unwrap_err();
        assert_eq!(err.code(), "bad-response");
        assert!(err.to_string().contains("diffID"), "{err}");
    }

    #[test]
    fn error_bodies_need_both_code_and_message() {
        assert_eq!(parse_error_body(br#"{"code":"image-not-found","message":"no such tag"}"#), Some(("image-not-found".into(), "no such tag".into())));
        assert_eq!(parse_error_body(br#"{"code":"image-not-found"}"#), None);
        assert_eq!(parse_error_body(b"<html>"), None);
    }
}
