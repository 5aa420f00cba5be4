//! The axum router. `/graphql` follows the GraphQL-over-HTTP spec: POST and
//! GET, `application/json` and `application/graphql-response+json` answers
//! chosen by `Accept`, 4xx for requests that cannot run, mutations refused
//! over GET. Every request is counted against its caller's rate and
//! authenticated by its bearer token before its body is read, and runs
//! under a deadline once it has arrived. The connection side (timeouts,
//! caps) is `listener.rs`.

mod listener;
mod multipart;
mod rate_limit;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{BatchRequest, BatchResponse, Request};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::documents::{DocumentCache, PersistedQueryError};
use crate::domain::Principal;
use crate::graphql::cost::{self, CostSchema};
use crate::graphql::{AppSchema, build_schema};
use crate::store::now_micros;
use crate::store::tokens::{self, Authenticated};
use crate::telemetry;
use crate::token_cache::TokenCache;
pub use listener::ConnectionLimits;
use rate_limit::{Caller, Decision, RateLimits};

/// What one client may take of the server, over HTTP.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub connections: ConnectionLimits,
    /// Longest pause between two pieces of a request's body.
    pub body_timeout: Duration,
    /// How long a request may run once its body has arrived.
    pub request_timeout: Duration,
    /// Requests a minute per token (per client address without one);
    /// 0 is no limit.
    pub rate_limit_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connections: ConnectionLimits {
                header_timeout: Duration::from_secs(10),
                max_connections: 1024,
                max_per_address: 256,
            },
            body_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            rate_limit_per_minute: 1200,
        }
    }
}

/// Serves the API on `listener` with the limits of `state`'s settings
/// until `shutdown` completes.
pub async fn serve(state: AppState, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    let limits = state.settings.http;
    listener::serve(
        listener,
        app(state),
        limits.connections,
        shutdown,
        limits.request_timeout,
    )
    .await;
}

/// GraphiQL, its assets pinned by exact version and integrity hash (the
/// page's head says how to bump them).
const GRAPHIQL_PAGE: &str = include_str!("graphiql.html");

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

#[derive(Clone)]
struct HttpState {
    app: AppState,
    schema: AppSchema,
    tokens: Arc<TokenCache>,
    documents: Arc<DocumentCache>,
    costs: Arc<CostSchema>,
    rate_limits: Option<Arc<RateLimits>>,
}

/// Every request has an id: the client's `x-request-id` if it sent a fit
/// one (so a trace can follow a request across services), else a new
/// UUID. It is echoed in the response and carried by every log line of
/// the request, through the span the trace layer opens.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Drops a client's request id that is too long or holds more than
/// letters, digits and `-_.:`, so one is made in its place: it goes into
/// every log line.
async fn drop_unfit_request_id(mut request: axum::extract::Request) -> axum::extract::Request {
    let fit = request.headers().get(&REQUEST_ID).is_some_and(|id| {
        id.len() <= 128
            && id
                .as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    });
    if !fit {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        path = %request.uri().path()
    )
}

/// The router alone; [`serve`] adds the connection limits around it.
pub fn app(state: AppState) -> Router {
    let schema = build_schema(state.clone());
    // Our own SDL always parses; an empty table would price every field 1.
    let costs = CostSchema::from_sdl(&schema.sdl()).unwrap_or_else(|err| {
        tracing::error!(error = %err, "the schema's SDL cannot be read for pricing");
        CostSchema::default()
    });
    let tokens = Arc::new(TokenCache::new(state.settings.token_cache_ttl));
    let limits = state.settings.http;
    let rate_limits = RateLimits::new(limits.rate_limit_per_minute);
    telemetry::spawn_upkeep();
    if let Some(rate_limits) = &rate_limits {
        rate_limits.spawn_pruning();
    }
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::middleware::map_request(drop_unfit_request_id))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(request_span))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(RequestBodyTimeoutLayer::new(limits.body_timeout)),
        )
        .with_state(HttpState {
            app: state,
            schema,
            tokens,
            documents: Arc::new(DocumentCache::default()),
            costs: Arc::new(costs),
            rate_limits,
        })
}

async fn healthz(State(state): State<HttpState>) -> Response {
    match state.app.store.db().ping().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(err) => {
            tracing::error!(error = %err, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Prometheus's scrape: the text format, for an ADMIN's bearer token
/// (Prometheus's `authorization` setting), under the same rate limit.
async fn metrics(State(state): State<HttpState>, request: axum::extract::Request) -> Response {
    let (parts, _) = request.into_parts();
    let media = MediaType::Json;
    let admitted = match admit(&state, &parts.headers, &parts.extensions, media).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    if !admitted.principal.may_administer() {
        let response = request_error(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "metrics are for admins",
            media,
        );
        return with_rate(response, admitted.rate);
    }
    let response = match telemetry::render(&state.app.store).await {
        Some(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            )],
            text,
        )
            .into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "no metrics recorder").into_response(),
    };
    with_rate(response, admitted.rate)
}

/// The media type the client asked to receive.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphqlResponseJson,
    Json,
}

impl MediaType {
    fn as_str(self) -> &'static str {
        match self {
            MediaType::GraphqlResponseJson => GRAPHQL_RESPONSE_JSON,
            MediaType::Json => JSON,
        }
    }
}

fn accepts(headers: &HeaderMap, media: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            part.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case(media))
        })
}

/// A client that sends no `Accept` gets `application/json`, as the spec
/// asks for compatibility with older clients.
fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    if headers.get(header::ACCEPT).is_none() {
        return Some(MediaType::Json);
    }
    if accepts(headers, GRAPHQL_RESPONSE_JSON) {
        Some(MediaType::GraphqlResponseJson)
    } else if accepts(headers, JSON) || accepts(headers, "*/*") || accepts(headers, "application/*")
    {
        Some(MediaType::Json)
    } else {
        None
    }
}

/// An answer for a request that never reached execution.
fn request_error(status: StatusCode, code: &str, message: &str, media: MediaType) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.as_str()),
    );
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// The token of an `Authorization: Bearer <token>` header (the scheme in
/// any case, as RFC 9110 has it).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A request let in: who sent it, and what the rate limiter said.
struct Admitted {
    principal: Principal,
    rate: Option<Decision>,
}

/// Counts the request against its caller's rate, then authenticates it. A
/// token already known is counted as itself; any other request, by its
/// client address, before its token costs a database lookup.
async fn admit(
    state: &HttpState,
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
    media: MediaType,
) -> Result<Admitted, Response> {
    let token = bearer(headers);
    // Whether cached tokens still stand: one primary-key read. When it
    // fails, nothing cached is trusted and the lookup reports the trouble.
    let generation = match token {
        Some(_) => crate::store::auth_generation::current(&state.app.store)
            .await
            .ok(),
        None => None,
    };
    let now = now_micros();
    let cached = token
        .zip(generation)
        .and_then(|(token, generation)| state.tokens.get(token, generation))
        .filter(|caller| !caller.expired(now));
    let rate = state.rate_limits.as_ref().map(|limits| {
        let caller = match (token, &cached) {
            (Some(token), Some(_)) => Caller::Token(token),
            _ => Caller::Address(listener::remote_address(extensions)),
        };
        limits.check(caller)
    });
    if let Some(decision) = rate
        && !decision.allowed
    {
        telemetry::record_refusal("RATE_LIMITED");
        let response = request_error(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            &format!(
                "more than {} requests a minute; wait before trying again",
                decision.limit
            ),
            media,
        );
        return Err(with_rate(response, rate));
    }
    let caller = match (token, cached) {
        (Some(token), Some(caller)) => {
            if state.tokens.claim_last_used(token, now) {
                note_use(state, caller.token_id, now);
            }
            caller
        }
        _ => authenticate(state, token, generation, now)
            .await
            .map_err(|message| {
                telemetry::record_refusal("UNAUTHENTICATED");
                with_rate(
                    request_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message, media),
                    rate,
                )
            })?,
    };
    Ok(Admitted {
        principal: caller.principal,
        rate,
    })
}

/// The media type to answer in and the admitted caller, or the answer
/// that ends the request (406, 401, 429).
async fn negotiate_and_admit(
    state: &HttpState,
    parts: &axum::http::request::Parts,
) -> Result<(MediaType, Admitted), Response> {
    let Some(media) = negotiate(&parts.headers) else {
        return Err(StatusCode::NOT_ACCEPTABLE.into_response());
    };
    let admitted = admit(state, &parts.headers, &parts.extensions, media).await?;
    Ok((media, admitted))
}

fn with_rate(mut response: Response, rate: Option<Decision>) -> Response {
    if let Some(decision) = rate {
        decision.write_headers(response.headers_mut());
    }
    response
}

/// Looks the token up; a caller found is cached under the generation read
/// before the lookup, so a change committed meanwhile makes the next
/// request look again.
async fn authenticate(
    state: &HttpState,
    token: Option<&str>,
    generation: Option<i64>,
    now: i64,
) -> Result<Authenticated, &'static str> {
    let token = token.ok_or("an Authorization: Bearer <token> header is required")?;
    match tokens::authenticate(state.app.store.db(), token).await {
        Ok(Some(mut caller)) => {
            if caller.last_used_due(now) {
                note_use(state, caller.token_id, now);
                caller.last_used_at = Some(now);
            }
            if let Some(generation) = generation {
                state.tokens.insert(token, caller.clone(), generation);
            }
            Ok(caller)
        }
        Ok(None) => Err("the token is not valid, revoked or expired, or its user is deactivated"),
        Err(err) => {
            tracing::error!(error = %err, "token lookup failed");
            Err("the token could not be checked")
        }
    }
}

/// Writes a token's `lastUsedAt` without making the request wait for it.
fn note_use(state: &HttpState, token_id: i64, now: i64) {
    let db = state.app.store.db().clone();
    tokio::spawn(async move {
        if let Err(err) = tokens::touch(&db, token_id, now).await {
            tracing::warn!(error = %err, "could not note a token's last use");
        }
    });
}

async fn graphql_get(State(state): State<HttpState>, request: axum::extract::Request) -> Response {
    let (parts, _) = request.into_parts();
    let headers = &parts.headers;
    if accepts(headers, "text/html") && !accepts(headers, GRAPHQL_RESPONSE_JSON) {
        return Html(GRAPHIQL_PAGE).into_response();
    }
    let (media, admitted) = match negotiate_and_admit(&state, &parts).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let rate = admitted.rate;
    let mut request = match async_graphql::http::parse_query_string(parts.uri.query().unwrap_or(""))
    {
        Ok(request) => request,
        Err(err) => {
            return with_rate(
                request_error(
                    StatusCode::BAD_REQUEST,
                    "BAD_REQUEST",
                    &err.to_string(),
                    media,
                ),
                rate,
            );
        }
    };
    // A hash alone says nothing of the operation until its text is found.
    if let Err(err) = state.documents.resolve_persisted(&mut request) {
        let body = async_graphql::Response::from_errors(vec![persisted_error(&err)]);
        let (status, body) = render(BatchResponse::Single(body), media);
        let mut response = (status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(media.as_str()),
        );
        return with_rate(response, rate);
    }
    if is_mutation(&mut request) {
        let mut response = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "BAD_REQUEST",
            "mutations must be sent with POST",
            media,
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return with_rate(response, rate);
    }
    let response = execute(
        &state,
        BatchRequest::Single(request),
        admitted.principal,
        media,
    )
    .await;
    with_rate(response, rate)
}

/// Whether the operation the request selects is a mutation; with no name
/// given, whether any operation of the document is (a named operation,
/// even alone, is among "multiple" to the parser). A document that does not
/// parse is left for execution to report.
fn is_mutation(request: &mut Request) -> bool {
    let operation_name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return false;
    };
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => op.node.ty == OperationType::Mutation,
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .get(name.as_str())
            .is_some_and(|op| op.node.ty == OperationType::Mutation),
        (DocumentOperations::Multiple(ops), None) => {
            ops.values().any(|op| op.node.ty == OperationType::Mutation)
        }
    }
}

async fn graphql_post(State(state): State<HttpState>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let (media, admitted) = match negotiate_and_admit(&state, &parts).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let rate = admitted.rate;
    let response = match read_request(&state, headers, body, &admitted.principal).await {
        Ok(batch) => execute(&state, batch, admitted.principal, media).await,
        Err((status, code, message)) => {
            telemetry::record_refusal(code);
            request_error(status, code, &message, media)
        }
    };
    with_rate(response, rate)
}

/// The operations of a POST, read within the body limits.
async fn read_request(
    state: &HttpState,
    headers: &HeaderMap,
    body: Body,
    principal: &Principal,
) -> Result<BatchRequest, (StatusCode, &'static str, String)> {
    let settings = &state.app.settings;
    let batch = if let Some(content_type) = multipart_type(headers) {
        // Only uploads are multipart, and only importers upload: anyone
        // else is refused before a byte of the file is read.
        if !principal.may_write_contacts() {
            return Err((
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                "this role cannot upload files".to_owned(),
            ));
        }
        let budgets = multipart::Budgets {
            text_bytes: settings.max_body_bytes,
            file_bytes: settings.max_upload_bytes,
        };
        multipart::read(content_type, body, &budgets)
            .await
            .map_err(|err| {
                let (status, message) = err.status_and_message(&budgets);
                let code = if status.is_server_error() {
                    "INTERNAL"
                } else {
                    "BAD_REQUEST"
                };
                (status, code, message)
            })?
    } else {
        let bytes = read_limited(body, settings.max_body_bytes)
            .await
            .map_err(|err| {
                let (status, message) = err.status_and_message(settings.max_body_bytes);
                (status, "BAD_REQUEST", message)
            })?;
        parse_body(headers, &bytes).map_err(|(status, message)| (status, "BAD_REQUEST", message))?
    };
    if let BatchRequest::Batch(requests) = &batch
        && (requests.is_empty() || requests.len() > settings.max_batch_size)
    {
        let message = format!(
            "a batch must hold between 1 and {} operations",
            settings.max_batch_size
        );
        return Err((StatusCode::BAD_REQUEST, "BAD_REQUEST", message));
    }
    Ok(batch)
}

/// Bodies up to this size are read to the end even when over the limit, so
/// a client that writes its whole request before reading gets the 413
/// instead of a reset connection. Beyond it the connection is dropped.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    TooLarge,
    /// Nothing arrived for longer than the body timeout.
    Stalled,
    /// The connection broke.
    Broken,
}

impl BodyError {
    fn from_source(err: Box<dyn std::error::Error + Send + Sync>) -> Self {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err.as_ref());
        while let Some(err) = cause {
            if err.is::<tower_http::timeout::TimeoutError>() {
                return BodyError::Stalled;
            }
            cause = err.source();
        }
        BodyError::Broken
    }

    fn status_and_message(&self, max: usize) -> (StatusCode, String) {
        match self {
            BodyError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body exceeds {max} bytes"),
            ),
            BodyError::Stalled => (
                StatusCode::REQUEST_TIMEOUT,
                "the request body stopped arriving".to_owned(),
            ),
            BodyError::Broken => (
                StatusCode::BAD_REQUEST,
                "the request body could not be read".to_owned(),
            ),
        }
    }
}

/// The body if it fits in `max` bytes.
async fn read_limited(body: Body, max: usize) -> Result<Bytes, BodyError> {
    let mut stream = body.into_data_stream();
    let mut buffer = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|err| BodyError::from_source(err.into_inner()))?;
        seen += chunk.len();
        if seen > DRAIN_LIMIT {
            return Err(BodyError::TooLarge);
        }
        if seen <= max {
            buffer.extend_from_slice(&chunk);
        }
    }
    if seen > max {
        return Err(BodyError::TooLarge);
    }
    Ok(Bytes::from(buffer))
}

/// The content type of a multipart request, if this is one.
fn multipart_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

fn parse_body(headers: &HeaderMap, bytes: &Bytes) -> Result<BatchRequest, (StatusCode, String)> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(JSON);
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        JSON => serde_json::from_slice::<BatchRequest>(bytes).map_err(|err| {
            (
                StatusCode::BAD_REQUEST,
                format!("the body is not a GraphQL request in JSON: {err}"),
            )
        }),
        "application/graphql" => {
            let query = std::str::from_utf8(bytes)
                .map_err(|_| (StatusCode::BAD_REQUEST, "the body is not UTF-8".to_owned()))?;
            Ok(BatchRequest::Single(Request::new(query)))
        }
        _ => Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("content type {content_type:?} is not supported; send application/json"),
        )),
    }
}

async fn execute(
    state: &HttpState,
    batch: BatchRequest,
    principal: Principal,
    media: MediaType,
) -> Response {
    let work = async {
        match batch {
            BatchRequest::Single(request) => {
                BatchResponse::Single(run_one(state, request, &principal).await)
            }
            BatchRequest::Batch(requests) => BatchResponse::Batch(
                futures_util::future::join_all(
                    requests
                        .into_iter()
                        .map(|request| run_one(state, request, &principal)),
                )
                .await,
            ),
        }
    };
    let deadline = state.app.settings.http.request_timeout;
    let Ok(response) = tokio::time::timeout(deadline, work).await else {
        telemetry::record_refusal("TIMEOUT");
        return request_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "TIMEOUT",
            &format!(
                "the request did not finish within {} ms; ask for less at a time",
                deadline.as_millis()
            ),
            media,
        );
    };
    let (status, body) = render(response, media);
    let mut http = (status, body.to_string()).into_response();
    http.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.as_str()),
    );
    http
}

/// One operation: its document parsed (or taken from the cache), priced,
/// and run if it is within the limits.
async fn run_one(
    state: &HttpState,
    mut request: Request,
    principal: &Principal,
) -> async_graphql::Response {
    let started = std::time::Instant::now();
    if let Err(err) = state.documents.resolve_persisted(&mut request) {
        telemetry::record_refusal(err.code());
        return async_graphql::Response::from_errors(vec![persisted_error(&err)]);
    }
    state.documents.prepare(&mut request);
    let variables = std::mem::take(&mut request.variables);
    let mut operation_name = request.operation_name.clone();
    let mut refusal = None;
    // A document that does not parse is left for execution to report.
    if let Ok(document) = request.parsed_query() {
        // One operation needs no name in the request; it may have one.
        let mut operations = document.operations.iter();
        if operation_name.is_none()
            && let (Some((Some(name), _)), None) = (operations.next(), operations.next())
        {
            operation_name = Some(name.to_string());
        }
        refusal = cost::check(
            &state.costs,
            document,
            &variables,
            operation_name.as_deref(),
            &state.app.settings.query_limits,
        )
        .err();
    }
    let response = match refusal {
        Some(refusal) => async_graphql::Response::from_errors(vec![refusal.into_server_error()]),
        None => {
            request.variables = variables;
            state.schema.execute(request.data(principal.clone())).await
        }
    };
    telemetry::record_request(
        telemetry::operation_label(operation_name.as_deref()),
        outcome(&response),
        started.elapsed(),
    );
    response
}

fn persisted_error(err: &PersistedQueryError) -> async_graphql::ServerError {
    let mut error = async_graphql::ServerError::new(err.to_string(), None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", err.code());
    error
}

/// What a request came to, for the metrics: `ok`, or the code of its first
/// error (an error without one is async-graphql refusing the document).
fn outcome(response: &async_graphql::Response) -> &'static str {
    const CODES: [&str; 12] = [
        "PERSISTED_QUERY_NOT_FOUND",
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NOT_FOUND",
        "VALIDATION",
        "CANNOT_SAVE_CONTACT",
        "CONFLICT",
        "RATE_LIMITED",
        "TIMEOUT",
        "TOO_MANY_JOBS",
        "BAD_REQUEST",
        "INTERNAL",
    ];
    let Some(error) = response.errors.first() else {
        return "ok";
    };
    let code = error
        .extensions
        .as_ref()
        .and_then(|ext| ext.get("code"))
        .and_then(|code| match code {
            async_graphql::Value::String(code) => Some(code.as_str()),
            _ => None,
        });
    code.and_then(|code| CODES.into_iter().find(|known| *known == code))
        .unwrap_or("BAD_REQUEST")
}

/// A response whose errors all lack a path never started executing: the
/// document did not parse or validate. It carries no `data`, and with the
/// GraphQL response media type it is a 400. Errors of ours always carry a
/// code; one without is async-graphql refusing the document or an argument
/// value, which is the client's to fix: BAD_REQUEST.
fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

fn render_one(mut response: async_graphql::Response) -> (bool, Value) {
    let request_error = is_request_error(&response);
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|ext| ext.get("code").is_some());
        if !has_code {
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", "BAD_REQUEST");
        }
    }
    let mut value = serde_json::to_value(&response).unwrap_or_else(|_| json!({}));
    if request_error && let Some(object) = value.as_object_mut() {
        object.remove("data");
    }
    (request_error, value)
}

fn render(response: BatchResponse, media: MediaType) -> (StatusCode, Value) {
    match response {
        BatchResponse::Single(one) => {
            let (request_error, value) = render_one(one);
            let status = if request_error && media == MediaType::GraphqlResponseJson {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            (status, value)
        }
        BatchResponse::Batch(many) => {
            let values: Vec<Value> = many.into_iter().map(|r| render_one(r).1).collect();
            (StatusCode::OK, Value::Array(values))
        }
    }
}
