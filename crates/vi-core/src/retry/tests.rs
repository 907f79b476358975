//! The retry table: every row of the policy, with exact delays.
use super::*;
use http::StatusCode;

const SECOND: Duration = Duration::from_secs(1);

fn status(code: u16) -> Outcome {
    Outcome::Status {
        status: StatusCode::from_u16(code).unwrap(),
        retry_after: None,
    }
}

fn status_after(code: u16, after: Duration) -> Outcome {
    Outcome::Status {
        status: StatusCode::from_u16(code).unwrap(),
        retry_after: Some(after),
    }
}

fn transport(kind: TransportErrorKind) -> Outcome {
    Outcome::Transport(kind)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum K {
    Accept,
    Retry,
    Resign,
    Fail,
}

fn kind(d: Decision) -> K {
    match d {
        Decision::Accept => K::Accept,
        Decision::Retry { .. } => K::Retry,
        Decision::Resign { .. } => K::Resign,
        Decision::Fail => K::Fail,
    }
}

fn first_decision(safety: Safety, target: Target, outcome: &Outcome) -> Decision {
    RetryPolicy::default().decide(
        safety,
        target,
        outcome,
        &mut RetryState::default(),
        Duration::ZERO,
        0.5,
    )
}

#[test]
fn decision_table() {
    use Safety::*;
    use Target::*;
    use TransportErrorKind as T;
    let rows: Vec<(Safety, Target, Outcome, K)> = vec![
        // 2xx → accept, everywhere.
        (Safe, Api, status(200), K::Accept),
        (Unsafe, Api, status(201), K::Accept),
        (Idempotent, Api, status(204), K::Accept),
        (Idempotent, SignedUpload, status(200), K::Accept),
        (Safe, SignedDownload, status(206), K::Accept),
        // API 429: every safety.
        (Safe, Api, status(429), K::Retry),
        (Idempotent, Api, status(429), K::Retry),
        (Unsafe, Api, status(429), K::Retry),
        // API 5xx and 408: repeatable only.
        (Safe, Api, status(500), K::Retry),
        (Safe, Api, status(503), K::Retry),
        (Idempotent, Api, status(502), K::Retry),
        (Safe, Api, status(408), K::Retry),
        (Idempotent, Api, status(408), K::Retry),
        (Unsafe, Api, status(500), K::Fail),
        (Unsafe, Api, status(503), K::Fail),
        (Unsafe, Api, status(408), K::Fail),
        // 501 and 505: the server cannot do it at all, on every target.
        (Safe, Api, status(501), K::Fail),
        (Idempotent, Api, status(505), K::Fail),
        (Idempotent, SignedUpload, status(501), K::Fail),
        (Safe, SignedDownload, status(505), K::Fail),
        // API other statuses: fail.
        (Safe, Api, status(301), K::Fail),
        (Safe, Api, status(304), K::Fail),
        (Safe, Api, status(400), K::Fail),
        (Safe, Api, status(401), K::Fail),
        (Safe, Api, status(403), K::Fail),
        (Idempotent, Api, status(404), K::Fail),
        (Unsafe, Api, status(409), K::Fail),
        (Safe, Api, status(100), K::Fail),
        // API transport errors.
        (Safe, Api, transport(T::Connect), K::Retry),
        (Idempotent, Api, transport(T::Connect), K::Retry),
        (Unsafe, Api, transport(T::Connect), K::Retry),
        (Safe, Api, transport(T::Timeout), K::Retry),
        (Idempotent, Api, transport(T::Timeout), K::Retry),
        (Unsafe, Api, transport(T::Timeout), K::Fail),
        (Safe, Api, transport(T::Interrupted), K::Retry),
        (Unsafe, Api, transport(T::Interrupted), K::Fail),
        (Idempotent, Api, transport(T::Protocol), K::Retry),
        (Unsafe, Api, transport(T::Protocol), K::Fail),
        (Safe, Api, transport(T::Other), K::Retry),
        (Unsafe, Api, transport(T::Other), K::Fail),
        (Safe, Api, transport(T::BodyRead), K::Fail),
        (Idempotent, Api, transport(T::BodyRead), K::Fail),
        (Safe, Api, transport(T::BodyWrite), K::Fail),
        // Signed upload: 408, 429 and 5xx again, whatever safety the caller claims; 400 and
        // 403 only with a fresh URL; other statuses never.
        (Idempotent, SignedUpload, status(400), K::Resign),
        (Idempotent, SignedUpload, status(403), K::Resign),
        (Idempotent, SignedUpload, status(404), K::Fail),
        (Idempotent, SignedUpload, status(408), K::Retry),
        (Idempotent, SignedUpload, status(429), K::Retry),
        (Idempotent, SignedUpload, status(500), K::Retry),
        (Unsafe, SignedUpload, status(503), K::Retry),
        (Idempotent, SignedUpload, status(307), K::Fail),
        (Idempotent, SignedUpload, transport(T::Connect), K::Retry),
        (Idempotent, SignedUpload, transport(T::Timeout), K::Retry),
        (Unsafe, SignedUpload, transport(T::Interrupted), K::Retry),
        (Idempotent, SignedUpload, transport(T::Protocol), K::Retry),
        (Idempotent, SignedUpload, transport(T::Other), K::Retry),
        (Idempotent, SignedUpload, transport(T::BodyRead), K::Fail),
        // Signed download.
        (Safe, SignedDownload, status(403), K::Resign),
        (Safe, SignedDownload, status(400), K::Resign),
        (Safe, SignedDownload, status(404), K::Fail),
        (Safe, SignedDownload, status(401), K::Fail),
        (Safe, SignedDownload, status(410), K::Fail),
        (Safe, SignedDownload, status(500), K::Retry),
        (Safe, SignedDownload, status(503), K::Retry),
        (Safe, SignedDownload, status(408), K::Retry),
        (Safe, SignedDownload, status(429), K::Retry),
        (Safe, SignedDownload, status(302), K::Fail),
        (Safe, SignedDownload, transport(T::Timeout), K::Retry),
        (Safe, SignedDownload, transport(T::Interrupted), K::Retry),
        (Safe, SignedDownload, transport(T::Connect), K::Retry),
        (Safe, SignedDownload, transport(T::Protocol), K::Retry),
        (Unsafe, SignedDownload, transport(T::Timeout), K::Retry),
        (Safe, SignedDownload, transport(T::BodyWrite), K::Fail),
        (Safe, SignedDownload, transport(T::BodyRead), K::Fail),
    ];
    for (safety, target, outcome, expected) in rows {
        let got = kind(first_decision(safety, target, &outcome));
        assert_eq!(got, expected, "{safety:?} {target:?} {outcome:?}");
    }
}

#[test]
fn state_counts_only_granted_retries() {
    let policy = RetryPolicy::default();
    let mut state = RetryState::default();
    let d = policy.decide(
        Safety::Safe,
        Target::Api,
        &status(200),
        &mut state,
        Duration::ZERO,
        0.0,
    );
    assert_eq!(d, Decision::Accept);
    assert_eq!(state, RetryState::default());
    let d = policy.decide(
        Safety::Unsafe,
        Target::Api,
        &status(500),
        &mut state,
        Duration::ZERO,
        0.0,
    );
    assert_eq!(d, Decision::Fail);
    assert_eq!(state.retries(), 0);
    assert_eq!(state.attempts(), 1);
}

#[test]
fn backoff_exact_values() {
    let policy = RetryPolicy::default();
    let ms = Duration::from_millis;
    let expected: [(f64, [Duration; 8]); 3] = [
        (0.0, [Duration::ZERO; 8]),
        (
            0.5,
            [
                ms(500),
                ms(1000),
                ms(2000),
                ms(4000),
                ms(8000),
                ms(16000),
                ms(32000),
                ms(60000), // 64 s capped
            ],
        ),
        (
            0.999,
            [
                ms(999),
                ms(1998),
                ms(3996),
                ms(7992),
                ms(15984),
                ms(31968),
                ms(60000), // 63.936 s capped
                ms(60000),
            ],
        ),
    ];
    for (jitter, delays) in expected {
        for (i, want) in delays.into_iter().enumerate() {
            let k = i as u32 + 1;
            assert_eq!(
                policy.backoff(k, jitter),
                want,
                "jitter {jitter}, retry {k}"
            );
        }
    }
    // The cap itself, and jitter 1.0 at the top of the range.
    assert_eq!(policy.backoff(20, 0.999), 60 * SECOND);
    assert_eq!(policy.backoff(1, 1.0), SECOND);
    // Retry 0 counts as the first; out-of-range jitter is clamped.
    assert_eq!(policy.backoff(0, 0.5), ms(500));
    assert_eq!(policy.backoff(3, -1.0), Duration::ZERO);
    assert_eq!(policy.backoff(3, f64::NAN), Duration::ZERO);
    assert_eq!(policy.backoff(2, 7.0), 2 * SECOND);
}

#[test]
fn backoff_exponent_is_capped() {
    let uncapped = RetryPolicy::default().with_max_delay(Duration::MAX);
    let at_cap = uncapped.backoff(31, 0.5);
    assert_eq!(at_cap, Duration::from_secs(1 << 29)); // 0.5 × 2^30 s
    for k in [32, 1000, u32::MAX] {
        assert_eq!(uncapped.backoff(k, 0.5), at_cap, "retry {k}");
    }
    // Huge base and max: no overflow, no panic.
    let huge = RetryPolicy::default()
        .with_base_delay(Duration::MAX)
        .with_max_delay(Duration::MAX);
    assert_eq!(huge.backoff(u32::MAX, 0.999), Duration::MAX);
    assert_eq!(RetryPolicy::default().backoff(u32::MAX, 0.999), 60 * SECOND);
}

#[test]
fn rate_limit_counted_separately() {
    let policy = RetryPolicy::default();
    let mut state = RetryState::default();
    let decide = |outcome: &Outcome, state: &mut RetryState| {
        policy.decide(
            Safety::Safe,
            Target::Api,
            outcome,
            state,
            Duration::ZERO,
            0.5,
        )
    };
    for k in 1..=3u32 {
        assert_eq!(
            decide(&status(503), &mut state),
            Decision::Retry {
                after: policy.backoff(k, 0.5)
            }
        );
    }
    assert_eq!(state.other_retries(), 3);
    // 429s still go on, with their own backoff sequence starting again at retry 1.
    assert_eq!(
        decide(&status(429), &mut state),
        Decision::Retry {
            after: Duration::from_millis(500)
        }
    );
    for _ in 2..=20 {
        assert_eq!(kind(decide(&status(429), &mut state)), K::Retry);
    }
    assert_eq!(state.rate_limit_retries(), 20);
    assert_eq!(decide(&status(429), &mut state), Decision::Fail);
    // The "other" budget is spent too.
    assert_eq!(decide(&status(503), &mut state), Decision::Fail);
    assert_eq!(
        decide(&transport(TransportErrorKind::Connect), &mut state),
        Decision::Fail
    );
    assert_eq!(state.retries(), 23);
    assert_eq!(state.attempts(), 24);
}

#[test]
fn other_budget_is_three() {
    let policy = RetryPolicy::default();
    let mut state = RetryState::default();
    let outcomes = [
        status(500),
        transport(TransportErrorKind::Timeout),
        status(408),
        status(502),
    ];
    let got: Vec<K> = outcomes
        .iter()
        .map(|o| {
            kind(policy.decide(
                Safety::Idempotent,
                Target::Api,
                o,
                &mut state,
                Duration::ZERO,
                0.1,
            ))
        })
        .collect();
    assert_eq!(got, [K::Retry, K::Retry, K::Retry, K::Fail]);
}

#[test]
fn retry_after_honoured_and_capped() {
    let policy = RetryPolicy::default();
    let decide = |safety, target, outcome: &Outcome| {
        policy.decide(
            safety,
            target,
            outcome,
            &mut RetryState::default(),
            Duration::ZERO,
            0.5,
        )
    };
    let seven = Duration::from_secs(7);
    assert_eq!(
        decide(Safety::Unsafe, Target::Api, &status_after(429, seven)),
        Decision::Retry { after: seven }
    );
    assert_eq!(
        decide(
            Safety::Safe,
            Target::Api,
            &status_after(429, Duration::from_secs(3600))
        ),
        Decision::Retry { after: 60 * SECOND }
    );
    assert_eq!(
        decide(
            Safety::Safe,
            Target::Api,
            &status_after(429, Duration::ZERO)
        ),
        Decision::Retry {
            after: Duration::ZERO
        }
    );
    // API 5xx ignores Retry-After (docs/protocol.md §10.2): backoff instead.
    assert_eq!(
        decide(Safety::Safe, Target::Api, &status_after(503, seven)),
        Decision::Retry {
            after: Duration::from_millis(500)
        }
    );
    // Signed transfers honour it for any retried status.
    assert_eq!(
        decide(
            Safety::Idempotent,
            Target::SignedUpload,
            &status_after(500, seven)
        ),
        Decision::Retry { after: seven }
    );
    assert_eq!(
        decide(
            Safety::Idempotent,
            Target::SignedUpload,
            &status_after(503, Duration::MAX)
        ),
        Decision::Retry { after: 60 * SECOND }
    );
    assert_eq!(
        decide(
            Safety::Safe,
            Target::SignedDownload,
            &status_after(503, seven)
        ),
        Decision::Retry { after: seven }
    );
    // A re-sign waits the backoff, not Retry-After.
    assert_eq!(
        decide(
            Safety::Safe,
            Target::SignedDownload,
            &status_after(403, seven)
        ),
        Decision::Resign {
            after: Duration::from_millis(500)
        }
    );
}

#[test]
fn resign_shares_the_other_budget() {
    let policy = RetryPolicy::default();
    let mut state = RetryState::default();
    let mut decide = |outcome: &Outcome| {
        kind(policy.decide(
            Safety::Safe,
            Target::SignedDownload,
            outcome,
            &mut state,
            Duration::ZERO,
            0.5,
        ))
    };
    assert_eq!(decide(&status(403)), K::Resign);
    assert_eq!(decide(&status(503)), K::Retry);
    assert_eq!(decide(&status(400)), K::Resign);
    assert_eq!(decide(&status(403)), K::Fail);
    assert_eq!(decide(&status(429)), K::Retry);
}

#[test]
fn signed_upload_uses_both_budgets() {
    let policy = RetryPolicy::default();
    let mut state = RetryState::default();
    let mut decide = |outcome: &Outcome| {
        kind(policy.decide(
            Safety::Idempotent,
            Target::SignedUpload,
            outcome,
            &mut state,
            Duration::ZERO,
            0.5,
        ))
    };
    for _ in 0..3 {
        assert_eq!(decide(&status(503)), K::Retry);
    }
    assert_eq!(decide(&status(503)), K::Fail);
    assert_eq!(decide(&status(429)), K::Retry);
}

#[test]
fn budget_exhaustion() {
    let policy = RetryPolicy::default().with_budget(Some(10 * SECOND));
    let decide = |outcome: &Outcome, elapsed: Duration| {
        let mut state = RetryState::default();
        let d = policy.decide(Safety::Safe, Target::Api, outcome, &mut state, elapsed, 0.5);
        (d, state.retries())
    };
    // 9.5 s + 0.5 s backoff = exactly the budget: allowed.
    assert_eq!(
        decide(&status(503), Duration::from_millis(9500)),
        (
            Decision::Retry {
                after: Duration::from_millis(500)
            },
            1
        )
    );
    // One millisecond more would end past the budget: refused and not counted.
    assert_eq!(
        decide(&status(503), Duration::from_millis(9501)),
        (Decision::Fail, 0)
    );
    // Retry-After counts too.
    assert_eq!(
        decide(&status_after(429, 5 * SECOND), 6 * SECOND),
        (Decision::Fail, 0)
    );
    assert_eq!(
        decide(&status_after(429, 5 * SECOND), 5 * SECOND),
        (Decision::Retry { after: 5 * SECOND }, 1)
    );
    // Success is accepted even past the budget.
    assert_eq!(decide(&status(200), 3600 * SECOND), (Decision::Accept, 0));
    // Overflowing elapsed + delay is treated as over budget, not a panic.
    assert_eq!(decide(&status(503), Duration::MAX), (Decision::Fail, 0));
    // No budget: anything goes.
    let unbounded = RetryPolicy::default().with_budget(None);
    let d = unbounded.decide(
        Safety::Safe,
        Target::Api,
        &status(503),
        &mut RetryState::default(),
        Duration::MAX,
        0.5,
    );
    assert_eq!(kind(d), K::Retry);
}

#[test]
fn none_never_retries() {
    let policy = RetryPolicy::none();
    for outcome in [
        status(429),
        status(503),
        transport(TransportErrorKind::Connect),
    ] {
        let d = policy.decide(
            Safety::Safe,
            Target::Api,
            &outcome,
            &mut RetryState::default(),
            Duration::ZERO,
            0.5,
        );
        assert_eq!(d, Decision::Fail, "{outcome:?}");
    }
    let d = policy.decide(
        Safety::Safe,
        Target::SignedDownload,
        &status(403),
        &mut RetryState::default(),
        Duration::ZERO,
        0.5,
    );
    assert_eq!(d, Decision::Fail);
}

#[test]
fn defaults_match_the_spec() {
    let p = RetryPolicy::default();
    assert_eq!(p.base_delay, SECOND);
    assert_eq!(p.max_delay, 60 * SECOND);
    assert_eq!(p.max_retries, 3);
    assert_eq!(p.max_rate_limit_retries, 20);
    assert_eq!(p.budget, Some(Duration::from_secs(1800)));
}

#[test]
fn safety_from_method() {
    assert_eq!(Safety::from_method(&http::Method::GET), Safety::Safe);
    assert_eq!(Safety::from_method(&http::Method::HEAD), Safety::Safe);
    assert_eq!(Safety::from_method(&http::Method::PUT), Safety::Idempotent);
    assert_eq!(
        Safety::from_method(&http::Method::DELETE),
        Safety::Idempotent
    );
    assert_eq!(Safety::from_method(&http::Method::POST), Safety::Unsafe);
    assert_eq!(Safety::from_method(&http::Method::PATCH), Safety::Unsafe);
}

#[test]
fn parse_retry_after_cases() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("120", now), Some(120 * SECOND));
    assert_eq!(
        parse_retry_after("1.5", now),
        Some(Duration::from_millis(1500))
    );
    assert_eq!(parse_retry_after(" 2 ", now), Some(2 * SECOND));
    assert_eq!(parse_retry_after("-1", now), None);
    assert_eq!(parse_retry_after("-0.5", now), None);
    assert_eq!(parse_retry_after("nan", now), None);
    assert_eq!(parse_retry_after("NaN", now), None);
    assert_eq!(parse_retry_after("inf", now), None);
    assert_eq!(parse_retry_after("abc", now), None);
    assert_eq!(parse_retry_after("", now), None);
    assert_eq!(parse_retry_after("1e400", now), None);
    assert_eq!(parse_retry_after("1e30", now), Some(Duration::MAX));

    let future = httpdate::fmt_http_date(now + 90 * SECOND);
    assert_eq!(parse_retry_after(&future, now), Some(90 * SECOND));
    let past = httpdate::fmt_http_date(now - 90 * SECOND);
    assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00", now), None);
}

#[test]
fn retry_after_from_headers_cases() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut headers = http::HeaderMap::new();
    assert_eq!(retry_after_from_headers(&headers, now), None);
    headers.insert(http::header::RETRY_AFTER, "3".parse().unwrap());
    assert_eq!(retry_after_from_headers(&headers, now), Some(3 * SECOND));
    headers.insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_bytes(b"\xff3").unwrap(),
    );
    assert_eq!(retry_after_from_headers(&headers, now), None);

    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::RETRY_AFTER,
        httpdate::fmt_http_date(now + 10 * SECOND).parse().unwrap(),
    );
    let outcome = Outcome::from_response(StatusCode::TOO_MANY_REQUESTS, &headers, now);
    assert_eq!(outcome, status_after(429, 10 * SECOND));
}
