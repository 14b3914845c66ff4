//! Data sources: exact JSON of every column type, grouping order, registry and file discovery,
//! the demo database, and errors that name the source.

use crate::common::*;
use hearth::config::Config;
use hearth::source::catalog::Catalog;
use hearth::source::{Db, GroupColumns, SourceDef, SourceKind};
use http::StatusCode;
use std::sync::Arc;

fn pg_def(schema: &PgSchema, table: &str, period: &str) -> SourceDef {
    SourceDef {
        id: 7,
        name: "Test source".into(),
        description: None,
        kind: SourceKind::MeasureBased,
        schema: schema.name.clone(),
        table: table.into(),
        columns: GroupColumns::with_period(period),
        db: Db::Postgres(schema.pool.clone()),
    }
}

#[tokio::test]
async fn every_supported_postgres_type_maps_to_the_spec_json() {
    let s = PgSchema::new("types").await;
    s.exec(&format!(
        "CREATE TABLE \"{0}\".all_types (practice text, practice_uid integer, provider_uid integer, measure varchar(40),
           time_period text, code char(4), small smallint, big bigint, amount numeric(12,2), ratio double precision,
           half real, flag boolean, day date, at timestamp, at_tz timestamptz, doc jsonb, raw json, id uuid);
         INSERT INTO \"{0}\".all_types VALUES ('Main \"Clinic\"\\', 114, NULL, 'Charges: Net', 'Monthly', 'ab', -3,
           9007199254740993, 1234.50, 0.1, 1.5, true, '2025-03-31', '2025-03-31 13:04:05.678912',
           '2025-03-31 23:30:00+02', '{{\"b\": 1, \"a\": [1, 2]}}', '{{\"z\" : \"x y\"}}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
         INSERT INTO \"{0}\".all_types (practice_uid, measure, time_period) VALUES (115, 'Charges: Net', 'Monthly');",
        s.name
    ))
    .await;
    let (rows, skipped) = read_all(&pg_def(&s, "all_types", "time_period")).await;
    assert_eq!(skipped, 0);
    assert_eq!(rows.len(), 2, "two groups of one row each");
    assert_eq!(rows[0].measure, "Charges: Net");
    assert_eq!(rows[0].practice, "114");
    assert_eq!(rows[0].provider, None);
    assert_eq!(rows[0].period, "Monthly");
    assert_eq!(
        rows[0].json,
        concat!(
            r#"[{"practice":"Main \"Clinic\"\\","practice_uid":114,"provider_uid":null,"measure":"Charges: Net","#,
            r#""time_period":"Monthly","code":"ab  ","small":-3,"big":"9007199254740993","amount":"1234.50","#,
            r#""ratio":0.1,"half":1.5,"flag":true,"day":"2025-03-31T00:00:00.000Z","#,
            r#""at":"2025-03-31T13:04:05.678Z","at_tz":"2025-03-31T21:30:00.000Z","doc":{"a":[1,2],"b":1},"#,
            r#""raw":{"z":"x y"},"id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}]"#
        )
    );
    assert_eq!(
        rows[1].json,
        concat!(
            r#"[{"practice":null,"practice_uid":115,"provider_uid":null,"measure":"Charges: Net","time_period":"Monthly","#,
            r#""code":null,"small":null,"big":null,"amount":null,"ratio":null,"half":null,"flag":null,"day":null,"#,
            r#""at":null,"at_tz":null,"doc":null,"raw":null,"id":null}]"#
        )
    );
}

#[tokio::test]
async fn sqlite_columns_map_by_declared_type() {
    let dir = TempDir::new("sqlite-types");
    let path = dir.0.join("t.sqlite");
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true))
        .await
        .unwrap();
    sqlx::raw_sql(
        "CREATE TABLE m (practice_uid INTEGER, provider_uid BIGINT, measure TEXT, frequency TEXT, v NUMERIC_TEXT,
           r REAL, ok BOOLEAN, d DATE, ts DATETIME, j JSON);
         INSERT INTO m VALUES (7, 70, 'Visits', 'Weekly', '12.50', 2.5, 1, '2025-01-05', '2025-01-05 10:11:12', '{\"k\": [1]}');
         INSERT INTO m VALUES (7, NULL, NULL, 'Weekly', '1', 1, 0, NULL, NULL, NULL);",
    )
    .execute(&pool)
    .await
    .unwrap();
    let def = SourceDef {
        id: 1,
        name: "lite".into(),
        description: None,
        kind: SourceKind::MeasureBased,
        schema: "main".into(),
        table: "m".into(),
        columns: GroupColumns::with_period("frequency"),
        db: Db::Sqlite(pool),
    };
    let (rows, skipped) = read_all(&def).await;
    assert_eq!(skipped, 1, "the row without a measure is skipped and counted");
    assert_eq!(
        rows[0].json,
        r#"[{"practice_uid":7,"provider_uid":"70","measure":"Visits","frequency":"Weekly","v":"12.50","r":2.5,"ok":true,"d":"2025-01-05T00:00:00.000Z","ts":"2025-01-05T10:11:12.000Z","j":{"k":[1]}}]"#
    );
    assert_eq!(rows[0].provider.as_deref(), Some("70"));
}

#[tokio::test]
async fn rows_arrive_grouped_and_ordered_and_incomplete_rows_are_counted() {
    let s = PgSchema::new("order").await;
    s.exec(&format!(
        "CREATE TABLE \"{0}\".m (measure text, practice_uid int, provider_uid int, frequency text, v int);
         INSERT INTO \"{0}\".m SELECT (ARRAY['Visits','Charges','A b'])[1 + i % 3], 100 + (i * 7) % 5,
           CASE WHEN i % 4 = 0 THEN NULL ELSE i % 3 END, (ARRAY['Weekly','Monthly'])[1 + i % 2], i
           FROM generate_series(1, 3000) AS i ORDER BY random();
         INSERT INTO \"{0}\".m VALUES (NULL, 1, 1, 'Weekly', 0), ('Visits', NULL, 1, 'Weekly', 0), ('Visits', 1, 1, NULL, 0), ('', 1, 1, 'Weekly', 0);",
        s.name
    ))
    .await;
    let def = pg_def(&s, "m", "frequency");
    assert_eq!(hearth::source::count(&def).await.unwrap(), 3004);
    let (groups, skipped) = read_all(&def).await;
    assert_eq!(skipped, 4);
    assert_eq!(groups.iter().map(|g| g.rows as u64).sum::<u64>(), 3000);
    // Each group is contiguous: once left, it never comes back.
    let mut seen = std::collections::HashSet::new();
    for g in &groups {
        let key = (g.measure.clone(), g.practice.clone(), g.provider.clone(), g.period.clone());
        assert!(seen.insert(key.clone()), "group {key:?} appears twice");
        assert_eq!(serde_json::from_str::<Vec<serde_json::Value>>(&g.json).unwrap().len(), g.rows as usize);
    }
    let groups: i64 = sqlx::query_scalar(&format!(
        "SELECT count(DISTINCT (measure, practice_uid, coalesce(provider_uid, -1), frequency)) FROM \"{}\".m
          WHERE measure <> '' AND practice_uid IS NOT NULL AND frequency IS NOT NULL",
        s.name
    ))
    .fetch_one(&s.pool)
    .await
    .unwrap();
    assert_eq!(seen.len() as i64, groups);
}

#[tokio::test]
async fn registry_lists_active_sources_and_rejects_hostile_names() {
    let s = PgSchema::new("registry").await;
    let mut seed = hearth::source::seed::SeedOptions::new(&database_url(), 2, 11);
    seed.schema = s.name.clone();
    seed.registry_schema = s.name.clone();
    seed.table = "agg_app_measures".into();
    hearth::source::seed::seed_postgres(&seed).await.unwrap();
    let r = &s.name;
    s.exec(&format!(
        "CREATE TABLE \"{r}\".victim (x int);
         INSERT INTO \"{r}\".chart_data_sources (data_source_id, data_source_name, table_name, schema_name, is_active)
           VALUES (12, 'Retired', 'agg_app_measures', '{r}', false),
                  (13, 'Hostile', 'x\"; DROP TABLE \"{r}\".victim; --', '{r}', true),
                  (14, 'Missing table', 'no_such_table', '{r}', true),
                  (15, 'Other schema', 'agg_app_measures', 'pg_catalog', true),
                  (16, 'Wide table', 'agg_app_measures', '{r}', true);
         INSERT INTO \"{r}\".chart_data_source_columns (data_source_id, column_name, is_time_period)
           VALUES (13, 'frequency', true), (14, 'frequency', true), (15, 'frequency', true);
         UPDATE \"{r}\".chart_data_sources SET data_source_type = 'table-based' WHERE data_source_id = 16;"
    ))
    .await;
    let url = format!("registry:{}", database_url());
    let state = state_with(
        "registry",
        &[("HEARTH_SOURCES", &url), ("HEARTH_REGISTRY_SCHEMA", r), ("HEARTH_ALLOWED_SCHEMAS", &format!("ih,{r}"))],
    );
    let app = hearth::server::router(state.clone());
    let reply = get(&app, "/api/admin/analytics/sources", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let sources = reply.body["data"]["sources"].as_array().unwrap().clone();
    let by_id = |id: i64| sources.iter().find(|s| s["id"] == id).cloned();
    assert!(by_id(12).is_none(), "inactive sources are not listed");

    let good = by_id(11).expect("the seeded source is listed");
    assert_eq!(good["warmable"], true, "{good}");
    assert_eq!(good["rowCount"], 2 * 2816);
    assert_eq!(good["periodColumn"], "frequency");
    assert_eq!(good["kind"], "measure-based");

    let hostile = by_id(13).unwrap();
    assert_eq!(hostile["warmable"], false);
    assert!(hostile["error"].as_str().unwrap().contains("not a plain SQL identifier"), "{hostile}");
    let victim: i64 =
        sqlx::query_scalar(&format!("SELECT count(*) FROM \"{r}\".victim")).fetch_one(&s.pool).await.unwrap();
    assert_eq!(victim, 0, "the victim table still exists");

    let missing = by_id(14).unwrap();
    assert!(missing["error"].as_str().unwrap().contains("does not exist"), "{missing}");
    let other = by_id(15).unwrap();
    assert!(other["error"].as_str().unwrap().contains("HEARTH_ALLOWED_SCHEMAS"), "{other}");
    let table_based = by_id(16).unwrap();
    assert_eq!(table_based["kind"], "table-based");
    assert_eq!(table_based["warmable"], false);
    assert_eq!(table_based["error"], serde_json::Value::Null);

    // The registry's definition reaches SQL: the seeded rows stream.
    let def = state.catalog.get(11).await.unwrap();
    let (groups, _) = read_all(&def).await;
    assert_eq!(groups.iter().map(|g| g.rows).sum::<u32>(), 2 * 2816);
    assert_eq!(groups.len(), 2 * 192);
    assert_eq!(state.catalog.get(99).await.unwrap_err().code, hearth::error::ErrorCode::NotFound);
    assert!(state.catalog.get(13).await.is_err());
}

#[tokio::test]
async fn a_file_lists_postgres_and_sqlite_sources_and_a_broken_one_alone() {
    let s = PgSchema::new("file").await;
    s.exec(&format!("CREATE TABLE \"{0}\".m (measure text, practice_uid int, provider_uid int, frequency text); INSERT INTO \"{0}\".m VALUES ('Visits', 1, 2, 'Weekly');", s.name)).await;
    let dir = TempDir::new("file-sources");
    let lite = dir.0.join("lite.sqlite");
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&lite).create_if_missing(true))
        .await
        .unwrap();
    sqlx::raw_sql("CREATE TABLE c (measure TEXT, practice_uid INTEGER, provider_uid INTEGER, time_period TEXT); INSERT INTO c VALUES ('x', 1, NULL, 'Monthly');")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let file = dir.0.join("sources.toml");
    std::fs::write(
        &file,
        format!(
            "[[source]]\nid = 1\nname = \"Warehouse\"\nurl = \"{}\"\nschema = \"{}\"\ntable = \"m\"\nperiod_column = \"frequency\"\n\n\
             [[source]]\nid = 2\nname = \"Local\"\nurl = \"sqlite://{}\"\nschema = \"main\"\ntable = \"c\"\nperiod_column = \"time_period\"\n\n\
             [[source]]\nid = 3\nname = \"Down\"\nurl = \"postgres://postgres@127.0.0.1:1/none\"\nschema = \"ih\"\ntable = \"m\"\nperiod_column = \"frequency\"\n",
            database_url(),
            s.name,
            lite.display()
        ),
    )
    .unwrap();
    let state = state_with(
        "file",
        &[
            ("HEARTH_SOURCES", &format!("file:{}", file.display())),
            ("HEARTH_ALLOWED_SCHEMAS", &format!("ih,main,{}", s.name)),
            ("HEARTH_SQL_CONNECT_TIMEOUT_MS", "500"),
        ],
    );
    let list = state.catalog.list().await.unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].row_count, Some(1));
    assert!(list[0].warmable);
    assert_eq!(list[1].backend, "sqlite");
    assert_eq!(list[1].row_count, Some(1));
    assert!(!list[2].warmable);
    let err = list[2].error.as_deref().unwrap();
    assert!(err.contains("source 3 (Down)") && err.contains("unreachable"), "{err}");
    let e = hearth::source::count(&state.catalog.get(3).await.unwrap()).await.unwrap_err();
    assert_eq!(e.code, hearth::error::ErrorCode::SourceUnavailable);
}

#[tokio::test]
async fn a_malformed_sources_file_is_a_clear_error() {
    let dir = TempDir::new("bad-file");
    let file = dir.0.join("sources.toml");
    std::fs::write(&file, "[[source]]\nid = \"one\"\n").unwrap();
    let config = Config::from_vars(&[("HEARTH_SOURCES", format!("file:{}", file.display()).as_str())]).unwrap();
    let e = Catalog::new(Arc::new(config)).list().await.unwrap_err();
    assert!(e.message.contains("not a valid sources file"), "{}", e.message);
}

#[tokio::test]
async fn the_demo_database_is_created_once_reused_and_reproducible() {
    let a = TempDir::new("demo-a");
    let b = TempDir::new("demo-b");
    let pool = hearth::source::demo::open(&a.0).await.unwrap();
    let path = hearth::source::demo::database_path(&a.0);
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let defs = hearth::source::demo::definitions(&pool);
    assert_eq!(defs.len(), 3);
    let mut total = 0;
    for def in &defs {
        total += hearth::source::count(def).await.unwrap();
    }
    assert!((200_000..=300_000).contains(&total), "about 250k rows, got {total}");
    let sum_a = hearth::source::demo::checksum(&pool).await.unwrap();

    // Second start: reused, not rebuilt.
    let again = hearth::source::demo::open(&a.0).await.unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), modified);
    assert_eq!(hearth::source::demo::checksum(&again).await.unwrap(), sum_a);

    // Another install: identical rows.
    let other = hearth::source::demo::open(&b.0).await.unwrap();
    assert_eq!(hearth::source::demo::checksum(&other).await.unwrap(), sum_a);

    // The demo's shape: measures with spaces and colons, null providers, three periods, skipped rows.
    let (groups, skipped) = read_all(&defs[2]).await;
    assert_eq!(skipped, 3);
    assert!(groups.iter().any(|g| g.provider.is_none()));
    let periods: std::collections::BTreeSet<_> = groups.iter().map(|g| g.period.as_str()).collect();
    assert_eq!(periods.into_iter().collect::<Vec<_>>(), ["Monthly", "Quarterly", "Weekly"]);
    let (chart, _) = read_all(&defs[1]).await;
    assert!(chart.iter().any(|r| r.measure == "Cancellations: Same Day"));
    assert!(chart[0].json.contains("\"numeric_value\":\""), "{}", chart[0].json);
    assert_eq!(chart.len() as u64, 50 * 7 * 6 * 3, "practices × providers × measures × frequencies");
}

#[tokio::test]
async fn sources_listing_refuses_a_caller_without_read() {
    let app = hearth::server::router(jwt_state("src-auth"));
    let none = get(&app, "/api/admin/analytics/sources", None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    let t = token(SECRET, "u", &["settings:write:all"], 600);
    let r = get(&app, "/api/admin/analytics/sources", Some(&t)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = get(&app, "/rpc/sources", Some(&t)).await;
    assert_eq!(r.body["code"], "FORBIDDEN");
}
