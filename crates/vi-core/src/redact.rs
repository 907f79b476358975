//! What may be printed: of a URL, scheme, host, port and path, never the query string (a
//! signed URL's signature lives there) nor user information; of text from the service, no
//! raw terminal controls. Every `Debug`, `Display`, error message and log line that names a
//! URL goes through here, in core and in both transports, and so do report summaries and
//! the CLI's human output.

use std::borrow::Cow;

/// Scheme, host (and port) and path of `raw`, then `?<redacted>` if it had a query. User
/// information and the fragment are dropped. Text that does not parse as an absolute URL
/// is cut at its first `?` or `#`.
pub fn url(raw: &str) -> String {
    let (base, had_query) = match url::Url::parse(raw) {
        Ok(parsed) => {
            let mut base = format!("{}://", parsed.scheme());
            if let Some(host) = parsed.host_str() {
                base.push_str(host);
            }
            if let Some(port) = parsed.port() {
                base.push_str(&format!(":{port}"));
            }
            base.push_str(parsed.path());
            (base, parsed.query().is_some())
        }
        Err(_) => {
            let cut = raw.find(['?', '#']).unwrap_or(raw.len());
            (raw[..cut].to_owned(), raw[cut..].starts_with('?'))
        }
    };
    if had_query {
        format!("{base}?<redacted>")
    } else {
        base
    }
}

/// `METHOD scheme://host[:port]/path[?<redacted>]`: how a request is named in transport
/// errors and logs.
pub fn request(method: &http::Method, uri: &http::Uri) -> String {
    format!("{method} {}", url(&uri.to_string()))
}

/// Text from the service (file names, error messages) made safe for a terminal: control
/// characters (ANSI escape sequences, carriage returns, and newlines unless
/// `keep_newlines`) and the invisible characters that reorder text (bidirectional
/// overrides and isolates) are shown escaped, as `\u{1b}`, so a server can neither restyle
/// the terminal nor forge lines. JSON output does not go through here: it stays exact.
pub fn printable(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && !(keep_newlines && (c == '\n' || c == '\t')))
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
    };
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_and_user_information_never_show() {
        let shown = url("https://user:pw@store.example:8443/b/o.png?X-Goog-Signature=abc#frag");
        assert_eq!(shown, "https://store.example:8443/b/o.png?<redacted>");
        let uri: http::Uri = "http://127.0.0.1:9/p?signature=s".parse().unwrap();
        assert_eq!(
            request(&http::Method::PUT, &uri),
            "PUT http://127.0.0.1:9/p?<redacted>"
        );
        assert_eq!(url("not a url?sig=1"), "not a url?<redacted>");
    }

    #[test]
    fn terminal_controls_from_the_service_are_escaped() {
        assert_eq!(printable("cat.png", false), "cat.png");
        assert_eq!(
            printable("\u{1b}[31mred\u{1b}[0m.png", false),
            "\\u{1b}[31mred\\u{1b}[0m.png"
        );
        assert_eq!(
            printable("a\nDownload complete", false),
            "a\\u{a}Download complete"
        );
        assert_eq!(printable("two\nlines\r", true), "two\nlines\\u{d}");
        assert_eq!(printable("gnp.\u{202e}exe", false), "gnp.\\u{202e}exe");
    }
}
