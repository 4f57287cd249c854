//! A store that delegates every request to another and calls the test's [`Hooks`] around
//! reads and writes: counting what a run reads, or making another run cut in before a
//! conditional write.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

/// What a test wants to see or do around the requests of a [`Hooked`] store. Every method
/// does nothing unless the test says otherwise.
#[async_trait]
pub trait Hooks: Send + Sync + 'static {
    /// Before a PUT of `location` (awaited: a test may run something else first).
    async fn before_put(&self, _location: &Path, _options: &PutOptions) {}

    /// After a PUT of `location`, with its result.
    fn after_put(&self, _location: &Path, _result: &object_store::Result<PutResult>) {}

    /// A read of `location`: a GET (`head` false), a HEAD (`head` true) or ranges.
    fn on_read(&self, _location: &Path, _head: bool) {}
}

/// `inner`, with `hooks` called around its requests.
pub struct Hooked<H> {
    /// The store that answers.
    pub inner: Arc<dyn ObjectStore>,
    /// What the test watches or does.
    pub hooks: H,
}

impl<H> Hooked<H> {
    /// `inner` with `hooks`.
    pub fn new(inner: Arc<dyn ObjectStore>, hooks: H) -> Self {
        Hooked { inner, hooks }
    }
}

impl<H> fmt::Display for Hooked<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hooked({})", self.inner)
    }
}

impl<H> fmt::Debug for Hooked<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hooked({})", self.inner)
    }
}

#[async_trait]
impl<H: Hooks> ObjectStore for Hooked<H> {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        options: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.hooks.before_put(location, &options).await;
        let result = self.inner.put_opts(location, payload, options).await;
        self.hooks.after_put(location, &result);
        result
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        options: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, options).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.hooks.on_read(location, options.head);
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.hooks.on_read(location, false);
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;

    use super::*;

    #[derive(Default)]
    struct Seen(Mutex<Vec<String>>);

    #[async_trait]
    impl Hooks for Seen {
        async fn before_put(&self, location: &Path, _: &PutOptions) {
            self.0.lock().unwrap().push(format!("put {location}"));
        }

        fn on_read(&self, location: &Path, head: bool) {
            let what = if head { "head" } else { "get" };
            self.0.lock().unwrap().push(format!("{what} {location}"));
        }
    }

    #[tokio::test]
    async fn every_request_reaches_the_inner_store_and_the_hooks() {
        let store = Hooked::new(Arc::new(InMemory::new()), Seen::default());
        let key = Path::from("a/b");
        store
            .put(&key, Bytes::from_static(b"x").into())
            .await
            .unwrap();
        assert_eq!(store.head(&key).await.unwrap().size, 1);
        let bytes = store.get(&key).await.unwrap().bytes().await.unwrap();
        assert_eq!(bytes.as_ref(), b"x");
        assert_eq!(
            *store.hooks.0.lock().unwrap(),
            ["put a/b", "head a/b", "get a/b"]
        );
    }
}
