//! A HubSpot-like CRM v3 API: object lists with `after` paging and company
//! associations, the search API (filters, ascending sort, `after`, and its 10,000
//! result window), v4 batch association reads, pipelines, and object creation with
//! a unique property — in HubSpot's published shapes and error objects.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use crate::faults::{Fault, FaultReport, FaultState, Faults, cut_off_response, too_many_requests};

const SEARCH_WINDOW: usize = 10_000;
/// The property the fake enforces as unique (as a HubSpot admin would set it up).
pub const UNIQUE_PROPERTY: &str = "portico_request_id";

struct CrmObject {
    id: String,
    properties: Map<String, Value>,
    created_at: String,
    updated_at: String,
    companies: Vec<String>,
}

struct HubSpotState {
    token: String,
    objects: HashMap<String, Vec<CrmObject>>,
    /// Per object type, as HubSpot numbers them: a company and a contact may
    /// share an id.
    next_ids: HashMap<String, u64>,
    /// Milliseconds; strictly increasing so "last modified" orders every change.
    clock: i64,
    faults: FaultState,
    /// Misbehaves as a mock of HubSpot's published spec did: every search page
    /// names this as its next `after`, readable or not.
    search_cursor: Option<String>,
    /// Misbehaves as Prism serving HubSpot's spec did: every list page names this
    /// as `paging.next.after` (a constant string repeats; anything else is unreadable).
    list_cursor: Option<Value>,
    /// The v4 association batch read answers without these objects (as a partial
    /// answer would), whatever their associations.
    associations_left_out: bool,
    /// Creations whose answer is lost: the object is created, then the connection
    /// is cut before the client reads the answer.
    creations_to_lose: u32,
    /// `GET /crm/v3/pipelines/{type}` requests received.
    pipeline_reads: u64,
    /// While `true`, object creations wait (as a slow upstream would) so that a
    /// test can look at what a client shows before its write-back lands.
    creations_held: tokio::sync::watch::Sender<bool>,
}

#[derive(Clone)]
pub struct FakeHubSpot {
    state: Arc<Mutex<HubSpotState>>,
    address: SocketAddr,
}

fn iso(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn modified_property(object_type: &str) -> &'static str {
    if object_type == "contacts" { "lastmodifieddate" } else { "hs_lastmodifieddate" }
}

impl HubSpotState {
    fn tick(&mut self) -> i64 {
        self.clock = (self.clock + 1).max(chrono::Utc::now().timestamp_millis());
        self.clock
    }

    fn insert(&mut self, object_type: &str, mut properties: Map<String, Value>, companies: Vec<String>) -> String {
        let next = self.next_ids.entry(object_type.to_owned()).or_insert(100);
        *next += 1;
        let id = next.to_string();
        let now = self.tick();
        properties.insert(modified_property(object_type).into(), json!(iso(now)));
        properties.insert("createdate".into(), json!(iso(now)));
        properties.insert("hs_object_id".into(), json!(id));
        let object = CrmObject { id: id.clone(), properties, created_at: iso(now), updated_at: iso(now), companies };
        self.objects.entry(object_type.to_owned()).or_default().push(object);
        id
    }
}

impl FakeHubSpot {
    pub async fn start(token: &str) -> Self {
        let state = Arc::new(Mutex::new(HubSpotState {
            token: token.to_owned(),
            objects: HashMap::new(),
            next_ids: HashMap::new(),
            clock: 0,
            faults: FaultState::new(11),
            search_cursor: None,
            list_cursor: None,
            associations_left_out: false,
            creations_to_lose: 0,
            pipeline_reads: 0,
            creations_held: tokio::sync::watch::Sender::new(false),
        }));
        let app = Router::new()
            .route("/crm/v3/objects/{object_type}", get(list).post(create))
            .route("/crm/v3/objects/{object_type}/search", post(search))
            .route("/crm/v3/objects/{object_type}/{id}", get(read_one).patch(update_one))
            .route("/crm/v4/associations/{from}/{to}/batch/read", post(associations))
            .route("/crm/v3/pipelines/{object_type}", get(pipelines))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let address = listener.local_addr().expect("bound address");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("fake HubSpot serves") });
        Self { state, address }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn set_faults(&self, faults: Faults) {
        self.state.lock().unwrap().faults.set(faults);
    }

    /// From now on every search page says its next page is at `after`.
    pub fn answer_search_cursor(&self, after: &str) {
        self.state.lock().unwrap().search_cursor = Some(after.to_owned());
    }

    /// From now on every list page says its next page is at `after` (a string
    /// that never changes, or a value no client can read).
    pub fn answer_list_cursor(&self, after: Value) {
        self.state.lock().unwrap().list_cursor = Some(after);
    }

    /// From now on the association batch read leaves every object out.
    pub fn leave_out_associations(&self) {
        self.state.lock().unwrap().associations_left_out = true;
    }

    /// The next creation succeeds here but its answer never reaches the client.
    pub fn lose_next_creation_answer(&self) {
        self.state.lock().unwrap().creations_to_lose += 1;
    }

    /// From now on object creations wait until [`Self::release_creations`].
    pub fn hold_creations(&self) {
        self.state.lock().unwrap().creations_held.send_replace(true);
    }

    pub fn release_creations(&self) {
        self.state.lock().unwrap().creations_held.send_replace(false);
    }

    /// How many times the pipelines were read.
    pub fn pipeline_reads(&self) -> u64 {
        self.state.lock().unwrap().pipeline_reads
    }

    pub fn fault_report(&self) -> FaultReport {
        self.state.lock().unwrap().faults.report.clone()
    }

    fn add(&self, object_type: &str, properties: Value, companies: &[&str]) -> String {
        let properties = properties.as_object().cloned().unwrap_or_default();
        let companies = companies.iter().map(|id| (*id).to_owned()).collect();
        self.state.lock().unwrap().insert(object_type, properties, companies)
    }

    pub fn add_company(&self, name: &str) -> String {
        self.add("companies", json!({"name": name, "domain": format!("{}.test", name.to_lowercase())}), &[])
    }

    pub fn add_contact(&self, first: &str, last: &str, email: &str, company: &str) -> String {
        self.add("contacts", json!({"firstname": first, "lastname": last, "email": email}), &[company])
    }

    pub fn add_deal(&self, name: &str, stage: &str, amount: &str, company: &str) -> String {
        self.add(
            "deals",
            json!({"dealname": name, "dealstage": stage, "pipeline": "default", "amount": amount}),
            &[company],
        )
    }

    pub fn add_ticket(&self, subject: &str, stage: &str, company: &str) -> String {
        self.add(
            "tickets",
            json!({"subject": subject, "content": "", "hs_pipeline": "0", "hs_pipeline_stage": stage, "hs_ticket_priority": "MEDIUM"}),
            &[company],
        )
    }

    /// Changes properties of an object, as a HubSpot user would (bumps its last-modified time).
    pub fn update(&self, object_type: &str, id: &str, properties: Value) {
        let mut state = self.state.lock().unwrap();
        let now = state.tick();
        let object =
            state.objects.get_mut(object_type).and_then(|objects| objects.iter_mut().find(|object| object.id == id));
        let object = object.expect("known object");
        for (key, value) in properties.as_object().unwrap() {
            object.properties.insert(key.clone(), value.clone());
        }
        object.properties.insert(modified_property(object_type).into(), json!(iso(now)));
        object.updated_at = iso(now);
    }

    /// Objects of a type as (id, properties).
    pub fn objects(&self, object_type: &str) -> Vec<(String, Value)> {
        let state = self.state.lock().unwrap();
        state
            .objects
            .get(object_type)
            .map(|objects| {
                objects.iter().map(|object| (object.id.clone(), Value::Object(object.properties.clone()))).collect()
            })
            .unwrap_or_default()
    }
}

fn hubspot_error(status: StatusCode, category: &str, message: &str) -> Response {
    let body = json!({"status": "error", "message": message, "correlationId": "00000000-0000-0000-0000-000000000000", "category": category});
    (status, Json(body)).into_response()
}

/// Faults and authentication, shared by every route; `Err` is the response to send.
async fn admit(state: &Arc<Mutex<HubSpotState>>, headers: &HeaderMap) -> Result<(), Response> {
    let fault = state.lock().unwrap().faults.decide();
    match fault {
        Fault::None => {}
        Fault::ServerError => {
            return Err(hubspot_error(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "internal error"));
        }
        Fault::RateLimited(secs) => {
            return Err(too_many_requests(
                secs,
                json!({"status": "error", "message": "You have reached your secondly limit.",
                "errorType": "RATE_LIMIT", "category": "RATE_LIMITS"}),
            ));
        }
        Fault::Stall(duration) => tokio::time::sleep(duration).await,
        Fault::Reset => return Err(cut_off_response()),
    }
    let token = state.lock().unwrap().token.clone();
    let authorized = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.strip_prefix("Bearer ") == Some(token.as_str()));
    if authorized {
        Ok(())
    } else {
        Err(hubspot_error(StatusCode::UNAUTHORIZED, "INVALID_AUTHENTICATION", "Authentication credentials not found."))
    }
}

/// The properties HubSpot answers with when none are asked for.
const DEFAULT_PROPERTIES: &[&str] = &["hs_object_id", "createdate", "hs_lastmodifieddate", "lastmodifieddate"];

/// An object as HubSpot answers it: the properties asked for, or only the default
/// few when none were (a client mapping more must ask for them).
fn render(object: &CrmObject, properties: Option<&[&str]>, with_companies: bool) -> Value {
    let names = properties.unwrap_or(DEFAULT_PROPERTIES);
    let properties: Map<String, Value> = names
        .iter()
        .filter(|name| properties.is_some() || object.properties.contains_key(**name))
        .map(|name| ((*name).to_owned(), object.properties.get(*name).cloned().unwrap_or(Value::Null)))
        .collect();
    let mut rendered = json!({
        "id": object.id, "properties": properties, "createdAt": object.created_at, "updatedAt": object.updated_at, "archived": false,
    });
    if with_companies && !object.companies.is_empty() {
        let results: Vec<Value> = object.companies.iter().map(|id| json!({"id": id, "type": "company"})).collect();
        rendered["associations"] = json!({"companies": {"results": results}});
    }
    rendered
}

async fn list(
    State(state): State<Arc<Mutex<HubSpotState>>>,
    Path(object_type): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = admit(&state, &headers).await {
        return response;
    }
    let limit: usize = query.get("limit").and_then(|limit| limit.parse().ok()).unwrap_or(10).min(100);
    let offset: usize = query.get("after").and_then(|after| after.parse().ok()).unwrap_or(0);
    let names: Option<Vec<&str>> = query.get("properties").map(|names| names.split(',').collect());
    let with_companies =
        query.get("associations").is_some_and(|kinds| kinds.split(',').any(|kind| kind == "companies"));
    let state = state.lock().unwrap();
    let objects = state.objects.get(&object_type).map(Vec::as_slice).unwrap_or_default();
    let results: Vec<Value> = objects
        .iter()
        .skip(offset)
        .take(limit)
        .map(|object| render(object, names.as_deref(), with_companies))
        .collect();
    let mut answer = json!({"results": results});
    if let Some(after) = &state.list_cursor {
        answer["paging"] = json!({"next": {"after": after}});
    } else if offset + limit < objects.len() {
        let after = (offset + limit).to_string();
        answer["paging"] =
            json!({"next": {"after": after, "link": format!("/crm/v3/objects/{object_type}?after={after}")}});
    }
    Json(answer).into_response()
}

/// `GET /crm/v3/objects/{type}/{id}`: one object, or HubSpot's 404 error object.
async fn read_one(
    State(state): State<Arc<Mutex<HubSpotState>>>,
    Path((object_type, id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = admit(&state, &headers).await {
        return response;
    }
    let names: Option<Vec<&str>> = query.get("properties").map(|names| names.split(',').collect());
    let with_companies =
        query.get("associations").is_some_and(|kinds| kinds.split(',').any(|kind| kind == "companies"));
    let state = state.lock().unwrap();
    let found = state.objects.get(&object_type).and_then(|objects| objects.iter().find(|object| object.id == id));
    match found {
        Some(object) => Json(render(object, names.as_deref(), with_companies)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"status": "error", "message": "resource not found", "category": "OBJECT_NOT_FOUND"})),
        )
            .into_response(),
    }
}

/// `PATCH /crm/v3/objects/{type}/{id}`: sets the given properties; the object back.
async fn update_one(
    State(state): State<Arc<Mutex<HubSpotState>>>,
    Path((object_type, id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(response) = admit(&state, &headers).await {
        return response;
    }
    let mut state = state.lock().unwrap();
    let now = state.tick();
    let found =
        state.objects.get_mut(&object_type).and_then(|objects| objects.iter_mut().find(|object| object.id == id));
    let Some(object) = found else {
        return hubspot_error(StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND", "resource not found");
    };
    for (key, value) in body["properties"].as_object().cloned().unwrap_or_default() {
        object.properties.insert(key, value);
    }
    object.properties.insert(modified_property(&object_type).into(), json!(iso(now)));
    object.updated_at = iso(now);
    // An update answers with the properties it set and the default few.
    let mut names: Vec<String> =
        body["properties"].as_object().map(|set| set.keys().cloned().collect()).unwrap_or_default();
    names.extend(DEFAULT_PROPERTIES.iter().map(|name| (*name).to_owned()));
    let names: Vec<&str> =
        names.iter().map(String::as_str).filter(|name| object.properties.contains_key(*name)).collect();
    Json(render(object, Some(&names), false)).into_response()
}

fn as_millis(value: &Value) -> Option<i64> {
    let text = value.as_str()?;
    text.parse::<i64>()
        .ok()
        .or_else(|| chrono::DateTime::parse_from_rfc3339(text).ok().map(|time| time.timestamp_millis()))
}

fn matches_filter(object: &CrmObject, filter: &Value) -> bool {
    let property = filter["propertyName"].as_str().unwrap_or_default();
    let actual = object.properties.get(property).cloned().unwrap_or(Value::Null);
    let expected = &filter["value"];
    match filter["operator"].as_str().unwrap_or_default() {
        "EQ" => actual.as_str().is_some() && actual.as_str() == expected.as_str(),
        operator @ ("GT" | "GTE" | "LT" | "LTE") => match (as_millis(&actual), as_millis(expected)) {
            (Some(actual), Some(expected)) => match operator {
                "GT" => actual > expected,
                "GTE" => actual >= expected,
                "LT" => actual < expected,
                _ => actual <= expected,
            },
            _ => false,
        },
        _ => false,
    }
}

async fn search(
    State(state): State<Arc<Mutex<HubSpotState>>>,
    Path(object_type): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(response) = admit(&state, &headers).await {
        return response;
    }
    // HubSpot's published spec requires each of these (a mock serving it refuses
    // a body without them).
    let missing: Vec<&str> = ["filterGroups", "sorts", "properties", "limit", "after"]
        .into_iter()
        .filter(|field| body.get(*field).is_none_or(Value::is_null))
        .collect();
    if !missing.is_empty() {
        return hubspot_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_ERROR",
            &format!("Request body is missing required properties: {}", missing.join(", ")),
        );
    }
    let limit = body["limit"].as_u64().unwrap_or(10).min(200) as usize;
    let offset: usize = body["after"].as_str().and_then(|after| after.parse().ok()).unwrap_or(0);
    if offset + limit > SEARCH_WINDOW {
        return hubspot_error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "There was a problem with the request: paging beyond 10000 results",
        );
    }
    let state = state.lock().unwrap();
    let objects = state.objects.get(&object_type).map(Vec::as_slice).unwrap_or_default();
    let filters: Vec<Value> =
        body.pointer("/filterGroups/0/filters").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut matching: Vec<&CrmObject> =
        objects.iter().filter(|object| filters.iter().all(|filter| matches_filter(object, filter))).collect();
    if let Some(sort) = body.pointer("/sorts/0/propertyName").and_then(Value::as_str) {
        matching.sort_by_key(|object| {
            (object.properties.get(sort).and_then(as_millis), object.id.parse::<u64>().unwrap_or(0))
        });
        if body.pointer("/sorts/0/direction").and_then(Value::as_str) == Some("DESCENDING") {
            matching.reverse();
        }
    }
    let names: Option<Vec<&str>> =
        body["properties"].as_array().map(|names| names.iter().filter_map(Value::as_str).collect());
    let results: Vec<Value> =
        matching.iter().skip(offset).take(limit).map(|object| render(object, names.as_deref(), false)).collect();
    let mut answer = json!({"total": matching.len(), "results": results});
    if let Some(after) = &state.search_cursor {
        answer["paging"] = json!({"next": {"after": after}});
    } else if offset + limit < matching.len() {
        answer["paging"] = json!({"next": {"after": (offset + limit).to_string()}});
    }
    Json(answer).into_response()
}

async fn associations(
    State(state): State<Arc<Mutex<HubSpotState>>>,
    Path((from, to)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(response) = admit(&state, &headers).await {
        return response;
    }
    if to != "companies" {
        return Json(json!({"status": "COMPLETE", "results": []})).into_response();
    }
    let state = state.lock().unwrap();
    if state.associations_left_out {
        return Json(json!({"status": "COMPLETE", "results": []})).into_response();
    }
    let objects = state.objects.get(&from).map(Vec::as_slice).unwrap_or_default();
    let results: Vec<Value> = body["inputs"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|input| {
            let id = input["id"].as_str()?;
            let object = objects.iter().find(|object| object.id == id)?;
            (!object.companies.is_empty()).then(|| {
                json!({
                    "from": {"id": id},
                    "to": object.companies.iter().map(|company| json!({
                        "toObjectId": company.parse::<u64>().unwrap_or(0),
                        "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 341, "label": null}],
                    })).collect::<Vec<_>>(),
                })
            })
        })
        .collect();
    Json(json!({"status": "COMPLETE", "results": results})).into_response()
}

async fn pipelines(
    State(state): State<Arc<Mutex<HubSpotState>>>,
    Path(object_type): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = admit(&state, &headers).await {
        return response;
    }
    state.lock().unwrap().pipeline_reads += 1;
    let stages: &[(&str, &str)] = match object_type.as_str() {
        "deals" => &[
            ("appointmentscheduled", "Appointment scheduled"),
            ("contractsent", "Contract sent"),
            ("closedwon", "Closed won"),
        ],
        "tickets" => &[("1", "New"), ("2", "Waiting on contact"), ("4", "Closed")],
        _ => &[],
    };
    let stages: Vec<Value> = stages
        .iter()
        .enumerate()
        .map(|(order, (id, label))| json!({"id": id, "label": label, "displayOrder": order}))
        .collect();
    Json(json!({"results": [{"id": if object_type == "deals" { "default" } else { "0" }, "label": "Pipeline", "stages": stages}]})).into_response()
}

async fn create(
    State(state): State<Arc<Mutex<HubSpotState>>>,
    Path(object_type): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Err(response) = admit(&state, &headers).await {
        return response;
    }
    let mut held = state.lock().unwrap().creations_held.subscribe();
    // The sender lives as long as the state this handler holds.
    let _ = held.wait_for(|held| !*held).await;
    let properties = body["properties"].as_object().cloned().unwrap_or_default();
    let mut state = state.lock().unwrap();
    if let Some(key) = properties.get(UNIQUE_PROPERTY) {
        let taken = state
            .objects
            .get(&object_type)
            .is_some_and(|objects| objects.iter().any(|object| object.properties.get(UNIQUE_PROPERTY) == Some(key)));
        if taken {
            return hubspot_error(
                StatusCode::CONFLICT,
                "CONFLICT",
                &format!("An object with {UNIQUE_PROPERTY} {key} already exists"),
            );
        }
    }
    // Notes associate with tickets, not companies; the fake keeps only company links.
    let companies: Vec<String> = if object_type == "notes" {
        Vec::new()
    } else {
        body["associations"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|association| association.pointer("/to/id").and_then(Value::as_str).map(str::to_owned))
            .collect()
    };
    let id = state.insert(&object_type, properties, companies);
    if state.creations_to_lose > 0 {
        state.creations_to_lose -= 1;
        return cut_off_response();
    }
    let object = state.objects[&object_type].iter().find(|object| object.id == id).unwrap();
    // A creation answers with every property it set (and the defaults it got).
    let names: Vec<&str> = object.properties.keys().map(String::as_str).collect();
    (StatusCode::CREATED, Json(render(object, Some(&names), false))).into_response()
}
