//! A 500k-row PostgreSQL table streams in grouping order with the process's memory growth far
//! below the table's size. Alone in its own test binary so no other test moves the RSS.

mod common;

use common::*;
use hearth::source::seed::{SeedOptions, seed_postgres};
use hearth::source::{Db, GroupColumns, SourceDef, SourceKind};

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap();
    kb * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_a_million_rows_stream_in_order_with_flat_memory() {
    let s = PgSchema::new("stream500k").await;
    let mut o = SeedOptions::new(&database_url(), 178, 1);
    o.schema = s.name.clone();
    o.registry_schema = s.name.clone();
    let report = seed_postgres(&o).await.unwrap();
    assert_eq!(report.rows, 178 * 2816);

    let def = SourceDef {
        id: 1,
        name: "big".into(),
        description: None,
        kind: SourceKind::MeasureBased,
        schema: s.name.clone(),
        table: "agg_app_measures".into(),
        columns: GroupColumns::with_period("frequency"),
        db: Db::Postgres(s.pool.clone()),
    };
    let shape = hearth::source::introspect(&def).await.unwrap();
    let baseline = rss_bytes();
    let mut peak = baseline;
    let mut stream = hearth::source::stream(&def, &shape);
    let (mut rows, mut json_bytes, mut groups) = (0u64, 0u64, 0u64);
    let mut last: Option<(String, String, Option<String>, String)> = None;
    while let Some(batch) = stream.next_batch().await {
        for g in batch.unwrap().groups {
            rows += g.rows as u64;
            json_bytes += g.json.len() as u64;
            let key = (g.measure, g.practice, g.provider, g.period);
            if last.as_ref() != Some(&key) {
                groups += 1;
                last = Some(key);
            }
        }
        peak = peak.max(rss_bytes());
    }
    assert_eq!(rows, report.rows);
    // As many runs of equal keys as there are groups: no group is split.
    assert_eq!(groups, report.groups, "every group arrives in one run of rows");
    let growth = peak.saturating_sub(baseline);
    println!("streamed {rows} rows, {json_bytes} bytes of JSON; RSS {baseline} -> peak {peak} (+{growth})");
    assert!(json_bytes > 100 << 20, "the table is large: {json_bytes} bytes");
    assert!(growth < 48 << 20, "memory grew by {growth} bytes while streaming {json_bytes} bytes");
}
