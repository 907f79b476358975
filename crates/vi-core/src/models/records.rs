//! Vi JSONL annotation records: one JSON object per line of a `ViFull` / `ViJsonl` export's
//! `annotations/*.jsonl` files, and the shape of a Vi JSONL import file
//! (`docs/annotations.md` describes the format).
//!
//! Decoding is lenient where the official client is strict without reason: `id` may be a
//! string or an integer, `width` / `height` may be integral floats, a `contents.type` this
//! SDK does not know (or none at all) is kept as raw JSON in
//! [`RecordContents::Unknown`], and unknown keys are ignored. A box that is not four
//! numbers is an error of its record (not of the file).

use std::fmt;

use serde::de::Error as _;
use serde::ser::SerializeMap as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// One Vi JSONL annotation record: the annotations of one asset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AnnotationRecord {
    /// The record's id, as the file spells it.
    pub id: RecordId,
    /// The asset the record belongs to.
    pub asset: RecordAsset,
    /// What is annotated.
    pub contents: RecordContents,
    /// An optional category label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

impl AnnotationRecord {
    /// A record with `id` for `asset`, without a category.
    pub fn new(id: impl Into<RecordId>, asset: RecordAsset, contents: RecordContents) -> Self {
        AnnotationRecord {
            id: id.into(),
            asset,
            contents,
            category: None,
        }
    }

    /// Sets the category label.
    pub fn with_category(mut self, category: impl Into<String>) -> Self {
        self.category = Some(category.into());
        self
    }

    /// Decodes one line of a Vi JSONL file.
    ///
    /// # Errors
    /// A [`RecordError`] with serde's reason (line 0: the caller knows the line).
    pub fn from_line(line: &str) -> Result<Self, RecordError> {
        serde_json::from_str(line).map_err(|e| RecordError {
            line: 0,
            message: e.to_string(),
        })
    }

    /// This record as one line of Vi JSONL (no trailing newline).
    pub fn to_line(&self) -> String {
        // Every field serialises to JSON (no maps with non-string keys, no NaN).
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A record's `id`: a string (what exports contain) or an integer (what the public
/// documentation describes for imports).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RecordId {
    /// A string id.
    Text(String),
    /// An integer id.
    Integer(i64),
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordId::Text(s) => f.write_str(s),
            RecordId::Integer(i) => write!(f, "{i}"),
        }
    }
}

impl From<&str> for RecordId {
    fn from(s: &str) -> Self {
        RecordId::Text(s.to_owned())
    }
}

impl From<String> for RecordId {
    fn from(s: String) -> Self {
        RecordId::Text(s)
    }
}

impl From<i64> for RecordId {
    fn from(i: i64) -> Self {
        RecordId::Integer(i)
    }
}

/// The asset block of a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RecordAsset {
    /// The asset kind tag (`Image`), when the file gives one.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The asset's filename in the dataset; records are paired with files by it.
    pub filename: String,
    /// Width in pixels.
    #[serde(deserialize_with = "pixels")]
    pub width: u32,
    /// Height in pixels.
    #[serde(deserialize_with = "pixels")]
    pub height: u32,
    /// A path, when the service gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filepath: Option<String>,
    /// A URL, when the service gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl RecordAsset {
    /// An `Image` asset named `filename` of `width` × `height` pixels.
    pub fn image(filename: impl Into<String>, width: u32, height: u32) -> Self {
        RecordAsset {
            kind: Some("Image".to_owned()),
            filename: filename.into(),
            width,
            height,
            filepath: None,
            url: None,
        }
    }
}

/// Accepts `720` and `720.0`, refuses fractions and negatives.
fn pixels<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let value = Value::deserialize(d)?;
    let whole = match &value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        }),
        _ => None,
    };
    whole
        .and_then(|w| u32::try_from(w).ok())
        .ok_or_else(|| D::Error::custom(format!("expected a whole number of pixels, got {value}")))
}

/// What a record annotates, by `contents.type`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RecordContents {
    /// `PhraseGrounding`: a caption whose phrases are grounded in boxes.
    PhraseGrounding(PhraseGrounding),
    /// `Vqa`: question–answer pairs.
    Vqa(Vqa),
    /// Any other (or no) `type`: the whole `contents` object, untouched.
    Unknown(Value),
}

impl RecordContents {
    /// The `contents.type` tag (`None` for an unknown block without one).
    pub fn kind(&self) -> Option<&str> {
        match self {
            RecordContents::PhraseGrounding(_) => Some("PhraseGrounding"),
            RecordContents::Vqa(_) => Some("Vqa"),
            RecordContents::Unknown(v) => v.get("type").and_then(Value::as_str),
        }
    }
}

impl Serialize for RecordContents {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RecordContents::PhraseGrounding(pg) => {
                let mut map = s.serialize_map(Some(3))?;
                map.serialize_entry("type", "PhraseGrounding")?;
                map.serialize_entry("caption", &pg.caption)?;
                map.serialize_entry("groundedPhrases", &pg.grounded_phrases)?;
                map.end()
            }
            RecordContents::Vqa(vqa) => {
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry("type", "Vqa")?;
                map.serialize_entry("interactions", &vqa.interactions)?;
                map.end()
            }
            RecordContents::Unknown(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for RecordContents {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let kind = value.get("type").and_then(Value::as_str);
        match kind {
            Some("PhraseGrounding") => serde_json::from_value(value)
                .map(RecordContents::PhraseGrounding)
                .map_err(D::Error::custom),
            Some("Vqa") => serde_json::from_value(value)
                .map(RecordContents::Vqa)
                .map_err(D::Error::custom),
            _ if value.is_object() => Ok(RecordContents::Unknown(value)),
            _ => Err(D::Error::custom("contents must be a JSON object")),
        }
    }
}

/// The contents of a phrase-grounding record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PhraseGrounding {
    /// The full caption.
    pub caption: String,
    /// The phrases of the caption and their boxes.
    #[serde(default)]
    pub grounded_phrases: Vec<GroundedPhrase>,
}

impl PhraseGrounding {
    /// A caption with no grounded phrases yet.
    pub fn new(caption: impl Into<String>) -> Self {
        PhraseGrounding {
            caption: caption.into(),
            grounded_phrases: Vec::new(),
        }
    }

    /// Adds a grounded phrase.
    pub fn phrase(mut self, phrase: GroundedPhrase) -> Self {
        self.grounded_phrases.push(phrase);
        self
    }
}

/// One phrase of a caption with its boxes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GroundedPhrase {
    /// The phrase text.
    pub phrase: String,
    /// Where the phrase starts in the caption; an opaque token index.
    pub start_token_index: i64,
    /// Where the phrase ends in the caption; an opaque token index.
    pub end_token_index: i64,
    /// The boxes this phrase grounds.
    #[serde(default)]
    pub bounds: Vec<BoundingBox>,
}

impl GroundedPhrase {
    /// A phrase covering tokens `start..end` with no boxes yet.
    pub fn new(phrase: impl Into<String>, start: i64, end: i64) -> Self {
        GroundedPhrase {
            phrase: phrase.into(),
            start_token_index: start,
            end_token_index: end,
            bounds: Vec::new(),
        }
    }

    /// Adds a box.
    pub fn bound(mut self, bound: BoundingBox) -> Self {
        self.bounds.push(bound);
        self
    }
}

/// A box `[xmin, ymin, xmax, ymax]`: fractions of the image size for normalized
/// exports, pixels otherwise.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct BoundingBox {
    /// Left edge.
    pub xmin: f64,
    /// Top edge.
    pub ymin: f64,
    /// Right edge.
    pub xmax: f64,
    /// Bottom edge.
    pub ymax: f64,
}

impl BoundingBox {
    /// A box from its edges.
    pub fn new(xmin: f64, ymin: f64, xmax: f64, ymax: f64) -> Self {
        BoundingBox {
            xmin,
            ymin,
            xmax,
            ymax,
        }
    }
}

impl Serialize for BoundingBox {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        [self.xmin, self.ymin, self.xmax, self.ymax].serialize(s)
    }
}

impl<'de> Deserialize<'de> for BoundingBox {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let numbers = Vec::<f64>::deserialize(d)?;
        match numbers[..] {
            [xmin, ymin, xmax, ymax] => Ok(BoundingBox::new(xmin, ymin, xmax, ymax)),
            _ => Err(D::Error::custom(format!(
                "a box is [xmin, ymin, xmax, ymax], got {} numbers",
                numbers.len()
            ))),
        }
    }
}

/// The contents of a VQA record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Vqa {
    /// The question–answer pairs, in conversation order.
    #[serde(default)]
    pub interactions: Vec<Interaction>,
}

impl Vqa {
    /// No interactions yet.
    pub fn new() -> Self {
        Vqa::default()
    }

    /// Adds a question and its answer, numbered after the last one (from 0).
    pub fn ask(mut self, question: impl Into<String>, answer: impl Into<String>) -> Self {
        let order = self.interactions.last().map_or(0, |i| i.order + 1);
        self.interactions.push(Interaction {
            order,
            question: question.into(),
            answer: answer.into(),
        });
        self
    }
}

/// One question and its answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Interaction {
    /// Its place in the conversation.
    pub order: i64,
    /// The question.
    pub question: String,
    /// The answer.
    pub answer: String,
}

impl Interaction {
    /// An interaction at `order`.
    pub fn new(order: i64, question: impl Into<String>, answer: impl Into<String>) -> Self {
        Interaction {
            order,
            question: question.into(),
            answer: answer.into(),
        }
    }
}

/// A record that could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
#[non_exhaustive]
pub struct RecordError {
    /// The 1-based line number in its file (0 when not read from a file).
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

/// Decodes every non-empty line of a Vi JSONL text; each entry is a record or the reason
/// its line could not be decoded.
pub fn parse_jsonl(text: &str) -> Vec<Result<AnnotationRecord, RecordError>> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            AnnotationRecord::from_line(line).map_err(|mut e| {
                e.line = i + 1;
                e
            })
        })
        .collect()
}

/// Writes records as Vi JSONL: one line each, each ending in a newline.
pub fn to_jsonl<'a>(records: impl IntoIterator<Item = &'a AnnotationRecord>) -> String {
    let mut out = String::new();
    for record in records {
        out.push_str(&record.to_line());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG: &str = r#"{"id":"an-51b0d2","asset":{"type":"Image","filename":"street_0001.jpg","width":1280,"height":720},"contents":{"type":"PhraseGrounding","caption":"A red car parked next to a cyclist","groundedPhrases":[{"phrase":"A red car","startTokenIndex":0,"endTokenIndex":3,"bounds":[[0.12,0.40,0.48,0.83]]},{"phrase":"a cyclist","startTokenIndex":6,"endTokenIndex":8,"bounds":[[0.61,0.35,0.74,0.90],[0.70,0.30,0.78,0.60]]}]},"category":null}"#;
    const VQA: &str = r#"{"id":"an-77e0a4","asset":{"type":"Image","filename":"kitchen_0042.jpg","width":640,"height":480},"contents":{"type":"Vqa","interactions":[{"order":0,"question":"How many mugs are on the counter?","answer":"Two"},{"order":1,"question":"What colour is the kettle?","answer":"Silver"}]}}"#;

    #[test]
    fn both_record_kinds_decode_and_write_back_the_same() {
        let pg = AnnotationRecord::from_line(PG).unwrap();
        let RecordContents::PhraseGrounding(c) = &pg.contents else {
            panic!("{pg:?}")
        };
        assert_eq!(c.grounded_phrases[1].bounds.len(), 2);
        assert_eq!(
            c.grounded_phrases[0].bounds[0],
            BoundingBox::new(0.12, 0.40, 0.48, 0.83)
        );
        assert_eq!(pg.asset.filename, "street_0001.jpg");
        assert_eq!(AnnotationRecord::from_line(&pg.to_line()).unwrap(), pg);

        let vqa = AnnotationRecord::from_line(VQA).unwrap();
        let expected = Vqa::new()
            .ask("How many mugs are on the counter?", "Two")
            .ask("What colour is the kettle?", "Silver");
        assert_eq!(vqa.contents, RecordContents::Vqa(expected));
        let v: Value = serde_json::from_str(&vqa.to_line()).unwrap();
        assert_eq!(v, serde_json::from_str::<Value>(VQA).unwrap());
    }

    #[test]
    fn lenient_where_the_official_client_is_strict_without_reason() {
        let line = r#"{"id":7,"asset":{"filename":"a.jpg","width":720.0,"height":10},"contents":{"type":"Freeform","text":"x"}}"#;
        let r = AnnotationRecord::from_line(line).unwrap();
        assert_eq!(r.id, RecordId::Integer(7));
        assert_eq!(r.asset.width, 720);
        assert_eq!(r.contents.kind(), Some("Freeform"));
        let back: Value = serde_json::from_str(&r.to_line()).unwrap();
        assert_eq!(back["contents"]["text"], "x");
        let untyped =
            r#"{"id":"x","asset":{"filename":"a.jpg","width":1,"height":1},"contents":{}}"#;
        assert_eq!(
            AnnotationRecord::from_line(untyped)
                .unwrap()
                .contents
                .kind(),
            None
        );
    }

    #[test]
    fn bad_records_are_errors_of_their_line() {
        let three = PG.replace("[0.12,0.40,0.48,0.83]", "[0.12,0.40,0.48]");
        let fraction = VQA.replace("\"width\":640", "\"width\":640.5");
        let text = format!("{PG}\n\n{three}\n{fraction}\nnot json\n");
        let results = parse_jsonl(&text);
        assert_eq!(results.len(), 4);
        assert!(results[0].is_ok());
        let errors: Vec<_> = results[1..]
            .iter()
            .map(|r| r.clone().unwrap_err())
            .collect();
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), [3, 4, 5]);
        assert!(errors[0].message.contains("got 3 numbers"), "{}", errors[0]);
        assert!(errors[1].message.contains("whole number"), "{}", errors[1]);
    }

    #[test]
    fn built_records_have_the_documented_shape() {
        let r = AnnotationRecord::new(
            "an-1",
            RecordAsset::image("a.jpg", 4, 3),
            RecordContents::PhraseGrounding(PhraseGrounding::new("a dog").phrase(
                GroundedPhrase::new("a dog", 0, 2).bound(BoundingBox::new(0.0, 0.0, 1.0, 0.5)),
            )),
        );
        assert_eq!(
            r.to_line(),
            r#"{"id":"an-1","asset":{"type":"Image","filename":"a.jpg","width":4,"height":3},"contents":{"type":"PhraseGrounding","caption":"a dog","groundedPhrases":[{"phrase":"a dog","startTokenIndex":0,"endTokenIndex":2,"bounds":[[0.0,0.0,1.0,0.5]]}]}}"#
        );
        assert_eq!(to_jsonl([&r]).lines().count(), 1);
    }
}
