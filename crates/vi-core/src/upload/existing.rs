//! Skip-existing: what the dataset already holds under the upload's names, so that a
//! resumed upload sends only what is missing ([`UploadOptions::skip_existing`]).
//!
//! Before anything is sent, the dataset's assets are listed **once**, in pages of
//! [`STREAMING_PAGE_SIZE`](crate::paging::STREAMING_PAGE_SIZE) (500), one page at a time.
//! Not the largest size, 1000: a service may answer `s=1000` with every remaining asset at
//! once (docs/protocol.md §7; the emulator does), which would make memory grow with the dataset. Each page is parsed
//! into a lean shape (id, filename, size, hash: the parser skips the rest of each asset
//! object) and dropped as soon as it is read; of its assets, only those whose filename is
//! one of the upload's names are kept, as a few dozen bytes each (size, CRC-32C, asset
//! id). Memory is therefore bounded by one page plus the number of local files, whatever
//! the size of the dataset.
//!
//! A local file is then compared with the asset of the same name (the asset filename it
//! would get, the per-dataset key):
//!
//! * no asset of that name: the file is sent;
//! * same size and same CRC-32C (the asset's `metadata.hash` when its algorithm is
//!   `crc32c`, decoded by [`AssetHash::crc32c`](crate::models::AssetHash::crc32c)): it
//!   is skipped as [`SkipReason::AlreadyPresent`] with [`ComparedBy::SizeAndCrc32c`];
//! * same size, but no CRC-32C on one side (the service gave no usable hash, or the
//!   file is over 1 GiB, whose CRC-32C is not computed): skipped, [`ComparedBy::SizeOnly`],
//!   and the report says so;
//! * anything else (a different size or CRC-32C): the file is sent again and replaces the
//!   asset, following [`UploadOptions::overwrite`] for the asset's linked resources.
//!
//! A renamed asset is not matched: the comparison is by name first, as the service keys
//! assets by name.

use std::collections::HashMap;

use serde::Deserialize;

#[cfg(doc)]
use super::UploadOptions;
use super::spec::{ComparedBy, FileSpec, SkipReason};
use crate::endpoints::{
    ApiRequest, Endpoint, ListAssets, ListAssetsOptions, PagedEndpoint, Safety, parse_json,
};
use crate::engine::Core;
use crate::error::Result;
use crate::ids::{AssetId, DatasetId, OrganizationId};
use crate::models::{AssetHash, Cursor, PageEnvelope};
use crate::paging::Pager;
use crate::transport::Response;

/// An asset as the comparison reads it from a listing page; the rest of the asset object
/// is skipped by the parser.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListedAsset {
    #[serde(default)]
    asset_id: String,
    #[serde(default)]
    filename: String,
    #[serde(default)]
    metadata: ListedMetadata,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListedMetadata {
    #[serde(default)]
    file_size: u64,
    #[serde(default)]
    hash: AssetHash,
}

/// A1 at the largest page size, parsed into [`ListedAsset`]s.
#[derive(Clone, Debug)]
pub(crate) struct ListExisting {
    list: ListAssets,
}

impl ListExisting {
    fn new(dataset: &DatasetId) -> Self {
        ListExisting {
            list: ListAssets {
                dataset: dataset.clone(),
                options: ListAssetsOptions::new().page_size(crate::paging::STREAMING_PAGE_SIZE),
                cursor: None,
            },
        }
    }
}

impl Endpoint for ListExisting {
    type Output = PageEnvelope<ListedAsset>;

    fn operation(&self) -> &'static str {
        "list the dataset's assets to skip those already present"
    }

    fn safety(&self) -> Safety {
        self.list.safety()
    }

    fn request(&self, organization: &OrganizationId) -> Result<ApiRequest> {
        self.list.request(organization)
    }

    fn parse(&self, response: &Response) -> Result<Self::Output> {
        parse_json(self.operation(), response.body())
    }
}

impl PagedEndpoint for ListExisting {
    type Item = ListedAsset;

    fn cursor(&self) -> Option<&Cursor> {
        self.list.cursor.as_ref()
    }

    fn set_cursor(&mut self, cursor: Option<Cursor>) {
        self.list.cursor = cursor;
    }
}

/// What the dataset holds under one name.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Held {
    size: u64,
    crc32c: Option<u32>,
    asset: AssetId,
}

/// How a local file compares with the dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// No asset has its name: send it.
    New,
    /// An asset has its name and content: skip it for this reason.
    Present(SkipReason),
    /// An asset has its name but other content: send it, replacing that asset.
    Changed(AssetId),
}

/// The dataset's assets whose names are among the upload's.
#[derive(Debug, Default)]
pub(crate) struct Existing {
    held: HashMap<String, Held>,
    /// Every asset the listing returned.
    pub(crate) listed: u64,
}

impl Existing {
    /// Lists `dataset` once, keeping only the assets whose filename `wanted` accepts.
    ///
    /// # Errors
    /// Any error of the list calls (after the retry policy), e.g. an unknown dataset.
    pub(crate) async fn list(
        core: &Core,
        dataset: &DatasetId,
        wanted: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Existing> {
        let mut pager = Pager::new(core.clone(), ListExisting::new(dataset));
        let mut existing = Existing::default();
        while let Some(page) = pager.next_page().await {
            for asset in page?.items {
                existing.listed += 1;
                existing.add(asset, wanted);
            }
        }
        tracing::debug!(
            listed = existing.listed,
            kept = existing.held.len(),
            "listed the dataset for skip-existing"
        );
        Ok(existing)
    }

    fn add(&mut self, asset: ListedAsset, wanted: &(dyn Fn(&str) -> bool + Sync)) {
        if !wanted(&asset.filename) || self.held.contains_key(&asset.filename) {
            return;
        }
        let Ok(id) = AssetId::new(asset.asset_id.as_str()) else {
            tracing::warn!(
                file = %asset.filename,
                "an asset with this name has an unusable id; the file is compared as new"
            );
            return;
        };
        let held = Held {
            size: asset.metadata.file_size,
            crc32c: asset.metadata.hash.crc32c(),
            asset: id,
        };
        self.held.insert(asset.filename, held);
    }

    /// Compares a local file with the asset of the same name.
    pub(crate) fn compare(&self, spec: &FileSpec) -> Verdict {
        let Some(held) = self.held.get(&spec.filename) else {
            return Verdict::New;
        };
        if held.size != spec.size {
            return Verdict::Changed(held.asset.clone());
        }
        // The API's CRC is the bit pattern of the unsigned CRC as a signed integer.
        let compared_by = match (held.crc32c, spec.crc32c.map(|c| c as u32)) {
            (Some(theirs), Some(ours)) if theirs != ours => {
                return Verdict::Changed(held.asset.clone());
            }
            (Some(_), Some(_)) => ComparedBy::SizeAndCrc32c,
            _ => ComparedBy::SizeOnly,
        };
        Verdict::Present(SkipReason::AlreadyPresent {
            asset: held.asset.clone(),
            compared_by,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::AssetKind;
    use crate::upload::spec::SpecSource;

    fn spec(name: &str, data: &[u8]) -> FileSpec {
        FileSpec {
            filename: name.to_owned(),
            mime: "image/png",
            kind: AssetKind::Image,
            size: data.len() as u64,
            crc32c: Some(crc32c::crc32c(data) as i32),
            source: SpecSource::Bytes(bytes::Bytes::copy_from_slice(data)),
            stamp: None,
        }
    }

    fn asset(id: &str, name: &str, size: u64, algorithm: &str, contents: &str) -> ListedAsset {
        ListedAsset {
            asset_id: id.to_owned(),
            filename: name.to_owned(),
            metadata: ListedMetadata {
                file_size: size,
                hash: AssetHash {
                    algorithm: algorithm.to_owned(),
                    contents: contents.to_owned(),
                },
            },
        }
    }

    fn existing(assets: Vec<ListedAsset>) -> Existing {
        let mut e = Existing::default();
        for a in assets {
            e.listed += 1;
            e.add(a, &|name| name != "unwanted.png");
        }
        e
    }

    fn present(id: &str, by: ComparedBy) -> Verdict {
        Verdict::Present(SkipReason::AlreadyPresent {
            asset: AssetId::new(id).unwrap(),
            compared_by: by,
        })
    }

    #[test]
    fn same_name_size_and_crc_is_present_anything_else_is_sent() {
        let data = b"\x89PNG same bytes";
        let crc = crc32c::crc32c(data);
        let e = existing(vec![
            asset(
                "a1",
                "same.png",
                data.len() as u64,
                "crc32c",
                &format!("{crc:08x}"),
            ),
            asset(
                "a2",
                "other-crc.png",
                data.len() as u64,
                "crc32c",
                "00000000",
            ),
            asset("a3", "other-size.png", 3, "crc32c", &format!("{crc:08x}")),
        ]);
        assert_eq!(
            e.compare(&spec("same.png", data)),
            present("a1", ComparedBy::SizeAndCrc32c)
        );
        assert_eq!(
            e.compare(&spec("other-crc.png", data)),
            Verdict::Changed(AssetId::new("a2").unwrap())
        );
        assert_eq!(
            e.compare(&spec("other-size.png", data)),
            Verdict::Changed(AssetId::new("a3").unwrap())
        );
        // A renamed asset is not matched by content.
        assert_eq!(e.compare(&spec("renamed.png", data)), Verdict::New);
    }

    #[test]
    fn a_base64_crc_matches_and_a_signed_local_crc_compares_as_unsigned() {
        // CRC-32C of "123456789" is 0xE3069283: negative as i32.
        let data = b"123456789";
        let b64 = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(0xE306_9283u32.to_be_bytes())
        };
        let e = existing(vec![asset("a1", "n.png", 9, "CRC32C", &b64)]);
        assert!(spec("n.png", data).crc32c.unwrap() < 0);
        assert_eq!(
            e.compare(&spec("n.png", data)),
            present("a1", ComparedBy::SizeAndCrc32c)
        );
    }

    #[test]
    fn without_a_usable_hash_the_size_decides_and_says_so() {
        let data = b"twelve bytes";
        let e = existing(vec![
            asset(
                "a1",
                "md5.png",
                12,
                "md5",
                "d41d8cd98f00b204e9800998ecf8427e",
            ),
            asset("a2", "none.png", 12, "", ""),
            asset("a3", "garbled.png", 12, "crc32c", "not a crc"),
            asset("a4", "smaller.png", 11, "", ""),
        ]);
        for (name, id) in [("md5.png", "a1"), ("none.png", "a2"), ("garbled.png", "a3")] {
            assert_eq!(
                e.compare(&spec(name, data)),
                present(id, ComparedBy::SizeOnly),
                "{name}"
            );
        }
        assert_eq!(
            e.compare(&spec("smaller.png", data)),
            Verdict::Changed(AssetId::new("a4").unwrap())
        );
        // A big file without a local CRC-32C is compared by size only too.
        let mut big = spec("none.png", data);
        big.crc32c = None;
        assert_eq!(e.compare(&big), present("a2", ComparedBy::SizeOnly));
    }

    #[test]
    fn only_wanted_names_are_kept_and_every_asset_is_counted() {
        let e = existing(vec![
            asset("a1", "unwanted.png", 1, "", ""),
            asset("a2", "kept.png", 1, "", ""),
            asset("bad id!", "bad.png", 1, "", ""),
            asset("a4", "kept.png", 2, "", ""),
        ]);
        assert_eq!(e.listed, 4);
        assert_eq!(e.held.len(), 1, "{:?}", e.held);
        assert_eq!(
            e.held["kept.png"].asset.as_str(),
            "a2",
            "the first one wins"
        );
    }

    #[test]
    fn a_listing_page_parses_into_the_lean_shape() {
        let body = br#"{"items":[{"assetId":"as7f3k2m9x","datasetId":"o_d","workspaceId":"o",
            "filename":"sample_001.jpg","kind":"Asset","owner":"o",
            "metadata":{"fileSize":45678,"hash":{"algorithm":"crc32c","contents":"2d20caa7"},
            "customMetadata":{"k":"v"},"annotations":{"withTag":{},"total":0}},
            "selfLink":"/x","etag":"3"}],"nextPage":"abc"}"#;
        let page: PageEnvelope<ListedAsset> = parse_json("test", body).unwrap();
        assert_eq!(page.next_token(), Some("abc"));
        let a = &page.items[0];
        assert_eq!(
            (
                a.asset_id.as_str(),
                a.filename.as_str(),
                a.metadata.file_size
            ),
            ("as7f3k2m9x", "sample_001.jpg", 45678)
        );
        assert_eq!(a.metadata.hash.crc32c(), Some(0x2d20_caa7));
    }

    #[test]
    fn the_listing_asks_for_bounded_pages() {
        let org = OrganizationId::new("org-1").unwrap();
        let e = ListExisting::new(&DatasetId::new("ds1").unwrap());
        let request = e.request(&org).unwrap();
        assert!(
            request.query.iter().any(|(k, v)| *k == "s" && v == "500"),
            "{request:?}"
        );
    }
}
