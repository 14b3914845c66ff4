//! The cache layout is the command center's (SPEC §1): every key, index member, TTL and the
//! metadata after a warm; and entries written by hand in the command center's layout are read by
//! `query`. Each test runs with an empty prefix and with `bcos:test:`.

use std::collections::BTreeSet;

use crate::common::fixtures::*;
use crate::common::*;
use hearth::cache::keys::Keys;
use hearth::cache::query::{CacheQuery, query};
use hearth::cache::warm::{NoHooks, lock_token, warm};

const PREFIXES: [&str; 2] = ["", "bcos:test:"];

fn dataset() -> Vec<Row> {
    let mut rows =
        grid("A", &["Charges", "Cancellations: Same Day"], &[114, 115], &[Some(7), None], &["Monthly", "Weekly"], 3);
    rows.extend(grid("A", &["Visits"], &[114], &[Some(9)], &["Quarterly"], 2));
    rows
}

async fn warm_writes_the_spec_layout(prefix: &str, method: &str) {
    let dir = TempDir::new("layout");
    let pool = sqlite_pool(&dir.0).await;
    let rows = dataset();
    create_table(&pool, "m", &rows).await;
    let state = state_with("layout", &[("HEARTH_KEY_PREFIX", prefix), ("HEARTH_CUTOVER", method)]);
    let ds = random_ds();
    let _cleanup = cleanup_on_drop(&state, &[ds]);
    let def = sqlite_def(&pool, ds, "m");
    let outcome =
        warm(&state, &def, "run1", &lock_token("test:layout", "here"), &NoHooks).await.expect("warm succeeds");

    let expected = expected_entries(&rows);
    assert_eq!(outcome.entries as usize, expected.len());
    assert_eq!(outcome.rows as usize, rows.len());
    let k = &state.keys;
    let mut conn = raw_redis().await;
    let ttl = state.config.cache_ttl_secs as i64;
    let mut all_members = BTreeSet::new();
    for ((m, p, v, f), value) in &expected {
        let (p, v) = (p.to_string(), v.map(|v| v.to_string()));
        let name = Keys::data_name(ds, m, &p, v.as_deref(), f);
        let data_key = format!("{prefix}{name}");
        let stored: Option<String> = redis::cmd("GET").arg(&data_key).query_async(&mut conn).await.unwrap();
        assert_eq!(stored.as_deref(), Some(value.as_str()), "value of {data_key}");
        let t: i64 = redis::cmd("TTL").arg(&data_key).query_async(&mut conn).await.unwrap();
        assert!(t > ttl - 60 && t <= ttl, "TTL of {data_key} is {t}");
        for set in [
            k.master(ds),
            k.base(ds, m, f),
            k.practice(ds, m, &p, f),
            k.provider(ds, m, f, v.as_deref()),
            k.key(&Keys::full_name(ds, m, &p, v.as_deref(), f)),
        ] {
            assert!(smembers(&set).await.contains(&name), "{set} lacks {name}");
            let t: i64 = redis::cmd("TTL").arg(&set).query_async(&mut conn).await.unwrap();
            assert!(t > ttl - 60 && t <= ttl, "TTL of {set} is {t}");
        }
        all_members.insert(name);
    }
    // Index sets hold exactly the expected members, nothing more.
    assert_eq!(smembers(&k.master(ds)).await, all_members);
    let charges_monthly: BTreeSet<String> = expected
        .keys()
        .filter(|(m, _, _, f)| m == "Charges" && f == "Monthly")
        .map(|(m, p, v, f)| Keys::data_name(ds, m, &p.to_string(), v.map(|v| v.to_string()).as_deref(), f))
        .collect();
    assert_eq!(smembers(&k.base(ds, "Charges", "Monthly")).await, charges_monthly);
    assert_eq!(smembers(&k.provider(ds, "Cancellations: Same Day", "Weekly", None)).await.len(), 2);
    assert!(
        smembers(&format!("{prefix}idx:{{ds:{ds}}}:m:Cancellations: Same Day:freq:Weekly:prov:*")).await.len() == 2
    );

    // Metadata: a JSON array holding one object with the SPEC fields (and Hearth's).
    let meta: String = redis::cmd("GET").arg(k.meta(ds)).query_async(&mut conn).await.unwrap();
    let meta: serde_json::Value = serde_json::from_str(&meta).unwrap();
    let m = &meta.as_array().unwrap()[0];
    assert!(hearth::time::parse_iso_ms(m["timestamp"].as_str().unwrap()).is_some());
    assert_eq!(m["uniqueMeasures"], 3);
    assert_eq!(m["uniquePractices"], 2);
    assert_eq!(m["uniqueProviders"], 2, "7 and 9; the NULL provider is not a provider");
    assert_eq!(m["uniqueFrequencies"], serde_json::json!(["Monthly", "Quarterly", "Weekly"]));
    assert_eq!(m["totalEntries"], expected.len());
    assert_eq!(m["totalRows"], rows.len());
    assert_eq!(m["runId"], "run1");
    assert!(m["indexCount"].as_u64().unwrap() > 0 && m["bytes"].as_u64().unwrap() > 0 && m["durationMs"].is_u64());
    let t: i64 = redis::cmd("TTL").arg(k.meta(ds)).query_async(&mut conn).await.unwrap();
    assert!(t > ttl - 60 && t <= ttl);

    // Nothing else is left: no lock, no shadow, no scratch.
    let leftovers: Vec<String> = snapshot(&state, ds, false)
        .await
        .into_keys()
        .filter(|key| key.contains(":run:") || key.contains(":scan:") || key.starts_with(&format!("{prefix}lock:")))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn warm_writes_the_spec_layout_without_prefix() {
    warm_writes_the_spec_layout(PREFIXES[0], "transaction").await;
}

#[tokio::test]
async fn warm_writes_the_spec_layout_with_prefix() {
    warm_writes_the_spec_layout(PREFIXES[1], "transaction").await;
}

#[tokio::test]
async fn the_script_cutover_writes_the_same_layout() {
    warm_writes_the_spec_layout(PREFIXES[1], "script").await;
}

async fn query_reads_entries_written_in_the_command_center_layout(prefix: &str, by_script: bool) {
    let state = state_with("cclayout", &[("HEARTH_KEY_PREFIX", prefix)]);
    state.query_by_script.store(by_script, std::sync::atomic::Ordering::Relaxed);
    let ds = random_ds();
    let _cleanup = cleanup_on_drop(&state, &[ds]);
    let mut conn = raw_redis().await;
    let entries = [
        ("Charges by Provider", "114", Some("7"), "Monthly", r#"[{"v":"1.00","provider_uid":7}]"#),
        ("Charges by Provider", "114", None, "Monthly", r#"[{"v":"2.00","provider_uid":null}]"#),
        (
            "Charges by Provider",
            "115",
            Some("8"),
            "Monthly",
            r#"[{"v":"3.00","provider_uid":8},{"v":"3.50","provider_uid":8}]"#,
        ),
        ("Charges by Provider", "115", Some("8"), "Weekly", r#"[{"v":"4.00"}]"#),
    ];
    // Written by hand, key by key, as the command center's warmer does.
    let _: () = redis::cmd("SET").arg(format!("{prefix}cache:meta:{{ds:{ds}}}:last_warm")).arg(
        r#"[{"timestamp":"2025-01-01T00:00:00.000Z","uniqueMeasures":1,"uniquePractices":2,"uniqueProviders":2,"uniqueFrequencies":["Monthly","Weekly"],"totalEntries":4}]"#,
    ).query_async(&mut conn).await.unwrap();
    for (m, p, v, f, value) in entries {
        let prov = v.unwrap_or("*");
        let name = format!("cache:{{ds:{ds}}}:m:{m}:p:{p}:prov:{prov}:freq:{f}");
        let _: () = redis::cmd("SET").arg(format!("{prefix}{name}")).arg(value).query_async(&mut conn).await.unwrap();
        for set in [
            format!("idx:{{ds:{ds}}}:master"),
            format!("idx:{{ds:{ds}}}:m:{m}:freq:{f}"),
            format!("idx:{{ds:{ds}}}:m:{m}:p:{p}:freq:{f}"),
            format!("idx:{{ds:{ds}}}:m:{m}:freq:{f}:prov:{prov}"),
            format!("idx:{{ds:{ds}}}:m:{m}:p:{p}:prov:{prov}:freq:{f}"),
        ] {
            let _: () =
                redis::cmd("SADD").arg(format!("{prefix}{set}")).arg(&name).query_async(&mut conn).await.unwrap();
        }
    }
    let q = |practices: &[&str], providers: &[&str]| CacheQuery {
        datasource_id: ds,
        measure: "Charges by Provider".into(),
        frequency: "Monthly".into(),
        practices: practices.iter().map(|s| s.to_string()).collect(),
        providers: providers.iter().map(|s| s.to_string()).collect(),
    };
    let rows = |json: &str| -> Vec<serde_json::Value> { serde_json::from_str(json).unwrap() };

    let all = query(&state, &q(&[], &[])).await.unwrap();
    assert!(all.hit);
    assert_eq!(all.entries, 3);
    assert_eq!(rows(&all.rows_json).len(), 4);
    let one_practice = query(&state, &q(&["114"], &[])).await.unwrap();
    let mut values: Vec<String> =
        rows(&one_practice.rows_json).iter().map(|r| r["v"].as_str().unwrap().to_string()).collect();
    values.sort();
    assert_eq!(values, ["1.00", "2.00"]);
    let both = query(&state, &q(&["114", "115"], &["8"])).await.unwrap();
    assert_eq!(rows(&both.rows_json).len(), 2);
    let null_provider = query(&state, &q(&[], &["*"])).await.unwrap();
    assert_eq!(rows(&null_provider.rows_json)[0]["v"], "2.00");
    // Warm but nothing matches: an authoritative empty answer, a hit.
    let none = query(&state, &q(&["999"], &[])).await.unwrap();
    assert!(none.hit);
    assert_eq!(none.rows_json, "[]");
    // A cold source is a miss.
    let cold = query(&state, &CacheQuery { datasource_id: ds + 1, ..q(&[], &[]) }).await.unwrap();
    assert!(!cold.hit);
    // No temporary keys were left behind (scratch sets live and die inside one transaction).
    let keys = snapshot(&state, ds, false).await;
    // meta, 4 entries, master, 2 base, 3 practice, 4 provider and 4 full index sets.
    assert_eq!(keys.len(), 1 + 4 + 1 + 2 + 3 + 4 + 4, "{:?}", keys.keys());
}

#[tokio::test]
async fn query_reads_the_command_center_layout_without_prefix() {
    query_reads_entries_written_in_the_command_center_layout(PREFIXES[0], false).await;
}

#[tokio::test]
async fn query_reads_the_command_center_layout_with_prefix() {
    query_reads_entries_written_in_the_command_center_layout(PREFIXES[1], false).await;
}

#[tokio::test]
async fn the_query_script_gives_the_same_answers() {
    query_reads_entries_written_in_the_command_center_layout(PREFIXES[1], true).await;
}

#[tokio::test]
async fn rewarming_replaces_a_foreign_layout_and_its_orphans() {
    for method in ["transaction", "script"] {
        replaces_a_foreign_layout(method).await;
    }
}

async fn replaces_a_foreign_layout(method: &str) {
    let dir = TempDir::new("foreign");
    let pool = sqlite_pool(&dir.0).await;
    let rows = grid("B", &["Visits"], &[1, 2], &[Some(3)], &["Monthly"], 2);
    create_table(&pool, "m", &rows).await;
    let state = state_with("foreign", &[("HEARTH_CUTOVER", method)]);
    let ds = random_ds();
    let _cleanup = cleanup_on_drop(&state, &[ds]);
    let k = &state.keys;
    let mut conn = raw_redis().await;
    // The command center left an orphan entry, an orphan index set and shadow leftovers.
    for key in [
        k.data(ds, "Old", "1", None, "Monthly"),
        k.key(&Keys::full_name(ds, "Old", "1", None, "Monthly")),
        k.key(&format!("shadow:{{ds:{ds}}}:x")),
    ] {
        let _: () = redis::cmd("SET").arg(&key).arg("[]").query_async(&mut conn).await.unwrap();
    }
    let _: () = redis::cmd("SET")
        .arg(k.meta(ds))
        .arg("[{\"timestamp\":\"2024-01-01T00:00:00.000Z\",\"totalEntries\":1}]")
        .query_async(&mut conn)
        .await
        .unwrap();
    warm(&state, &sqlite_def(&pool, ds, "m"), "r1", &lock_token("test", "here"), &NoHooks).await.unwrap();
    let exists: u64 = redis::cmd("EXISTS")
        .arg(k.data(ds, "Old", "1", None, "Monthly"))
        .arg(k.key(&Keys::full_name(ds, "Old", "1", None, "Monthly")))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists, 0, "entries and index sets the new run lacks are gone");
    assert_eq!(smembers(&k.master(ds)).await.len(), 2);
    // A second full warm of the same data keeps the index sets (fast path) and stays exact.
    let again = hearth::cache::warm::warm_with(
        &state,
        &sqlite_def(&pool, ds, "m"),
        "r2",
        &lock_token("test", "here"),
        &NoHooks,
        hearth::cache::warm::WarmMode::Full,
    )
    .await
    .unwrap();
    assert!(again.cutover.fast_path, "{:?}", again.cutover);
    assert_eq!(smembers(&k.master(ds)).await.len(), 2);
    let shadows = snapshot(&state, ds, false).await.into_keys().filter(|key| key.contains(":run:")).count();
    assert_eq!(shadows, 0);
    hearth::cache::invalidate::invalidate(
        &state,
        &hearth::model::cache::InvalidateRequest { datasource_id: Some(source(ds)), ..Default::default() },
        "test",
    )
    .await
    .ok();
}
