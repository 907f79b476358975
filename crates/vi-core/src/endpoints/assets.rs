//! Asset calls A1–A6 (docs/protocol.md §5).

use super::{ApiRequest, DEFAULT_PAGE_SIZE, Endpoint, Safety, check_page_size, parse_json, table};
use crate::error::{Error, Result};
use crate::ids::{AssetId, DatasetId, OrganizationId};
use crate::models::Cursor;
use crate::models::{Asset, AssetCount, PageEnvelope, RenameAssetRequest};
use crate::transport::Response;

/// What to sort assets by (the `sortBy` query parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AssetSortBy {
    /// The service's default order.
    Default,
    /// By asset id.
    AssetId,
    /// By filename.
    Filename,
    /// By when the contents last changed.
    LastModified,
    /// By file size.
    FileSize,
}

impl AssetSortBy {
    /// The value sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            AssetSortBy::Default => "default",
            AssetSortBy::AssetId => "assetId",
            AssetSortBy::Filename => "filename",
            AssetSortBy::LastModified => "lastModified.contents",
            AssetSortBy::FileSize => "metadata.fileSize",
        }
    }
}

/// Sort direction (the `o` query parameter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SortOrder {
    /// Smallest first.
    #[default]
    Ascending,
    /// Largest first.
    Descending,
}

impl SortOrder {
    /// The value sent on the wire. The official client sends `asc` / `desc` although its
    /// code once meant to send `d` or nothing (docs/protocol.md §15 #2); we follow what it sends.
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Ascending => "asc",
            SortOrder::Descending => "desc",
        }
    }
}

/// How to list assets: page size, filters, sort and whether to include signed URLs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListAssetsOptions {
    /// Assets per page, 1–1000 (default 10).
    pub page_size: u32,
    /// A filter expression, passed through verbatim (its syntax is the service's).
    pub filter: Option<String>,
    /// Sort criterion and direction.
    pub sort: Option<(AssetSortBy, SortOrder)>,
    /// Include signed download URLs (`contents=y`).
    pub contents: bool,
    /// A custom-metadata query, e.g. `quality == "high"`.
    pub metadata_query: Option<String>,
    /// A rule query, passed through verbatim.
    pub rule_query: Option<String>,
    /// Exact matching for the queries (`strictQuery=y`).
    pub strict_query: bool,
    /// The service's `pageAfter` flag, passed through.
    pub page_after: bool,
}

impl Default for ListAssetsOptions {
    fn default() -> Self {
        ListAssetsOptions {
            page_size: DEFAULT_PAGE_SIZE,
            filter: None,
            sort: None,
            contents: false,
            metadata_query: None,
            rule_query: None,
            strict_query: false,
            page_after: false,
        }
    }
}

impl ListAssetsOptions {
    /// Default options: 10 per page, no filter, no URLs.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the page size (1–1000; checked when the request is built).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size;
        self
    }

    /// Sets a filter expression.
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = Some(filter.into());
        self
    }

    /// Sorts by `by` in `order`.
    pub fn sort(mut self, by: AssetSortBy, order: SortOrder) -> Self {
        self.sort = Some((by, order));
        self
    }

    /// Includes signed download URLs in each asset's `contents`.
    pub fn with_contents(mut self, on: bool) -> Self {
        self.contents = on;
        self
    }

    /// Sets a custom-metadata query.
    pub fn metadata_query(mut self, query: impl Into<String>) -> Self {
        self.metadata_query = Some(query.into());
        self
    }

    /// Sets a rule query.
    pub fn rule_query(mut self, query: impl Into<String>) -> Self {
        self.rule_query = Some(query.into());
        self
    }

    /// Asks for exact matching of the queries.
    pub fn strict_query(mut self, on: bool) -> Self {
        self.strict_query = on;
        self
    }

    /// Sets the `pageAfter` flag.
    pub fn page_after(mut self, on: bool) -> Self {
        self.page_after = on;
        self
    }
}

/// A1: one page of a dataset's assets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListAssets {
    /// The dataset.
    pub dataset: DatasetId,
    /// Listing options.
    pub options: ListAssetsOptions,
    /// Where to start; `None` for the first page.
    pub cursor: Option<Cursor>,
}

impl Endpoint for ListAssets {
    type Output = PageEnvelope<Asset>;

    from_table!(LIST_ASSETS);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let o = &self.options;
        let size = check_page_size(o.page_size)?;
        let (sort_by, order) = match o.sort {
            Some((by, order)) => (Some(by.as_str()), Some(order.as_str())),
            None => (None, None),
        };
        let dsc = self.dataset.composite(org);
        Ok(table::LIST_ASSETS
            .request(&[org.as_str(), &dsc])
            .query_opt("p", self.cursor.as_ref().map(Cursor::as_str))
            .query("s", size.to_string())
            .query_opt("sortBy", sort_by)
            .query_opt("o", order)
            .query_opt("filter", o.filter.as_deref())
            .flag("contents", o.contents)
            .query_opt("metadataQuery", o.metadata_query.as_deref())
            .query_opt("ruleQuery", o.rule_query.as_deref())
            .flag("pageAfter", o.page_after)
            .flag("strictQuery", o.strict_query))
    }

    fn parse(&self, response: &Response) -> Result<Self::Output> {
        parse_json(self.operation(), response.body())
    }
}

/// Which assets to count.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CountAssetsOptions {
    /// A filter expression.
    pub filter: Option<String>,
    /// A custom-metadata query.
    pub metadata_query: Option<String>,
    /// A rule query.
    pub rule_query: Option<String>,
    /// Exact matching: sent as `y` / `n` only when set (docs/protocol.md §5.2).
    pub strict_query: Option<bool>,
}

impl CountAssetsOptions {
    /// Counts every asset.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a filter expression.
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = Some(filter.into());
        self
    }

    /// Sets a custom-metadata query.
    pub fn metadata_query(mut self, query: impl Into<String>) -> Self {
        self.metadata_query = Some(query.into());
        self
    }

    /// Sets a rule query.
    pub fn rule_query(mut self, query: impl Into<String>) -> Self {
        self.rule_query = Some(query.into());
        self
    }

    /// Sets exact matching on or off.
    pub fn strict_query(mut self, on: bool) -> Self {
        self.strict_query = Some(on);
        self
    }
}

impl From<&ListAssetsOptions> for CountAssetsOptions {
    fn from(o: &ListAssetsOptions) -> Self {
        CountAssetsOptions {
            filter: o.filter.clone(),
            metadata_query: o.metadata_query.clone(),
            rule_query: o.rule_query.clone(),
            strict_query: o.strict_query.then_some(true),
        }
    }
}

/// A2: how many assets match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountAssets {
    /// The dataset.
    pub dataset: DatasetId,
    /// What to count.
    pub options: CountAssetsOptions,
}

impl Endpoint for CountAssets {
    type Output = u64;

    from_table!(COUNT_ASSETS);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let o = &self.options;
        let dsc = self.dataset.composite(org);
        Ok(table::COUNT_ASSETS
            .request(&[org.as_str(), &dsc])
            .query_opt("filter", o.filter.as_deref())
            .query_opt("metadataQuery", o.metadata_query.as_deref())
            .query_opt("ruleQuery", o.rule_query.as_deref())
            .query_opt(
                "strictQuery",
                o.strict_query.map(|on| if on { "y" } else { "n" }),
            ))
    }

    fn parse(&self, response: &Response) -> Result<Self::Output> {
        parse_json::<AssetCount>(self.operation(), response.body()).map(|c| c.value())
    }
}

/// A3: one asset, optionally with its signed download URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetAsset {
    /// The dataset.
    pub dataset: DatasetId,
    /// The asset.
    pub asset: AssetId,
    /// Include the signed download URL (`contents=y`).
    pub contents: bool,
}

impl GetAsset {
    /// Gets `asset` of `dataset`, with its signed download URL when `contents` is true.
    pub fn new(dataset: &DatasetId, asset: &AssetId, contents: bool) -> Self {
        GetAsset {
            dataset: dataset.clone(),
            asset: asset.clone(),
            contents,
        }
    }
}

impl Endpoint for GetAsset {
    type Output = Asset;

    from_table!(GET_ASSET);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let dsc = self.dataset.composite(org);
        Ok(table::GET_ASSET
            .request(&[org.as_str(), &dsc, self.asset.as_str()])
            .flag("contents", self.contents))
    }

    fn parse(&self, response: &Response) -> Result<Self::Output> {
        parse_json(self.operation(), response.body())
    }
}

/// A4: deletes an asset. Succeeds with an empty body, which some clients choke on; we
/// accept an empty or a JSON body (docs/protocol.md §15 #20).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteAsset {
    /// The dataset.
    pub dataset: DatasetId,
    /// The asset.
    pub asset: AssetId,
}

impl Endpoint for DeleteAsset {
    type Output = ();

    from_table!(DELETE_ASSET);

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        let dsc = self.dataset.composite(org);
        Ok(table::DELETE_ASSET.request(&[org.as_str(), &dsc, self.asset.as_str()]))
    }

    fn parse(&self, _response: &Response) -> Result<Self::Output> {
        Ok(())
    }

    /// A retried delete that finds the asset gone means the first attempt worked.
    fn success_on_repeat(&self, status: http::StatusCode) -> bool {
        status == http::StatusCode::NOT_FOUND
    }
}

/// A5 / A6: renames an asset, addressed by id or by its current filename.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenameAsset {
    /// The dataset.
    pub dataset: DatasetId,
    /// Which asset.
    pub target: RenameTarget,
    /// The new filename; must not be empty.
    pub new_filename: String,
}

/// How [`RenameAsset`] addresses the asset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RenameTarget {
    /// By asset id (A5).
    Id(AssetId),
    /// By current filename (A6); the whole name is one path segment, `/` included.
    Filename(String),
}

impl RenameAsset {
    /// A5 when addressed by id, A6 when addressed by filename.
    fn op(&self) -> &'static super::Operation {
        match self.target {
            RenameTarget::Id(_) => &table::RENAME_ASSET,
            RenameTarget::Filename(_) => &table::RENAME_ASSET_BY_FILENAME,
        }
    }
}

impl Endpoint for RenameAsset {
    /// The asset as the reply gives it; `None` when the reply is not a whole asset (the
    /// rename happened all the same: the status said so, docs/protocol.md §5.5).
    type Output = Option<Asset>;

    fn operation(&self) -> &'static str {
        self.op().name
    }

    fn safety(&self) -> Safety {
        self.op().safety
    }

    fn request(&self, org: &OrganizationId) -> Result<ApiRequest> {
        if self.new_filename.trim().is_empty() {
            return Err(Error::invalid(
                "new filename",
                "it is empty; give the asset a name such as frame_001.jpg",
            ));
        }
        let current = match &self.target {
            RenameTarget::Id(id) => id.as_str(),
            RenameTarget::Filename(name) => {
                if name.is_empty() {
                    return Err(Error::invalid("current filename", "it is empty"));
                }
                name.as_str()
            }
        };
        let dsc = self.dataset.composite(org);
        // The body key is `filename`; the service rejects `name` (docs/protocol.md §5.5).
        let request: ApiRequest = self.op().request(&[org.as_str(), &dsc, current]);
        request.json(&RenameAssetRequest {
            filename: self.new_filename.clone(),
        })
    }

    fn parse(&self, response: &Response) -> Result<Self::Output> {
        Ok(serde_json::from_slice::<Asset>(response.body()).ok())
    }
}

impl super::PagedEndpoint for ListAssets {
    type Item = Asset;
    fn cursor(&self) -> Option<&Cursor> {
        self.cursor.as_ref()
    }
    fn set_cursor(&mut self, cursor: Option<Cursor>) {
        self.cursor = cursor;
    }
}

#[cfg(test)]
mod table_tests {
    use super::*;

    /// Every query key a builder sends is one the document lists for the call, and every
    /// flag is sent as `y`.
    #[test]
    fn builders_send_only_the_documented_query_keys() {
        let org = OrganizationId::new("o").unwrap();
        let dataset = DatasetId::new("d").unwrap();
        let full = ListAssetsOptions::new()
            .filter("f")
            .sort(AssetSortBy::FileSize, SortOrder::Descending)
            .with_contents(true)
            .metadata_query("m")
            .rule_query("r")
            .strict_query(true)
            .page_after(true);
        let list = ListAssets {
            dataset: dataset.clone(),
            options: full.clone(),
            cursor: Some(Cursor::new("t")),
        };
        let count = CountAssets {
            dataset: dataset.clone(),
            options: CountAssetsOptions::from(&full),
        };
        let asset = AssetId::new("a").unwrap();
        let get = GetAsset::new(&dataset, &asset, true);
        let checks: [(&dyn Fn() -> ApiRequest, &super::super::Operation); 3] = [
            (&|| list.request(&org).unwrap(), &table::LIST_ASSETS),
            (&|| count.request(&org).unwrap(), &table::COUNT_ASSETS),
            (&|| get.request(&org).unwrap(), &table::GET_ASSET),
        ];
        for (build, op) in checks {
            let request = build();
            assert_eq!(request.method, op.http_method());
            for (key, value) in &request.query {
                assert!(op.query.contains(key), "{}: {key} is not documented", op.id);
                if op.flags.contains(key) {
                    assert_eq!(value, "y", "{}: flag {key}", op.id);
                }
            }
        }
        // List sends every documented key when every option is set.
        let sent: Vec<&str> = list
            .request(&org)
            .unwrap()
            .query
            .iter()
            .map(|(k, _)| *k)
            .collect();
        for key in table::LIST_ASSETS.query {
            assert!(sent.contains(key), "list assets never sends {key}");
        }
    }
}
