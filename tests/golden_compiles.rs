//! Builds the checked-in golden file against the facade crate, exactly as a user's
//! crate would, and uses what it declares.

/// The golden file, compiled against the facade crate exactly as a user's crate would.
#[allow(dead_code)]
mod crm {
    include!("golden/crm.rs");

    #[test]
    fn the_golden_types_are_usable() {
        let input = ContactInput {
            last_name: Some("Lovelace".into()),
            email_addresses: vec![EmailAddress {
                email_address: "not-an-email".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let problems = input.validate();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "email_addresses[0].email_address");
        assert_eq!(PROVIDERS, &["attio", "hubspot", "salesforce"]);
        assert_eq!(
            EmailAddressType::from("work".to_string()),
            EmailAddressType::Work
        );
        assert_eq!(
            EmailAddressType::from("pager".to_string()).as_str(),
            "pager"
        );
    }
}
