//! Errors are reported, never panics.

use llmspell_storage::{SledBackend, StorageConfig, StorageError};

#[test]
fn a_path_below_a_regular_file_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let err = SledBackend::open(file.join("db")).unwrap_err();
    assert!(matches!(err, StorageError::Open { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("cannot open sled database") && msg.contains("plain-file"),
        "{msg}"
    );
    // The cause is kept for callers that walk the chain.
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn a_regular_file_as_the_database_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("db");
    std::fs::write(&file, b"not a directory").unwrap();
    let err = StorageConfig::Sled(file).open().unwrap_err();
    assert!(matches!(err, StorageError::Open { .. }), "{err:?}");
}

#[test]
fn bad_configurations_name_the_valid_forms() {
    for input in ["", "sled:", "sqlite:/tmp/x", "MEMORY"] {
        let err = input.parse::<StorageConfig>().unwrap_err();
        assert!(matches!(err, StorageError::InvalidConfig { .. }));
        assert!(
            err.to_string().contains("`memory` and `sled:<path>`"),
            "{err}"
        );
    }
}

#[test]
fn errors_are_clone_send_sync() {
    fn assert_clone_send_sync<T: Clone + Send + Sync + 'static>() {}
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_clone_send_sync::<StorageError>();
    assert_clone_send_sync::<SledBackend>();
    assert_send_sync::<llmspell_storage::MemoryBackend>();
    assert_send_sync::<std::sync::Arc<dyn llmspell_storage::StorageBackend>>();
}
