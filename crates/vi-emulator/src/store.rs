//! The embedded database (SQLite): the file `state.db` under the data directory, or an
//! in-memory database without one.
//!
//! Assets live only here: listing, sorting and counting run on indexes, and pages are
//! read with keyset conditions (`(sort key, tie-break) > (last key of the previous
//! page)`), so a page costs the same at the start and at the end of a large dataset.
//! Datasets, ingestion sessions (one row per session plus one row per declared file)
//! and multipart uploads are kept as JSON documents, one row each; the state machine
//! works on an in-memory copy of them and writes back the rows it changed. Every
//! locked section of the state is one transaction.

use std::path::Path;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::{Map, Value};

use crate::state::Asset;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS datasets (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS delete_ops (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS session_files (
    session TEXT NOT NULL, idx INTEGER NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (session, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS multiparts (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS exports (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS annotation_records (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS annotation_imports (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS asset_deletions (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS assets (
    dataset TEXT NOT NULL,
    id TEXT NOT NULL,
    filename TEXT NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    mime TEXT NOT NULL,
    kind TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    crc INTEGER NOT NULL,
    custom_metadata TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    contents_updated INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (dataset, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS assets_by_filename ON assets (dataset, filename);
CREATE INDEX IF NOT EXISTS assets_by_upload ON assets (dataset, created, seq);
CREATE INDEX IF NOT EXISTS assets_by_contents ON assets (dataset, contents_updated, id);
CREATE INDEX IF NOT EXISTS assets_by_size ON assets (dataset, size, id);
";

const ASSET_COLUMNS: &str = "id, filename, blob, size, mime, kind, width, height, crc, \
     custom_metadata, created, updated, contents_updated, generation, seq";

/// The orders an asset listing can have (`sortBy`); each is backed by an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sort {
    /// Upload order: `(created, seq)`.
    Upload,
    /// `assetId`.
    AssetId,
    /// `filename` (unique per dataset).
    Filename,
    /// `lastModified.contents`, ties on `assetId`.
    Contents,
    /// `metadata.fileSize`, ties on `assetId`.
    Size,
}

impl Sort {
    /// The `sortBy` names, in the order of the documentation.
    pub(crate) const NAMES: [&'static str; 5] = [
        "default",
        "assetId",
        "filename",
        "lastModified.contents",
        "metadata.fileSize",
    ];

    pub(crate) fn parse(name: &str) -> Option<Sort> {
        Some(match name {
            "default" => Sort::Upload,
            "assetId" => Sort::AssetId,
            "filename" => Sort::Filename,
            "lastModified.contents" => Sort::Contents,
            "metadata.fileSize" => Sort::Size,
            _ => return None,
        })
    }

    fn columns(self) -> &'static [&'static str] {
        match self {
            Sort::Upload => &["created", "seq"],
            Sort::AssetId => &["id"],
            Sort::Filename => &["filename"],
            Sort::Contents => &["contents_updated", "id"],
            Sort::Size => &["size", "id"],
        }
    }

    /// The key of an asset under this order: where the next page starts.
    pub(crate) fn key(self, a: &Asset) -> Vec<Value> {
        let int = |n: i64| Value::from(n);
        match self {
            Sort::Upload => vec![int(a.created), Value::from(a.seq)],
            Sort::AssetId => vec![Value::from(a.id.clone())],
            Sort::Filename => vec![Value::from(a.filename.clone())],
            Sort::Contents => vec![int(a.contents_updated), Value::from(a.id.clone())],
            Sort::Size => vec![Value::from(a.size), Value::from(a.id.clone())],
        }
    }
}

/// A JSON key value as an SQL value; `None` when its type cannot be a key.
fn sql_value(v: &Value) -> Option<SqlValue> {
    match v {
        Value::String(s) => Some(SqlValue::Text(s.clone())),
        Value::Number(n) => n.as_i64().map(SqlValue::Integer),
        _ => None,
    }
}

/// A page of assets and whether more follow.
pub(crate) struct AssetPage {
    pub(crate) items: Vec<Asset>,
    pub(crate) more: bool,
}

/// The database connection and whether a transaction is open.
pub(crate) struct Store {
    conn: Connection,
    in_tx: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("in_tx", &self.in_tx).finish()
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn asset_from_row(row: &Row<'_>) -> rusqlite::Result<Asset> {
    let custom: String = row.get(9)?;
    let crc: i64 = row.get(8)?;
    Ok(Asset {
        id: row.get(0)?,
        filename: row.get(1)?,
        blob: row.get(2)?,
        size: to_u64(row.get(3)?),
        mime: row.get(4)?,
        kind: row.get(5)?,
        width: to_u64(row.get(6)?),
        height: to_u64(row.get(7)?),
        crc: u32::try_from(crc).unwrap_or(0),
        custom_metadata: serde_json::from_str::<Map<String, Value>>(&custom).unwrap_or_default(),
        created: row.get(10)?,
        updated: row.get(11)?,
        contents_updated: row.get(12)?,
        generation: to_u64(row.get(13)?),
        seq: to_u64(row.get(14)?),
    })
}

/// The document tables.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Docs {
    Datasets,
    DeleteOps,
    Sessions,
    Multiparts,
    Exports,
    /// Annotation records, one row per asset (`{dataset}/{asset}`).
    Records,
    Imports,
    Deletions,
}

impl Docs {
    fn table(self) -> &'static str {
        match self {
            Docs::Datasets => "datasets",
            Docs::DeleteOps => "delete_ops",
            Docs::Sessions => "sessions",
            Docs::Multiparts => "multiparts",
            Docs::Exports => "exports",
            Docs::Records => "annotation_records",
            Docs::Imports => "annotation_imports",
            Docs::Deletions => "asset_deletions",
        }
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path`, or an in-memory one.
    pub(crate) fn open(path: Option<&Path>) -> rusqlite::Result<Store> {
        let conn = match path {
            Some(p) => Connection::open(p)?,
            None => Connection::open_in_memory()?,
        };
        if path.is_some() {
            // WAL: a commit appends to the log instead of rewriting pages in place.
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        // Bounded page cache (about 16 MiB) whatever the database size.
        conn.pragma_update(None, "cache_size", -16_384)?;
        conn.pragma_update(None, "temp_store", "FILE")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store { conn, in_tx: false })
    }

    /// Opens a transaction unless one is open.
    pub(crate) fn begin(&mut self) -> rusqlite::Result<()> {
        if !self.in_tx {
            self.conn.execute_batch("BEGIN")?;
            self.in_tx = true;
        }
        Ok(())
    }

    /// Commits the open transaction, if any.
    pub(crate) fn commit(&mut self) -> rusqlite::Result<()> {
        if self.in_tx {
            self.in_tx = false;
            self.conn.execute_batch("COMMIT")?;
        }
        Ok(())
    }

    /// Rolls the open transaction back, if any.
    pub(crate) fn rollback(&mut self) {
        if self.in_tx {
            self.in_tx = false;
            if let Err(e) = self.conn.execute_batch("ROLLBACK") {
                tracing::error!("cannot roll back: {e}");
            }
        }
    }

    pub(crate) fn meta(&self, key: &str) -> rusqlite::Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
    }

    pub(crate) fn set_meta(&mut self, key: &str, value: &str) -> rusqlite::Result<()> {
        self.begin()?;
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub(crate) fn put_doc(&mut self, docs: Docs, id: &str, doc: &str) -> rusqlite::Result<()> {
        self.begin()?;
        let sql = format!(
            "INSERT INTO {} (id, doc) VALUES (?1, ?2) \
             ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
            docs.table()
        );
        self.conn.prepare_cached(&sql)?.execute(params![id, doc])?;
        Ok(())
    }

    pub(crate) fn delete_doc(&mut self, docs: Docs, id: &str) -> rusqlite::Result<()> {
        self.begin()?;
        let sql = format!("DELETE FROM {} WHERE id = ?1", docs.table());
        self.conn.prepare_cached(&sql)?.execute([id])?;
        Ok(())
    }

    pub(crate) fn docs(&self, docs: Docs) -> rusqlite::Result<Vec<(String, String)>> {
        let sql = format!("SELECT id, doc FROM {}", docs.table());
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    }

    pub(crate) fn put_file(
        &mut self,
        session: &str,
        idx: usize,
        doc: &str,
    ) -> rusqlite::Result<()> {
        self.begin()?;
        self.conn
            .prepare_cached(
                "INSERT INTO session_files (session, idx, doc) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (session, idx) DO UPDATE SET doc = excluded.doc",
            )?
            .execute(params![session, to_i64(idx as u64), doc])?;
        Ok(())
    }

    pub(crate) fn delete_files(&mut self, session: &str) -> rusqlite::Result<()> {
        self.begin()?;
        self.conn
            .prepare_cached("DELETE FROM session_files WHERE session = ?1")?
            .execute([session])?;
        Ok(())
    }

    /// Every declared file of every session: `(session, index, document)`.
    pub(crate) fn files(&self) -> rusqlite::Result<Vec<(String, i64, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT session, idx, doc FROM session_files ORDER BY session, idx")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect()
    }

    // -- assets -------------------------------------------------------------------

    pub(crate) fn asset(&self, dataset: &str, id: &str) -> rusqlite::Result<Option<Asset>> {
        let sql = format!("SELECT {ASSET_COLUMNS} FROM assets WHERE dataset = ?1 AND id = ?2");
        self.conn
            .prepare_cached(&sql)?
            .query_row(params![dataset, id], asset_from_row)
            .optional()
    }

    pub(crate) fn asset_by_filename(
        &self,
        dataset: &str,
        filename: &str,
    ) -> rusqlite::Result<Option<Asset>> {
        let sql =
            format!("SELECT {ASSET_COLUMNS} FROM assets WHERE dataset = ?1 AND filename = ?2");
        self.conn
            .prepare_cached(&sql)?
            .query_row(params![dataset, filename], asset_from_row)
            .optional()
    }

    /// Inserts or replaces an asset row.
    pub(crate) fn put_asset(&mut self, dataset: &str, a: &Asset) -> rusqlite::Result<()> {
        self.begin()?;
        let custom = Value::Object(a.custom_metadata.clone()).to_string();
        let sql = format!(
            "INSERT OR REPLACE INTO assets (dataset, {ASSET_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
        );
        self.conn.prepare_cached(&sql)?.execute(params![
            dataset,
            a.id,
            a.filename,
            a.blob,
            to_i64(a.size),
            a.mime,
            a.kind,
            to_i64(a.width),
            to_i64(a.height),
            i64::from(a.crc),
            custom,
            a.created,
            a.updated,
            a.contents_updated,
            to_i64(a.generation),
            to_i64(a.seq),
        ])?;
        Ok(())
    }

    /// Deletes an asset; returns its blob id when it existed.
    pub(crate) fn delete_asset(
        &mut self,
        dataset: &str,
        id: &str,
    ) -> rusqlite::Result<Option<String>> {
        self.begin()?;
        self.conn
            .prepare_cached("DELETE FROM assets WHERE dataset = ?1 AND id = ?2 RETURNING blob")?
            .query_row(params![dataset, id], |r| r.get(0))
            .optional()
    }

    /// Deletes every asset of a dataset; returns their blob ids.
    pub(crate) fn delete_dataset_assets(&mut self, dataset: &str) -> rusqlite::Result<Vec<String>> {
        self.begin()?;
        let mut stmt = self
            .conn
            .prepare("DELETE FROM assets WHERE dataset = ?1 RETURNING blob")?;
        let rows = stmt.query_map([dataset], |r| r.get(0))?;
        rows.collect()
    }

    pub(crate) fn asset_id_taken(&self, dataset: &str, id: &str) -> rusqlite::Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM assets WHERE dataset = ?1 AND id = ?2")?
            .query_row(params![dataset, id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Counts the assets of a dataset that `keep` accepts; without a predicate the
    /// count comes from the index alone.
    pub(crate) fn count_assets(
        &self,
        dataset: &str,
        keep: Option<&dyn Fn(&Asset) -> bool>,
    ) -> rusqlite::Result<u64> {
        match keep {
            None => {
                let n: i64 = self
                    .conn
                    .prepare_cached("SELECT COUNT(*) FROM assets WHERE dataset = ?1")?
                    .query_row([dataset], |r| r.get(0))?;
                Ok(to_u64(n))
            }
            Some(keep) => {
                let sql = format!("SELECT {ASSET_COLUMNS} FROM assets WHERE dataset = ?1");
                let mut stmt = self.conn.prepare_cached(&sql)?;
                let mut rows = stmt.query([dataset])?;
                let mut n = 0u64;
                while let Some(row) = rows.next()? {
                    if keep(&asset_from_row(row)?) {
                        n += 1;
                    }
                }
                Ok(n)
            }
        }
    }

    /// One page of a dataset's assets in `sort` order (reversed when `descending`),
    /// starting after the key `after`; `limit` items at most, those `keep` accepts.
    /// The rows are walked along the sort's index from the key on, so the cost does
    /// not depend on how far into the listing the page is.
    pub(crate) fn asset_page(
        &self,
        dataset: &str,
        sort: Sort,
        descending: bool,
        after: Option<&[Value]>,
        limit: usize,
        keep: &dyn Fn(&Asset) -> bool,
    ) -> rusqlite::Result<Option<AssetPage>> {
        let columns = sort.columns();
        let tuple = format!("({})", columns.join(", "));
        let (cmp, dir) = if descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        let order: Vec<String> = columns.iter().map(|c| format!("{c} {dir}")).collect();
        let mut args: Vec<SqlValue> = vec![SqlValue::Text(dataset.to_owned())];
        let mut condition = String::new();
        if let Some(key) = after {
            if key.len() != columns.len() {
                return Ok(None);
            }
            let mut marks = Vec::new();
            for v in key {
                let Some(v) = sql_value(v) else {
                    return Ok(None);
                };
                args.push(v);
                marks.push(format!("?{}", args.len()));
            }
            condition = format!(" AND {tuple} {cmp} ({})", marks.join(", "));
        }
        let sql = format!(
            "SELECT {ASSET_COLUMNS} FROM assets WHERE dataset = ?1{condition} ORDER BY {}",
            order.join(", ")
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        let mut items = Vec::new();
        let mut more = false;
        while let Some(row) = rows.next()? {
            let asset = asset_from_row(row)?;
            if !keep(&asset) {
                continue;
            }
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(asset);
        }
        Ok(Some(AssetPage { items, more }))
    }

    /// Inserts `count` generated assets into a dataset in one transaction (seeding
    /// for measurements): ids `s<seq>`, names `seed-<seq>.jpg`, all sharing one blob.
    pub(crate) fn seed_assets(
        &mut self,
        dataset: &str,
        count: u64,
        first_seq: u64,
        now: i64,
        (blob, size, crc): (&str, u64, u32),
    ) -> rusqlite::Result<()> {
        self.begin()?;
        let sql = format!(
            "INSERT INTO assets (dataset, {ASSET_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?7, 'image/jpeg', 'Image', 8, 8, ?8, '{{}}', ?5, ?5, ?5, 1, ?6)"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        for n in 0..count {
            let seq = first_seq + n;
            let id = format!("s{seq:09}");
            let filename = format!("seed-{seq:09}.jpg");
            stmt.execute(params![
                dataset,
                id,
                filename,
                blob,
                now,
                to_i64(seq),
                to_i64(size),
                i64::from(crc)
            ])?;
        }
        Ok(())
    }
}
