//! Server-Sent Events responses: a session's and a class's event streams, and the live
//! roster, all as JSON messages that end when the server stops.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{KeepAlive, Sse};
use futures::{Stream, StreamExt};
use serde::Serialize;
use tokio_stream::wrappers::BroadcastStream;
use tokio_util::sync::CancellationToken;

use crate::serve::events::Event;

/// What a broadcast receiver gets; a lagging browser skips events rather than holding
/// the server's memory.
pub fn live(rx: tokio::sync::broadcast::Receiver<Event>) -> impl Stream<Item = Event> {
    BroadcastStream::new(rx).filter_map(|e| std::future::ready(e.ok()))
}

/// Events as SSE, ending right after `ended` (so browsers stop listening) or when the
/// server stops.
pub fn event_stream(
    events: impl Stream<Item = Event> + Send + 'static,
    shutdown: CancellationToken,
) -> Sse<impl Stream<Item = Result<axum::response::sse::Event, Infallible>>> {
    let events = events.scan(false, |finished, event| {
        let next = (!*finished).then(|| {
            *finished = matches!(event, Event::Ended { .. });
            event
        });
        std::future::ready(next)
    });
    sse(events, shutdown)
}

/// Values as SSE messages of JSON, until the server stops.
pub fn sse<T: Serialize>(
    values: impl Stream<Item = T> + Send + 'static,
    shutdown: CancellationToken,
) -> Sse<impl Stream<Item = Result<axum::response::sse::Event, Infallible>>> {
    let stream = values.take_until(shutdown.cancelled_owned()).map(|value| {
        Ok(axum::response::sse::Event::default()
            .json_data(&value)
            .unwrap_or_default())
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
