//! Storage quick start: write, scan, batch and reopen a sled database.
//!
//! Run with `cargo run -p llmspell-storage --example quickstart [-- <dir>]`.
//! Without a directory argument it uses a fresh temporary directory.

use llmspell_storage::{Batch, StorageConfig, StorageExt};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let given = std::env::args().nth(1).map(std::path::PathBuf::from);
    let dir = given.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("llmspell-quickstart-{}", std::process::id()))
    });
    let config: StorageConfig = format!("sled:{}", dir.display()).parse()?;

    {
        let store = config.open()?;
        let mut batch = Batch::new();
        for (i, name) in ["alice", "bob", "carol"].iter().enumerate() {
            batch.set(format!("user/{i:04}"), name.as_bytes().to_vec());
        }
        store.apply_batch(batch).await?;
        store
            .set_json(
                b"meta/created_by",
                &serde_json::json!({"example": "quickstart"}),
            )
            .await?;
        store.flush().await?;
        println!("wrote {} keys to {config}", store.len().await?);
    }

    // Reopen: everything flushed is still there, in key order.
    let store = config.open()?;
    for (key, value) in store.scan_prefix(b"user/", None).await? {
        println!(
            "{} = {}",
            String::from_utf8_lossy(&key),
            String::from_utf8_lossy(&value)
        );
    }
    let meta: Option<serde_json::Value> = store.get_json(b"meta/created_by").await?;
    println!("meta/created_by = {}", meta.unwrap_or_default());

    if given.is_none() {
        drop(store);
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}
