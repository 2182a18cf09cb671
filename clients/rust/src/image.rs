//! Requests about an image named with `?image=`, on the same proxy and connection.

use hyper::Method;
use serde_json::Value;

use crate::answers::{Layer, ManifestAnswer};
use crate::blob::Blob;
use crate::error::Error;
use crate::proxy::{BlobForm, ImageProxy, Target};

/// Another image than the command line's, from [`ImageProxy::image`]: the same calls.
pub struct Image<'p> {
    proxy: &'p mut ImageProxy,
    reference: &'p str,
}

impl<'p> Image<'p> {
    pub(crate) fn new(proxy: &'p mut ImageProxy, reference: &'p str) -> Self {
        Image { proxy, reference }
    }

    fn target(&self) -> Target<'p> {
        Target(Some(self.reference))
    }

    pub async fn manifest(&mut self) -> Result<ManifestAnswer, Error> {
        let target = self.target();
        self.proxy.manifest_of(target).await
    }

    pub async fn config(&mut self) -> Result<Value, Error> {
        let target = self.target();
        self.proxy.json(Method::GET, "/config", target).await
    }

    pub async fn layers(&mut self) -> Result<Vec<Layer>, Error> {
        let target = self.target();
        self.proxy.layers_of(target).await
    }

    pub async fn blob(&mut self, digest: &str) -> Result<Blob<'_>, Error> {
        let target = self.target();
        self.proxy.blob_of(target, digest, BlobForm::Stored).await
    }

    pub async fn decrypted_blob(&mut self, digest: &str) -> Result<Blob<'_>, Error> {
        let target = self.target();
        self.proxy.blob_of(target, digest, BlobForm::Decrypted).await
    }

    pub async fn decompressed_blob(&mut self, digest: &str) -> Result<Blob<'_>, Error> {
        let target = self.target();
        self.proxy.blob_of(target, digest, BlobForm::Decompressed).await
    }

    /// Makes the proxy forget the image (`POST /close`): the next request resolves it again.
    pub async fn close(self) -> Result<(), Error> {
        let target = self.target();
        self.proxy.read_all(Method::POST, "/close", target).await.map(drop)
    }
}
