//! An event bus with persistence and replay: events published on a bus
//! with a sled store survive the bus; they are queried back by pattern and
//! replayed, in order, onto a fresh bus whose subscriber counts them.
use llmspell_events::{EventBus, EventPattern, EventQuery, EventStore, UniversalEvent};
use llmspell_storage::StorageConfig;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let config = StorageConfig::Sled(dir.path().join("events"));

    // 1. Publish on a bus that persists every event.
    {
        let store = EventStore::open(config.open()?).await?;
        let bus = EventBus::builder().store(store.clone()).build();
        let mut watcher = bus.subscribe("order.*")?;
        for i in 1..=3 {
            bus.publish(UniversalEvent::new("order.placed", json!({"n": i})))
                .await?;
        }
        bus.publish(UniversalEvent::new("audit.note", json!({"text": "done"})))
            .await?;
        let first = watcher.recv().await.ok_or("no live event")?;
        println!("live: {} {}", first.event_type, first.data);
        bus.close();
        store.flush().await?;
    } // the store is closed here; the data stays in the directory

    // 2. Later (another process could do this): query the stored events.
    let store = EventStore::open(config.open()?).await?;
    let orders = EventQuery::all().pattern(EventPattern::new("order.*")?);
    let stored = store.query(&orders).await?;
    println!("stored orders: {}", stored.len());
    assert_eq!(stored.len(), 3);

    // 3. Replay them, in sequence order, onto a fresh bus.
    let fresh = EventBus::new();
    let mut replayed = fresh.subscribe("order.*")?;
    let count = fresh.replay(&store, orders).await?;
    let mut numbers = Vec::new();
    for _ in 0..count {
        let event = replayed.recv().await.ok_or("replay ended early")?;
        numbers.push(event.data["n"].clone());
    }
    println!("replayed {count}: {numbers:?}");
    assert_eq!(numbers, vec![json!(1), json!(2), json!(3)]);
    Ok(())
}
