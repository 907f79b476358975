//! The retry policy: a pure function from "what happened" to "what to do next".
//!
//! Every request the SDK sends goes through one loop, written once in core:
//!
//! 1. send the request;
//! 2. describe the result as an [`Outcome`] (a status with its `Retry-After`, or a
//!    transport failure);
//! 3. ask [`RetryPolicy::decide`] for a [`Decision`]: accept it, retry after a delay,
//!    fetch a fresh signed URL and retry ([`Decision::Resign`]), or fail;
//! 4. sleep through the [`Runtime`](crate::runtime::Runtime) and go again.
//!
//! The policy owns no clock and no random source: the caller passes the time already spent
//! on the call and a jitter value in `[0, 1)`, so every schedule can be asserted exactly in
//! tests with virtual time.
//!
//! # Rules (docs/protocol.md §10)
//!
//! | Target | Outcome | Safe / Idempotent | Unsafe |
//! |---|---|---|---|
//! | any | 2xx | accept | accept |
//! | API | 429 | retry (429 budget, `Retry-After` honoured) | same |
//! | any | 501, 505 (the server cannot do it at all) | fail | fail |
//! | API | other 5xx, 408 | retry | fail |
//! | API | other status (3xx, 4xx) | fail | fail |
//! | API | connect error | retry | retry (nothing was sent) |
//! | API | timeout, interrupted, protocol, other | retry | fail (the server may have acted) |
//! | any | local body read / write error | fail | fail |
//! | signed upload (PUT) | 429 | retry (429 budget) | — |
//! | signed upload (PUT) | any other 4xx / 5xx | retry, `Retry-After` honoured | — |
//! | signed upload (PUT) | transport error | as an idempotent API call | — |
//! | signed download (GET) | 400, 403 (expired URL) | re-sign, then retry | — |
//! | signed download (GET) | 404, other 4xx | fail | — |
//! | signed download (GET) | 5xx, 408, 429 | retry, `Retry-After` honoured | — |
//! | signed download (GET) | transport error | as a safe API call | — |
//!
//! Signed targets ignore the `safety` argument: an upload to a signed URL re-sends the same
//! bytes to the same object, so it is idempotent; a download is a GET.
//!
//! # Budgets
//!
//! Two retry counters are kept per call in [`RetryState`], as docs/protocol.md §10.1 requires: one for
//! 429 answers ([`RetryPolicy::max_rate_limit_retries`], 20 by default) and one for every
//! other retryable failure ([`RetryPolicy::max_retries`], 3 by default). Each class has its
//! own backoff sequence, so three 503s do not make the first 429 wait longer.
//!
//! A [`Decision::Resign`] counts against the "other" counter, together with ordinary
//! retries: a download therefore makes at most `1 + max_retries` attempts, however its
//! failures mix expired URLs and server errors (429s aside). Keeping one counter bounds the
//! number of API calls an unlucky download can cost.
//!
//! On top of the counters, [`RetryPolicy::budget`] bounds the wall-clock time of one call:
//! a retry whose delay would end after the budget is refused. The default is 30 minutes,
//! chosen so the spec's retry counts stay the operative limit in every ordinary case (20
//! rate-limit waits of at most 60 s are 20 minutes; four API attempts that each run into the
//! 300 s read timeout are 20 minutes too), while a pathological chain — a body that trickles
//! in just fast enough never to time out, attempt after attempt — still ends.

use std::time::{Duration, SystemTime};

use crate::transport::TransportErrorKind;

/// Whether a request may be sent again after the server may have acted on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Safety {
    /// Reads nothing but state (`GET`, `HEAD`): always safe to repeat.
    Safe,
    /// Repeating it leaves the same state (`PUT`, `DELETE`).
    Idempotent,
    /// Repeating it may act twice (`POST`, `PATCH`).
    Unsafe,
}

impl Safety {
    /// The safety HTTP assigns to a method: `GET`, `HEAD`, `OPTIONS` and `TRACE` are safe,
    /// `PUT` and `DELETE` idempotent, everything else unsafe.
    pub fn from_method(method: &http::Method) -> Self {
        match *method {
            http::Method::GET
            | http::Method::HEAD
            | http::Method::OPTIONS
            | http::Method::TRACE => Safety::Safe,
            http::Method::PUT | http::Method::DELETE => Safety::Idempotent,
            _ => Safety::Unsafe,
        }
    }

    /// True for [`Safety::Safe`] and [`Safety::Idempotent`].
    pub fn is_repeatable(self) -> bool {
        !matches!(self, Safety::Unsafe)
    }
}

/// Where a request goes; each target has its own retry rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// The Vi API origin.
    Api,
    /// A signed cloud-storage URL receiving an upload (`PUT`).
    SignedUpload,
    /// A signed cloud-storage URL serving a download (`GET`); it may expire, and a fresh
    /// one can be fetched from the API.
    SignedDownload,
}

/// What one attempt produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A complete response arrived with this status.
    Status {
        /// The HTTP status.
        status: http::StatusCode,
        /// The delay the response asked for in `Retry-After`, if any (see
        /// [`retry_after_from_headers`]).
        retry_after: Option<Duration>,
    },
    /// No complete response arrived.
    Transport(TransportErrorKind),
}

impl Outcome {
    /// The outcome for a response's status and headers; `now` is used for a `Retry-After`
    /// given as an HTTP date.
    pub fn from_response(
        status: http::StatusCode,
        headers: &http::HeaderMap,
        now: SystemTime,
    ) -> Self {
        Outcome::Status {
            status,
            retry_after: retry_after_from_headers(headers, now),
        }
    }
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The attempt succeeded (2xx): use the response.
    Accept,
    /// Wait `after`, then send the same request again.
    Retry {
        /// How long to wait first.
        after: Duration,
    },
    /// The signed URL was refused (most likely expired): wait `after`, fetch a fresh signed
    /// URL from the API, then send the request to it.
    Resign {
        /// How long to wait first.
        after: Duration,
    },
    /// Stop: surface this outcome as the call's error. When the state shows earlier retries
    /// ([`RetryState::retries`] > 0), the caller reports it as retries exhausted.
    Fail,
}

/// How a call retries: delays, retry counts and a time budget.
///
/// The defaults are the spec's (§10, §12.1): full-jitter exponential backoff from 1 s,
/// capped at 60 s, 3 retries for server and network failures, 20 for rate limiting; plus a
/// 30-minute budget per call (see the [module docs](self) for why).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// The backoff before the first retry is drawn from `[0, base_delay)`; it doubles with
    /// each further retry of the same class.
    pub base_delay: Duration,
    /// No single wait is longer than this, whether from backoff or from `Retry-After`.
    pub max_delay: Duration,
    /// Retries allowed for failures other than 429 (server errors, network errors, expired
    /// signed URLs).
    pub max_retries: u32,
    /// Retries allowed for 429 Too Many Requests, counted separately.
    pub max_rate_limit_retries: u32,
    /// The most time one call may take, retries and waits included: a retry whose wait would
    /// end after it is refused. `None` for no limit.
    pub budget: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_retries: 3,
            max_rate_limit_retries: 20,
            budget: Some(Duration::from_secs(30 * 60)),
        }
    }
}

/// The exponent of the backoff doubling stops growing here (docs/protocol.md §10.2), so huge retry
/// numbers neither overflow nor panic.
const MAX_BACKOFF_EXPONENT: u32 = 30;

impl RetryPolicy {
    /// A policy that never retries: every non-2xx outcome fails at once.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            max_rate_limit_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// Sets [`RetryPolicy::base_delay`].
    pub fn with_base_delay(mut self, base_delay: Duration) -> Self {
        self.base_delay = base_delay;
        self
    }

    /// Sets [`RetryPolicy::max_delay`].
    pub fn with_max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// Sets [`RetryPolicy::max_retries`].
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Sets [`RetryPolicy::max_rate_limit_retries`].
    pub fn with_max_rate_limit_retries(mut self, max_rate_limit_retries: u32) -> Self {
        self.max_rate_limit_retries = max_rate_limit_retries;
        self
    }

    /// Sets [`RetryPolicy::budget`] (`None` for no time limit).
    pub fn with_budget(mut self, budget: Option<Duration>) -> Self {
        self.budget = budget;
        self
    }

    /// Decides what to do after an attempt, and counts the retry in `state` when it grants
    /// one.
    ///
    /// Pure: it reads no clock and draws no random number. `elapsed` is the time spent on
    /// this call so far (all attempts and waits); `jitter` is a number in `[0, 1)` supplied
    /// by the caller (values outside are clamped, `NaN` counts as 0).
    pub fn decide(
        &self,
        safety: Safety,
        target: Target,
        outcome: &Outcome,
        state: &mut RetryState,
        elapsed: Duration,
        jitter: f64,
    ) -> Decision {
        let plan = match outcome {
            Outcome::Status {
                status,
                retry_after,
            } => self.plan_status(safety, target, *status, *retry_after),
            Outcome::Transport(kind) => plan_transport(safety, target, *kind),
        };
        let (class, kind, retry_after) = match plan {
            Plan::Accept => return Decision::Accept,
            Plan::Fail => return Decision::Fail,
            Plan::Again {
                class,
                kind,
                retry_after,
            } => (class, kind, retry_after),
        };

        let (used, limit) = match class {
            Class::RateLimited => (state.rate_limit_retries, self.max_rate_limit_retries),
            Class::Other => (state.other_retries, self.max_retries),
        };
        if used >= limit {
            return Decision::Fail;
        }
        let retry_number = used + 1;
        let after = match retry_after {
            Some(asked) => asked.min(self.max_delay),
            None => self.backoff(retry_number, jitter),
        };
        if let Some(budget) = self.budget {
            match elapsed.checked_add(after) {
                Some(end) if end <= budget => {}
                _ => return Decision::Fail,
            }
        }

        match class {
            Class::RateLimited => state.rate_limit_retries = retry_number,
            Class::Other => state.other_retries = retry_number,
        }
        match kind {
            AgainKind::Retry => Decision::Retry { after },
            AgainKind::Resign => Decision::Resign { after },
        }
    }

    /// The full-jitter backoff before retry number `retry_number` (1 for the first retry) of
    /// one failure class: `min(jitter × base_delay × 2^(k−1), max_delay)`, with the exponent
    /// capped at 30. `jitter` is clamped to `[0, 1]` (`NaN` counts as 0); retry number 0 is
    /// treated as 1. Rounded to the nearest nanosecond.
    pub fn backoff(&self, retry_number: u32, jitter: f64) -> Duration {
        let jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        let exponent = retry_number.saturating_sub(1).min(MAX_BACKOFF_EXPONENT);
        let secs = self.base_delay.as_secs_f64() * f64::from(1u32 << exponent) * jitter;
        if secs >= self.max_delay.as_secs_f64() {
            return self.max_delay;
        }
        let nanos = (secs * 1e9).round();
        if nanos.is_nan() || nanos >= u64::MAX as f64 {
            return self.max_delay;
        }
        // `nanos` is finite, non-negative and below u64::MAX here, so the cast is exact
        // up to rounding of the float.
        Duration::from_nanos(nanos as u64).min(self.max_delay)
    }

    fn plan_status(
        &self,
        safety: Safety,
        target: Target,
        status: http::StatusCode,
        retry_after: Option<Duration>,
    ) -> Plan {
        if status.is_success() {
            return Plan::Accept;
        }
        let code = status.as_u16();
        // 501 Not Implemented and 505 HTTP Version Not Supported say the server cannot do
        // this request at all: asking again gets the same answer.
        let never_better = matches!(code, 501 | 505);
        if never_better {
            return Plan::Fail;
        }
        let server_side = code == 408 || status.is_server_error();
        match target {
            Target::Api => {
                if code == 429 {
                    // Spec §10.2: Retry-After is honoured for 429 only on API calls.
                    Plan::again(Class::RateLimited, retry_after)
                } else if server_side && safety.is_repeatable() {
                    Plan::again(Class::Other, None)
                } else {
                    Plan::Fail
                }
            }
            Target::SignedUpload => {
                if code == 429 {
                    Plan::again(Class::RateLimited, retry_after)
                } else if code == 408 || status.is_server_error() {
                    Plan::again(Class::Other, retry_after)
                } else if code == 400 || code == 403 {
                    // The official client repeats any error status on the same URL (spec
                    // §10.3), but a refused signature (S3-style 403, GCS-style 400 when
                    // expired) gets the same answer every time: only a fresh URL may pass.
                    // Where none can be had here (a single PUT), the upload engine moves
                    // the file to a fresh session; a 400 before the URL's expiry is the
                    // storage's verdict on the file and is reported.
                    Plan::Again {
                        class: Class::Other,
                        kind: AgainKind::Resign,
                        retry_after: None,
                    }
                } else {
                    // 404, 409...: the same answer every time. 1xx/3xx: a signed PUT is
                    // never redirected.
                    Plan::Fail
                }
            }
            Target::SignedDownload => {
                if code == 429 {
                    Plan::again(Class::RateLimited, retry_after)
                } else if server_side {
                    Plan::again(Class::Other, retry_after)
                } else if code == 400 || code == 403 {
                    // An expired signature: S3-style stores answer 403, GCS-style 400
                    // (docs/protocol.md §7 step 9). A fresh URL may work; the old one never will.
                    Plan::Again {
                        class: Class::Other,
                        kind: AgainKind::Resign,
                        retry_after: None,
                    }
                } else {
                    Plan::Fail
                }
            }
        }
    }
}

fn plan_transport(safety: Safety, target: Target, kind: TransportErrorKind) -> Plan {
    let safety = match target {
        Target::Api => safety,
        Target::SignedUpload => Safety::Idempotent,
        Target::SignedDownload => Safety::Safe,
    };
    match kind {
        // Nothing reached the server, so even an unsafe request may go again.
        TransportErrorKind::Connect => Plan::again(Class::Other, None),
        // The server may have acted on the request: only repeat what is safe to repeat.
        TransportErrorKind::Timeout
        | TransportErrorKind::Interrupted
        | TransportErrorKind::Protocol
        | TransportErrorKind::BodyTooLong
        | TransportErrorKind::Other => {
            if safety.is_repeatable() {
                Plan::again(Class::Other, None)
            } else {
                Plan::Fail
            }
        }
        // A local file problem: sending again reads or writes the same file.
        TransportErrorKind::BodyRead | TransportErrorKind::BodyWrite => Plan::Fail,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    RateLimited,
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AgainKind {
    Retry,
    Resign,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    Accept,
    Fail,
    Again {
        class: Class,
        kind: AgainKind,
        retry_after: Option<Duration>,
    },
}

impl Plan {
    fn again(class: Class, retry_after: Option<Duration>) -> Self {
        Plan::Again {
            class,
            kind: AgainKind::Retry,
            retry_after,
        }
    }
}

/// The retries granted so far to one call, per class (docs/protocol.md §10.1 counts 429 separately).
///
/// Start each call with a fresh `RetryState::default()` and pass it to every
/// [`RetryPolicy::decide`] of that call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetryState {
    other_retries: u32,
    rate_limit_retries: u32,
}

impl RetryState {
    /// A state with no retries yet.
    pub fn new() -> Self {
        RetryState::default()
    }

    /// Retries granted for 429 answers.
    pub fn rate_limit_retries(&self) -> u32 {
        self.rate_limit_retries
    }

    /// Retries (and re-signs) granted for every other failure.
    pub fn other_retries(&self) -> u32 {
        self.other_retries
    }

    /// All retries granted so far.
    pub fn retries(&self) -> u32 {
        self.other_retries.saturating_add(self.rate_limit_retries)
    }

    /// Attempts made so far, counting the one whose outcome was just decided: one more than
    /// [`RetryState::retries`] once [`RetryPolicy::decide`] has returned
    /// [`Decision::Fail`] or [`Decision::Accept`].
    pub fn attempts(&self) -> u32 {
        self.retries().saturating_add(1)
    }
}

/// Parses a `Retry-After` value: a number of seconds (decimals allowed) or an HTTP date.
///
/// A date in the past gives zero. A negative, infinite or `NaN` number of seconds, or
/// anything unparseable, gives `None`, so the caller falls back to backoff (the Python SDK
/// fails locally on a negative value instead; waiting is kinder). A number too large for a
/// [`Duration`] gives [`Duration::MAX`] (the policy caps it at `max_delay` anyway).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '.' | '+' | '-')) {
        let secs: f64 = value.parse().ok()?;
        if !secs.is_finite() || secs < 0.0 {
            return None;
        }
        return Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The `Retry-After` delay of a response's headers, if present and parseable (see
/// [`parse_retry_after`]).
pub fn retry_after_from_headers(headers: &http::HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, now)
}

#[cfg(test)]
mod tests;
