//! The proc-macro front end generates the same actions in place.

mod crm {
    unifold::generate!(".");
}

#[test]
fn the_macro_generates_the_actions() {
    let input = crm::ContactInput {
        last_name: Some("Lovelace".into()),
        ..Default::default()
    };
    assert!(input.validate().is_empty());
    assert_eq!(crm::PROVIDERS, &["attio", "hubspot", "salesforce"]);
    assert_eq!(crm::hubspot::PROVIDER.base_url, "https://api.hubapi.com");
}
