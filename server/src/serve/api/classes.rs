//! The class routes: the instructor's (create, list, get, delete, roster as JSON, live
//! stream and CSV, broadcast) take [`Identity::require_instructor`]; a learner's
//! (join, their own class and its broadcast stream) only ever reach the caller's own
//! class, so there is no path by which one class's learner names another class.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;

use super::error::{ApiError, ApiResult, Json};
use super::events::{event_stream, live, sse};
use super::extract::ClientIp;
use crate::serve::auth::Identity;
use crate::serve::classes::roster::{self, Roster};
use crate::serve::classes::{ClassError, NewClass};
use crate::serve::events::Event;
use crate::serve::language::Wanted;
use crate::serve::state::AppState;

/// How often the live roster looks for changes: well within the second an
/// instructor should wait to see a check or a step.
const ROSTER_POLL: Duration = Duration::from_millis(400);

pub async fn create(
    State(state): State<AppState>,
    id: Identity,
    Json(body): Json<NewClass>,
) -> ApiResult<Response> {
    id.require_instructor()?;
    let class = state.classes.create(body)?;
    Ok((StatusCode::CREATED, Json(class)).into_response())
}

pub async fn list(State(state): State<AppState>, id: Identity) -> ApiResult<Response> {
    id.require_instructor()?;
    Ok(Json(state.classes.list()?).into_response())
}

pub async fn get(
    State(state): State<AppState>,
    id: Identity,
    Path(class): Path<String>,
) -> ApiResult<Response> {
    id.require_instructor()?;
    Ok(Json(state.classes.get(&class)?).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    id: Identity,
    Path(class): Path<String>,
) -> ApiResult<StatusCode> {
    id.require_instructor()?;
    state.classes.delete(&class)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn roster_of(state: &AppState, class: &str) -> Result<Roster, ClassError> {
    let stuck_after = state.config.limits.stuck_after;
    roster::gather(&state.classes, &state.sessions, class, stuck_after).await
}

pub async fn roster(
    State(state): State<AppState>,
    id: Identity,
    Path(class): Path<String>,
) -> ApiResult<Response> {
    id.require_instructor()?;
    Ok(Json(roster_of(&state, &class).await?).into_response())
}

pub async fn roster_csv(
    State(state): State<AppState>,
    id: Identity,
    Path(class): Path<String>,
) -> ApiResult<Response> {
    id.require_instructor()?;
    let roster = roster_of(&state, &class).await?;
    let csv = roster::to_csv(&roster).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "csv_failed",
            e.to_string(),
        )
    })?;
    let file = format!("attachment; filename=\"roster-{}.csv\"", roster.class);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, file),
        ],
        csv,
    )
        .into_response())
}

/// The roster, live: the whole roster as one event, again whenever it changed.
pub async fn roster_events(
    State(state): State<AppState>,
    id: Identity,
    Path(class): Path<String>,
) -> ApiResult<Response> {
    id.require_instructor()?;
    // An unknown class is a 404 now, not an empty stream.
    let first = roster_of(&state, &class).await?;
    let rosters = futures::stream::unfold(
        (state.clone(), class, None::<Roster>, Some(first)),
        |(state, class, last, mut next)| async move {
            loop {
                let roster = match next.take() {
                    Some(roster) => roster,
                    None => {
                        tokio::time::sleep(ROSTER_POLL).await;
                        // A class deleted meanwhile ends the stream.
                        roster_of(&state, &class).await.ok()?
                    }
                };
                if last.as_ref() != Some(&roster) {
                    let send = roster.clone();
                    return Some((send, (state, class, Some(roster), None)));
                }
            }
        },
    );
    Ok(sse(rosters, state.shutdown.clone()).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BroadcastBody {
    message: String,
}

pub async fn broadcast(
    State(state): State<AppState>,
    id: Identity,
    Path(class): Path<String>,
    Json(body): Json<BroadcastBody>,
) -> ApiResult<Response> {
    id.require_instructor()?;
    Ok(Json(state.classes.broadcast(&class, &body.message)?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinBody {
    code: String,
    name: String,
}

/// A learner joins with the class's code and a display name. Someone without an
/// identity yet (`--auth code`) gets one: the class code admits them.
pub async fn join(
    State(state): State<AppState>,
    id: Identity,
    ClientIp(client): ClientIp,
    headers: axum::http::HeaderMap,
    wanted: Wanted,
    Json(body): Json<JoinBody>,
) -> ApiResult<Response> {
    let (jar, learner) = match id.learner {
        Some(learner) => (None, learner),
        None => {
            let (jar, learner) = state.auth.new_learner(state.auth.jar(&headers));
            (Some(jar), learner)
        }
    };
    let class = state
        .classes
        .join(client, &body.code, &learner, &body.name, &wanted)?;
    // The cookie only goes out with a successful join.
    Ok((jar, Json(class)).into_response())
}

pub async fn mine(
    State(state): State<AppState>,
    id: Identity,
    wanted: Wanted,
) -> ApiResult<Response> {
    let learner = id.require_learner()?;
    Ok(Json(state.classes.mine(learner, &wanted)?).into_response())
}

/// The member's class stream: the latest broadcast, then every new one.
pub async fn mine_events(State(state): State<AppState>, id: Identity) -> ApiResult<Response> {
    let learner = id.require_learner()?;
    let class = state.classes.mine(learner, &Wanted::default())?;
    let (_, rx) = state.classes.stream(&class.id).subscribe();
    let latest = class.message.map(|b| Event::Broadcast {
        message: b.message,
        at: b.at,
    });
    let events = futures::stream::iter(latest).chain(live(rx));
    Ok(event_stream(events, state.shutdown.clone()).into_response())
}
