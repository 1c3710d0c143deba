//! Property tests: the laws of stream names, consumer groups, tokens, payload text and time.

use eventodb_protocol::consumer_group::{group_hash, ConsumerGroup};
use eventodb_protocol::json::{compact, same_value};
use eventodb_protocol::stream_name::{cardinal_id, category, id};
use eventodb_protocol::time::{parse_rfc3339, rfc3339};
use eventodb_protocol::token;
use proptest::prelude::*;

proptest! {
    #[test]
    fn a_name_is_its_category_and_id(name in "\\PC{1,40}") {
        let cat = category(&name);
        prop_assert!(!cat.contains('-'));
        match id(&name) {
            Some(id) => {
                prop_assert_eq!(format!("{cat}-{id}"), name.clone());
                let card = cardinal_id(&name).unwrap();
                prop_assert!(id.starts_with(card));
                prop_assert!(!card.contains('+'));
            }
            None => {
                prop_assert_eq!(cat, name.as_str());
                prop_assert_eq!(cardinal_id(&name), None);
            }
        }
    }

    #[test]
    fn every_stream_has_exactly_one_member(
        cat in "[a-z]{1,8}",
        entity in "[^+]{0,20}",
        suffix in proptest::option::of("[a-z0-9]{0,6}"),
        size in 1i64..16,
    ) {
        let stream = match &suffix {
            Some(s) => format!("{cat}-{entity}+{s}"),
            None => format!("{cat}-{entity}"),
        };
        let members: Vec<i64> = (0..size)
            .filter(|m| ConsumerGroup::new(*m, size).unwrap().contains(&stream))
            .collect();
        // i64::MIN is the one hash with no member; it has probability 2^-64.
        prop_assert_eq!(members.len(), usize::from(group_hash(&stream).is_some()));
        // Compound ids follow their cardinal id.
        let plain = format!("{cat}-{entity}");
        for m in 0..size {
            let g = ConsumerGroup::new(m, size).unwrap();
            prop_assert_eq!(g.contains(&stream), g.contains(&plain));
        }
    }

    #[test]
    fn dashless_streams_belong_to_no_member(name in "[^-]{1,30}", size in 1i64..10) {
        for m in 0..size {
            prop_assert!(!ConsumerGroup::new(m, size).unwrap().contains(&name));
        }
    }

    #[test]
    fn tokens_round_trip(ns in "\\PC{1,30}", secret in proptest::array::uniform32(any::<u8>())) {
        let t = token::format(&ns, &secret);
        if token::encode_namespace(&ns).contains('_') {
            // Such ids cannot be carried by a token; ns.create refuses them.
            prop_assert!(token::parse(&t).is_err());
        } else {
            prop_assert_eq!(token::parse(&t), Ok(ns.clone()));
        }
        prop_assert_eq!(token::hash(&t).len(), 64);
    }

    #[test]
    fn time_round_trips(micros in 0i64..253_402_300_799_999_999) {
        let text = rfc3339(micros);
        prop_assert!(text.ends_with('Z'));
        prop_assert_eq!(parse_rfc3339(&text), Some(micros));
    }

    #[test]
    fn compact_keeps_the_value(value in json_value(), spaces in "[ \\n\\t]{0,3}") {
        let pretty = serde_json::to_string_pretty(&value).unwrap().replace('\n', &format!("\n{spaces}"));
        let compacted = compact(&pretty);
        prop_assert!(same_value(&compacted, &serde_json::to_string(&value).unwrap()));
        let reparsed: serde_json::Value = serde_json::from_str(&compacted).unwrap();
        prop_assert_eq!(reparsed, value);
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "\\PC{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map("\\PC{0,6}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
