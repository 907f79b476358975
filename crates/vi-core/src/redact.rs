//! What may be printed of a URL: scheme, host, port and path, never the query string (a
//! signed URL's signature lives there) nor user information. Every `Debug`, `Display`,
//! error message and log line that names a URL goes through here, in core and in both
//! transports.

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
}
