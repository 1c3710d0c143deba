use super::*;

#[test]
fn protocol_table() {
    // (stream, category, id, cardinal id) from PROTOCOL §1.2.
    let cases: &[(&str, &str, Option<&str>, Option<&str>)] = &[
        ("cart-7f3a", "cart", Some("7f3a"), Some("7f3a")),
        ("order-9+refund", "order", Some("9+refund"), Some("9")),
        ("user-a-b", "user", Some("a-b"), Some("a-b")),
        ("ledger", "ledger", None, None),
        ("billing:cmd-5", "billing:cmd", Some("5"), Some("5")),
        ("cart-", "cart", Some(""), Some("")),
        ("x-+y", "x", Some("+y"), Some("")),
        ("-abc", "", Some("abc"), Some("abc")),
    ];
    for (stream, cat, id_, card) in cases {
        assert_eq!(category(stream), *cat, "category of {stream}");
        assert_eq!(id(stream), *id_, "id of {stream}");
        assert_eq!(cardinal_id(stream), *card, "cardinal id of {stream}");
        assert_eq!(is_category(stream), id_.is_none());
    }
}

#[test]
fn multibyte_names_split_on_char_boundaries() {
    assert_eq!(category("café-é+ü"), "café");
    assert_eq!(cardinal_id("café-é+ü"), Some("é"));
}
