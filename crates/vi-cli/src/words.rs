//! The SDK's configuration errors in the command line's words: the builder methods a Rust
//! caller uses become the flags a shell user types.

/// Phrases of the SDK's configuration errors and what the command line says instead,
/// longest first so a phrase is replaced before any shorter one inside it.
const PHRASES: &[(&str, &str)] = &[
    (
        "pass an absolute path to ConfigBuilder::config_file",
        "give an absolute path with --config-file",
    ),
    ("pass it to ConfigBuilder::", "give it with ConfigBuilder::"),
    ("passed to ConfigBuilder::", "given with ConfigBuilder::"),
    ("ConfigBuilder::allow_insecure_http(true)", "--allow-http"),
];

/// Rewrites an SDK configuration message: every `ConfigBuilder::name` becomes `--name`
/// (the flag of the same setting; `endpoint` and `config_file` included).
pub fn config_message(message: &str) -> String {
    let mut text = message.to_owned();
    for (sdk, cli) in PHRASES {
        text = text.replace(sdk, cli);
    }
    let marker = "ConfigBuilder::";
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find(marker) {
        out.push_str(&rest[..at]);
        let after = &rest[at + marker.len()..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        out.push_str("--");
        out.push_str(&flag_name(&after[..end]));
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The service's messages name datasets by their composite id `<org>_<id>`; the command
/// line shows the short id users type (the organization is a UUID followed by `_`).
pub fn short_ids(message: &str) -> String {
    const UUID_LEN: usize = 36;
    let bytes = message.as_bytes();
    let mut out = String::with_capacity(message.len());
    let mut start = 0;
    let mut i = 0;
    while i + UUID_LEN < bytes.len() {
        let candidate = &message.as_bytes()[i..i + UUID_LEN];
        let boundary = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if boundary && bytes[i + UUID_LEN] == b'_' && is_uuid(candidate) {
            out.push_str(&message[start..i]);
            i += UUID_LEN + 1;
            start = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&message[start..]);
    out
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(text: &[u8]) -> bool {
    text.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    })
}

/// The flag of a builder setting.
fn flag_name(method: &str) -> String {
    match method {
        "allow_insecure_http" => "allow-http".to_owned(),
        other => other.replace('_', "-"),
    }
}

#[cfg(test)]
mod tests {
    use super::{config_message, short_ids};

    #[test]
    fn composite_ids_are_shown_short() {
        assert_eq!(
            short_ids("dataset b356be89-c5b2-4738-93ab-1b2a4fb9df00_abc not found"),
            "dataset abc not found"
        );
        assert_eq!(short_ids("no id here_x"), "no id here_x");
    }

    #[test]
    fn builder_methods_become_flags() {
        let cases = [
            (
                "no secret key: it was not passed to ConfigBuilder::secret_key, \
                 DATATURE_VI_SECRET_KEY is not set",
                "no secret key: it was not given with --secret-key, DATATURE_VI_SECRET_KEY \
                 is not set",
            ),
            (
                "the endpoint \"x\" (passed to ConfigBuilder::endpoint) is not a valid URL",
                "the endpoint \"x\" (given with --endpoint) is not a valid URL",
            ),
            (
                "check the path passed to ConfigBuilder::config_file, or create it",
                "check the path given with --config-file, or create it",
            ),
            (
                "`export DATATURE_VI_ORGANIZATION_ID=<id>`, pass it to \
                 ConfigBuilder::organization_id, or",
                "`export DATATURE_VI_ORGANIZATION_ID=<id>`, give it with --organization-id, or",
            ),
            (
                "use https, or opt in with ConfigBuilder::allow_insecure_http(true) if",
                "use https, or opt in with --allow-http if",
            ),
            (
                "neither HOME nor USERPROFILE is set; pass an absolute path to \
                 ConfigBuilder::config_file",
                "neither HOME nor USERPROFILE is set; give an absolute path with --config-file",
            ),
        ];
        for (sdk, cli) in cases {
            assert_eq!(config_message(sdk), cli);
        }
    }
}
