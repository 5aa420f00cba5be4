//! Search: what matches, in which order, what `totalCount` means when a
//! search matches very many contacts, and who finds what (issue 18).

use rstest::rstest;
use serde_json::{Value, json};

use crate::support::*;

const SEARCH: &str = "query($s: String, $first: Int, $after: String) {
  contacts(first: $first, after: $after, filter: { search: $s }) {
    totalCount totalCountCapped
    edges { cursor node { firstName lastName } }
    pageInfo { hasNextPage endCursor }
  }
}";

fn name(edge: &Value) -> String {
    let node = &edge["node"];
    [&node["firstName"], &node["lastName"]]
        .iter()
        .filter_map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The names of every match, page by page of `first`.
async fn found(server: &TestServer, token: &str, search: &str, first: i64) -> Vec<String> {
    let mut names = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = server
            .data(
                token,
                SEARCH,
                json!({ "s": search, "first": first, "after": after }),
            )
            .await;
        let page = &data["contacts"];
        names.extend(page["edges"].as_array().unwrap().iter().map(name));
        if page["pageInfo"]["hasNextPage"] != true {
            return names;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

#[rstest]
#[tokio::test]
async fn exact_identity_first_then_name_prefixes_then_the_rest(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    for input in [
        json!({ "firstName": "Ann", "lastName": "Lee", "email": "lee@x.io" }),
        json!({ "firstName": "Annabel", "lastName": "Ray", "email": "ar@x.io" }),
        // Inside a name and at the start of an email: one row, once.
        json!({ "firstName": "Joanna", "lastName": "Smith", "email": "ann.js@x.io" }),
        json!({ "firstName": "Bob", "company": "Hannover AG", "email": "bob@x.io" }),
        json!({ "firstName": "Zed", "email": "ann@q.io" }),
        json!({ "firstName": "Yves", "email": "ann@q.io.example" }),
        json!({ "firstName": "Carl", "email": "joann@q.io" }),
    ] {
        create(&server, &admin, input).await;
    }
    let expected = [
        "Ann Lee",
        "Annabel Ray",
        // The other matches, by name: company, email beginnings, inside a name.
        "Bob",
        "Joanna Smith",
        "Yves",
        "Zed",
    ];
    assert_eq!(found(&server, &admin, "ann", 50).await, expected);
    // Pages of one continue across the ranks without repeating or skipping.
    assert_eq!(found(&server, &admin, "ann", 1).await, expected);
    assert_eq!(found(&server, &admin, "  ANN ", 2).await, expected);
    // The contact whose email is the text comes before names A to Z.
    assert_eq!(
        found(&server, &admin, "ann@q.io", 50).await,
        ["Zed", "Yves"]
    );
    assert_eq!(found(&server, &admin, "ann l", 50).await, ["Ann Lee"]);
    // Email is searched by its beginning only.
    assert!(found(&server, &admin, "q.io", 50).await.is_empty());
    // Two characters: beginnings of names and emails, not insides.
    assert_eq!(
        found(&server, &admin, "an", 50).await,
        ["Ann Lee", "Annabel Ray", "Joanna Smith", "Yves", "Zed"]
    );
}

#[rstest]
#[tokio::test]
async fn a_phone_is_found_by_its_beginning_typed_in_any_format(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    create(
        &server,
        &admin,
        json!({ "firstName": "Ada", "mobilePhone": "+14155550100" }),
    )
    .await;
    create(
        &server,
        &admin,
        json!({ "firstName": "Bea", "mobilePhone": "(415) 555-0123" }),
    )
    .await;
    create(
        &server,
        &admin,
        json!({ "firstName": "Cy", "mobilePhone": "+1 416 555 0100" }),
    )
    .await;
    create(
        &server,
        &admin,
        json!({ "firstName": "Di", "mobilePhone": "+44 7400 123456" }),
    )
    .await;
    for typed in [
        "(415) 555",
        "415-555",
        "415.555.01",
        "+1 415 555",
        "1 (415) 555",
    ] {
        assert_eq!(
            found(&server, &admin, typed, 50).await,
            ["Ada", "Bea"],
            "{typed}"
        );
    }
    assert_eq!(found(&server, &admin, "+44 7400", 50).await, ["Di"]);
    assert_eq!(found(&server, &admin, "0044 74", 50).await, ["Di"]);
    // The whole number, in any format, is an exact identity: first.
    assert_eq!(found(&server, &admin, "416-555-0100", 50).await, ["Cy"]);
    assert_eq!(
        found(&server, &admin, "555-0100", 50).await,
        Vec::<String>::new()
    );
}

/// 2,100 contacts in one import: more than the count's cap and more than
/// SQLite's index is asked to list (so every way of matching is run).
fn crowd_csv(dir: &std::path::Path) -> std::path::PathBuf {
    use std::fmt::Write;
    let mut csv = String::from("First Name,Last Name,E-mail Address,Company\n");
    for i in 0..2_100 {
        writeln!(csv, "Zoë,Person{i:04},zoe{i}@crowd.example,Ensemble Ltd").unwrap();
    }
    let path = dir.join("crowd.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

#[rstest]
#[tokio::test]
async fn total_count_stops_at_a_thousand_and_says_so(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let dir = tempfile::tempdir().unwrap();
    cli(
        &server.db.url,
        &[
            "import",
            crowd_csv(dir.path()).to_str().unwrap(),
            "--as",
            "ann",
        ],
    );
    create(
        &server,
        &admin,
        json!({ "firstName": "Ensemble", "lastName": "Cast", "email": "ec@x.io" }),
    )
    .await;

    // Dense matches, by company (ASCII), inside a name beyond ASCII, and by
    // name prefix: a page in order and a capped count.
    for (text, first_names) in [
        (
            "nsembl",
            ["Ensemble Cast", "Zoë Person0000", "Zoë Person0001"],
        ),
        (
            "ë per",
            ["Zoë Person0000", "Zoë Person0001", "Zoë Person0002"],
        ),
        (
            "zoë",
            ["Zoë Person0000", "Zoë Person0001", "Zoë Person0002"],
        ),
    ] {
        let data = server
            .data(&admin, SEARCH, json!({ "s": text, "first": 3 }))
            .await;
        let page = &data["contacts"];
        let names: Vec<String> = page["edges"].as_array().unwrap().iter().map(name).collect();
        assert_eq!(names, first_names, "{text}");
        assert_eq!(page["totalCount"], 1_000, "{text}");
        assert_eq!(page["totalCountCapped"], true, "{text}");
    }
    // "ensemble" begins a name: that contact first, then the company's.
    let data = server
        .data(&admin, SEARCH, json!({ "s": "ensemble", "first": 2 }))
        .await;
    let names: Vec<String> = data["contacts"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(name)
        .collect();
    assert_eq!(names, ["Ensemble Cast", "Zoë Person0000"]);

    // A few matches: an exact count.
    for (text, count) in [
        ("person004", 10),
        ("person0042", 1),
        ("zoe4@crowd", 1),
        ("nobody", 0),
    ] {
        let data = server
            .data(&admin, SEARCH, json!({ "s": text, "first": 50 }))
            .await;
        assert_eq!(data["contacts"]["totalCount"], count, "{text}");
        assert_eq!(data["contacts"]["totalCountCapped"], false, "{text}");
        assert_eq!(
            data["contacts"]["edges"].as_array().unwrap().len(),
            count,
            "{text}"
        );
    }
    // Without a search the count is exact, however large.
    let all = server
        .data(
            &admin,
            "{ contacts(first: 0) { totalCount totalCountCapped } }",
            json!({}),
        )
        .await;
    assert_eq!(all["contacts"]["totalCount"], 2_101);
    assert_eq!(all["contacts"]["totalCountCapped"], false);
}

#[rstest]
#[tokio::test]
async fn search_finds_only_what_the_caller_may_read(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    server.create_team("Sales");
    let admin = server.create_user("ann", "ADMIN", None);
    let mia = server.create_user("mia", "MEMBER", Some("Sales"));
    let vic = server.create_user("vic", "VIEWER", Some("Sales"));
    let sales = server
        .data(&mia, "{ me { teams { id } } }", json!({}))
        .await["me"]["teams"][0]["id"]
        .clone();
    create(&server, &mia, json!({ "firstName": "Own", "email": "own@x.io", "mobilePhone": "+14155550111", "company": "Owners Club", "teamId": sales })).await;
    create(
        &server,
        &admin,
        json!({ "firstName": "Other", "email": "other@x.io", "company": "Brown & Co" }),
    )
    .await;

    // A member finds their own contact, never another's, nor counts it.
    assert_eq!(found(&server, &mia, "own", 50).await, ["Own"]);
    let data = server
        .data(&mia, SEARCH, json!({ "s": "other@x.io" }))
        .await;
    assert_eq!(data["contacts"]["totalCount"], 0);
    assert_eq!(found(&server, &admin, "own", 50).await, ["Own", "Other"]);

    // A viewer reads no email or phone, so finds nothing by them: not even
    // the yes/no of a count.
    for text in ["own@x.io", "own@", "(415) 555-0111", "415 555"] {
        let data = server.data(&vic, SEARCH, json!({ "s": text })).await;
        assert_eq!(data["contacts"]["totalCount"], 0, "{text}");
        assert_eq!(data["contacts"]["edges"], json!([]), "{text}");
        assert_eq!(found(&server, &admin, text, 50).await.len(), 1, "{text}");
    }
    // ...but finds names and companies, as it may read them.
    assert_eq!(found(&server, &vic, "owners c", 50).await, ["Own"]);
    assert_eq!(found(&server, &vic, "own", 50).await, ["Own"]);
}

#[rstest]
#[tokio::test]
async fn a_cursor_of_another_search_is_refused(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    for name in ["Ann", "Anna", "Bo"] {
        create(
            &server,
            &admin,
            json!({ "firstName": name, "email": format!("{name}@x.io") }),
        )
        .await;
    }
    let plain = server
        .data(
            &admin,
            "{ contacts(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let cursor = plain["contacts"]["pageInfo"]["endCursor"].clone();
    let (_, body) = server
        .post(
            &admin,
            SEARCH,
            json!({ "s": "ann", "first": 1, "after": cursor }),
        )
        .await;
    assert_eq!(error_codes(&body), ["VALIDATION"]);
    assert!(body.to_string().contains("another search"), "{body}");

    // A position among one search's results means nothing among another's.
    let searched = server
        .data(&admin, SEARCH, json!({ "s": "ann", "first": 1 }))
        .await;
    let cursor = searched["contacts"]["pageInfo"]["endCursor"].clone();
    let next = server
        .data(
            &admin,
            SEARCH,
            json!({ "s": "ANN", "first": 1, "after": cursor }),
        )
        .await;
    assert!(
        next["contacts"]["edges"].is_array(),
        "the same search, however typed"
    );
    let (_, body) = server
        .post(
            &admin,
            SEARCH,
            json!({ "s": "bo", "first": 1, "after": cursor }),
        )
        .await;
    assert_eq!(error_codes(&body), ["VALIDATION"], "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "after");

    // A blank text is no search, as the schema says.
    assert_eq!(search_count_of(&server, &admin, "   ").await, 3);
}

async fn search_count_of(server: &TestServer, token: &str, text: &str) -> u64 {
    server
        .data(
            token,
            "query($s: String) { contacts(filter: { search: $s }) { totalCount } }",
            json!({ "s": text }),
        )
        .await["contacts"]["totalCount"]
        .as_u64()
        .unwrap()
}

#[rstest]
#[tokio::test]
async fn the_index_follows_renames_and_deletes(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let admin = server.create_user("ann", "ADMIN", None);
    let contact = create(
        &server,
        &admin,
        json!({ "firstName": "Maximilian", "email": "m@x.io", "company": "Initech" }),
    )
    .await;
    assert_eq!(found(&server, &admin, "ximil", 50).await, ["Maximilian"]);
    server
        .data(
            &admin,
            UPDATE,
            json!({ "id": contact["id"], "v": contact["version"],
                    "input": { "firstName": "Rosalind", "company": "Globex" } }),
        )
        .await;
    assert!(found(&server, &admin, "ximil", 50).await.is_empty());
    assert!(found(&server, &admin, "initech", 50).await.is_empty());
    assert_eq!(found(&server, &admin, "salin", 50).await, ["Rosalind"]);
    assert_eq!(found(&server, &admin, "lobex", 50).await, ["Rosalind"]);
    server
        .data(&admin, DELETE, json!({ "id": contact["id"] }))
        .await;
    assert!(found(&server, &admin, "salin", 50).await.is_empty());
}

#[rstest]
#[tokio::test]
async fn the_count_cap_is_the_servers_to_set(
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let server =
        TestServer::start_on(TestDb::new(backend).await, &["--search-count-cap", "2"]).await;
    let admin = server.create_user("ann", "ADMIN", None);
    for name in ["Ann", "Anna", "Annabel"] {
        create(
            &server,
            &admin,
            json!({ "firstName": name, "email": format!("{name}@x.io") }),
        )
        .await;
    }
    let data = server.data(&admin, SEARCH, json!({ "s": "ann" })).await;
    assert_eq!(data["contacts"]["totalCount"], 2);
    assert_eq!(data["contacts"]["totalCountCapped"], true);
    assert_eq!(data["contacts"]["edges"].as_array().unwrap().len(), 3);
    let data = server.data(&admin, SEARCH, json!({ "s": "anna" })).await;
    assert_eq!(data["contacts"]["totalCount"], 2);
    assert_eq!(data["contacts"]["totalCountCapped"], false);
}
