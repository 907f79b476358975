//! The filter and metadata-query languages of asset listings and counts (documented
//! in the crate docs).

use serde_json::{Map, Value};

use crate::state::Asset;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(f64),
    Str(String),
    Op(Op),
    And,
}

fn tokenize(input: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' {
            let quote = c;
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("unterminated string starting at position {}", i)),
                    Some('\\') => {
                        match chars.get(i + 1) {
                            Some(next) => s.push(*next),
                            None => return Err("dangling backslash at end of input".into()),
                        }
                        i += 2;
                    }
                    Some(ch) if *ch == quote => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        s.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(s));
        } else if c.is_ascii_digit()
            || (c == '-'
                && chars
                    .get(i + 1)
                    .is_some_and(|d| d.is_ascii_digit() || *d == '.'))
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || chars[i] == '.'
                    || chars[i] == 'e'
                    || chars[i] == 'E'
                    || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n: f64 = text
                .parse()
                .map_err(|_| format!("invalid number \"{text}\""))?;
            out.push(Tok::Num(n));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '.' | '-'))
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            if text.eq_ignore_ascii_case("and") {
                out.push(Tok::And);
            } else {
                out.push(Tok::Ident(text));
            }
        } else {
            let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let (tok, len) = match two.as_str() {
                "&&" => (Tok::And, 2),
                "==" => (Tok::Op(Op::Eq), 2),
                "!=" => (Tok::Op(Op::Ne), 2),
                "<=" => (Tok::Op(Op::Le), 2),
                ">=" => (Tok::Op(Op::Ge), 2),
                _ => match c {
                    '<' => (Tok::Op(Op::Lt), 1),
                    '>' => (Tok::Op(Op::Gt), 1),
                    '=' => return Err(format!("unexpected \"=\" at position {i} (use \"==\")")),
                    other => return Err(format!("unexpected character '{other}' at position {i}")),
                },
            };
            out.push(tok);
            i += len;
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Filename,
    AssetId,
    FileSize,
    Width,
    Height,
    MimeType,
    Frames,
}

const FIELDS: &str = "filename, assetId, metadata.fileSize, metadata.width, metadata.height, metadata.mimeType, metadata.frames";

impl Field {
    fn parse(name: &str) -> Option<Field> {
        Some(match name {
            "filename" => Field::Filename,
            "assetId" => Field::AssetId,
            "metadata.fileSize" => Field::FileSize,
            "metadata.width" => Field::Width,
            "metadata.height" => Field::Height,
            "metadata.mimeType" => Field::MimeType,
            "metadata.frames" => Field::Frames,
            _ => return None,
        })
    }

    fn is_numeric(self) -> bool {
        matches!(
            self,
            Field::FileSize | Field::Width | Field::Height | Field::Frames
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Field(Field),
    Num(f64),
    Str(String),
}

impl Operand {
    fn is_numeric(&self) -> bool {
        match self {
            Operand::Field(f) => f.is_numeric(),
            Operand::Num(_) => true,
            Operand::Str(_) => false,
        }
    }

    fn describe(&self) -> String {
        match self {
            Operand::Field(f) => format!("{f:?}"),
            Operand::Num(n) => n.to_string(),
            Operand::Str(s) => format!("\"{s}\""),
        }
    }
}

enum Scalar<'a> {
    Num(f64),
    Str(&'a str),
}

fn eval<'a>(operand: &'a Operand, asset: &'a Asset) -> Scalar<'a> {
    match operand {
        Operand::Num(n) => Scalar::Num(*n),
        Operand::Str(s) => Scalar::Str(s),
        Operand::Field(f) => match f {
            Field::Filename => Scalar::Str(&asset.filename),
            Field::AssetId => Scalar::Str(&asset.id),
            Field::MimeType => Scalar::Str(&asset.mime),
            Field::FileSize => Scalar::Num(asset.size as f64),
            Field::Width => Scalar::Num(asset.width as f64),
            Field::Height => Scalar::Num(asset.height as f64),
            Field::Frames => Scalar::Num(1.0),
        },
    }
}

fn compare<T: PartialOrd + ?Sized>(a: &T, op: Op, b: &T) -> bool {
    match op {
        Op::Eq => a == b,
        Op::Ne => a != b,
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
    }
}

/// A parsed asset filter: clauses `OPERAND OP OPERAND` joined by `and`/`&&`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    clauses: Vec<(Operand, Op, Operand)>,
}

fn operand(tok: Option<&Tok>) -> Result<Operand, String> {
    match tok {
        Some(Tok::Ident(name)) => Field::parse(name)
            .map(Operand::Field)
            .ok_or_else(|| format!("unknown field \"{name}\" (supported: {FIELDS})")),
        Some(Tok::Num(n)) => Ok(Operand::Num(*n)),
        Some(Tok::Str(s)) => Ok(Operand::Str(s.clone())),
        Some(other) => Err(format!(
            "expected a field, a number or a quoted string, found {other:?}"
        )),
        None => Err("unexpected end of filter".into()),
    }
}

impl Filter {
    /// Parses a filter; an empty or blank string matches everything.
    pub(crate) fn parse(input: &str) -> Result<Filter, String> {
        let toks = tokenize(input)?;
        let mut clauses = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            if !clauses.is_empty() {
                if toks[i] != Tok::And {
                    return Err(format!(
                        "expected \"and\" between clauses, found {:?}",
                        toks[i]
                    ));
                }
                i += 1;
            }
            let left = operand(toks.get(i))?;
            let op = match toks.get(i + 1) {
                Some(Tok::Op(op)) => *op,
                Some(other) => {
                    return Err(format!(
                        "expected a comparison operator (== != < <= > >=), found {other:?}"
                    ));
                }
                None => {
                    return Err(
                        "expected a comparison operator (== != < <= > >=) at end of filter".into(),
                    );
                }
            };
            let right = operand(toks.get(i + 2))?;
            if left.is_numeric() != right.is_numeric() {
                return Err(format!(
                    "cannot compare {} with {}: one is a number, the other a string",
                    left.describe(),
                    right.describe()
                ));
            }
            clauses.push((left, op, right));
            i += 3;
        }
        Ok(Filter { clauses })
    }

    pub(crate) fn matches(&self, asset: &Asset) -> bool {
        self.clauses
            .iter()
            .all(|(l, op, r)| match (eval(l, asset), eval(r, asset)) {
                (Scalar::Num(a), Scalar::Num(b)) => compare(&a, *op, &b),
                (Scalar::Str(a), Scalar::Str(b)) => compare(a, *op, b),
                _ => false,
            })
    }
}

/// A parsed `metadataQuery`: `key == value` clauses (also `!=`) on the asset's custom
/// metadata, joined by `and`/`&&`.
#[derive(Debug, Clone, Default)]
pub(crate) struct MetadataQuery {
    clauses: Vec<(String, Op, Value)>,
}

impl MetadataQuery {
    pub(crate) fn parse(input: &str) -> Result<MetadataQuery, String> {
        let toks = tokenize(input)?;
        let mut clauses = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            if !clauses.is_empty() {
                if toks[i] != Tok::And {
                    return Err(format!(
                        "expected \"and\" between clauses, found {:?}",
                        toks[i]
                    ));
                }
                i += 1;
            }
            let key = match toks.get(i) {
                Some(Tok::Ident(k)) | Some(Tok::Str(k)) => k.clone(),
                Some(other) => return Err(format!("expected a metadata key, found {other:?}")),
                None => return Err("expected a metadata key at end of query".into()),
            };
            let op = match toks.get(i + 1) {
                Some(Tok::Op(op @ (Op::Eq | Op::Ne))) => *op,
                Some(other) => {
                    return Err(format!(
                        "expected \"==\" or \"!=\" after \"{key}\", found {other:?}"
                    ));
                }
                None => return Err(format!("expected \"==\" or \"!=\" after \"{key}\"")),
            };
            let value = match toks.get(i + 2) {
                Some(Tok::Str(s)) => Value::String(s.clone()),
                Some(Tok::Num(n)) => {
                    if n.fract() == 0.0 && n.abs() < 9.0e15 {
                        Value::from(*n as i64)
                    } else {
                        Value::from(*n)
                    }
                }
                Some(Tok::Ident(b)) if b == "true" || b == "false" => Value::Bool(b == "true"),
                Some(other) => {
                    return Err(format!(
                        "expected a quoted string, a number or true/false, found {other:?}"
                    ));
                }
                None => return Err(format!("expected a value after \"{key}\"")),
            };
            clauses.push((key, op, value));
            i += 3;
        }
        Ok(MetadataQuery { clauses })
    }

    /// `strict`: values must be equal including their JSON type and case; otherwise
    /// strings compare case-insensitively and values compare by their text form.
    pub(crate) fn matches(&self, custom: &Map<String, Value>, strict: bool) -> bool {
        self.clauses.iter().all(|(key, op, want)| {
            let equal = custom
                .get(key)
                .is_some_and(|have| values_equal(have, want, strict));
            match op {
                Op::Eq => equal,
                _ => !equal,
            }
        })
    }
}

fn text_form(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_lowercase(),
        Value::Number(n) => n.as_f64().map(|f| f.to_string()).unwrap_or_default(),
        other => other.to_string(),
    }
}

fn values_equal(have: &Value, want: &Value, strict: bool) -> bool {
    match (have, want) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(a), Value::String(b)) if strict => a == b,
        _ if strict => have == want,
        _ => text_form(have) == text_form(want),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(filename: &str, w: u64, h: u64) -> Asset {
        Asset {
            id: "abc".into(),
            filename: filename.into(),
            blob: String::new(),
            size: 100,
            mime: "image/png".into(),
            kind: "Image".into(),
            width: w,
            height: h,
            crc: 0,
            custom_metadata: Map::new(),
            created: 0,
            updated: 0,
            contents_updated: 0,
            generation: 1,
            seq: 0,
        }
    }

    #[test]
    fn filter_language() {
        let a = asset("cat.png", 10, 10);
        let b = asset("dog.png", 20, 10);
        let f = Filter::parse("metadata.width == metadata.height").unwrap();
        assert!(f.matches(&a) && !f.matches(&b));
        let f = Filter::parse("metadata.width >= 15 && filename != \"x\"").unwrap();
        assert!(!f.matches(&a) && f.matches(&b));
        let f = Filter::parse("filename == 'cat.png' and metadata.fileSize < 1e3").unwrap();
        assert!(f.matches(&a));
        assert!(Filter::parse("").unwrap().matches(&a));
        assert!(Filter::parse("{'a': 1}").is_err());
        assert!(Filter::parse("filename == 3").is_err());
        assert!(Filter::parse("size == 3").is_err());
        assert!(Filter::parse("filename =").is_err());
        assert!(Filter::parse("filename = \"a\"").is_err());
    }

    #[test]
    fn metadata_query() {
        let mut custom = Map::new();
        custom.insert("quality".into(), Value::from("High"));
        custom.insert("k".into(), Value::from(1));
        let q = MetadataQuery::parse("quality == \"high\"").unwrap();
        assert!(q.matches(&custom, false));
        assert!(!q.matches(&custom, true));
        let q = MetadataQuery::parse("k == 1").unwrap();
        assert!(q.matches(&custom, true));
        let q = MetadataQuery::parse("k == \"1\"").unwrap();
        assert!(q.matches(&custom, false) && !q.matches(&custom, true));
        assert!(MetadataQuery::parse("k:1").is_err());
    }
}
