//! Typed helpers over [`StorageBackend`].

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;

use crate::error::display_key;
use crate::{Result, StorageBackend, StorageError};

/// Stores serde values as JSON on any [`StorageBackend`].
///
/// Implemented for every backend, including `dyn StorageBackend`.
#[async_trait]
pub trait StorageExt: StorageBackend {
    /// Decodes the JSON value under `key`.
    ///
    /// # Errors
    /// [`StorageError::Deserialize`] when the stored bytes are not valid JSON
    /// for `T`, plus the backend's own errors.
    async fn get_json<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>> {
        match self.get(key).await? {
            None => Ok(None),
            Some(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| StorageError::Deserialize {
                        key: display_key(key),
                        type_name: std::any::type_name::<T>(),
                        source: Arc::new(e),
                    })
            }
        }
    }

    /// Stores `value` as JSON under `key`.
    ///
    /// # Errors
    /// [`StorageError::Serialize`] when `value` cannot be encoded (e.g. a map
    /// with non-string keys), plus the backend's own errors.
    async fn set_json<T: Serialize + Sync + ?Sized>(&self, key: &[u8], value: &T) -> Result<()> {
        let bytes = serde_json::to_vec(value).map_err(|e| StorageError::Serialize {
            key: display_key(key),
            source: Arc::new(e),
        })?;
        self.set(key, &bytes).await
    }
}

impl<B: StorageBackend + ?Sized> StorageExt for B {}
