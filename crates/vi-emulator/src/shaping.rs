//! Network shaping: a body paced to a number of bytes per second.

use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

/// Pieces a paced body is cut into: about 1/20 s of transfer each (at least 1 KiB), so
/// that a slow rate is smooth rather than one large chunk and a long pause.
fn slice_len(rate: u64) -> usize {
    usize::try_from((rate / 20).max(1024)).unwrap_or(usize::MAX)
}

struct Pacer<S> {
    inner: S,
    rate: u64,
    slice: usize,
    start: Option<Instant>,
    sent: u64,
    pending: Bytes,
}

/// Paces a stream of chunks to `rate` bytes per second, measured from its first chunk.
fn pace<S, E>(inner: S, rate: u64) -> impl Stream<Item = Result<Bytes, E>> + Send
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
    E: Send,
{
    let rate = rate.max(1);
    let pacer = Pacer {
        inner,
        rate,
        slice: slice_len(rate),
        start: None,
        sent: 0,
        pending: Bytes::new(),
    };
    futures_util::stream::unfold(pacer, |mut p| async move {
        if p.pending.is_empty() {
            match p.inner.next().await? {
                Ok(chunk) => p.pending = chunk,
                Err(e) => return Some((Err(e), p)),
            }
        }
        let start = *p.start.get_or_insert_with(Instant::now);
        let piece = p.pending.split_to(p.pending.len().min(p.slice));
        p.sent = p.sent.saturating_add(piece.len() as u64);
        // Whole seconds and the remainder separately: no float rounding over hours.
        let secs = p.sent / p.rate;
        let nanos = (p.sent % p.rate) * 1_000_000_000 / p.rate;
        let due = start + Duration::from_secs(secs) + Duration::from_nanos(nanos);
        tokio::time::sleep_until(due).await;
        Some((Ok(piece), p))
    })
}

/// `body` delivered at no more than `rate` bytes per second.
pub(crate) fn paced(body: Body, rate: u64) -> Body {
    Body::from_stream(pace(body.into_data_stream(), rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pacing_keeps_every_byte_in_order() {
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from(vec![1u8; 5000])),
            Ok(Bytes::new()),
            Ok(Bytes::from(vec![2u8; 3000])),
        ];
        let out: Vec<Bytes> = pace(futures_util::stream::iter(chunks), 2048)
            .map(|r| r.unwrap())
            .collect()
            .await;
        let all: Vec<u8> = out.iter().flat_map(|b| b.iter().copied()).collect();
        assert_eq!(all.len(), 8000);
        assert!(all[..5000].iter().all(|&b| b == 1));
        assert!(all[5000..].iter().all(|&b| b == 2));
        assert!(out.iter().all(|b| b.len() <= 1024));
    }
}
